#!/usr/bin/env node
// Entry point: the compiled CLI (run `npm ci` first; its `prepare` step builds dist/).
// `serve` runs in a child node started with heap limits derived from the configuration (src/cli/relaunch.ts,
// src/config/heap.ts); DNSSEC_STUBD_HEAP=off, or --max-old-space-size in NODE_OPTIONS, keeps it in this process.
import { fileURLToPath } from 'node:url';
import { followLauncher, launchDecision, relaunch } from '../dist/src/cli/relaunch.js';

const args = process.argv.slice(2);

async function runHere() {
  const { main } = await import('../dist/src/cli/main.js');
  return main(args);
}

const decision = launchDecision(args, process.env, process.execArgv);
let run;
if (decision.kind === 'relaunch') {
  run = relaunch(fileURLToPath(import.meta.url), args, decision.flags).catch((err) => {
    process.stderr.write(`dnssec-stubd: cannot start node with the heap limits (${err?.message ?? err}); running without them\n`);
    return runHere();
  });
} else {
  followLauncher();
  run = runHere();
}
run.then(
  (code) => {
    if (typeof code === 'number') process.exitCode = code;
  },
  (err) => {
    process.stderr.write(`dnssec-stubd: ${err?.message ?? err}\n`);
    process.exitCode = 1;
  },
);
