#!/usr/bin/env node
// Runs the compiled test files (dist/test/**/*.test.js) with node's test runner.
// Usage: node scripts/run-tests.mjs [--unit | --world] [filter-substring ...]
//   --unit   only the tests that do not need the signed test world (every file but *.world.test.*), with the
//            long RFC 5011 crash loop shortened (STATE_CRASH_KILLS=200 unless set)
//   --world  only the *.world.test.* files (the test world must be running, or they start it; the bench/mta one starts
//            bench/mta's own hierarchy on 127.58.128.0/17)
// A compiled file whose TypeScript source is gone (renamed or deleted; tsc does not clean dist/) is skipped.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

const root = new URL('..', import.meta.url).pathname;
const testDir = join(root, 'dist', 'test');
const files = [];
(function walk(dir) {
  for (const e of readdirSync(dir)) {
    const p = join(dir, e);
    if (statSync(p).isDirectory()) walk(p);
    else if (e.endsWith('.test.js')) files.push(p);
  }
})(testDir);
const args = process.argv.slice(2);
const only = args.includes('--unit') ? 'unit' : args.includes('--world') ? 'world' : undefined;
const filters = args.filter((a) => a !== '--unit' && a !== '--world');
const isWorld = (f) => f.endsWith('.world.test.js');
const hasSource = (f) => existsSync(join(root, f.slice(join(root, 'dist').length + 1).replace(/\.js$/, '.ts')));
const chosen = files
  .filter(hasSource)
  .filter((f) => only === undefined || (only === 'world') === isWorld(f))
  .filter((f) => filters.length === 0 || filters.some((s) => f.includes(s)))
  .sort();
if (chosen.length === 0) {
  console.error('no test files found under dist/test (did the build run?)');
  process.exit(1);
}
// The quick unit run kills the RFC 5011 state writer 200 times instead of the full run's 1,000 (about a minute alone).
const env = only === 'unit' ? { STATE_CRASH_KILLS: '200', ...process.env } : process.env;
const r = spawnSync(process.execPath, ['--test', '--test-reporter=spec', ...chosen], { stdio: 'inherit', env });
process.exit(r.status ?? 1);
