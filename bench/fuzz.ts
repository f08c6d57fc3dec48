/**
 * Wire-codec fuzzer. Usage: node dist/bench/fuzz.js [cases=1000000] [seed=1]
 * Exit status 1 when any case fails (non-WireError exception, unequal re-parse, or > 100 ms).
 * A tenth as many mutated zone-text cases then exercise the presentation-format parser.
 */
import { performance } from 'node:perf_hooks';
import { parseZoneText } from '../src/wire/index.js';
import { CORPUS_ZONE, corpusPackets } from './corpus.js';
import { checkText, makeTextInput, prng, runFuzz, type FuzzStats } from './fuzz-core.js';

const cases = Number(process.argv[2] ?? 1_000_000);
const seed = Number(process.argv[3] ?? 1);
if (!Number.isInteger(cases) || cases < 0 || !Number.isInteger(seed)) {
  console.error('usage: node dist/bench/fuzz.js [cases] [seed]');
  process.exit(2);
}

const corpus = corpusPackets();
console.log(`fuzzing ${cases} cases, seed ${seed}, corpus of ${corpus.length} packets (${corpus.reduce((n, p) => n + p.length, 0)} octets)`);

const line = (s: FuzzStats): string =>
  `${s.cases} cases, parse ok ${s.parsedOk}, WireError ${s.wireErrors}, failures ${s.failures.length}`;

const stats = runFuzz({
  cases, seed, corpus,
  onProgress: (done, s) => console.log(`  ${done}: ${line(s)}`),
});

const secs = stats.elapsedMs / 1000;
console.log(`done: ${line(stats)}`);
console.log(`time ${secs.toFixed(1)} s, ${Math.round(stats.cases / secs)} cases/s, slowest case ${stats.maxMs.toFixed(2)} ms (${stats.retimed} cases retimed after a pause over 100 ms)`);
console.log('WireError by code:', Object.entries(stats.byCode).sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k}=${v}`).join(' '));
for (const f of stats.failures) console.log(`FAIL (${f.ms.toFixed(1)} ms) ${f.error}\n  ${f.hex}`);

// Presentation format too: mutated zone text must parse or throw WireError.
const textCases = Math.ceil(cases / 10);
const rand = prng(seed ^ 0x5eed);
let textOk = 0;
let textErr = 0;
let textFail = 0;
const t0 = performance.now();
for (let i = 0; i < textCases; i++) {
  const input = makeTextInput(rand, CORPUS_ZONE);
  try {
    if (checkText(input, (t) => parseZoneText(t, { origin: 'example.', defaultTtl: 60 })) === 'ok') textOk++;
    else textErr++;
  } catch (e) {
    textFail++;
    if (textFail <= 20) console.log(`TEXT FAIL ${e instanceof Error ? e.stack : String(e)}\n  ${JSON.stringify(input)}`);
  }
}
console.log(`text: ${textCases} cases in ${((performance.now() - t0) / 1000).toFixed(1)} s, parse ok ${textOk}, WireError ${textErr}, failures ${textFail}`);
process.exit(stats.failures.length || textFail ? 1 : 0);
