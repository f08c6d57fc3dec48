/**
 * Crash safety of the RFC 5011 state file (issue 11): a writer is killed with SIGKILL at random moments
 * while it writes the zone's state, 1,000 times, and after every kill the file must parse (checksum
 * included) and hold exactly the keys that were trusted. The writer (state-writer-child.ts) locks the
 * state directory as the daemon does and writes states that change on every write while the two trusted
 * keys stay; each kill comes 0 to MAX_DELAY µs after it announced that it writes, so kills land before,
 * inside and between writes. A temporary file left next to the state file after a kill shows that the
 * kill came in the middle of a write (after the temporary file was created, before the rename): the test
 * counts those and requires a share of them, else it would not test what it claims.
 *
 * The second case proves the check's power: the same loop with a writer that writes over the file in
 * place (no temporary file, no rename) must be caught leaving a broken file within 300 kills.
 *
 * Node starts a child in ~0.1 s of CPU, so the kills run in LANES parallel loops, each in its own state
 * directory. Environment: STATE_CRASH_KILLS (default 1000), STATE_CRASH_LANES (default two per CPU, at most
 * 16), STATE_CRASH_MAX_DELAY_US (default 4000). The full file system, 0-byte and corrupt files are
 * state-file.test.ts's (the file functions) and state-recovery.test.ts's (the manager).
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ManualClock } from '../../src/clock.js';
import { applyRefresh, initialState, keyId, trustedKeys, type ZoneState } from '../../src/anchors/rfc5011.js';
import { readStateFile, serialize, writeStateFile } from '../../src/anchors/state-file.js';
import { Name } from '../../src/wire/index.js';
import { DAY, observe, zoneKey } from './rfc5011-support.js';
import { GENERATION_BASE, variant } from './state-writer-child.js';

const CHILD = fileURLToPath(new URL('./state-writer-child.js', import.meta.url));

function envInt(name: string, dflt: number): number {
  const v = process.env[name];
  if (v === undefined || v === '') return dflt;
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`${name}=${v}: not a whole number`);
  return n;
}
const KILLS = envInt('STATE_CRASH_KILLS', 1000);
/** Two writers a CPU: while one waits on its fsync the other starts (capped: each is a Node process). */
const LANES = Math.max(1, envInt('STATE_CRASH_LANES', Math.min(16, 2 * availableParallelism())));
const MAX_DELAY_US = envInt('STATE_CRASH_MAX_DELAY_US', 4000);
/** Kills the in-place writer gets to leave a broken file. */
const PLAIN_KILLS = 300;
/** Write numbers of kill k start at k * STRIDE + 1, so the file found after a kill tells whose write it is. */
const STRIDE = 1_000_000;

const T0 = Date.parse('2027-01-11T00:00:00Z');
const clock = new ManualClock(T0);
const ZONE = Name.root;
const dirs: string[] = [];
const tempDir = (): string => {
  const d = mkdtempSync(join(tmpdir(), 'stubd-crash-'));
  dirs.push(d);
  return d;
};
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** Two trusted keys (algorithms 13 and 15) and a pending one (13) the writer adds and removes. */
const [A, B, C] = [zoneKey(ZONE, 13), zoneKey(ZONE, 15), zoneKey(ZONE, 13)];
const TRUSTED = [A, B].map((k) => keyId(k.rr.data)).sort();

function seedState(): ZoneState {
  const s = applyRefresh(initialState(ZONE, [A.rr, B.rr], T0 - DAY), observe([A, B, C], [A]), T0).state;
  assert.deepEqual(s.keys.map((k) => k.status.state), ['Valid', 'Valid', 'AddPend']);
  return s;
}

type Mode = 'atomic' | 'plain';

interface KillResult {
  /** A temporary file was left: the kill came between its creation and the rename. */
  midWrite: boolean;
  /** Writes the killed writer completed (as the file shows; 0: the file is still its predecessor's). */
  writes: number;
  /** Why the file failed the check (undefined: it parsed and held exactly the trusted keys). */
  broken: string | undefined;
}

/**
 * Wait `us` microseconds: a timer for all but the last millisecond or so (timers have millisecond steps),
 * then yielding to the event loop until the time is up (a spin, but a short one: the writers need the CPUs).
 */
async function pause(us: number): Promise<void> {
  const end = process.hrtime.bigint() + BigInt(us) * 1000n;
  if (us >= 2000) await new Promise<void>((resolve) => setTimeout(resolve, Math.floor(us / 1000) - 1));
  while (process.hrtime.bigint() < end) await new Promise<void>((resolve) => setImmediate(resolve));
}

interface Writer {
  child: ChildProcess;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stderr: () => string;
}

class WriterStartError extends Error {}

/** Start a writer; resolves once it announced that it writes. */
async function startWriter(dir: string, seedFile: string, mode: Mode, first: number): Promise<Writer> {
  const child = spawn(process.execPath, [CHILD, dir, seedFile, mode, String(first)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
  await new Promise<void>((resolve, reject) => {
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      if (out.includes('writing\n')) resolve();
    });
    child.once('error', reject);
    void exited.then(({ code, signal }) => reject(new WriterStartError(`writer exited (${code ?? signal}) before writing: ${stderr}`)));
  });
  return { child, exited, stderr: () => stderr };
}

/** Writers that died on their own before they wrote anything, and were started again. */
let restarts = 0;

/** Start a writer, let it write for 0..MAX_DELAY_US after it says so, SIGKILL it, check what it left. */
async function killOnce(dir: string, seedFile: string, mode: Mode, k: number): Promise<KillResult> {
  const first = k * STRIDE + 1;
  // A writer that dies before it announced has written nothing (it writes only after): it is started again,
  // a few times, so that e.g. a build rewriting dist/ under a long run does not end it. Its error is kept.
  let w: Writer | undefined;
  for (let attempt = 1; !w; attempt++) {
    try {
      w = await startWriter(dir, seedFile, mode, first);
    } catch (err) {
      if (!(err instanceof WriterStartError) || attempt >= 3) throw err;
      restarts++;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
  const { child, exited, stderr } = w;
  try {
    await pause(Math.floor(Math.random() * MAX_DELAY_US));
  } finally {
    child.kill('SIGKILL');
  }
  const { code, signal } = await exited;
  assert.equal(signal, 'SIGKILL', `kill ${k}: the writer was to be killed, but exited with ${code}: ${stderr()}`);

  const temps = readdirSync(dir).filter((f) => f.startsWith('.root.anchor.tmp-'));
  // The writer before this one left at most one; this one removed it when it took the lock.
  assert.ok(temps.length <= 1, `kill ${k}: temporary files pile up: ${temps.join(' ')}`);
  const r = await readStateFile(dir, ZONE, clock, { setAside: false });
  let broken: string | undefined;
  let writes = 0;
  if (r.kind !== 'ok') {
    broken = `${r.kind}${'reason' in r ? `: ${r.reason}` : ''}`;
  } else {
    const trusted = trustedKeys(r.state).map((rr) => keyId(rr.data)).sort();
    if (JSON.stringify(trusted) !== JSON.stringify(TRUSTED)) broken = `trusted keys ${trusted.length}, not the ${TRUSTED.length} expected`;
    writes = Math.max(0, (r.state.lastRefresh?.at ?? 0) - GENERATION_BASE - first + 1);
  }
  return { midWrite: temps.length > 0, writes, broken };
}

interface Run {
  kills: number;
  results: KillResult[];
  ms: number;
  /** CPU time of this (the test's) process meanwhile: the rest is the writers'. */
  parentCpuMs: number;
  /** Writers that died before they wrote and were started again (see killOnce). */
  restarts: number;
}

/** `total` kills over LANES loops, each in its own state directory; stops early once `stopAt` broken files were seen. */
async function killLoop(mode: Mode, total: number, stopAt = Infinity): Promise<Run> {
  const seed = seedState();
  const seedFile = join(tempDir(), 'seed.anchor');
  writeFileSync(seedFile, serialize(seed));
  const results: KillResult[] = [];
  let next = 0;
  let brokenSeen = 0;
  let failed = false;
  const restartsBefore = restarts;
  const started = performance.now();
  const cpu = process.cpuUsage();
  const lane = async (): Promise<void> => {
    const dir = join(tempDir(), 'state');
    await writeStateFile(dir, variant(seed, 0));
    try {
      while (next < total && brokenSeen < stopAt && !failed) {
        const r = await killOnce(dir, seedFile, mode, next++);
        results.push(r);
        if (r.broken) brokenSeen++;
      }
    } catch (err) {
      failed = true; // the other lanes stop after their current kill: no writer outlives the test
      throw err;
    }
  };
  const lanes = await Promise.allSettled(Array.from({ length: Math.min(LANES, Math.max(total, 1)) }, lane));
  const failure = lanes.find((l): l is PromiseRejectedResult => l.status === 'rejected');
  if (failure) throw failure.reason;
  const used = process.cpuUsage(cpu);
  return { kills: results.length, results, ms: performance.now() - started, parentCpuMs: (used.user + used.system) / 1000, restarts: restarts - restartsBefore };
}

function summary(run: Run): string {
  const mid = run.results.filter((r) => r.midWrite).length;
  const writes = run.results.map((r) => r.writes).sort((a, b) => a - b);
  const q = (p: number): number => writes[Math.min(writes.length - 1, Math.floor(p * writes.length))] ?? 0;
  const none = writes.filter((w) => w === 0).length;
  const broken = run.results.filter((r) => r.broken).length;
  return `${run.kills} kills in ${(run.ms / 1000).toFixed(1)} s (${LANES} lanes, delays 0-${MAX_DELAY_US} µs, `
    + `${(run.ms / Math.max(1, run.kills)).toFixed(0)} ms a kill, this process's CPU ${(run.parentCpuMs / 1000).toFixed(1)} s): `
    + `${mid} mid-write (${((100 * mid) / Math.max(1, run.kills)).toFixed(1)}%), ${broken} broken files, ${run.restarts} writers restarted; `
    + `writes completed per writer: ${none} killed before its first, median ${q(0.5)}, 90th percentile ${q(0.9)}, max ${q(1)}`;
}

describe('state file crash safety (SIGKILL during writes)', () => {
  it(`${KILLS} kills of an atomic writer: every time the file parses and holds exactly the trusted keys`, { timeout: 600_000 }, async (t) => {
    const run = await killLoop('atomic', KILLS);
    t.diagnostic(summary(run));
    assert.equal(run.kills, KILLS);
    const broken = run.results.map((r, i) => [i, r.broken] as const).filter(([, b]) => b !== undefined);
    assert.deepEqual(broken.slice(0, 5), [], `${broken.length} kills left a file that fails the check`);
    // The loop must really hit writes: otherwise it would prove nothing about them.
    const mid = run.results.filter((r) => r.midWrite).length;
    if (KILLS >= 100) assert.ok(mid >= KILLS / 10, `only ${mid} of ${KILLS} kills landed while a temporary file existed`);
  });

  it(`the check has power: a writer that writes over the file in place is caught within ${PLAIN_KILLS} kills`, { timeout: 300_000 }, async (t) => {
    const run = await killLoop('plain', PLAIN_KILLS, 1);
    t.diagnostic(summary(run));
    const first = run.results.find((r) => r.broken);
    t.diagnostic(`first broken file after ${run.results.findIndex((r) => r.broken) + 1} kills: ${first?.broken}`);
    assert.ok(first, `no broken file in ${run.kills} kills of the in-place writer: the loop cannot catch a non-atomic write`);
  });
});
