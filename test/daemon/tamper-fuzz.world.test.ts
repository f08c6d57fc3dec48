/**
 * Seeded differential tamper fuzz (security issue 9), the short run: the daemon (in-process, its only upstream
 * a tampering proxy in front of the world's upstream) and a validating Unbound behind the same proxy get the
 * same mutated answers (bit flips in any RDATA, dropped/duplicated/moved/renamed/retyped records and RRsets,
 * swapped signatures, RCODE and header changes, unsigned and replayed RRsets added, forged CNAME chains, TTLs,
 * truncation) for one question of the world per case (test/support/fuzz-driver.ts, mutate.ts).
 *
 *   - the rule: an AD reply of the daemon carries only data present in the real zone (test/support/oracle.ts,
 *     against the zone files and the untampered upstream); any violation fails, with the case seed and mutation;
 *   - agreement with the validating Unbound (both SERVFAIL, or the same RCODE, AD bit and answer RRsets) must
 *     not fall below AGREEMENT_FLOOR; the disagreement classes are printed with one example each.
 *
 * TAMPER_FUZZ_SEED / TAMPER_FUZZ_CASES override the run; bench/tamper-fuzz.ts does long runs and replays one
 * case (`--seed S --case N`).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Name, RRType, parseRR, serializeMessage, type Message } from '../../src/wire/index.js';
import { FuzzHarness, caseText, reportText, type FuzzReport } from '../support/fuzz-driver.js';
import { caseSeed, mulberry32, mutate, mutationContext, normalizeAnswer } from '../support/mutate.js';
import { getWorld, stopWorld } from '../world/index.js';
import { ZONES } from '../world/zones.js';
import { worldAddr } from '../world/net.js';

const SEED = Number(process.env['TAMPER_FUZZ_SEED'] ?? 20261202);
const CASES = Number(process.env['TAMPER_FUZZ_CASES'] ?? 200);
/**
 * Least share of cases where the daemon and the validating Unbound agree. Measured on this seed: 94.5% with
 * the issue 9 fix, 76.5% before it (bench/RESULTS.md, "bench/tamper-fuzz"); the remaining disagreements are
 * classes RESULTS explains. A fall below 90% is a new kind of disagreement to look at.
 */
const AGREEMENT_FLOOR = 0.9;

describe('tamper fuzz mutations', () => {
  const q = { name: Name.fromText('www.alg13.test.'), type: RRType.A, class: 1 };
  const answer: Message = {
    id: 1, opcode: 0, rcode: 0, question: [q],
    flags: { qr: true, aa: false, tc: false, rd: true, ra: true, z: false, ad: false, cd: true },
    answer: [
      parseRR(`www.alg13.test. 3600 IN A ${worldAddr(100, 1)}`),
      parseRR('www.alg13.test. 3600 IN RRSIG A 13 3 3600 20270131060138 20261202050138 62832 alg13.test. ' +
        'DQ1a+lil+IetyYsXhnhG8tAFVnOFWM0BRjg3PtFpqM7JANr6xhtncRL5ejKrDmZodhtemX5jfR75+bVOVqAR0g=='),
    ],
    authority: [], additional: [],
    edns: { udpSize: 1232, version: 0, dnssecOk: true, z: 0, options: [] },
  };
  const wire = (m: Message | Uint8Array): string => Buffer.from(m instanceof Uint8Array ? m : serializeMessage(m).bytes).toString('hex');

  it('are deterministic for a seed and never leave the answer unchanged', () => {
    const ctx = mutationContext(ZONES, q.name);
    const kinds = new Set<string>();
    for (let i = 0; i < 300; i++) {
      const a = mutate(normalizeAnswer(answer), q, mulberry32(caseSeed(7, i)), ctx);
      const b = mutate(normalizeAnswer(answer), q, mulberry32(caseSeed(7, i)), ctx);
      assert.equal(a.kind, b.kind);
      assert.equal(a.detail, b.detail);
      assert.equal(wire(a.udp), wire(b.udp));
      assert.notEqual(wire(a.udp), wire(answer), `case ${i}: ${a.kind} ${a.detail} left the answer as it was`);
      kinds.add(a.kind.replace(/-(qname|same-zone|other-zone|unsigned-zone|case|child|evil|[A-Z]+|NOERROR|NXDOMAIN|SERVFAIL)$/, ''));
    }
    // Every family shows up in 300 draws.
    for (const k of ['flip-rdata', 'drop-record', 'drop-rrset', 'strip-rrsigs', 'duplicate-record', 'move-rrset', 'rename-owner', 'retype',
      'rcode', 'header-tc', 'add-rrset', 'forge-chain', 'ttl', 'truncate-records', 'truncate-bytes']) {
      assert.ok([...kinds].some((x) => x.startsWith(k)), `no ${k} mutation in 300 draws: ${[...kinds].sort().join(', ')}`);
    }
  });
});

describe(`tamper fuzz: ${CASES} seeded mutations (seed ${SEED}), daemon and validating Unbound behind one tampering proxy`, () => {
  let h: FuzzHarness | undefined;
  let report: FuzzReport | undefined;

  before(async () => {
    const world = await getWorld();
    h = await FuzzHarness.start(world);
    report = await h.run({ seed: SEED, cases: CASES });
    console.log(reportText(report, { examples: 5 }));
  }, { timeout: 240_000 });

  after(async () => {
    await h?.stop();
    await stopWorld();
  });

  it('the proxy applied every mutation without error', () => {
    assert.ok(report);
    assert.equal(report.rewriteErrors, 0, `the rewrite threw: ${h?.proxy.errors.map((e) => e.message).join('; ')}`);
    const unasked = report.results.filter((c) => !c.mutation);
    assert.equal(unasked.length, 0, `questions that never reached the proxy:\n${unasked.map(caseText).join('\n')}`);
  });

  it('every AD reply carries only data present in the real zone', () => {
    assert.ok(report);
    assert.equal(report.violating.length, 0,
      `${report.violating.length} of ${report.cases} cases (seed ${SEED}) broke the rule; replay one with ` +
      `node dist/bench/tamper-fuzz.js --seed ${SEED} --case N:\n${report.violating.map(caseText).join('\n')}`);
  });

  it(`agrees with the validating Unbound in at least ${(AGREEMENT_FLOOR * 100).toFixed(0)}% of the cases`, () => {
    assert.ok(report);
    console.log(`AGREEMENT ${report.agreements}/${report.cases} = ${(100 * report.agreementRate).toFixed(1)}% (floor ${(100 * AGREEMENT_FLOOR).toFixed(0)}%)`);
    assert.ok(report.agreementRate >= AGREEMENT_FLOOR,
      `agreement ${(100 * report.agreementRate).toFixed(1)}% < ${(100 * AGREEMENT_FLOOR).toFixed(0)}% (seed ${SEED})`);
  });
});
