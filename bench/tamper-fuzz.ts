/**
 * The differential tamper fuzz, long runs (security issue 9): dnssec-stubd and a validating Unbound behind
 * the same tampering proxy, each question's answer mutated the same way for both (test/support/fuzz-driver.ts).
 *
 *   node dist/bench/tamper-fuzz.js [--cases 3000] [--seed 1] [--from 0] [--case N] [--verbose] [--examples 10] [--per-class 3]
 *
 * Prints the agreement rate with the validating Unbound, every kind of disagreement with its count and examples
 * (one per mutation kind, up to --per-class), and the cases whose daemon reply broke the rule "an AD reply carries only data present in the real
 * zone". `--case N` re-runs one case of the seed (as printed: "case N"), with its details. Exit status 1 when a
 * rule violation was seen. Starts the test world (or reuses a running one).
 */
import { parseArgs } from 'node:util';
import { getWorld, stopWorld } from '../test/world/index.js';
import { FuzzHarness, caseText, reportText } from '../test/support/fuzz-driver.js';

const { values } = parseArgs({
  options: {
    cases: { type: 'string', default: '3000' },
    seed: { type: 'string', default: '1' },
    from: { type: 'string', default: '0' },
    case: { type: 'string' },
    verbose: { type: 'boolean', default: false },
    examples: { type: 'string', default: '10' },
    'per-class': { type: 'string', default: '3' },
  },
});
const seed = Number(values.seed);
const single = values.case === undefined ? undefined : Number(values.case);
const cases = single === undefined ? Number(values.cases) : 1;
const from = single ?? Number(values.from);
if (![seed, cases, from].every(Number.isInteger) || cases < 1) {
  console.error('usage: node dist/bench/tamper-fuzz.js [--cases N] [--seed N] [--from N] [--case N] [--verbose]');
  process.exit(2);
}

const world = await getWorld();
const h = await FuzzHarness.start(world);
// Interrupted: stop the daemon, the Unbound fixture and the proxy (no orphaned unbound left behind).
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    void h.stop().finally(() => stopWorld()).finally(() => process.exit(130));
  });
}
let done = 0;
let agree = 0;
let violating = 0;
const t0 = Date.now();
try {
  console.log(`tamper fuzz: seed ${seed}, cases ${from}..${from + cases - 1}, ${h.questions.length} questions; daemon :${h.daemonPort}, ` +
    `validating Unbound :${h.unbound.port}, proxy ${h.proxy.label} -> ${world.upstream.host}:${world.upstream.port}`);
  const report = await h.run({
    seed, cases, from,
    onCase(c) {
      done++;
      if (c.agree) agree++;
      if (c.violations.length) violating++;
      if (values.verbose || single !== undefined || c.violations.length) console.log(caseText(c));
      if (done % 250 === 0) {
        console.log(`  ${done}/${cases}: agreement ${(100 * agree / done).toFixed(1)}%, violating cases ${violating}, ${((Date.now() - t0) / 1000).toFixed(0)} s`);
      }
    },
  });
  console.log('');
  console.log(reportText(report, { examples: Number(values.examples), perClass: Number(values['per-class']) }));
  process.exitCode = report.violating.length ? 1 : 0;
} finally {
  await h.stop();
  await stopWorld();
}
