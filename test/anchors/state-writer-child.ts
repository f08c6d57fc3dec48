/**
 * The writer that test/anchors/state-crash.test.ts kills with SIGKILL: a stand-in for the daemon's state
 * writes, without the rest of the daemon (a whole daemon takes far longer to start, and the kills must land
 * in writes). Not a test file itself.
 *
 *   node state-writer-child.js <state dir> <seed file> <atomic|plain> [first write number]
 *
 * It locks the state directory as the daemon does (taking over the lock its killed predecessor left, and
 * removing the temporary file that predecessor's interrupted write left), warms up, announces `writing` on
 * stdout, then writes the zone's state over and over until it is killed. Every write differs from the one before:
 * the pending key comes and goes, its count and hold-down end change, the trusted keys' timestamps and one
 * trusted key's state (Valid / Missing: both trusted) change, and the refresh record, whose time carries
 * the write's number and whose length varies, changes too. The trusted keys themselves never change.
 *
 * `atomic` writes with writeStateFile (temporary file, fsync, rename, directory fsync). `plain` does the
 * same write straight over the file (open with truncation, write, fsync): the broken writer the test must
 * be able to catch.
 */
import { readFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { lockStateDir, parse, serialize, stateFileName, writeStateFile } from '../../src/anchors/state-file.js';
import type { KeyEntry, ZoneState } from '../../src/anchors/rfc5011.js';

/**
 * The refresh record of write number g is at BASE + g ms: from the file it finds after a kill, the test
 * reads how many writes the killed writer completed (each writer starts at the number it is given).
 */
export const GENERATION_BASE = Date.parse('2027-01-11T00:00:00Z');

/** Write number `g` of the seed state (`seed`: trusted keys plus AddPend keys). */
export function variant(seed: ZoneState, g: number): ZoneState {
  const at = GENERATION_BASE + g;
  const keys: KeyEntry[] = [];
  let trusted = 0;
  for (const e of seed.keys) {
    if (e.status.state === 'AddPend') {
      if (g % 2 === 1) continue; // the pending key disappears on odd writes ...
      keys.push({ ...e, lastSeen: at, lastChange: at, status: { state: 'AddPend', holdDownEnd: at + 30 * 86_400_000 + (g % 1000) * 1000, pendingCount: g % 7 } });
    } else {
      // ... while the trusted keys stay, one of them going Missing and back (Missing keys are trusted too).
      const state = trusted++ === 1 && g % 3 === 2 ? 'Missing' : 'Valid';
      keys.push({ ...e, lastSeen: at, lastChange: at, status: { state } });
    }
  }
  const lastRefresh = g % 4 === 3
    ? { at, result: { kind: 'failed' as const, reason: `timeout ${'x'.repeat(g % 97)}` } }
    : { at, result: { kind: 'ok' as const } };
  return { ...seed, keys, highWater: at, lastRefresh };
}

/** The broken writer: the same write straight over the file, so a kill can leave it empty or partial. */
async function writeInPlace(dir: string, state: ZoneState): Promise<void> {
  const fh = await open(join(dir, stateFileName(state.zone)), 'w', 0o644);
  try {
    await fh.writeFile(serialize(state), 'utf8');
    await fh.sync();
  } finally {
    await fh.close();
  }
}

async function main(): Promise<void> {
  const [dir, seedFile, mode, firstArg] = process.argv.slice(2);
  const first = Number(firstArg ?? '1');
  if (!dir || !seedFile || (mode !== 'atomic' && mode !== 'plain') || !Number.isSafeInteger(first)) {
    throw new Error('usage: state-writer-child.js <state dir> <seed file> <atomic|plain> [first write number]');
  }
  const seed = parse(readFileSync(seedFile, 'utf8'));
  // A writer the test lost (its process gone before the kill) must not write on forever.
  setTimeout(() => process.exit(3), 30_000);
  lockStateDir(dir); // held until the kill: the next writer must take over the stale lock
  const write = mode === 'atomic' ? writeStateFile : writeInPlace;
  // Warm up what the first write would otherwise spend its first milliseconds on (the code, libuv's thread
  // pool), without touching the state file, so that the kills' delays fall on writes, the first one included.
  serialize(variant(seed, first - 1));
  await (await open(dir, 'r')).close();
  process.stdout.write('writing\n'); // synchronous on a pipe (Linux): the test starts its delay from here
  for (let g = first; ; g++) await write(dir, variant(seed, g));
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err: unknown) => {
    process.stderr.write(`state-writer-child: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(2);
  });
}
