/**
 * A wrong system clock against the signed world (issue 14): every signature, the root's included, looks expired
 * (a clock a year ahead) or not yet valid (a clock in 1970). The daemon must say so (one error line naming the
 * clock with the estimated offset, the EDE text of the SERVFAIL answers, `clock` in Daemon.stats() and /status)
 * and still never trust expired data; one zone with expired signatures (bogus-expired.test.) is only a bogus zone.
 *
 *  - in this process, with an injected clock (the system time plus an offset), and the real clock as the control;
 *  - `dnssec-stubd serve` as a child process under libfaketime (FAKETIME="+365d", "@1970-01-15 12:00:00"), with
 *    the HTTP status API on, and without libfaketime as the control.
 *
 * When the clock is set right while the daemon runs (a step of the wall clock, not of the monotonic one), what was
 * cached by the wrong time (the SERVFAILs, the root's BOGUS keys) is flushed and the answers are SECURE again.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { performance } from 'node:perf_hooks';
import { systemClock, type Clock } from '../../src/clock.js';
import type { ClockStatus } from '../../src/resolver/clock-sanity.js';
import { DaemonProcess } from '../support/daemon-process.js';
import { startTestDaemon, worldFlags, type TestDaemon } from '../support/daemon.js';
import { dig, type DigResult } from '../support/dig.js';
import { libfaketime } from '../support/rollover-world.js';
import { freePort } from '../upstream/unbound-fixture.js';
import { getWorld, stopWorld, type WorldInfo } from '../world/index.js';
import { edeCodes } from './failover-support.js';
import { waitFor } from '../support/wait.js';
import { daemonAddr } from '../world/net.js';

const DAY = 86_400_000;
const CHILD_ADDRESS = daemonAddr(42, 1);
/** Names in unrelated zones (NSEC, NSEC3, other algorithms, other servers). */
const NAMES = ['www.alg8.test.', 'www.alg13.test.', 'mail.alg14.test.', 'www.nsec3-salt.test.', 'www.alg15.test.', 'mail.dane.test.'];
const CLOCK_LINE = /^system clock looks wrong: /;

let world: WorldInfo;
let tmp: string;

before(async () => {
  world = await getWorld();
  tmp = mkdtempSync(join(tmpdir(), 'stubd-clock-'));
});
after(async () => {
  rmSync(tmp, { recursive: true, force: true });
  await stopWorld();
});

const inProcess = (clock: Clock): Promise<TestDaemon> =>
  startTestDaemon({ config: { server: { warmupQueries: 0 } }, cli: worldFlags(world), logs: 'info', clock });

const clockLines = <L extends { msg?: string }>(logs: readonly L[]): L[] => logs.filter((l) => CLOCK_LINE.test(l.msg ?? ''));

/** SERVFAIL with the EDE of a signature time (7 expired, 8 not yet valid), never data. */
function assertTimeBogus(r: DigResult, code: 7 | 8, name: string): void {
  assert.equal(r.status, 'SERVFAIL', `${name}: ${r.text}`);
  assert.ok(!r.flags.has('ad'));
  assert.equal(r.answers.length, 0, 'expired data is never served');
  assert.deepEqual(edeCodes(r), [code], r.ede.join('\n'));
}

const WRONG_CLOCKS = [
  { what: 'a year ahead', offset: () => 365 * DAY, code: 7 as const, direction: 'ahead', faketime: '+365d', how: 'expired' },
  { what: 'in 1970', offset: () => Date.UTC(1970, 0, 15, 12) - Date.now(), code: 8 as const, direction: 'behind', faketime: '@1970-01-15 12:00:00', how: 'not yet valid' },
] as const;

describe('a wrong clock, injected into the daemon in this process', () => {
  for (const c of WRONG_CLOCKS) {
    it(`${c.what}: SERVFAIL (EDE ${c.code}) for every name, one error line naming the clock, the EDE text and stats() say so`, async () => {
      const offset = c.offset();
      const { daemon, port, logs, stop } = await inProcess({ now: () => Date.now() + offset, monotonic: () => performance.now() });
      try {
        const results: DigResult[] = [];
        for (const name of NAMES) {
          const r = await dig(port, [name, 'A', '+dnssec']);
          assertTimeBogus(r, c.code, name);
          results.push(r);
        }
        // Two answers (the root and two zones) make the pattern; the answers after it carry the note.
        for (const r of results.slice(2)) assert.match(r.ede[0]!, new RegExp(`; system clock looks wrong: it says .*, .* ${c.direction} \\(the signatures of \\d+ zones, the root's included, look ${c.how}\\)`));
        assert.doesNotMatch(results[0]!.ede[0]!, /system clock/);
        const lines = clockLines(logs);
        assert.equal(lines.length, 1, 'one line, not one per answer');
        assert.equal(lines[0]!.level, 50, 'error level');
        assert.match(lines[0]!.msg, new RegExp(`all look ${c.how} .*the clock seems between [\\d.]+ (days|years) and [\\d.]+ (days|years) ${c.direction}`));
        const st: ClockStatus = daemon.stats().clock;
        assert.equal(st.suspect, true);
        assert.equal(st.direction, c.direction);
        assert.equal(st.evidence.zones[0]!.zone, '.', 'the root among them, first');
        assert.ok(st.evidence.zones.length >= 4, JSON.stringify(st.evidence.zones));
        assert.equal(st.evidence.zonesWithin, 0);
        // The offset the signature windows allow contains the true one (the world signs for 60 days).
        const off = st.evidence.offsetSeconds!;
        const truth = Math.abs(offset) / 1000;
        assert.ok(off.min <= truth + 60 && truth - 60 <= off.max, `${truth} s within ${off.min}..${off.max}`);
        assert.equal(daemon.stats().resolver.statuses.secure, 0, 'nothing SECURE under a wrong clock');
      } finally {
        await stop();
      }
    });
  }

  it('the clock is corrected while the daemon runs (a year ahead, then NTP steps it back): SECURE again within seconds', async () => {
    let offset = 365 * DAY;
    const { daemon, port, logs, stop } = await inProcess({ now: () => Date.now() + offset, monotonic: () => performance.now() });
    try {
      for (const name of NAMES) assertTimeBogus(await dig(port, [name, 'A', '+dnssec']), 7, name);
      assert.equal(daemon.stats().clock.suspect, true);
      offset = 0;
      // The step watch looks every second: then the answers, the chain's keys (the root's BOGUS among them) and
      // the proofs kept by the wrong clock are gone, and the upstreams are probed again.
      const ms = await waitFor('the step', () => logs.some((l) => /^system clock stepped back by 365 days: cached answers, keys and proofs flushed/.test(l.msg)), 5000);
      assert.ok(ms <= 2500, `${ms} ms`);
      for (const name of NAMES) {
        const r = await dig(port, [name, 'A', '+dnssec']);
        assert.equal(r.status, 'NOERROR', `${name}: ${r.text}`);
        assert.ok(r.flags.has('ad'), `${name} SECURE again`);
        assert.ok(Number(r.answers[0]!.split(/\s+/)[1]) <= 3600, `served with its own TTL, not a year's: ${r.answers[0]}`);
      }
      const st = daemon.stats().clock;
      assert.equal(st.suspect, false);
      const after = logs.filter((l) => /^system clock looks right again/.test(l.msg) || /^system clock: no current evidence/.test(l.msg));
      assert.equal(after.length, 1, 'the end of the suspicion is said once');
      const h = daemon.stack.router!.snapshot()[0]!;
      assert.equal(h.health[0]!.state, 'DNSSEC-CAPABLE');
      assert.ok(h.health[0]!.nextProbeAt < Date.now() + 3_600_000, 'the probe schedule is in the corrected time');
    } finally {
      await stop();
    }
  });

  it('the control, with the real clock: one zone\'s expired signatures and another\'s future ones are bogus zones, not the clock', async () => {
    const { daemon, port, logs, stop } = await inProcess(systemClock);
    try {
      for (let i = 0; i < 3; i++) {
        assertTimeBogus(await dig(port, [`${['www', 'mail', 'alias'][i]}.bogus-expired.test.`, 'A', '+dnssec']), 7, 'bogus-expired');
        assertTimeBogus(await dig(port, [`${['www', 'mail', 'alias'][i]}.bogus-future.test.`, 'A', '+dnssec']), 8, 'bogus-future');
      }
      for (const name of NAMES) {
        const r = await dig(port, [name, 'A', '+dnssec']);
        assert.ok(r.flags.has('ad'), `${name}: ${r.text}`);
      }
      const r = await dig(port, ['www.bogus-expired.test.', 'TXT', '+dnssec']);
      assertTimeBogus(r, 7, 'bogus-expired TXT');
      assert.doesNotMatch(r.ede[0]!, /clock/);
      assert.deepEqual(clockLines(logs), []);
      const st = daemon.stats().clock;
      assert.equal(st.suspect, false);
      assert.equal(st.direction, null);
      assert.ok(st.evidence.zonesWithin >= NAMES.length, JSON.stringify(st.evidence));
    } finally {
      await stop();
    }
  });
});

describe('a wrong clock under libfaketime: `dnssec-stubd serve` as a child process', () => {
  const running = new Set<DaemonProcess>();
  const killAll = (): void => {
    for (const d of running) if (d.running) d.signal('SIGKILL');
  };
  before(() => {
    process.on('exit', killAll);
  });
  after(async () => {
    for (const d of running) await d.kill(3_000);
    process.off('exit', killAll);
  });

  /** `faketime`: FAKETIME's value, or `{ file }`: a FAKETIME_TIMESTAMP_FILE re-read every second, changed while it runs. */
  async function serve(faketime: string | { file: string } | undefined): Promise<{ child: DaemonProcess; port: number; http: number }> {
    const port = await freePort(CHILD_ADDRESS);
    const http = await freePort(CHILD_ADDRESS);
    const config = join(tmp, `serve-${port}.json`);
    writeFileSync(config, JSON.stringify({
      trustAnchors: [world.rootAnchorFile], upstreams: [{ address: world.upstream.host, port: world.upstream.port }],
    }));
    // From a file: the monotonic clock left alone, as when NTP steps the wall clock.
    const env = faketime === undefined ? {}
      : typeof faketime === 'string' ? { LD_PRELOAD: `${libfaketime()}`, FAKETIME: faketime }
      : { LD_PRELOAD: `${libfaketime()}`, FAKETIME_TIMESTAMP_FILE: faketime.file, FAKETIME_CACHE_DURATION: '1', DONT_FAKE_MONOTONIC: '1' };
    const child = new DaemonProcess(['serve', '--config', config, '--state-dir', mkdtempSync(join(tmp, 'state-')),
      '--listen', `${CHILD_ADDRESS}:${port}`, '--http', `${CHILD_ADDRESS}:${http}`, '--log-level', 'info'], { ...process.env, ...env });
    running.add(child);
    await child.started(30_000);
    return { child, port, http };
  }

  async function status(http: number): Promise<{ clock: ClockStatus; now: string }> {
    const res = await fetch(`http://${CHILD_ADDRESS}:${http}/status`);
    assert.equal(res.status, 200);
    return { ...(await res.json()) as { clock: ClockStatus }, now: new Date().toISOString() };
  }

  it('libfaketime is installed (Debian package faketime; scripts/install-test-deps.sh)', () => {
    assert.ok(libfaketime());
  });

  for (const c of WRONG_CLOCKS) {
    it(`FAKETIME ${c.faketime} (${c.what}): SERVFAIL EDE ${c.code}, the error line, the EDE text and /status name the clock`, async () => {
      const { child, port, http } = await serve(c.faketime);
      try {
        for (const name of NAMES) assertTimeBogus(await dig(port, [name, 'A', '+dnssec'], CHILD_ADDRESS), c.code, name);
        const r = await dig(port, ['www.nsec3-nosalt.test.', 'A', '+dnssec'], CHILD_ADDRESS);
        assertTimeBogus(r, c.code, 'www.nsec3-nosalt.test.');
        assert.match(r.ede[0]!, new RegExp(`system clock looks wrong: it says ${c.direction === 'ahead' ? '20\\d\\d' : '1970'}-.* ${c.direction} `));
        await waitFor('the clock line', () => clockLines(child.lines).length > 0, 5000);
        const lines = clockLines(child.lines);
        assert.equal(lines.length, 1, lines.map((l) => l.msg).join('\n'));
        assert.equal(lines[0]!.level, 50);
        assert.match(lines[0]!.msg ?? '', new RegExp(`the clock seems between .* ${c.direction}\\. Every DNSSEC answer is SERVFAIL until the clock is corrected`));
        const s = await status(http);
        assert.equal(s.clock.suspect, true);
        assert.equal(s.clock.direction, c.direction);
        assert.ok(s.clock.evidence.zones.some((z) => z.zone === '.'));
        assert.ok(s.clock.suspect && /^system clock looks wrong/.test(s.clock.message));
      } finally {
        await child.kill(3_000);
        running.delete(child);
      }
    });
  }

  it('the clock a year ahead is set right while it runs: SECURE again once the step is seen', async () => {
    const file = join(tmp, 'faketime');
    writeFileSync(file, '+365d\n');
    const { child, port, http } = await serve({ file });
    try {
      for (const name of NAMES.slice(0, 4)) assertTimeBogus(await dig(port, [name, 'A', '+dnssec'], CHILD_ADDRESS), 7, name);
      assert.equal((await status(http)).clock.suspect, true);
      writeFileSync(file, '+0\n');
      await waitFor('the step', () => child.lines.some((l) => /^system clock stepped back by 365 days/.test(l.msg ?? '')), 10_000);
      for (const name of NAMES) assert.ok((await dig(port, [name, 'A', '+dnssec'], CHILD_ADDRESS)).flags.has('ad'), `${name} SECURE again`);
      assert.equal((await status(http)).clock.suspect, false);
    } finally {
      await child.kill(3_000);
      running.delete(child);
    }
  });

  it('the control, without libfaketime: bogus-expired.test. is SERVFAIL EDE 7 and /status says the clock is fine', async () => {
    const { child, port, http } = await serve(undefined);
    try {
      for (const name of NAMES) assert.ok((await dig(port, [name, 'A', '+dnssec'], CHILD_ADDRESS)).flags.has('ad'), name);
      for (const host of ['www', 'mail', 'alias']) assertTimeBogus(await dig(port, [`${host}.bogus-expired.test.`, 'A', '+dnssec'], CHILD_ADDRESS), 7, host);
      const s = await status(http);
      assert.equal(s.clock.suspect, false);
      assert.deepEqual(s.clock.evidence.zones.map((z) => z.zone), ['bogus-expired.test.']);
      assert.deepEqual(clockLines(child.lines), []);
    } finally {
      await child.kill(3_000);
      running.delete(child);
    }
  });
});
