/**
 * A failed DNSSEC-capability probe is confirmed by a second one before an upstream becomes
 * NOT-DNSSEC-CAPABLE. The upstream is the world's real Unbound behind a middlebox on loopback that
 * garbles answers to the probe's questions (the DS answer with the QR bit cleared: not a response,
 * so the question times out on both of its tries; or one SERVFAIL for the anchor's SOA) for the first
 * probe only, or for every probe.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { HealthMonitor } from '../../src/upstream/health.js';
import { UpstreamPool } from '../../src/upstream/pool.js';
import { Name } from '../../src/wire/index.js';
import { getWorld, stopWorld, type WorldInfo } from '../world/index.js';
import { ManualClock, RecordingLogger } from './helpers.js';
import { MangleProxy, clearQr, servfailFor, type Mangle } from './mangle-proxy.js';
import { daemonAddr } from '../world/net.js';

let world: WorldInfo;
let proxy: MangleProxy;

before(async () => {
  world = await getWorld();
  proxy = await MangleProxy.start({ address: daemonAddr(6, 1), backend: { address: world.upstream.host, port: world.upstream.port } });
});

after(async () => {
  await proxy?.stop();
  await stopWorld();
});

/** Garble the first `n` answers of `type` (Infinity: all) with `how`. */
function garble(type: string, n: number, how: (b: Uint8Array) => Uint8Array): Mangle {
  let left = n;
  return (asked, answer) => {
    if (asked.type !== type || left <= 0) return undefined;
    left--;
    return how(answer);
  };
}

function setup(): { pool: UpstreamPool; monitor: HealthMonitor; clock: ManualClock; log: RecordingLogger } {
  const clock = new ManualClock(Date.now());
  const log = new RecordingLogger();
  const pool = new UpstreamPool([{ address: proxy.address, port: proxy.port, priority: 1 }], { clock, logger: log });
  const monitor = new HealthMonitor(pool, { zone: Name.root, probeIntervalMs: 60_000, probeTimeoutMs: 300, clock, logger: log, tickMs: 0 });
  return { pool, monitor, clock, log };
}

const view = (m: HealthMonitor): ReturnType<HealthMonitor['snapshot']>[number] => m.snapshot()[0]!;

describe('a failed probe is confirmed by a second one', () => {
  it('the DS answers of the first probe garbled (QR cleared, both tries): DNSSEC-CAPABLE after the second probe', async () => {
    proxy.mangle = garble('DS', 2, clearQr);
    const { pool, monitor, log } = setup();
    await monitor.start();
    assert.equal(view(monitor).state, 'DNSSEC-CAPABLE', view(monitor).summary);
    assert.equal(pool.snapshot()[0]!.counters.probes, 1, 'one probe, of two rounds');
    assert.equal(pool.snapshot()[0]!.counters.probeConfirmations, 1);
    const note = log.messages('probe failure not confirmed by a second probe');
    assert.equal(note.length, 1);
    assert.match(String(note[0]!['failed']), /^ds \(test\. DS: timeout over UDP\)$/);
    assert.equal(log.messages('upstream DNSSEC state changed').filter((m) => m['to'] === 'NOT-DNSSEC-CAPABLE').length, 0);
    monitor.stop();
  });

  it('one SERVFAIL for the probe\'s SOA question (accepted at once, no retry): DNSSEC-CAPABLE', async () => {
    proxy.mangle = garble('SOA', 1, servfailFor);
    const { pool, monitor } = setup();
    await monitor.start();
    assert.equal(view(monitor).state, 'DNSSEC-CAPABLE', view(monitor).summary);
    assert.equal(pool.snapshot()[0]!.counters.probeConfirmations, 1);
    monitor.stop();
  });

  it('every DS answer garbled: NOT-DNSSEC-CAPABLE, with both probes in the evidence', async () => {
    proxy.mangle = garble('DS', Infinity, clearQr);
    const { pool, monitor, log } = setup();
    await monitor.start();
    const v = view(monitor);
    assert.equal(v.state, 'NOT-DNSSEC-CAPABLE');
    assert.equal(v.capability.kind, 'not-capable');
    if (v.capability.kind === 'not-capable' && v.capability.cause.source === 'probe') {
      assert.deepEqual(v.capability.cause.failed, ['ds']);
      assert.deepEqual(v.capability.cause.confirms?.failed, ['ds'], 'the first probe is kept as the one confirmed');
      assert.ok(v.capability.cause.confirms!.evidence.finishedAt <= v.capability.evidence!.startedAt);
    } else {
      assert.fail(`not a probe verdict: ${JSON.stringify(v.capability)}`);
    }
    assert.match(v.summary, /^not DNSSEC-capable: ds \(test\. DS: timeout over UDP\); confirmed by a second probe \(the first failed ds\)$/);
    assert.equal(pool.snapshot()[0]!.counters.probeConfirmations, 1);
    assert.ok(proxy.count('test', 'DS') >= 4, 'two tries in each of the two probes');
    const change = log.messages('upstream DNSSEC state changed');
    assert.equal(change.length, 1);
    assert.match(String(change[0]!['evidence']), /confirmed by a second probe/);
    monitor.stop();
  });

  it('from DNSSEC-CAPABLE: one failed periodic probe is not believed, two in a row are; NOT-DNSSEC-CAPABLE is re-probed in one round', async () => {
    proxy.mangle = undefined;
    const { pool, monitor, clock } = setup();
    await monitor.start();
    assert.equal(view(monitor).state, 'DNSSEC-CAPABLE');
    assert.equal(pool.snapshot()[0]!.counters.probeConfirmations, 0, 'a passing probe has one round');

    proxy.mangle = garble('SOA', 1, servfailFor);
    clock.advance(60_000);
    await monitor.tick();
    assert.equal(view(monitor).state, 'DNSSEC-CAPABLE');
    assert.equal(pool.snapshot()[0]!.counters.probeConfirmations, 1);

    proxy.mangle = garble('SOA', Infinity, servfailFor);
    clock.advance(60_000);
    await monitor.tick();
    assert.equal(view(monitor).state, 'NOT-DNSSEC-CAPABLE');
    assert.match(view(monitor).summary, /soa-rrsig \(\. SOA: SERVFAIL without a SOA RRset\); tcp \(\. SOA over TCP: SERVFAIL without a SOA RRset\); confirmed by a second probe \(the first failed soa-rrsig, tcp\)$/);
    assert.equal(pool.snapshot()[0]!.counters.probeConfirmations, 2);

    // Already NOT-DNSSEC-CAPABLE: a failing probe changes nothing and needs no second round.
    clock.advance(60_000);
    await monitor.tick();
    assert.equal(view(monitor).state, 'NOT-DNSSEC-CAPABLE');
    assert.equal(pool.snapshot()[0]!.counters.probeConfirmations, 2);
    const cap = view(monitor).capability;
    assert.ok(cap.kind === 'not-capable' && cap.cause.source === 'probe' && cap.cause.confirms === undefined);

    // A passing probe clears it at once.
    proxy.mangle = undefined;
    clock.advance(60_000);
    await monitor.tick();
    assert.equal(view(monitor).state, 'DNSSEC-CAPABLE');
    assert.equal(pool.snapshot()[0]!.counters.probes, 5);
    monitor.stop();
  });
});
