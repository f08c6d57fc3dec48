/**
 * The pool against real Unbound instances on loopback: priority, failover on a killed process,
 * hold-down and recovery (with a manual clock), REFUSED, SERVFAIL, timeouts, coalescing, TCP.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { Name, RRType, Rcode, type AData } from '../../src/wire/index.js';
import { UpstreamPool, type PoolOptions } from '../../src/upstream/pool.js';
import type { UpstreamResult } from '../../src/upstream/result.js';
import type { UpstreamConfig } from '../../src/config/schema.js';
import { ManualClock, RecordingLogger } from './helpers.js';
import { UnboundFixture, bigTxt, type UnboundOptions } from './unbound-fixture.js';
import { daemonAddr } from '../world/net.js';

const started: UnboundFixture[] = [];
after(async () => {
  await Promise.all(started.map((u) => u.stop()));
});

/** An Unbound whose a.test. A answer is 192.0.2.<tag>, so we can tell who answered. */
async function unbound(last: number, extra: Partial<UnboundOptions> = {}): Promise<UnboundFixture> {
  const u = await UnboundFixture.start({
    address: daemonAddr(2, last),
    localData: [`a.test. 300 IN A 192.0.2.${last}`, `b.test. 300 IN A 192.0.2.${last}`, ...(extra.localData ?? [])],
    ...(extra.refuse ? { refuse: true } : {}),
    ...(extra.localZones ? { localZones: extra.localZones } : {}),
    ...(extra.forwardZones ? { forwardZones: extra.forwardZones } : {}),
  });
  started.push(u);
  return u;
}

const up = (u: UnboundFixture, priority: number): UpstreamConfig => ({ address: u.address, port: u.port, priority });
const A = Name.fromText('a.test.');

function answerAddress(r: UpstreamResult): string {
  assert.equal(r.kind, 'answer', `expected an answer, got ${JSON.stringify(r.kind === 'failure' ? r : r.kind)}`);
  if (r.kind !== 'answer') return '';
  return (r.message.answer[0]!.data as AData).address;
}

const fast: PoolOptions = { attemptTimeoutsMs: [400, 800], totalTimeoutMs: 2000 };

describe('upstream pool', () => {
  it('asks the best priority first and logs each query', async () => {
    const u1 = await unbound(1);
    const u2 = await unbound(2);
    const logger = new RecordingLogger();
    const pool = new UpstreamPool([up(u2, 2), up(u1, 1)], { ...fast, logger });
    const r = await pool.query(A, RRType.A);
    assert.equal(answerAddress(r), '192.0.2.1');
    assert.equal(r.kind === 'answer' && r.upstream, `${u1.address}:${u1.port}`);
    assert.equal(r.kind === 'answer' && r.transport, 'udp');
    const [entry] = logger.messages('upstream query');
    assert.ok(entry);
    assert.equal(entry.upstream, `${u1.address}:${u1.port}`);
    assert.equal(entry.transport, 'udp');
    assert.equal(entry.rcode, 'NOERROR');
    assert.equal(entry.answers, 1);
    assert.equal(typeof entry.rttMs, 'number');
    assert.equal(entry.qname, 'a.test.');
    const snap = pool.snapshot().find((s) => s.config.priority === 1)!;
    assert.equal(snap.counters.queries, 1);
    assert.equal(snap.counters.answers, 1);
    assert.equal(snap.health.kind, 'up');
    assert.equal(snap.downUntil, null);
    assert.ok(snap.lastRttMs !== null);
  });

  it('fails over when priority 1 dies, holds it down, and prefers it again once it is back', async () => {
    const u1 = await unbound(3);
    const u2 = await unbound(4);
    const clock = new ManualClock();
    const logger = new RecordingLogger();
    const pool = new UpstreamPool([up(u1, 1), up(u2, 2)], {
      ...fast, clock, logger, holdDown: { initialMs: 5000, factor: 2, maxMs: 60_000 },
    });
    assert.equal(answerAddress(await pool.query(A, RRType.A)), '192.0.2.3');

    await u1.kill();
    let r = await pool.query(A, RRType.A);
    assert.equal(answerAddress(r), '192.0.2.4');
    assert.equal(r.attempts.length, 2);
    assert.equal(r.attempts[0]!.outcome.kind, 'network-error');
    assert.equal(r.attempts[0]!.upstream, `${u1.address}:${u1.port}`);
    let s1 = pool.snapshot()[0]!;
    assert.equal(s1.health.kind, 'down');
    assert.equal(s1.downUntil, clock.now() + 5000);
    assert.equal(s1.counters.networkErrors, 1);
    assert.deepEqual(logger.messages('upstream marked down'), [
      { upstream: `${u1.address}:${u1.port}`, cause: 'network-error', holdDownMs: 5000, consecutiveFailures: 1 },
    ]);

    // Held down: priority 2 is asked directly, even after priority 1 is back.
    r = await pool.query(A, RRType.A);
    assert.deepEqual(r.attempts.map((a) => a.upstream), [`${u2.address}:${u2.port}`]);
    await u1.restart();
    clock.advance(4000);
    r = await pool.query(A, RRType.A);
    assert.equal(answerAddress(r), '192.0.2.4');
    assert.equal(r.attempts.length, 1);

    // Past the hold-down it is retried, answers, and is preferred again.
    clock.advance(1001);
    r = await pool.query(A, RRType.A);
    assert.equal(answerAddress(r), '192.0.2.3');
    assert.equal(r.attempts.length, 1);
    s1 = pool.snapshot()[0]!;
    assert.equal(s1.health.kind, 'up');
    assert.equal(s1.downUntil, null);
    assert.deepEqual(logger.messages('upstream answers again'), [{ upstream: `${u1.address}:${u1.port}` }]);
    assert.equal(answerAddress(await pool.query(A, RRType.A)), '192.0.2.3');

    // Consecutive failures make the hold-down grow: 5 s, then 10 s.
    await u1.kill();
    assert.equal(answerAddress(await pool.query(A, RRType.A)), '192.0.2.4');
    assert.equal(pool.snapshot()[0]!.downUntil, clock.now() + 5000);
    clock.advance(5001);
    r = await pool.query(A, RRType.A);
    assert.equal(answerAddress(r), '192.0.2.4');
    assert.equal(r.attempts[0]!.outcome.kind, 'network-error', 'retried once the hold-down expired');
    s1 = pool.snapshot()[0]!;
    assert.equal(s1.health.kind === 'down' && s1.health.consecutiveFailures, 2);
    assert.equal(s1.downUntil, clock.now() + 10_000);
  });

  it('still tries held-down upstreams, best first, when all are down', async () => {
    const u1 = await unbound(5);
    const u2 = await unbound(6);
    const clock = new ManualClock();
    const pool = new UpstreamPool([up(u1, 1), up(u2, 2)], { ...fast, clock });
    await u1.kill();
    await u2.kill();
    const fail = await pool.query(A, RRType.A);
    assert.equal(fail.kind, 'failure');
    assert.equal(fail.kind === 'failure' && fail.reason, 'network-error');
    assert.ok(fail.attempts.length >= 4, 'retried in later rounds');
    assert.ok(pool.snapshot().every((s) => s.health.kind === 'down'));

    await u1.restart();
    await u2.restart();
    const r = await pool.query(A, RRType.A);
    assert.equal(answerAddress(r), '192.0.2.5');
    assert.equal(r.attempts.length, 1);
    assert.equal(r.attempts[0]!.wasHeldDown, true);
    assert.equal(pool.snapshot()[0]!.health.kind, 'up');
  });

  it('fails over on REFUSED and holds the refusing upstream down', async () => {
    const refusing = await unbound(7, { refuse: true });
    const u2 = await unbound(8);
    const clock = new ManualClock();
    const pool = new UpstreamPool([up(refusing, 1), up(u2, 2)], { ...fast, clock });
    let r = await pool.query(A, RRType.A);
    assert.equal(answerAddress(r), '192.0.2.8');
    assert.deepEqual(r.attempts[0]!.outcome, { kind: 'rcode-failure', rcode: Rcode.REFUSED });
    const s = pool.snapshot()[0]!;
    assert.equal(s.counters.refused, 1);
    assert.equal(s.health.kind === 'down' && s.health.cause.kind, 'rcode');
    r = await pool.query(A, RRType.A);
    assert.equal(r.attempts.length, 1);

    const alone = new UpstreamPool([up(refusing, 1)], { ...fast, clock });
    const f = await alone.query(A, RRType.A);
    assert.equal(f.kind, 'failure');
    if (f.kind !== 'failure') return;
    assert.equal(f.reason, 'all-refused');
    assert.equal(f.attempts.length, 1, 'an upstream that answered REFUSED is not asked again for this query');
    assert.equal(f.lastErrorResponse?.rcode, Rcode.REFUSED);
  });

  it('fails over on SERVFAIL without holding the upstream down', async () => {
    const refusing = await unbound(9, { refuse: true });
    const zone = { name: 'sf.test.', address: refusing.address, port: refusing.port };
    const failing = await unbound(10, { localZones: [['test.', 'static'], ['sf.test.', 'transparent']], forwardZones: [zone] });
    const u2 = await unbound(11, { localData: ['x.sf.test. 300 IN A 192.0.2.11'] });
    const pool = new UpstreamPool([up(failing, 1), up(u2, 2)], fast);
    const r = await pool.query(Name.fromText('x.sf.test.'), RRType.A);
    assert.equal(answerAddress(r), '192.0.2.11');
    assert.deepEqual(r.attempts[0]!.outcome, { kind: 'rcode-failure', rcode: Rcode.SERVFAIL });
    const s = pool.snapshot()[0]!;
    assert.equal(s.counters.servfail, 1);
    assert.notEqual(s.health.kind, 'down');
    assert.equal(answerAddress(await pool.query(A, RRType.A)), '192.0.2.10', 'still preferred for other names');

    const alone = new UpstreamPool([up(failing, 1)], fast);
    const f = await alone.query(Name.fromText('x.sf.test.'), RRType.A);
    assert.equal(f.kind === 'failure' && f.reason, 'all-servfail');
  });

  it('fails over on timeout and gives up by the total deadline', async () => {
    const u1 = await unbound(12);
    const u2 = await unbound(13);
    u1.pause();
    try {
      const pool = new UpstreamPool([up(u1, 1), up(u2, 2)], { attemptTimeoutsMs: [300, 600], totalTimeoutMs: 1500 });
      const r = await pool.query(A, RRType.A);
      assert.equal(answerAddress(r), '192.0.2.13');
      assert.equal(r.attempts[0]!.outcome.kind, 'timeout');
      assert.equal(r.attempts[0]!.timeoutMs, 300);
      assert.equal(pool.snapshot()[0]!.counters.timeouts, 1);

      const alone = new UpstreamPool([up(u1, 1)], { attemptTimeoutsMs: [300, 600], totalTimeoutMs: 1000 });
      const t0 = Date.now();
      const f = await alone.query(A, RRType.A);
      const took = Date.now() - t0;
      assert.equal(f.kind === 'failure' && f.reason, 'timeout');
      assert.deepEqual(f.attempts.map((a) => a.round), [0, 1]);
      assert.equal(f.attempts[1]!.timeoutMs <= 600, true);
      assert.ok(took >= 900 && took < 2500, `took ${took} ms`);
    } finally {
      u1.resume();
    }
  });

  it('coalesces identical questions in flight into one upstream query', async () => {
    const u = await unbound(14);
    const pool = new UpstreamPool([up(u, 1)], fast);
    const before = await u.queryCount();
    const names = ['a.test.', 'A.TEST.', 'a.TeSt.'];
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => pool.query(Name.fromText(names[i % 3]!), RRType.A)));
    const afterCount = await u.queryCount();
    assert.equal(afterCount - before, 1, 'one query reached Unbound');
    assert.ok(results.every((r) => r === results[0]), 'every caller got the same result');
    assert.equal(answerAddress(results[0]!), '192.0.2.14');
    assert.deepEqual(pool.stats(), { queries: 20, coalesced: 19, inFlight: 0 });

    // Different type or a later query: not coalesced.
    await Promise.all([pool.query(A, RRType.A), pool.query(A, RRType.AAAA)]);
    assert.equal((await u.queryCount()) - afterCount, 2);
  });

  it('fetches a truncated answer over TCP and counts it', async () => {
    const u = await unbound(15, { localData: bigTxt('big.test.', 12, 200) });
    const pool = new UpstreamPool([up(u, 1)], fast);
    const r = await pool.query(Name.fromText('big.test.'), RRType.TXT);
    assert.equal(r.kind, 'answer');
    if (r.kind !== 'answer') return;
    assert.equal(r.transport, 'tcp');
    assert.equal(r.message.answer.length, 12);
    assert.equal(r.attempts[0]!.tcpFallback, true);
    assert.equal(pool.snapshot()[0]!.counters.tcpFallbacks, 1);
  });

  it('fails at once with no upstreams', async () => {
    const pool = new UpstreamPool([], fast);
    const r = await pool.query(A, RRType.A);
    assert.deepEqual(r, { kind: 'failure', reason: 'no-upstreams', attempts: [] });
  });
});
