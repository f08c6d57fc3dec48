/**
 * The root KSK roll with the real RFC 5011 hold-downs (30 days) under libfaketime, across daemon restarts (issue 11):
 * `dnssec-stubd serve` runs as a child process with libfaketime preloaded (FAKETIME="+Nd": Node's Date.now() and
 * timers run N days ahead), against the private tree of test/support/rollover-world.ts on rolloverAddr(2, *) (servers in
 * real time; signatures valid from now - 1 day to now + 100 days). Each run starts the daemon on the state directory
 * of the run before, waits for its start-up refresh of the root (read with `dnssec-stubd anchors --json`), asks
 * www.example. A (SECURE) and stops it:
 *
 *   stage 1 +0 d: KSK1 Valid               stage 3 +32 d: KSK1 Revoked (self-signed revocation)
 *   stage 2 +0 d: KSK2 AddPend (30 d)      stage 4 +33 d: KSK1 Revoked (gone for less than the remove hold-down)
 *           +1, +15, +29 d: still AddPend          +63 d: KSK1 Removed
 *           +31 d: KSK2 Valid                      +10 d: the clock went back: nothing changes, still SECURE
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import type { ManagedKeyView } from '../../src/anchors/manager.js';
import type { AnchorZoneReport } from '../../src/daemon/index.js';
import { DaemonProcess, anchorsJson, type LogLine } from '../support/daemon-process.js';
import { dig } from '../support/dig.js';
import { libfaketime, rolloverAddr, startRolloverWorld, type RolloverWorld } from '../support/rollover-world.js';

const execFileP = promisify(execFile);
const DAY = 86_400_000;
const LISTEN = rolloverAddr(2, 4);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

let w: RolloverWorld;
let tmp: string;
let stateDir: string;
let configFile: string;
const running = new Set<DaemonProcess>();
const killAll = (): void => {
  for (const d of running) if (d.running) d.signal('SIGKILL');
};

before(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'stubd-faketime-'));
  process.on('exit', killAll);
  w = await startRolloverWorld(2);
  stateDir = join(tmp, 'state');
  configFile = join(tmp, 'config.json');
  // The default hold-downs (30 days); the self-test is not the subject here.
  writeFileSync(configFile, JSON.stringify({ trustAnchors: { files: [w.anchorFiles.ksk1] }, server: { warmupQueries: 0 } }));
});
after(async () => {
  for (const d of running) await d.kill(3_000);
  process.off('exit', killAll);
  w?.stop();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

/** `dnssec-stubd anchors --json` in real time (read only, usable while the daemon runs). */
async function anchorsCli(): Promise<{ code: number | null; zone: AnchorZoneReport }> {
  const r = await anchorsJson(['--state-dir', stateDir, '--config', configFile]);
  assert.equal(r.zones.length, 1, r.stdout);
  return { code: r.code, zone: r.zones[0]! };
}

const env = (days: number): string[] => [`LD_PRELOAD=${libfaketime()}`, `FAKETIME=${days >= 0 ? '+' : ''}${days}d`];

interface RunResult {
  /** The root's state after the start-up refresh, as the anchors command reads it. */
  zone: AnchorZoneReport;
  code: number | null;
  /** The daemon's log lines (pino JSON). */
  logs: LogLine[];
  /** The state file's text. */
  file: string;
}

/** Start the daemon `days` ahead, wait for its refresh of the root, check that www.example. A is SECURE, stop it. */
async function runAt(days: number): Promise<RunResult> {
  const d = new DaemonProcess(['serve', '--config', configFile, '--state-dir', stateDir, '--http', 'off',
    '--listen', `${LISTEN}:53`, '--upstream', `${w.upstream.host}:53`, '--log-level', 'info'], { ...process.env, ...Object.fromEntries(env(days).map((v) => v.split('='))) });
  running.add(d);
  const since = Date.now() + days * DAY;
  try {
    await d.started(20_000);
    let report = await anchorsCli();
    for (let i = 0; !(report.zone.lastRefresh && report.zone.lastRefresh.at >= since); i++) {
      if (i > 100) throw new Error(`no refresh of the root after the start at +${days} d:\n${d.stdout}${d.stderr}`);
      await sleep(100);
      report = await anchorsCli();
    }
    assert.equal(report.zone.lastRefresh!.result, 'ok', d.stdout + d.stderr);
    const r = await dig(53, ['www.example.', 'A', '+dnssec'], LISTEN);
    assert.equal(r.status, 'NOERROR', r.text);
    assert.ok(r.flags.has('ad'), `www.example. A must be SECURE at +${days} d\n${r.text}`);
    await d.kill(3_000);
    assert.ok(!d.running);
    return { zone: report.zone, code: report.code, logs: d.lines, file: readFileSync(join(stateDir, 'root.anchor'), 'utf8') };
  } finally {
    await d.kill(3_000);
    running.delete(d);
  }
}

const keyOf = (r: RunResult, tag: number): ManagedKeyView | undefined => r.zone.keys.find((k) => k.keyTagUnrevoked === tag);
const line = (r: RunResult, tag: number): string => r.file.split('\n').find((l) => l.includes(` ;tag-unrevoked=${tag} `)) ?? '';
const said = (r: RunResult, re: RegExp): boolean => r.logs.some((l) => re.test(l.msg ?? ''));

describe('RFC 5011 with the real 30-day hold-downs under libfaketime, across restarts', () => {
  it('libfaketime moves Node\'s clock', async () => {
    assert.ok(libfaketime(), 'libfaketime is installed (Debian package faketime; scripts/install-test-deps.sh)');
    const before = Date.now();
    const { stdout } = await execFileP('env', [...env(31), process.execPath, '-e', 'process.stdout.write(String(Date.now()))']);
    const ahead = Number(stdout) - before;
    assert.ok(Math.abs(ahead - 31 * DAY) < 60_000, `Date.now() in the child is ${ahead} ms ahead`);
  });

  it('KSK2 is AddPend from +0 to +29 days and Valid at +31 days; KSK1 Revoked at +32 days, Removed at +63 days', async () => {
    // stage 1, first start: the configured KSK1, confirmed
    let r = await runAt(0);
    assert.equal(keyOf(r, w.ksk1.tag)?.state, 'Valid');
    assert.equal(r.zone.keys.length, 1);

    // stage 2: KSK2 found; its hold-down ends 30 days after that refresh
    await w.setStage(2);
    r = await runAt(0);
    let k2 = keyOf(r, w.ksk2.tag)!;
    assert.equal(k2.state, 'AddPend');
    const found = r.zone.lastRefresh!.at;
    assert.equal(k2.holdDownEnd, found + 30 * DAY);
    assert.match(line(r, w.ksk2.tag), /;count=0$/);
    assert.equal(r.zone.trusted, 1);
    assert.ok(said(r, new RegExp(`key ${w.ksk2.tag} alg 8: pending \\(RFC 5011 add hold-down\\), trusted from ${new Date(found + 30 * DAY).toISOString()}`)));

    for (const [days, count] of [[1, 1], [15, 2], [29, 3]] as const) {
      r = await runAt(days);
      k2 = keyOf(r, w.ksk2.tag)!;
      assert.equal(k2.state, 'AddPend', `+${days} d: within the add hold-down`);
      assert.equal(k2.holdDownEnd, found + 30 * DAY, 'the hold-down end carried by the state file');
      assert.match(line(r, w.ksk2.tag), new RegExp(`;count=${count}$`));
      assert.equal(r.zone.trusted, 1);
    }

    r = await runAt(31);
    assert.equal(keyOf(r, w.ksk2.tag)?.state, 'Valid');
    assert.ok(said(r, new RegExp(`key ${w.ksk2.tag} alg 8: AddPend -> Valid \\(add-hold-down-passed\\)`)));
    assert.equal(r.zone.trusted, 2);
    assert.equal(r.code, 0);

    // stage 3: KSK1 revoked and self-signed
    await w.setStage(3);
    r = await runAt(32);
    let k1 = keyOf(r, w.ksk1.tag)!;
    assert.equal(k1.state, 'Revoked');
    assert.equal(k1.keyTag, w.ksk1Revoked.tag);
    assert.equal(r.zone.trusted, 1);
    const revokedSeen = r.zone.lastRefresh!.at;
    assert.equal(k1.holdDownEnd, revokedSeen + 30 * DAY);

    // stage 4: KSK1 gone, but for less than the remove hold-down
    await w.setStage(4);
    r = await runAt(33);
    k1 = keyOf(r, w.ksk1.tag)!;
    assert.equal(k1.state, 'Revoked');
    assert.equal(k1.holdDownEnd, revokedSeen + 30 * DAY);

    r = await runAt(63);
    assert.equal(keyOf(r, w.ksk1.tag)?.state, 'Removed');
    assert.match(line(r, w.ksk1.tag), /;was-revoked=yes$/);
    assert.equal(keyOf(r, w.ksk2.tag)?.state, 'Valid');
    assert.equal(r.zone.trusted, 1);
    assert.equal(r.code, 0);

    // the clock goes back 53 days: a warning, no state changes, still SECURE with KSK2
    const beforeBack = r.zone.keys.map((k) => [k.keyTagUnrevoked, k.state, k.lastChange]);
    r = await runAt(10);
    assert.ok(said(r, /clock went back/), r.logs.map((l) => l.msg).join('\n'));
    assert.deepEqual(r.zone.keys.map((k) => [k.keyTagUnrevoked, k.state, k.lastChange]), beforeBack);
    assert.equal(r.zone.trusted, 1);
  });
});
