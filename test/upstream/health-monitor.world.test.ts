/**
 * The health monitor on a pool of real resolvers, with the probe schedule driven by a ManualClock:
 * states and evidence, validated queries only to DNSSEC-capable upstreams, probes at start, every
 * interval and at once after failures, UNREACHABLE and back, strikes, and the start gate.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { HealthMonitor } from '../../src/upstream/health.js';
import { UpstreamPool } from '../../src/upstream/pool.js';
import { Name, RRType } from '../../src/wire/index.js';
import { getWorld, stopWorld, type WorldInfo } from '../world/index.js';
import { ManualClock, RecordingLogger } from './helpers.js';
import { PdnsRecursorFixture } from './pdns-fixture.js';
import { UnboundFixture } from './unbound-fixture.js';
import { daemonAddr } from '../world/net.js';

let world: WorldInfo;
let primary: UnboundFixture;
let pdns: PdnsRecursorFixture;
const n = (s: string): Name => Name.fromText(s);

before(async () => {
  world = await getWorld();
  const upstream = { address: world.upstream.host, port: world.upstream.port };
  primary = await UnboundFixture.start({ address: daemonAddr(2, 1), forwardAll: upstream });
  pdns = await PdnsRecursorFixture.start({ address: daemonAddr(2, 2), forwardTo: upstream, hintFile: world.rootHintsFile });
});

after(async () => {
  await Promise.all([primary?.stop(), pdns?.stop()]);
  await stopWorld();
});

const label = (f: { address: string; port: number }): string => `${f.address}:${f.port}`;

/** The non-DNSSEC resolver first (priority 1), the DNSSEC-capable one second. */
function setup(opts: { strikeLimit?: number } = {}): { pool: UpstreamPool; monitor: HealthMonitor; clock: ManualClock; log: RecordingLogger } {
  const clock = new ManualClock(Date.now());
  const log = new RecordingLogger();
  const pool = new UpstreamPool([
    { address: pdns.address, port: pdns.port, priority: 1 },
    { address: primary.address, port: primary.port, priority: 2 },
  ], { clock, attemptTimeoutsMs: [500], totalTimeoutMs: 2000, maxRounds: 2, retryDelayMs: 10, logger: log });
  const monitor = new HealthMonitor(pool, {
    zone: Name.root, probeIntervalMs: 60_000, probeTimeoutMs: 500, clock, logger: log, tickMs: 0, ...opts,
  });
  return { pool, monitor, clock, log };
}

function stateOf(monitor: HealthMonitor, who: string): string {
  return monitor.snapshot().find((s) => s.upstream === who)!.state;
}

describe('health monitor', () => {
  it('probes at start: the pdns-recursor is NOT-DNSSEC-CAPABLE, the Unbound DNSSEC-CAPABLE, with evidence', async () => {
    const { pool, monitor, clock, log } = setup();
    await monitor.start();
    const snap = monitor.snapshot();
    const p = snap.find((s) => s.upstream === label(pdns))!;
    const u = snap.find((s) => s.upstream === label(primary))!;
    assert.equal(p.state, 'NOT-DNSSEC-CAPABLE');
    assert.equal(u.state, 'DNSSEC-CAPABLE');
    assert.equal(p.capability.kind, 'not-capable');
    if (p.capability.kind === 'not-capable') {
      assert.equal(p.capability.checkedAt, clock.now());
      assert.equal(p.capability.cause.source, 'probe');
      assert.ok(p.capability.evidence!.checks.some((c) => c.check === 'do-bit' && c.result === 'fail'));
    }
    assert.match(p.summary, /not DNSSEC-capable: .*do-bit \(DO bit not echoed\)/);
    assert.equal(u.nextProbeAt, clock.now() + 60_000);
    // The pool's snapshot carries the same state.
    assert.equal(pool.snapshot()[0]!.dnssec.kind, 'not-capable');
    assert.ok(log.messages('upstream DNSSEC state changed').some((m) => m['to'] === 'NOT-DNSSEC-CAPABLE' && m['upstream'] === label(pdns)));
    monitor.stop();
  });

  it('validated queries go only to the DNSSEC-capable upstream; others by priority', async () => {
    const { pool, monitor } = setup();
    await monitor.start();
    const v = await pool.query(n('www.alg13.test.'), RRType.A, 1, { need: 'dnssec' });
    assert.equal(v.kind === 'answer' && v.upstream, label(primary));
    const any = await pool.query(n('www.alg13.test.'), RRType.A, 1, { need: 'any' });
    assert.equal(any.kind === 'answer' && any.upstream, label(pdns));
    const insecure = await pool.query(n('www.alg13.test.'), RRType.A, 1, { need: 'insecure' });
    assert.equal(insecure.kind === 'answer' && insecure.upstream, label(pdns));
    const excluded = await pool.query(n('www.alg13.test.'), RRType.A, 1, { need: 'dnssec', exclude: new Set([label(primary)]) });
    assert.equal(excluded.kind, 'failure');
    if (excluded.kind === 'failure') {
      assert.equal(excluded.reason, 'no-dnssec-upstream');
      assert.deepEqual(excluded.unusable, [{ upstream: label(primary), why: 'excluded' }, { upstream: label(pdns), why: 'not-capable' }]);
      assert.equal(excluded.attempts.length, 0);
    }
    monitor.stop();
  });

  it('probes again when the interval has passed on the clock, not before', async () => {
    const { pool, monitor, clock } = setup();
    await monitor.start();
    const probes = (): number[] => pool.snapshot().map((s) => s.counters.probes);
    assert.deepEqual(probes(), [1, 1]);
    clock.advance(59_999);
    await monitor.tick();
    assert.deepEqual(probes(), [1, 1]);
    clock.advance(1);
    await monitor.tick();
    assert.deepEqual(probes(), [2, 2]);
    monitor.stop();
  });

  it('a failure probes at once: UNREACHABLE, still a last resort; restarted, it is DNSSEC-CAPABLE after the next probe', async () => {
    const { pool, monitor, clock } = setup();
    await monitor.start();
    await primary.kill();
    const r = await pool.query(n('www.alg8.test.'), RRType.A, 1, { need: 'dnssec' });
    assert.equal(r.kind, 'failure');
    if (r.kind === 'failure') {
      assert.equal(r.reason, 'network-error');
      assert.ok(r.attempts.every((a) => a.upstream === label(primary)), 'never the non-DNSSEC upstream');
      assert.deepEqual(r.unusable, [{ upstream: label(pdns), why: 'not-capable' }]);
    }
    await monitor.probeNow(label(primary)); // joins the probe the failure started
    const cap = monitor.snapshot().find((s) => s.upstream === label(primary))!.capability;
    assert.equal(cap.kind, 'unreachable');
    if (cap.kind === 'unreachable') {
      assert.equal(cap.wasCapable, true);
      assert.match(cap.failure, /ECONNREFUSED/);
    }
    assert.equal(pool.dnssecReachable(), false);
    await primary.restart();
    // UNREACHABLE upstreams are probed every min(interval, 30 s).
    clock.advance(29_999);
    await monitor.tick();
    assert.equal(stateOf(monitor, label(primary)), 'UNREACHABLE');
    clock.advance(1);
    await monitor.tick();
    assert.equal(stateOf(monitor, label(primary)), 'DNSSEC-CAPABLE');
    assert.equal(pool.dnssecReachable(), true);
    const back = await pool.query(n('www.alg8.test.'), RRType.A, 1, { need: 'dnssec' });
    assert.equal(back.kind === 'answer' && back.upstream, label(primary));
    monitor.stop();
  });

  it('strikes: repeated stripped answers make it NOT-DNSSEC-CAPABLE until a probe clears it', async () => {
    const { pool, monitor, clock } = setup({ strikeLimit: 3 });
    await monitor.start();
    const strike = (i: number): void => pool.reportStripped(label(primary), {
      at: clock.now(), name: `www${i}.example.`, type: 'A', reason: 'rrsigs-missing', confirmedBy: '127.0.0.9:53',
    });
    strike(1);
    strike(2);
    assert.equal(stateOf(monitor, label(primary)), 'DNSSEC-CAPABLE');
    assert.equal(monitor.snapshot().find((s) => s.upstream === label(primary))!.strikes.length, 2);
    strike(3);
    const cap = monitor.snapshot().find((s) => s.upstream === label(primary))!.capability;
    assert.equal(cap.kind, 'not-capable');
    if (cap.kind === 'not-capable') assert.equal(cap.cause.source, 'observed');
    const r = await pool.query(n('www.alg8.test.'), RRType.A, 1, { need: 'dnssec' });
    assert.equal(r.kind === 'failure' && r.reason, 'no-dnssec-upstream');
    assert.equal(pool.snapshot()[1]!.counters.strippedAnswers, 3);
    clock.advance(60_000);
    await monitor.tick();
    assert.equal(stateOf(monitor, label(primary)), 'DNSSEC-CAPABLE');
    assert.equal(monitor.snapshot().find((s) => s.upstream === label(primary))!.strikes.length, 0);
    monitor.stop();
  });

  it('strikes older than the window are forgotten', async () => {
    const { pool, monitor, clock } = setup({ strikeLimit: 2 });
    await monitor.start();
    const strike = (): void => pool.reportStripped(label(primary), { at: clock.now(), name: 'a.', type: 'A', reason: 'nsec-missing', confirmedBy: 'x' });
    strike();
    clock.advance(600_000);
    strike();
    assert.equal(stateOf(monitor, label(primary)), 'DNSSEC-CAPABLE');
    monitor.stop();
  });

  it('validated queries wait for the first probes: never the unprobed non-DNSSEC upstream of priority 1', async () => {
    const { pool, monitor } = setup();
    const started = monitor.start();
    const r = await pool.query(n('www.alg10.test.'), RRType.A, 1, { need: 'dnssec' });
    assert.equal(r.kind === 'answer' && r.upstream, label(primary));
    assert.equal(pool.snapshot()[0]!.counters.queries, 0, 'nothing but probes went to the pdns-recursor');
    await started;
    monitor.stop();
  });
});
