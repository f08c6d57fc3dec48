#!/usr/bin/env node
// Entry point: the compiled CLI (run `npm ci` first; its `prepare` step builds dist/).
import { main } from '../dist/src/cli/main.js';

main(process.argv.slice(2)).then(
  (code) => {
    if (typeof code === 'number') process.exitCode = code;
  },
  (err) => {
    process.stderr.write(`dnssec-stubd: ${err?.message ?? err}\n`);
    process.exitCode = 1;
  },
);
