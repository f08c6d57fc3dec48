/**
 * The MTA-aware prefetch (src/resolver/mail-prefetch.ts) through the caching resolver, on a scripted resolver and
 * a ManualClock: an MX answer served to a client fetches its hosts' A and AAAA (most preferred first, up to
 * prefetch.mailHosts) and TLSA where Postfix asks it; a later client question is a hit whose reply bytes are
 * those a client would have got without the prefetch (BOGUS and failures included); null MX, NXDOMAIN, insecure
 * and CD=1 cases fetch nothing more; the caps and admission hold; hits and waste are counted.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AdmissionLimits } from '../../src/resolver/admission.js';
import { CachingResolver } from '../../src/resolver/cached.js';
import { mailHosts, tlsaBases } from '../../src/resolver/mail-prefetch.js';
import type { Resolution } from '../../src/resolver/resolve.js';
import { isCachedAnswer, type ClientInfo } from '../../src/server/types.js';
import type { CacheConfig, PrefetchConfig } from '../../src/config/schema.js';
import type { Verdict } from '../../src/validator/types.js';
import { Name, RRClass, RRType, typeToText, type RR } from '../../src/wire/index.js';
import { questionKey } from '../../src/cache/key.js';
import type { CacheEntry } from '../../src/cache/entry.js';
import { ScriptedResolver, answerRes, cacheConfig, clockAt, failureRes, queryMessage, queryPacket, rrs, secure, settle } from '../cache/helpers.js';

const CLIENT: ClientInfo = { address: '127.0.0.1', port: 5555, transport: 'udp' };
const SIG = '13 3 300 20270101000000 20260101000000 12345 prov.test. gIoHwQyZ6Wah0f0iGe/ED5MotrNMHbWpTdzCqAiSZkbBzurMxR7qAoit9rI+b1VNhoNgAFdbhVbJy+Z5yht6IA==';
const TLSA = '3 1 1 0C72AC70B745AC19998811B131D662C9AC69DBDBE7CB23E5B514B56664C5D3D6';

type Script = Record<string, () => Resolution>;

const soa = (zone: string): RR[] => rrs(`${zone} 300 IN SOA ns.${zone} host.${zone} 1 3600 900 604800 300`);
const insecureV = (kind: Verdict['kind'] = 'positive'): Verdict =>
  ({ security: 'insecure', kind, reason: { kind: 'no-ds', zone: 'uprov.test.' }, trail: [], ttlCap: undefined });

/** A secure positive answer: the records and an RRSIG over the last RRset (the DO client sees it). */
const sec = (...lines: string[]) => (): Resolution => {
  const last = lines[lines.length - 1]!.split(/\s+/);
  return answerRes(secure(), rrs(...lines, `${last[0]} ${last[1]} IN RRSIG ${last[3]} ${SIG}`));
};
const insec = (...lines: string[]) => (): Resolution => answerRes(insecureV(), rrs(...lines));
const nxdomain = (zone: string) => (): Resolution => answerRes(secure(undefined, 'nxdomain'), [], soa(zone), 3);
const nodata = (zone: string) => (): Resolution => answerRes(secure(undefined, 'nodata'), [], soa(zone));
const bogus = (name: string) => (): Resolution =>
  answerRes({ security: 'bogus', kind: 'positive', trail: [], reason: { kind: 'rrsigs-missing', name, type: 'A' } }, rrs(`${name} 300 IN A 192.0.2.66`));

/** A provider zone: mx1 secure with TLSA, mx2 secure without, ux insecure, nx absent, bad bogus, alias a CNAME to mx1, alias2 to mx2. */
const PROVIDERS: Script = {
  'mx1.prov.test. A': sec('mx1.prov.test. 300 IN A 192.0.2.1'),
  'mx1.prov.test. AAAA': sec('mx1.prov.test. 300 IN AAAA 2001:db8::1'),
  '_25._tcp.mx1.prov.test. TLSA': sec(`_25._tcp.mx1.prov.test. 300 IN TLSA ${TLSA}`),
  'mx2.prov.test. A': sec('mx2.prov.test. 300 IN A 192.0.2.2'),
  'mx2.prov.test. AAAA': nodata('prov.test.'),
  '_25._tcp.mx2.prov.test. TLSA': nxdomain('prov.test.'),
  'ux.uprov.test. A': insec('ux.uprov.test. 300 IN A 192.0.2.3'),
  'ux.uprov.test. AAAA': () => answerRes(insecureV('nodata'), [], soa('uprov.test.')),
  'bad.prov.test. A': bogus('bad.prov.test.'),
  'bad.prov.test. AAAA': bogus('bad.prov.test.'),
  'alias.prov.test. A': sec('alias.prov.test. 300 IN CNAME mx1.prov.test.', 'mx1.prov.test. 300 IN A 192.0.2.1'),
  'alias.prov.test. AAAA': sec('alias.prov.test. 300 IN CNAME mx1.prov.test.', 'mx1.prov.test. 300 IN AAAA 2001:db8::1'),
  'alias2.prov.test. A': sec('alias2.prov.test. 300 IN CNAME mx2.prov.test.', 'mx2.prov.test. 300 IN A 192.0.2.2'),
  'alias2.prov.test. AAAA': nodata('prov.test.'),
  '_25._tcp.alias2.prov.test. TLSA': sec(`_25._tcp.alias2.prov.test. 300 IN TLSA ${TLSA}`),
};

/** A mail domain `<label>.mail.test.` whose MX RRset names these hosts (secure unless `status` says). */
function mx(label: string, hosts: [number, string][], status: 'secure' | 'insecure' = 'secure'): Script {
  const owner = `${label}.mail.test.`;
  const lines = hosts.map(([p, h]) => `${owner} 3600 IN MX ${p} ${h}`);
  return { [`${owner} MX`]: status === 'secure' ? sec(...lines) : insec(...lines) };
}

function env(script: Script, prefetch: Partial<PrefetchConfig> | false = {}, o: { admission?: AdmissionLimits; cache?: Partial<CacheConfig> } = {}) {
  const clock = clockAt();
  const resolver = new ScriptedResolver((q) => {
    const f = script[`${q.name.toText().toLowerCase()} ${typeToText(q.type)}`];
    return f ? f() : nxdomain('test.')();
  });
  const cached = new CachingResolver({
    resolver, config: cacheConfig(o.cache), clock,
    ...(prefetch ? { prefetch: { mail: true, mailHosts: 4, maxInFlight: 32, ...prefetch } } : {}),
    ...(o.admission ? { admission: o.admission } : {}),
  });
  return {
    clock, resolver, cached,
    /** What the resolver was asked, as "name TYPE" (" cd" for CD=1). */
    asked: (): string[] => resolver.calls.map((c) => {
      const [n, t, cd] = c.split(' ');
      return `${n} ${typeToText(Number(t))}${cd ? ' cd' : ''}`;
    }),
    /** A client's question through the handler; the reply bytes (rendered from the entry as the server does). */
    async ask(name: string, type: number, q: { dnssecOk?: boolean; cd?: boolean } = {}): Promise<Buffer> {
      const a = await cached.handler(queryMessage(name, type, q), CLIENT);
      assert.ok(isCachedAnswer(a));
      return Buffer.from(a.render(queryPacket(name, type, q), CLIENT, 1232)!.bytes);
    },
    /** A client's question on the fast path (undefined: not a hit). */
    fast(name: string, type: number, q: { dnssecOk?: boolean } = {}): Buffer | undefined {
      const r = cached.fastPath(queryPacket(name, type, q), CLIENT, 1232);
      return r && Buffer.from(r.bytes);
    },
    async idle(): Promise<void> {
      await cached.mail?.idle();
      await settle();
    },
    stats: () => cached.stats().mailPrefetch!,
  };
}

const SECURE_DOMAIN = { ...PROVIDERS, ...mx('d', [[20, 'mx2.prov.test.'], [10, 'mx1.prov.test.']]) };

describe('mail prefetch: what is fetched', () => {
  it('an MX answer fetches A and AAAA of its hosts, most preferred first, then TLSA of the secure ones', async () => {
    const e = env(SECURE_DOMAIN);
    await e.ask('d.mail.test.', RRType.MX);
    await e.idle();
    assert.deepEqual(e.asked(), [
      'd.mail.test. MX',
      'mx1.prov.test. A', 'mx1.prov.test. AAAA', 'mx2.prov.test. A', 'mx2.prov.test. AAAA',
      '_25._tcp.mx1.prov.test. TLSA', '_25._tcp.mx2.prov.test. TLSA',
    ]);
    const s = e.stats();
    assert.equal(s.started, 6);
    assert.equal(s.answers, 1);
    assert.equal(s.inFlight, 0);
    assert.equal(s.queued, 0);
  });

  it('the MTA\'s next questions are hits whose reply bytes are those it would have got without the prefetch', async () => {
    const on = env(SECURE_DOMAIN);
    await on.ask('d.mail.test.', RRType.MX);
    await on.idle();
    const questions: [string, number][] = [
      ['mx1.prov.test.', RRType.A], ['mx1.prov.test.', RRType.AAAA], ['mx2.prov.test.', RRType.A], ['mx2.prov.test.', RRType.AAAA],
      ['_25._tcp.mx1.prov.test.', RRType.TLSA], ['_25._tcp.mx2.prov.test.', RRType.TLSA],
    ];
    // Without the prefetch, each is the client's own miss at the same time (T0): same bytes, DO or not, and the
    // same TTL left 7 s later.
    const own = env(SECURE_DOMAIN, false);
    for (const [name, type] of questions) {
      const what = `${name} ${typeToText(type)}`;
      const miss = await own.ask(name, type);
      assert.deepEqual(on.fast(name, type), miss, what);
      assert.ok(own.fast(name, type, { dnssecOk: true }), `${what} DO: a cache hit to compare`);
      assert.deepEqual(on.fast(name, type, { dnssecOk: true }), own.fast(name, type, { dnssecOk: true }), `${what} DO`);
    }
    on.clock.advance(7_000);
    own.clock.advance(7_000);
    for (const [name, type] of questions) {
      assert.ok(own.fast(name, type, { dnssecOk: true }), `${name} ${typeToText(type)}: still a cache hit 7 s later`);
      assert.deepEqual(on.fast(name, type, { dnssecOk: true }), own.fast(name, type, { dnssecOk: true }));
    }
    // Each prefetched entry counted once as a hit; the clients asked the resolver nothing.
    assert.equal(on.stats().hits, 6);
    assert.equal(on.stats().wasted, 0);
    assert.equal(on.resolver.calls.length, 7);
  });

  it('a client asking while the prefetch runs joins it (one resolution) and counts as its hit', async () => {
    const e = env(SECURE_DOMAIN);
    const g = gate(e, (n) => n === 'mx1.prov.test.');
    await e.ask('d.mail.test.', RRType.MX);
    await settle();
    assert.equal(g.waiting, 2, 'the prefetch of mx1 A and AAAA is under way');
    const asking = e.ask('mx1.prov.test.', RRType.A);
    await settle();
    g.open();
    await asking;
    await e.idle();
    assert.equal(e.asked().filter((c) => c === 'mx1.prov.test. A').length, 1);
    assert.equal(e.stats().hits, 1);
    assert.equal(e.cached.stats().coalesced, 1);
  });

  it('null MX (RFC 7505) and a root exchange fetch nothing; duplicates once', () => {
    const null1 = rrs('n.mail.test. 300 IN MX 0 .');
    assert.deepEqual(mailHosts(null1), []);
    const mixed = rrs('m.mail.test. 300 IN MX 0 .', 'm.mail.test. 300 IN MX 20 B.prov.test.', 'm.mail.test. 300 IN MX 5 a.prov.test.', 'm.mail.test. 300 IN MX 30 b.prov.test.');
    assert.deepEqual(mailHosts(mixed).map((n) => n.toText()), ['a.prov.test.', 'B.prov.test.']);
  });

  it('a null MX answer starts nothing', async () => {
    const e = env({ ...PROVIDERS, ...mx('n', [[0, '.']]) });
    await e.ask('n.mail.test.', RRType.MX);
    await e.idle();
    assert.deepEqual(e.asked(), ['n.mail.test. MX']);
    assert.equal(e.stats().answers, 0);
  });

  it('a host that does not exist, an insecure host and a bogus host get no TLSA fetch', async () => {
    const e = env({ ...PROVIDERS, ...mx('x', [[10, 'nx.prov.test.'], [20, 'ux.uprov.test.'], [30, 'bad.prov.test.']]) });
    await e.ask('x.mail.test.', RRType.MX);
    await e.idle();
    assert.deepEqual(e.asked().filter((c) => c.endsWith('TLSA')), []);
    assert.equal(e.stats().started, 6);
  });

  it('an insecure MX RRset still gets its secure hosts\' TLSA (Postfix, smtp_tls_dane_insecure_mx_policy = dane)', async () => {
    const e = env({ ...PROVIDERS, ...mx('u', [[10, 'mx1.prov.test.']], 'insecure') });
    await e.ask('u.mail.test.', RRType.MX);
    await e.idle();
    assert.ok(e.asked().includes('_25._tcp.mx1.prov.test. TLSA'));
  });

  it('a CNAME\'d host: TLSA at the expanded name first, at the MX host name only when none is found there', async () => {
    const e = env({ ...PROVIDERS, ...mx('c', [[10, 'alias.prov.test.'], [20, 'alias2.prov.test.']]) });
    await e.ask('c.mail.test.', RRType.MX);
    await e.idle();
    const tlsa = e.asked().filter((c) => c.endsWith('TLSA'));
    // alias -> mx1 has TLSA: not asked at _25._tcp.alias; alias2 -> mx2 has none: then _25._tcp.alias2.
    assert.deepEqual(tlsa, ['_25._tcp.mx1.prov.test. TLSA', '_25._tcp.mx2.prov.test. TLSA', '_25._tcp.alias2.prov.test. TLSA']);
  });

  it('tlsaBases: the expanded name then the host for an alias, the host alone otherwise, none without secure addresses', async () => {
    const e = env(PROVIDERS, false);
    const bases = async (host: string, ...types: number[]): Promise<string[]> => {
      const answers = [];
      for (const type of types) {
        await e.ask(host, type);
        answers.push({ entry: entryOf(e.cached, host, type), type });
      }
      return tlsaBases(Name.fromText(host), answers).map((n) => n.toText());
    };
    assert.deepEqual(await bases('alias.prov.test.', RRType.A), ['mx1.prov.test.', 'alias.prov.test.']);
    assert.deepEqual(await bases('mx2.prov.test.', RRType.AAAA, RRType.A), ['mx2.prov.test.']);
    assert.deepEqual(await bases('ux.uprov.test.', RRType.A, RRType.AAAA), []);
    assert.deepEqual(await bases('bad.prov.test.', RRType.A), []);
    assert.deepEqual(await bases('nx.prov.test.', RRType.A, RRType.AAAA), []);
  });

  it('CD=1 MX questions, answers without MX data and prefetch.mail off start nothing', async () => {
    const cd = env(SECURE_DOMAIN);
    await cd.ask('d.mail.test.', RRType.MX, { cd: true });
    await cd.idle();
    assert.deepEqual(cd.asked(), ['d.mail.test. MX cd']);
    const none = env(PROVIDERS);
    await none.ask('nomx.mail.test.', RRType.MX);
    await none.idle();
    assert.deepEqual(none.asked(), ['nomx.mail.test. MX']);
    for (const off of [env(SECURE_DOMAIN, false), env(SECURE_DOMAIN, { mail: false })]) {
      await off.ask('d.mail.test.', RRType.MX);
      await off.idle();
      assert.deepEqual(off.asked(), ['d.mail.test. MX']);
      assert.equal(off.cached.stats().mailPrefetch, undefined);
    }
  });

  it('once per MX entry: later hits on it (handler or fast path) start nothing more', async () => {
    const e = env(SECURE_DOMAIN);
    await e.ask('d.mail.test.', RRType.MX);
    await e.idle();
    const n = e.resolver.calls.length;
    await e.ask('d.mail.test.', RRType.MX);
    assert.ok(e.fast('d.mail.test.', RRType.MX));
    await e.idle();
    assert.equal(e.resolver.calls.length, n);
    assert.equal(e.stats().answers, 1);
  });
});

/** The entry under the CD=0 key of a question. */
function entryOf(c: CachingResolver, name: string, type: number): CacheEntry | undefined {
  return c.cache.peek(questionKey({ name: Name.fromText(name), type, class: RRClass.IN }, false));
}

/** Hold the resolutions of the names `held` says until `open()`; the rest go through at once. */
function gate(e: ReturnType<typeof env>, held: (name: string) => boolean) {
  const waiting: (() => void)[] = [];
  const orig = e.resolver.resolve.bind(e.resolver);
  e.resolver.resolve = async (q, o) => {
    if (held(q.name.toText().toLowerCase())) await new Promise<void>((r) => waiting.push(r));
    return orig(q, o);
  };
  return { open: () => { for (const w of waiting.splice(0)) w(); }, get waiting() { return waiting.length; } };
}

describe('mail prefetch: nothing is poisoned', () => {
  const BAD = { ...PROVIDERS, ...mx('b', [[10, 'bad.prov.test.'], [20, 'down.prov.test.']]),
    'down.prov.test. A': () => failureRes('timeout'), 'down.prov.test. AAAA': () => failureRes('timeout') };

  it('a BOGUS or failed fetch is what the client\'s own miss would have stored: same SERVFAIL and EDE, same lifetime', async () => {
    const on = env(BAD, {}, { cache: { bogusTtl: 60, failureTtl: 5 } });
    const own = env(BAD, false, { cache: { bogusTtl: 60, failureTtl: 5 } });
    await on.ask('b.mail.test.', RRType.MX);
    await on.idle();
    for (const [name, type] of [['bad.prov.test.', RRType.A], ['down.prov.test.', RRType.A], ['down.prov.test.', RRType.AAAA]] as const) {
      const hit = on.fast(name, type, { dnssecOk: true });
      assert.ok(hit, `${name} ${typeToText(type)} is held`);
      assert.equal(hit[3]! & 0x0f, 2, 'SERVFAIL');
      assert.deepEqual(hit, await own.ask(name, type, { dnssecOk: true }), `${name} ${typeToText(type)}`);
    }
    // failureTtl later the failure is gone for both (asked again), the BOGUS verdict stays until bogusTtl.
    for (const x of [on, own]) x.clock.advance(5_000);
    assert.equal(on.fast('down.prov.test.', RRType.A), undefined);
    assert.ok(on.fast('bad.prov.test.', RRType.A));
    for (const x of [on, own]) x.clock.advance(55_000);
    assert.equal(on.fast('bad.prov.test.', RRType.A), undefined);
    assert.equal(own.fast('bad.prov.test.', RRType.A), undefined);
  });

  it('a failed fetch keeps the validated data the key holds: served stale as to the client that would have asked', async () => {
    let down = false;
    const script: Script = { ...SECURE_DOMAIN, 'mx1.prov.test. A': () => (down ? failureRes('timeout') : sec('mx1.prov.test. 300 IN A 192.0.2.1')()) };
    const on = env(script);
    const own = env(script, false);
    for (const x of [on, own]) await x.ask('mx1.prov.test.', RRType.A);
    for (const x of [on, own]) x.clock.advance(301_000);
    down = true;
    await on.ask('d.mail.test.', RRType.MX);
    await on.idle();
    assert.ok(on.asked().includes('mx1.prov.test. A'), 'the prefetch tried');
    const n = on.resolver.calls.length;
    // The client now gets the stale answer (EDE 3) without a new resolution, as its own failed miss would give it.
    assert.deepEqual(await on.ask('mx1.prov.test.', RRType.A), await own.ask('mx1.prov.test.', RRType.A));
    assert.equal(on.resolver.calls.length, n);
    // and the validated data is still what the key holds
    assert.equal(entryOf(on.cached, 'mx1.prov.test.', RRType.A)?.status, 'secure');
  });
});

describe('mail prefetch: caps and load', () => {
  const MANY = { ...PROVIDERS, ...mx('many', [[10, 'mx1.prov.test.'], [20, 'mx2.prov.test.'], [30, 'alias.prov.test.'], [40, 'alias2.prov.test.'], [50, 'ux.uprov.test.']]) };

  it('prefetch.mailHosts: only the most preferred hosts, the others counted as skipped', async () => {
    const e = env(MANY, { mailHosts: 2 });
    await e.ask('many.mail.test.', RRType.MX);
    await e.idle();
    const hosts = new Set(e.asked().slice(1).map((c) => c.split(' ')[0]!.replace('_25._tcp.', '')));
    assert.deepEqual([...hosts].sort(), ['mx1.prov.test.', 'mx2.prov.test.']);
    assert.equal(e.stats().started, 6);
    assert.equal(e.stats().skipped.hosts, 3);
  });

  it('prefetch.maxInFlight: never more background resolutions at once; past the queue, skipped', async () => {
    const e = env(MANY, { maxInFlight: 1 });
    let active = 0;
    let peak = 0;
    const orig = e.resolver.resolve.bind(e.resolver);
    e.resolver.resolve = async (q, o) => {
      active++;
      peak = Math.max(peak, active);
      try {
        await settle();
        return await orig(q, o);
      } finally {
        active--;
      }
    };
    await e.ask('many.mail.test.', RRType.MX);
    // 4 hosts, 8 address questions: one runs, four wait (the queue is 4 x maxInFlight), three are skipped.
    assert.equal(e.stats().inFlight, 1);
    assert.equal(e.stats().queued, 4);
    assert.equal(e.stats().skipped.inflight, 3);
    await e.idle();
    assert.equal(peak, 1);
    const s = e.stats();
    assert.equal(s.inFlight, 0);
    assert.equal(s.queued, 0);
    assert.equal(s.skipped.hosts, 1);
  });

  it('skipped while client misses wait for their turn (admission): background work never takes a client\'s place', async () => {
    const e = env(SECURE_DOMAIN, {}, { admission: { maxResolutions: 100, maxPerClient: 100, startsPerTurn: 1 } });
    const mxAnswer = e.ask('d.mail.test.', RRType.MX);
    // Two more client misses in the same turn: they wait for the next turns while the MX answer is served.
    const others = [e.ask('other1.test.', RRType.A), e.ask('other2.test.', RRType.A)];
    await Promise.all([mxAnswer, ...others]);
    await e.idle();
    assert.equal(e.stats().started, 0);
    assert.equal(e.stats().skipped.load, 4);
    assert.deepEqual(e.asked().filter((c) => c.includes('prov.test.')), []);
  });

  it('skipped at the global bound of resolutions (server.maxResolutions), counted by admission too', async () => {
    const e = env(SECURE_DOMAIN, {}, { admission: { maxResolutions: 16, maxPerClient: 100, startsPerTurn: 16 } });
    await e.ask('d.mail.test.', RRType.MX);
    await e.idle();
    // In the last 10% of the MX TTL a hit refreshes it (cache.prefetch); the new entry's next client prefetches again.
    e.clock.advance(3_300_000);
    assert.ok(e.fast('d.mail.test.', RRType.MX));
    await e.idle();
    const g = gate(e, (n) => n.startsWith('slow'));
    const slow = Array.from({ length: 16 }, (_, i) => e.ask(`slow${i}.test.`, RRType.A));
    await settle();
    assert.equal(e.cached.stats().admission!.resolutions, 16);
    assert.ok(e.fast('d.mail.test.', RRType.MX));
    assert.equal(e.stats().answers, 2);
    assert.equal(e.stats().skipped.load, 4);
    assert.equal(e.cached.stats().admission!.prefetchesSkipped, 4);
    g.open();
    await Promise.all(slow);
    await e.idle();
  });
});

describe('mail prefetch: counted', () => {
  it('an entry no client was served counts as wasted when found expired, evicted or flushed; a hit never', async () => {
    const e = env(SECURE_DOMAIN);
    await e.ask('d.mail.test.', RRType.MX);
    await e.idle();
    assert.ok(e.fast('mx1.prov.test.', RRType.A));
    assert.equal(e.stats().hits, 1);
    e.clock.advance(301_000);
    assert.equal(e.fast('mx2.prov.test.', RRType.A), undefined);
    assert.equal(e.stats().wasted, 1);
    e.cached.flush();
    assert.deepEqual({ hits: e.stats().hits, wasted: e.stats().wasted }, { hits: 1, wasted: 5 });
  });

  it('evicted unused: wasted', async () => {
    const e = env(SECURE_DOMAIN, {}, { cache: { maxBytes: 8192 } });
    await e.ask('d.mail.test.', RRType.MX);
    await e.idle();
    for (let i = 0; i < 60; i++) await e.ask(`filler${i}.test.`, RRType.A);
    assert.equal(e.stats().wasted, 6);
    assert.equal(e.stats().hits, 0);
  });
});
