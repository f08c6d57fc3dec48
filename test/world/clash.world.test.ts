/**
 * A second world (another STUBD_WORLD_DIR, as another checkout has) on the same block while this one runs: the start
 * fails at once, naming this world's directory, STUBD_WORLD_NET with a free block, and STUBD_WORLD_DIR; the running
 * world is untouched.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { getWorld, stopWorld, worldStatus, type WorldInfo } from './index.js';
import { reAddr, worldAddr } from './net.js';

const CLI = path.join(path.dirname(fileURLToPath(import.meta.url)), 'cli.js');
let world: WorldInfo;

before(async () => {
  world = await getWorld();
});
after(async () => {
  await stopWorld();
});

describe('two worlds on one host', () => {
  it('the second fails with the first one\'s directory, STUBD_WORLD_NET and STUBD_WORLD_DIR', async () => {
    const other = mkdtempSync(path.join(tmpdir(), 'stubd-world2-'));
    const r = await new Promise<{ code: number; stderr: string }>((resolve) =>
      execFile(process.execPath, [CLI, 'start'], { env: { ...process.env, STUBD_WORLD_DIR: other, STUBD_WORLD_QUIET: '1' }, timeout: 60_000 },
        (err, _out, stderr) => resolve({ code: err ? Number(err.code ?? 1) : 0, stderr })));
    assert.equal(r.code, 1);
    const root = reAddr(worldAddr(0, 1));
    assert.match(r.stderr, new RegExp(`the test world cannot start: its addresses already answer DNS \\(${root}:53, `));
    assert.match(r.stderr, new RegExp(`another test world, in ${world.dir.replace(/[.]/g, '\\.')} \\(${root}:53: nsd pid \\d+`));
    assert.match(r.stderr, /\nRun beside it on another block: STUBD_WORLD_NET=127\.\d+ npm test /);
    assert.match(r.stderr, new RegExp(`Or share it: STUBD_WORLD_DIR=${world.dir.replace(/[.]/g, '\\.')} npm test`));
    assert.equal((await worldStatus()).running, true, 'the running world is untouched');
  });
});
