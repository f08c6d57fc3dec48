/**
 * The caching resolver on a scripted resolver and a ManualClock: hits never resolve, misses are shared,
 * BOGUS and failures live their TTLs, serve-stale (RFC 8767) for validated data only, prefetch once,
 * flush (answers and the key cache).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CachingResolver } from '../../src/resolver/cached.js';
import type { Resolution } from '../../src/resolver/resolve.js';
import { isCachedAnswer, type Answer, type ClientInfo } from '../../src/server/types.js';
import { EdeCode, Name, RRType, Rcode, parseMessage, type Message, type Question } from '../../src/wire/index.js';
import { echoQuery, replyMessage, serializeReply } from '../../src/server/responder.js';
import {
  answerRes, cacheConfig, clockAt, failureRes, nxAuthority, positive, queryMessage, queryPacket, rrs, ScriptedResolver, secure, settle, type QueryOpts,
} from './helpers.js';
import type { CacheConfig } from '../../src/config/schema.js';
import type { ManualClock } from '../../src/clock.js';

const CLIENT: ClientInfo = { address: '127.0.0.1', port: 5555, transport: 'udp' };
const QN = 'www.example.test.';

interface Env {
  clock: ManualClock;
  resolver: ScriptedResolver;
  cached: CachingResolver;
  flushed: (string | undefined)[];
  ask(name?: string, o?: Parameters<typeof queryMessage>[2]): Promise<Answer>;
  fast(name?: string, o?: Parameters<typeof queryMessage>[2]): Message | undefined;
}

function env(script: (q: Question, cd: boolean) => Resolution, over: Partial<CacheConfig> = {}): Env {
  const clock = clockAt();
  const resolver = new ScriptedResolver(script);
  const flushed: (string | undefined)[] = [];
  const cached = new CachingResolver({ resolver, keys: { flush: (n?: Name) => flushed.push(n?.toText()) }, config: cacheConfig(over), clock });
  return {
    clock, resolver, cached, flushed,
    ask: async (name = QN, o = {}) => {
      const a = await cached.handler(queryMessage(name, RRType.A, o), CLIENT);
      return isCachedAnswer(a) ? a.toAnswer() : a;
    },
    fast: (name = QN, o = {}) => {
      const r = cached.fastPath(queryPacket(name, RRType.A, o), CLIENT, 1232);
      return r && parseMessage(r.bytes);
    },
  };
}

const good = (): Resolution => answerRes(secure(), positive(300));
const bogus = (): Resolution => answerRes({ security: 'bogus', kind: 'positive', trail: [], reason: { kind: 'rrsigs-missing', name: QN, type: 'A' } }, positive());
const ttlOf = (a: Answer | Message): number => a.answer[0]!.ttl;
const edeCodes = (a: Answer): number[] => (a.ede ?? []).map((e) => e.code);

describe('hits', () => {
  it('are answered without resolving, by the handler and the fast path, TTL counting down', async () => {
    const e = env(good);
    assert.equal(ttlOf(await e.ask()), 300);
    assert.equal(e.resolver.calls.length, 1);
    e.clock.advance(10_000);
    assert.equal(ttlOf(await e.ask('WWW.example.TEST.', { dnssecOk: true })), 290);
    e.clock.advance(20_000);
    const m = e.fast(QN, { dnssecOk: true })!;
    assert.equal(ttlOf(m), 270);
    assert.ok(m.flags.ad);
    assert.equal(e.resolver.calls.length, 1);
    assert.equal(e.cached.stats().hits, 2);
    assert.equal(e.cached.stats().fastHits, 1);
  });

  it('the fast path leaves misses to the handler', () => {
    const e = env(good);
    assert.equal(e.fast(), undefined);
    assert.equal(e.resolver.calls.length, 0);
  });

  it('CD=1 is a separate entry (data as received), DO is not', async () => {
    const e = env((q, cd) => (cd ? { kind: 'unchecked', rcode: 0, answer: positive(), authority: [], additional: [], upstreams: [] } : bogus()));
    assert.equal((await e.ask()).rcode, Rcode.SERVFAIL);
    assert.equal((await e.ask(QN, { dnssecOk: true })).rcode, Rcode.SERVFAIL);
    const cd = await e.ask(QN, { cd: true });
    assert.equal(cd.rcode, Rcode.NOERROR);
    assert.equal(cd.flags?.ad, false);
    await e.ask(QN, { cd: true, dnssecOk: true });
    assert.deepEqual(e.resolver.calls, [`${QN} 1`, `${QN} 1 cd`]);
  });

  it('concurrent misses for one key are resolved once', async () => {
    const e = env(good);
    e.resolver.hold = true;
    const all = Promise.all(Array.from({ length: 10 }, (_, i) => e.ask(i % 2 ? QN : 'Www.Example.Test.', { dnssecOk: i % 3 === 0 })));
    await settle();
    e.resolver.release();
    const answers = await all;
    assert.equal(e.resolver.calls.length, 1);
    assert.ok(answers.every((a) => a.answer.some((r) => r.type === RRType.A)));
    assert.equal(e.cached.stats().coalesced, 9);
  });
});

describe('BOGUS, failures and negative answers', () => {
  it('BOGUS is cached bogusTtl, then asked again', async () => {
    const e = env(bogus, { bogusTtl: 60 });
    const first = await e.ask();
    assert.equal(first.rcode, Rcode.SERVFAIL);
    assert.deepEqual(edeCodes(first), [EdeCode.RRSIGS_MISSING]);
    e.clock.advance(59_000);
    assert.deepEqual(edeCodes(await e.ask()), [EdeCode.RRSIGS_MISSING]);
    assert.equal(e.resolver.calls.length, 1);
    e.clock.advance(1_000);
    await e.ask();
    assert.equal(e.resolver.calls.length, 2);
  });

  it('an upstream failure is cached failureTtl (never as BOGUS), then asked again', async () => {
    const e = env(() => failureRes('timeout'), { failureTtl: 5 });
    const a = await e.ask();
    assert.equal(a.rcode, Rcode.SERVFAIL);
    assert.deepEqual(edeCodes(a), [EdeCode.NO_REACHABLE_AUTHORITY]);
    e.clock.advance(4_999);
    await e.ask();
    assert.equal(e.resolver.calls.length, 1);
    e.clock.advance(1);
    await e.ask();
    assert.equal(e.resolver.calls.length, 2);
  });

  it('NXDOMAIN lives min(SOA TTL, MINIMUM)', async () => {
    const soa = 'example.test. 3600 IN SOA ns1.example.test. h.example.test. 1 3600 900 604800 120';
    const e = env(() => answerRes(secure(undefined, 'nxdomain'), [], rrs(soa), Rcode.NXDOMAIN));
    const a = await e.ask();
    assert.equal(a.rcode, Rcode.NXDOMAIN);
    assert.equal(a.authority[0]!.ttl, 120);
    e.clock.advance(119_000);
    assert.equal((await e.ask()).authority[0]!.ttl, 1);
    e.clock.advance(1_000);
    await e.ask();
    assert.equal(e.resolver.calls.length, 2);
  });
});

describe('serve-stale (RFC 8767)', () => {
  it('validated data that expired within staleWindow is served with staleTtl and EDE 3 when the upstreams fail', async () => {
    let up = true;
    const e = env(() => (up ? good() : failureRes('network-error')), { staleWindow: 3600, staleTtl: 30, failureTtl: 5 });
    await e.ask();
    up = false;
    e.clock.advance(301_000);
    const stale = await e.ask(QN, { dnssecOk: true });
    assert.equal(stale.rcode, Rcode.NOERROR);
    assert.equal(ttlOf(stale), 30);
    assert.deepEqual(edeCodes(stale), [EdeCode.STALE_ANSWER]);
    assert.equal(stale.flags?.ad, true, 'still validated data');
    assert.equal(e.resolver.calls.length, 2);
    // For failureTtl, stale without asking again (the fast path too).
    const fast = e.fast(QN, { dnssecOk: true })!;
    assert.equal(ttlOf(fast), 30);
    assert.ok(fast.edns!.options.some((o) => o.data[1] === EdeCode.STALE_ANSWER));
    e.clock.advance(5_000);
    assert.equal(e.fast(), undefined);
    await e.ask();
    assert.equal(e.resolver.calls.length, 3);
    up = true;
    e.clock.advance(5_000);
    const back = await e.ask();
    assert.equal(ttlOf(back), 300);
    assert.equal(back.ede, undefined);
  });

  it('INDETERMINATE counts as a failure for serve-stale', async () => {
    let up = true;
    const e = env(() => (up ? good() : answerRes({ security: 'indeterminate', kind: 'positive', trail: [], detail: 'DNSKEY fetch timed out' }, positive())));
    await e.ask();
    up = false;
    e.clock.advance(301_000);
    assert.deepEqual(edeCodes(await e.ask()), [EdeCode.STALE_ANSWER]);
  });

  it('not past staleWindow, and never BOGUS data', async () => {
    let res = good;
    const e = env(() => res(), { staleWindow: 60 });
    await e.ask();
    res = () => failureRes();
    e.clock.advance(300_000 + 61_000);
    assert.equal((await e.ask()).rcode, Rcode.SERVFAIL);

    const b = env(() => res(), { bogusTtl: 60 });
    res = bogus;
    await b.ask();
    res = () => failureRes();
    b.clock.advance(61_000);
    const a = await b.ask();
    assert.equal(a.rcode, Rcode.SERVFAIL);
    assert.deepEqual(edeCodes(a), [EdeCode.NO_REACHABLE_AUTHORITY]);
  });

  it('a BOGUS answer replaces an expired secure one (it is not hidden by serve-stale)', async () => {
    let res = good;
    const e = env(() => res());
    await e.ask();
    res = bogus;
    e.clock.advance(301_000);
    assert.deepEqual(edeCodes(await e.ask()), [EdeCode.RRSIGS_MISSING]);
  });
});

describe('prefetch', () => {
  it('a hit in the last 10% of the TTL refreshes the entry once, in the background', async () => {
    const e = env(good);
    await e.ask();
    e.clock.advance(269_000); // 31 s left of 300: not yet
    await e.ask();
    assert.equal(e.resolver.calls.length, 1);
    e.clock.advance(2_000); // 29 s left
    e.resolver.hold = true;
    const hits = await Promise.all([e.ask(), e.ask(), e.ask()]);
    assert.ok(hits.every((h) => ttlOf(h) === 29), 'hits are served at once from the old entry');
    assert.equal(e.fast()!.answer[0]!.ttl, 29);
    assert.equal(e.resolver.calls.length, 1 + 1, 'one refresh for all those hits');
    e.resolver.release();
    await settle();
    assert.equal(ttlOf(await e.ask()), 300, 'refreshed');
    assert.equal(e.cached.stats().prefetches, 1);
  });

  it('a failed refresh keeps the entry until it expires, and is not retried on every hit', async () => {
    let res = good;
    const e = env(() => res());
    await e.ask();
    res = () => failureRes();
    e.clock.advance(280_000);
    await e.ask();
    await settle();
    assert.equal(ttlOf(await e.ask()), 20);
    assert.equal(e.resolver.calls.length, 2);
  });

  it('can be turned off', async () => {
    const e = env(good, { prefetch: false });
    await e.ask();
    e.clock.advance(290_000);
    await e.ask();
    assert.equal(e.resolver.calls.length, 1);
  });
});

describe('flush', () => {
  it('everything, or a subtree, with the key cache', async () => {
    const e = env(good);
    for (const n of [QN, 'mail.example.test.', 'www.other.test.']) await e.ask(n);
    assert.equal(e.cached.flush(Name.fromText('example.test.')), 2);
    assert.deepEqual(e.flushed, ['example.test.']);
    await e.ask('www.other.test.');
    assert.equal(e.resolver.calls.length, 3);
    await e.ask(QN);
    assert.equal(e.resolver.calls.length, 4);
    assert.equal(e.cached.flush(), 2);
    assert.deepEqual(e.flushed, ['example.test.', undefined]);
    await e.ask('www.other.test.');
    assert.equal(e.resolver.calls.length, 5);
  });

  it('a resolution in flight when flushed does not fill the cache', async () => {
    const e = env(good);
    e.resolver.hold = true;
    const pending = e.ask();
    await settle();
    e.cached.flush();
    e.resolver.release();
    await pending;
    await e.ask();
    assert.equal(e.resolver.calls.length, 2);
  });
});

describe('answers the cache holds are rendered from the raw query, the same as their records', () => {
  const soa = 'example.test. 3600 IN SOA ns1.example.test. h.example.test. 1 3600 900 604800 120';
  const scenarios: Array<[string, () => Resolution]> = [
    ['secure positive', good],
    ['insecure positive', () => answerRes({ security: 'insecure', kind: 'positive', reason: { kind: 'no-ds', zone: 'example.test.' }, trail: [], ttlCap: undefined }, positive(300))],
    ['secure NXDOMAIN', () => answerRes(secure(undefined, 'nxdomain'), [], [...nxAuthority(), ...rrs(soa)], Rcode.NXDOMAIN)],
    ['bogus', bogus],
    ['upstream failure', () => failureRes('timeout')],
  ];
  const clients: Array<[string, QueryOpts]> = [
    ['DO', { dnssecOk: true }], ['EDNS without DO', {}], ['no EDNS', { edns: false }], ['AD without DO', { ad: true }], ['CD', { cd: true, dnssecOk: true }],
  ];
  for (const [label, script] of scenarios) {
    for (const [who, o] of clients) {
      it(`${label}, client ${who}`, async () => {
        const e = env(script);
        const query = queryMessage(QN, RRType.A, { ...o, id: 777 });
        const packet = queryPacket(QN, RRType.A, { ...o, id: 777 });
        const a = await e.cached.handler(query, CLIENT);
        assert.ok(isCachedAnswer(a));
        const rendered = a.render(packet, CLIENT, 1232);
        assert.ok(rendered, 'rendered from the entry');
        const viaRecords = serializeReply(replyMessage(echoQuery(query), a.toAnswer(), 1232), 1232).bytes;
        const x = parseMessage(rendered.bytes);
        const y = parseMessage(viaRecords);
        assert.equal(rendered.rcode, y.rcode);
        assert.deepEqual({ ...x.flags }, { ...y.flags });
        assert.equal(x.id, 777);
        for (const s of ['answer', 'authority', 'additional'] as const) {
          assert.deepEqual(x[s].map((r) => `${r.name.key} ${r.type} ${r.ttl} ${Buffer.from(r.rdata).toString('hex')}`),
            y[s].map((r) => `${r.name.key} ${r.type} ${r.ttl} ${Buffer.from(r.rdata).toString('hex')}`), s);
        }
        const opts = (m: Message): string[] => (m.edns?.options ?? []).map((op) => `${op.code} ${Buffer.from(op.data).toString('hex')}`);
        assert.deepEqual(opts(x), opts(y), 'EDE options');
        assert.equal(x.edns?.dnssecOk, y.edns?.dnssecOk);
      });
    }
  }
});

describe('misses the resolver answers at once (RFC 8198 synthesis) go out on the fast path', () => {
  /** A resolver that can synthesize answers for names starting with "syn" (and counts what it is asked). */
  function synthEnv(debug = false) {
    const clock = clockAt();
    const resolver = new ScriptedResolver(good);
    const synthesized: string[] = [];
    const withSynth = Object.assign(resolver, {
      synthesizeNow: (q: Question): Resolution | undefined => {
        synthesized.push(q.name.toText());
        return q.name.toText().startsWith('syn') ? answerRes(secure(120), positive(300)) : undefined;
      },
    });
    const logger = debug ? { debug() {}, info() {}, warn() {}, error() {}, isLevelEnabled: () => true } : undefined;
    const cached = new CachingResolver({ resolver: withSynth, config: cacheConfig(), clock, ...(logger ? { logger: logger as never } : {}) });
    return { clock, resolver, cached, synthesized };
  }

  it('a synthesizable miss is answered and stored by the fast path, without resolving', () => {
    const e = synthEnv();
    const r = e.cached.fastPath(queryPacket('syn1.example.test.', RRType.A, { dnssecOk: true }), CLIENT, 1232);
    assert.ok(r, 'answered on the fast path');
    const m = parseMessage(r.bytes);
    assert.ok(m.flags.ad);
    assert.equal(m.answer[0]!.ttl, 120, 'the verdict caps the TTL');
    assert.equal(e.resolver.calls.length, 0);
    assert.deepEqual(e.synthesized, ['syn1.example.test.']);
    const s = e.cached.stats();
    assert.equal(s.misses, 1);
    assert.equal(s.entries, 1);
    e.clock.advance(20_000);
    const again = parseMessage(e.cached.fastPath(queryPacket('syn1.example.test.', RRType.A), CLIENT, 1232)!.bytes);
    assert.equal(again.answer[0]!.ttl, 100, 'then a plain hit, TTL counting down');
    assert.equal(e.synthesized.length, 1);
  });

  it('a miss the fast path could not synthesize is asked upstream by the normal path without a second attempt', async () => {
    const e = synthEnv();
    const opts: unknown[] = [];
    const inner = e.resolver.resolve.bind(e.resolver);
    e.resolver.resolve = (q, o = {}) => {
      opts.push(o);
      return inner(q, o);
    };
    assert.equal(e.cached.fastPath(queryPacket('other.example.test.', RRType.A), CLIENT, 1232), undefined);
    await e.cached.handler(queryMessage('other.example.test.', RRType.A), CLIENT);
    assert.deepEqual(opts, [{ checkingDisabled: false, upstreamOnly: true }]);
    await e.cached.handler(queryMessage('another.example.test.', RRType.A), CLIENT);
    assert.deepEqual(opts[1], { checkingDisabled: false }, 'not tried on the fast path: the resolver may synthesize');
  });

  it('other misses, CD=1 queries and debug logging take the normal path', () => {
    const e = synthEnv();
    assert.equal(e.cached.fastPath(queryPacket('other.example.test.', RRType.A), CLIENT, 1232), undefined);
    assert.equal(e.cached.fastPath(queryPacket('syn2.example.test.', RRType.A, { cd: true }), CLIENT, 1232), undefined);
    assert.deepEqual(e.synthesized, ['other.example.test.'], 'CD=1 is never synthesized');
    const d = synthEnv(true);
    assert.equal(d.cached.fastPath(queryPacket('syn3.example.test.', RRType.A), CLIENT, 1232), undefined);
    assert.equal(d.synthesized.length, 0);
  });
});
