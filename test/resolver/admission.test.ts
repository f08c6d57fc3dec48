/**
 * Fairness bounds on cache misses (src/resolver/admission.ts) through the caching resolver, on a scripted
 * resolver that holds its resolutions until released: a client past its bound gets SERVFAIL with EDE 0 at
 * once while others are still admitted, the global bound refuses new resolutions but not joins, cached answers
 * are never refused, prefetches are skipped at the bound and while client misses wait for their turn (background
 * work never competes with client queries), and every count returns to zero.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AdmissionControl, type AdmissionLimits } from '../../src/resolver/admission.js';
import { CachingResolver } from '../../src/resolver/cached.js';
import type { Resolution } from '../../src/resolver/resolve.js';
import { isCachedAnswer, type Answer, type ClientInfo } from '../../src/server/types.js';
import { EdeCode, RRType, Rcode, parseRR } from '../../src/wire/index.js';
import { ScriptedResolver, answerRes, cacheConfig, clockAt, queryMessage, queryPacket, secure, settle } from '../cache/helpers.js';

const client = (address: string): ClientInfo => ({ address, port: 5353, transport: 'udp' });
const A = client('127.0.0.2');
const B = client('127.0.0.3');

/** A secure answer for whatever name was asked. */
function good(name: string): Resolution {
  return answerRes(secure(), [parseRR(`${name} 300 IN A 192.0.2.1`)]);
}

function env(limits: AdmissionLimits) {
  const clock = clockAt();
  const resolver = new ScriptedResolver((q) => good(q.name.toText()));
  const cached = new CachingResolver({ resolver, config: cacheConfig(), clock, admission: limits });
  const ask = async (name: string, who: ClientInfo): Promise<Answer> => {
    const a = await cached.handler(queryMessage(name, RRType.A), who);
    return isCachedAnswer(a) ? a.toAnswer() : a;
  };
  return { clock, resolver, cached, ask };
}

const edeOf = (a: Answer): { code: number; text?: string } | undefined => a.ede?.[0];

describe('admission: per client', () => {
  it('refuses a client past its bound at once (SERVFAIL, EDE 0 naming it) while another client is admitted', async () => {
    const e = env({ maxResolutions: 100, maxPerClient: 2 });
    e.resolver.hold = true;
    const p1 = e.ask('a1.example.', A);
    const p2 = e.ask('a2.example.', A);
    await settle();
    const refused = await e.ask('a3.example.', A);
    assert.equal(refused.rcode, Rcode.SERVFAIL);
    assert.equal(edeOf(refused)?.code, EdeCode.OTHER);
    assert.match(edeOf(refused)?.text ?? '', /too many queries in flight for this client/);
    assert.deepEqual(e.resolver.calls, ['a1.example. 1', 'a2.example. 1'], 'the refused miss asked nothing');
    const pb = e.ask('b1.example.', B);
    await settle();
    assert.equal(e.resolver.calls.length, 3, "the other client's miss is resolved");
    const s = e.cached.stats().admission!;
    assert.deepEqual({ waiting: s.waiting, clients: s.clients, resolutions: s.resolutions, refused: s.refused }, {
      waiting: 3, clients: 2, resolutions: 3, refused: { client: 1, global: 0 },
    });
    e.resolver.release();
    for (const a of await Promise.all([p1, p2, pb])) assert.equal(a.rcode, Rcode.NOERROR);
    const after = e.cached.stats().admission!;
    assert.deepEqual([after.waiting, after.clients, after.resolutions], [0, 0, 0]);
    // Room again.
    assert.equal((await e.ask('a3.example.', A)).rcode, Rcode.NOERROR);
  });

  it('never refuses a cached answer, even to a client at its bound', async () => {
    const e = env({ maxResolutions: 100, maxPerClient: 1 });
    assert.equal((await e.ask('cached.example.', A)).rcode, Rcode.NOERROR);
    e.resolver.hold = true;
    const pending = e.ask('new.example.', A);
    await settle();
    assert.equal((await e.ask('other.example.', A)).rcode, Rcode.SERVFAIL, 'a second miss is past the bound');
    const hit = await e.ask('cached.example.', A);
    assert.equal(hit.rcode, Rcode.NOERROR);
    assert.equal(hit.answer.length, 1);
    e.resolver.release();
    await pending;
  });

  it('a joined resolution counts towards the client bound (the client waits on it)', async () => {
    const e = env({ maxResolutions: 100, maxPerClient: 1 });
    e.resolver.hold = true;
    const pb = e.ask('same.example.', B);
    const pa = e.ask('same.example.', A);
    await settle();
    assert.equal((await e.ask('same.example.', A)).rcode, Rcode.SERVFAIL, 'A already waits on one');
    assert.equal(e.resolver.calls.length, 1);
    e.resolver.release();
    assert.equal((await pa).rcode, Rcode.NOERROR);
    assert.equal((await pb).rcode, Rcode.NOERROR);
  });
});

describe('admission: global', () => {
  it('refuses new resolutions past the global bound, lets misses join a running one', async () => {
    const e = env({ maxResolutions: 2, maxPerClient: 10 });
    e.resolver.hold = true;
    const p1 = e.ask('x1.example.', A);
    const p2 = e.ask('x2.example.', A);
    await settle();
    const refused = await e.ask('x3.example.', B);
    assert.equal(refused.rcode, Rcode.SERVFAIL);
    assert.match(edeOf(refused)?.text ?? '', /resolver is at its limit/);
    const joined = e.ask('x1.example.', B);
    await settle();
    assert.equal(e.resolver.calls.length, 2, 'the join started no resolution');
    assert.deepEqual(e.cached.stats().admission!.refused, { client: 0, global: 1 });
    e.resolver.release();
    for (const a of await Promise.all([p1, p2, joined])) assert.equal(a.rcode, Rcode.NOERROR);
    assert.equal(e.cached.stats().admission!.resolutions, 0);
  });

  it('skips prefetches at the global bound, and prefetches on a later hit', async () => {
    const e = env({ maxResolutions: 1, maxPerClient: 10 });
    await e.ask('pre.example.', A);
    e.clock.advance(295_000); // the last 10% of the 300 s TTL
    e.resolver.hold = true;
    const busy = e.ask('busy.example.', B);
    await settle();
    assert.equal((await e.ask('pre.example.', A)).rcode, Rcode.NOERROR, 'the hit is answered');
    assert.equal(e.cached.stats().admission!.prefetchesSkipped, 1);
    assert.equal(e.cached.stats().prefetches, 0);
    e.resolver.release();
    await busy;
    await e.ask('pre.example.', A);
    assert.equal(e.cached.stats().prefetches, 1);
    await settle();
  });

  it('skips prefetches while a client miss waits for its turn, prefetches once none waits', async () => {
    const e = env({ maxResolutions: 100, maxPerClient: 10, startsPerTurn: 1 });
    await e.ask('pre.example.', A);
    await settle(); // a new turn of the loop: nothing started in it yet
    e.clock.advance(295_000); // the last 10% of the 300 s TTL
    e.resolver.hold = true;
    // Two misses in one turn: the first starts its resolution, the second waits for the next turn.
    const misses = [e.ask('m1.example.', B), e.ask('m2.example.', B)];
    assert.equal(e.cached.stats().admission!.queued, 1);
    assert.equal(e.cached.stats().admission!.resolutions, 1, 'far below the global bound');
    // A hit due for its refresh meanwhile: answered from the cache, no refresh started ahead of the waiting miss.
    const hit = e.cached.fastPath(queryPacket('pre.example.', RRType.A), A, 1232);
    assert.ok(hit, 'a fast-path hit');
    assert.equal(e.cached.stats().admission!.prefetchesSkipped, 1);
    assert.equal(e.cached.stats().prefetches, 0);
    assert.deepEqual(e.resolver.calls, ['pre.example. 1', 'm1.example. 1']);
    // The next turn starts the waiting miss; nothing waits now, so the next hit refreshes the entry.
    await settle();
    assert.equal(e.cached.stats().admission!.queued, 0);
    assert.deepEqual(e.resolver.calls, ['pre.example. 1', 'm1.example. 1', 'm2.example. 1']);
    assert.equal((await e.ask('pre.example.', A)).rcode, Rcode.NOERROR);
    assert.equal(e.cached.stats().prefetches, 1);
    assert.equal(e.cached.stats().admission!.prefetchesSkipped, 1);
    assert.deepEqual(e.resolver.calls, ['pre.example. 1', 'm1.example. 1', 'm2.example. 1', 'pre.example. 1']);
    e.resolver.release();
    for (const a of await Promise.all(misses)) assert.equal(a.rcode, Rcode.NOERROR);
    await settle();
    assert.equal(e.cached.stats().admission!.resolutions, 0);
  });

  it('releases its counts when the resolver fails', async () => {
    const clock = clockAt();
    const resolver = { resolve: async (): Promise<Resolution> => { throw new Error('boom (test)'); } };
    const cached = new CachingResolver({ resolver, config: cacheConfig(), clock, admission: { maxResolutions: 4, maxPerClient: 4 } });
    await assert.rejects(cached.handler(queryMessage('fail.example.', RRType.A), A));
    const s = cached.stats().admission!;
    assert.deepEqual([s.waiting, s.clients, s.resolutions], [0, 0, 0]);
  });
});

describe('AdmissionControl', () => {
  it('rejects limits that are not positive integers', () => {
    assert.throws(() => new AdmissionControl({ maxResolutions: 0, maxPerClient: 1 }), /maxResolutions/);
    assert.throws(() => new AdmissionControl({ maxResolutions: 1, maxPerClient: 1.5 }), /maxPerClient/);
  });

  it('starts at most startsPerTurn resolutions per turn of the loop, the rest round-robin by client', async () => {
    const a = new AdmissionControl({ maxResolutions: 100, maxPerClient: 100, startsPerTurn: 2 });
    const order: string[] = [];
    const ask = (who: string, i: number): void => {
      const t = a.enter(who, false);
      assert.ok(t.admitted);
      if (!t.turn) order.push(`${who}${i} now`);
      else void t.turn.then(() => order.push(`${who}${i}`));
    };
    for (let i = 1; i <= 6; i++) ask('A', i);
    ask('B', 1);
    ask('B', 2);
    assert.ok(a.enter('C', true).admitted && a.enter('C', true).admitted, 'joins need no turn');
    assert.deepEqual(order, ['A1 now', 'A2 now']);
    assert.equal(a.stats().queued, 6);
    await settle();
    assert.deepEqual(order.slice(2), ['A3', 'B1'], 'one turn: two starts, one per client');
    await settle();
    await settle();
    assert.deepEqual(order.slice(4), ['A4', 'B2', 'A5', 'A6']);
    assert.equal(a.stats().queued, 0);
  });

  it('prefetchAllowed: not at the global bound, not while a client miss waits for its turn; counted when not', async () => {
    const a = new AdmissionControl({ maxResolutions: 2, maxPerClient: 10, startsPerTurn: 1 });
    assert.equal(a.prefetchAllowed(), true);
    const first = a.enter('A', false);
    const second = a.enter('B', false);
    assert.ok(first.admitted && !first.turn && second.admitted && second.turn);
    const end = a.started();
    assert.equal(a.prefetchAllowed(), false, "B's miss waits for its turn: background work does not go first");
    await second.turn;
    const end2 = a.started();
    assert.equal(a.stats().queued, 0);
    assert.equal(a.prefetchAllowed(), false, 'the global bound reached');
    end();
    assert.equal(a.prefetchAllowed(), true);
    assert.equal(a.stats().prefetchesSkipped, 2);
    end2();
    first.leave();
    second.leave();
  });

  it('leave() and the end of a resolution count once however often they are called', () => {
    const a = new AdmissionControl({ maxResolutions: 1, maxPerClient: 1 });
    const t = a.enter('127.0.0.9', false);
    assert.ok(t.admitted);
    const end = a.started();
    t.leave();
    t.leave();
    end();
    end();
    assert.deepEqual([a.stats().waiting, a.stats().resolutions, a.stats().clients], [0, 0, 0]);
    assert.ok(a.enter('127.0.0.9', false).admitted);
  });
});
