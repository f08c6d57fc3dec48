/**
 * Reproducible fuzzing (fixed seeds): 20,000 mutated or random packets and 2,000 mutated zone-text
 * snippets. Each must parse and round-trip, or throw WireError; nothing else, and no case over 100 ms.
 * The long run is `node dist/bench/fuzz.js` (1,000,000 cases by default).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseZoneText } from '../../src/wire/index.js';
import { CORPUS_ZONE, corpusPackets } from '../../bench/corpus.js';
import { checkText, makeInput, makeTextInput, prng, runFuzz } from '../../bench/fuzz-core.js';

describe('wire fuzzing', () => {
  it('20,000 packet cases, seed 20240601: parse-and-round-trip or WireError only', () => {
    const stats = runFuzz({ cases: 20_000, seed: 20240601, corpus: corpusPackets() });
    const report = stats.failures.map((f) => `${f.error}\n  ${f.hex}`).join('\n');
    assert.equal(stats.failures.length, 0, report);
    assert.equal(stats.parsedOk + stats.wireErrors, 20_000);
    assert.ok(stats.parsedOk > 1000, `only ${stats.parsedOk} inputs parsed: mutations too destructive`);
    assert.ok(stats.wireErrors > 1000);
  });

  it('the input generator is reproducible', () => {
    const corpus = corpusPackets();
    const a = prng(7);
    const b = prng(7);
    for (let i = 0; i < 50; i++) assert.deepEqual(makeInput(a, corpus), makeInput(b, corpus));
  });

  it('2,000 zone-text cases: parse-and-round-trip or WireError only', () => {
    const rand = prng(42);
    let ok = 0;
    for (let i = 0; i < 2000; i++) {
      const input = makeTextInput(rand, CORPUS_ZONE);
      if (checkText(input, (t) => parseZoneText(t, { origin: 'example.', defaultTtl: 60 })) === 'ok') ok++;
    }
    assert.ok(ok > 100);
  });
});
