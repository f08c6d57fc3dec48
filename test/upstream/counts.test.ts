/**
 * Per-upstream counts the metrics read: the RTT histogram (fixed buckets in the upstream's state) and the
 * re-asks after a BOGUS answer (a query that excludes upstreams already asked), with real exchanges against
 * throwaway Unbound instances on loopback.
 */
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { after, describe, it } from 'node:test';
import { Name, RRType } from '../../src/wire/index.js';
import { RTT_BUCKETS_MS, RttHistogram, UpstreamPool } from '../../src/upstream/index.js';
import type { UpstreamConfig } from '../../src/config/schema.js';
import { UnboundFixture } from './unbound-fixture.js';
import { daemonAddr } from '../world/net.js';

const started: UnboundFixture[] = [];
after(async () => {
  await Promise.all(started.map((u) => u.stop()));
});

async function unbound(last: number, extra: { refuse?: boolean } = {}): Promise<UnboundFixture> {
  const u = await UnboundFixture.start({ address: daemonAddr(21, last), localData: [`a.test. 300 IN A 192.0.2.${last}`], ...extra });
  started.push(u);
  return u;
}
const up = (u: UnboundFixture, priority: number): UpstreamConfig => ({ address: u.address, port: u.port, priority });
const label = (u: UnboundFixture): string => `${u.address}:${u.port}`;
const A = Name.fromText('a.test.');

describe('RTT histogram', () => {
  it('puts each RTT in the first bucket whose bound is not below it (the bound itself included), the rest above the last', () => {
    const h = new RttHistogram();
    for (const ms of [0, 0.25, 0.26, 3, 5000, 5000.1, 60_000]) h.observe(ms);
    const s = h.snapshot();
    assert.deepEqual(s.boundsMs, RTT_BUCKETS_MS);
    assert.equal(s.counts.length, RTT_BUCKETS_MS.length + 1);
    const at = (boundMs: number): number => s.counts[RTT_BUCKETS_MS.indexOf(boundMs)]!;
    assert.equal(at(0.25), 2);
    assert.equal(at(0.5), 1);
    assert.equal(at(5), 1);
    assert.equal(at(5000), 1);
    assert.equal(s.counts[RTT_BUCKETS_MS.length], 2, 'above 5 s');
    assert.equal(s.count, 7);
    assert.ok(Math.abs(s.sumMs - (0.25 + 0.26 + 3 + 5000 + 5000.1 + 60_000)) < 1e-9);
    assert.ok(Object.isFrozen(s) && Object.isFrozen(s.counts), 'a snapshot, not the live counts');
  });
});

describe('pool: per-upstream counts', () => {
  it('the RTT histogram grows by one per response (any rcode), not for timeouts; its sum matches the exchanges', async () => {
    const u = await unbound(1);
    const refusing = await unbound(2, { refuse: true });
    const pool = new UpstreamPool([up(refusing, 1), up(u, 2)], { attemptTimeoutsMs: [400], totalTimeoutMs: 2000 });
    const n = 20;
    for (let i = 0; i < n; i++) {
      // a fresh name each time: no coalescing; a.test. answers, the others NXDOMAIN (both are responses)
      const r = await pool.query(i % 2 ? A : Name.fromText(`n${i}.test.`), RRType.A);
      assert.equal(r.kind, 'answer');
    }
    const [bad, good] = pool.snapshot();
    assert.equal(good!.rtt.count, n, 'every answer timed');
    assert.equal(good!.counters.answers, n);
    assert.equal(good!.rtt.counts.reduce((a, b) => a + b, 0), n);
    assert.ok(good!.rtt.sumMs > 0 && good!.rtt.sumMs < n * 400, `sum ${good!.rtt.sumMs} ms`);
    assert.ok(good!.rtt.counts[RTT_BUCKETS_MS.length] === 0, 'loopback: nothing above 5 s');
    // REFUSED is a response too: its round trip counts, though the pool failed over (and then held it down)
    assert.equal(bad!.counters.refused, bad!.rtt.count);
    assert.ok(bad!.rtt.count >= 1);

    // a silent upstream: timeouts, no RTT
    const silent = createSocket('udp4');
    await new Promise<void>((resolve) => silent.bind(0, daemonAddr(21, 6), resolve));
    try {
      const quiet = new UpstreamPool([{ address: daemonAddr(21, 6), port: silent.address().port, priority: 1 }, up(u, 2)], { attemptTimeoutsMs: [200], totalTimeoutMs: 2000 });
      assert.equal((await quiet.query(A, RRType.A)).kind, 'answer');
      const [s0] = quiet.snapshot();
      assert.equal(s0!.counters.timeouts, 1);
      assert.equal(s0!.rtt.count, 0);
    } finally {
      silent.close();
    }
  });

  it('a query that excludes upstreams already asked (a re-ask after BOGUS) counts for each excluded one', async () => {
    const u1 = await unbound(3);
    const u2 = await unbound(4);
    const u3 = await unbound(5);
    const pool = new UpstreamPool([up(u1, 1), up(u2, 2), up(u3, 3)], { attemptTimeoutsMs: [400], totalTimeoutMs: 2000 });
    const reasks = (): number[] => pool.snapshot().map((s) => s.counters.bogusReasks);
    const first = await pool.query(A, RRType.A);
    assert.equal(first.kind === 'answer' && first.upstream, label(u1));
    assert.deepEqual(reasks(), [0, 0, 0], 'a first question is no re-ask');
    const second = await pool.query(A, RRType.A, undefined, { exclude: new Set([label(u1)]) });
    assert.equal(second.kind === 'answer' && second.upstream, label(u2), 'asked around u1');
    assert.deepEqual(reasks(), [1, 0, 0]);
    const third = await pool.query(A, RRType.A, undefined, { exclude: new Set([label(u1), label(u2)]) });
    assert.equal(third.kind === 'answer' && third.upstream, label(u3));
    assert.deepEqual(reasks(), [2, 1, 0]);
    await pool.query(A, RRType.A, undefined, { exclude: new Set(['192.0.2.9:53']) });
    assert.deepEqual(reasks(), [2, 1, 0], 'an upstream of another pool is not ours to count');
  });
});
