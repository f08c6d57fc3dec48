/**
 * Every query case of the test world through the validating daemon: the status on the wire (AD, SERVFAIL +
 * EDE, CD) must be the case's expected status, and is compared with BIND's delv and a validating Unbound on
 * the same upstream with the same anchor. Where a reference disagrees, the case must carry a recorded
 * deviation naming the RFC rule that decides (test/world/zones.ts).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { useWorldDaemon } from '../support/world-daemon.js';
import { dig } from '../support/dig.js';
import { ZONES, type QueryCase, type Status } from '../world/index.js';
import { delv, dig as worldDig, validatorVerdict } from '../world/tools.js';

const env = useWorldDaemon();

/**
 * RFC 8914 codes that report a DNSSEC verdict: 6 DNSSEC Bogus, 7 Signature Expired, 8 Signature Not Yet Valid,
 * 9 DNSKEY Missing, 10 RRSIGs Missing, 11 No Zone Key Bit Set, 12 NSEC Missing, 27 Unsupported NSEC3 Iterations.
 */
const DNSSEC_EDE: ReadonlySet<number> = new Set([6, 7, 8, 9, 10, 11, 12, 27]);
/**
 * A validation limit (KeyTrap budget, CNAME/DNAME chain length) has no RFC 8914 code of its own: EDE 0 (Other)
 * whose text names the limit (validator/ede.ts). Any other EDE 0 is no bogus verdict.
 */
const LIMIT_TEXT = /validation work limit reached|CNAME\/DNAME chain too long/;
/** 22 No Reachable Authority, 23 Network Error: an upstream failure, which must never pass for a bogus verdict. */
const UPSTREAM_FAILURE_EDE: ReadonlySet<number> = new Set([22, 23]);

type OurStatus = Status | 'error' | 'upstream-failure' | 'servfail-without-dnssec-ede';

/** INFO-CODEs of dig's "; EDE: 7 (Signature Expired): (...)" lines. */
function edeCodes(lines: readonly string[]): number[] {
  return lines.flatMap((l) => {
    const m = /^; EDE: (\d+)/.exec(l);
    return m ? [Number(m[1])] : [];
  });
}

/** Whether the EDE lines report a DNSSEC verdict: a DNSSEC code, or EDE 0 naming a validation limit. */
function dnssecEde(lines: readonly string[]): boolean {
  return lines.some((l) => {
    const code = Number(/^; EDE: (\d+)/.exec(l)?.[1] ?? NaN);
    return DNSSEC_EDE.has(code) || (code === 0 && LIMIT_TEXT.test(l));
  });
}

/**
 * Our status as an MTA sees it: AD for secure, neither AD nor SERVFAIL for insecure, and for bogus SERVFAIL
 * with an EDE that reports a DNSSEC verdict (`dnssecEde`). A SERVFAIL for an upstream failure (EDE 22/23), or one without
 * a DNSSEC EDE, is not a bogus verdict.
 */
async function ourStatus(q: QueryCase): Promise<{ status: OurStatus; rcode: string | undefined; ede: string[] }> {
  const r = await dig(env.port, [q.name, q.type, '+dnssec', '+time=5']);
  let status: OurStatus;
  if (r.status === 'SERVFAIL') {
    const codes = edeCodes(r.ede);
    status = codes.some((c) => UPSTREAM_FAILURE_EDE.has(c)) ? 'upstream-failure'
      : dnssecEde(r.ede) ? 'bogus' : 'servfail-without-dnssec-ede';
  } else {
    status = r.status === 'NOERROR' || r.status === 'NXDOMAIN' ? (r.flags.has('ad') ? 'secure' : 'insecure') : 'error';
  }
  return { status, rcode: r.status, ede: r.ede };
}

/**
 * The validating Unbound's answer. Unbound 1.17 sometimes drops the first query for a very deep name in an
 * NSEC3 zone with 150 iterations (see test/world/README.md, nsec3-flood): a reference that did not answer
 * at all is asked once more; its verdict is never retried.
 */
async function referenceUnbound(q: QueryCase) {
  const first = await worldDig(env.world.validatingUnbound, q.name, q.type, { dnssec: true });
  return first.status === 'TIMEOUT' ? worldDig(env.world.validatingUnbound, q.name, q.type, { dnssec: true }) : first;
}

const EXPECTED_EDE: Record<string, RegExp> = {
  'bogus-expired.test.': /EDE: 7 /,
  'bogus-future.test.': /EDE: 8 /,
  'bogus-no-rrsig.test.': /EDE: 10 /,
};

for (const z of Object.values(ZONES)) {
  describe(`${z.name} (${z.kind}, ${z.expected})`, { concurrency: 4 }, () => {
    for (const q of z.queries) {
      it(`${q.name} ${q.type} -> ${q.status}`, { timeout: 60_000 }, async () => {
        const [ours, dv, val] = await Promise.all([
          ourStatus(q),
          delv(env.world, q.name, q.type),
          referenceUnbound(q),
        ]);
        const refs = { delv: dv.status, validatingUnbound: validatorVerdict(val) };
        const ctx = `ours=${ours.status} (${ours.rcode} ${ours.ede.join(' ')}) delv=${refs.delv} (${dv.reason}) unbound=${refs.validatingUnbound}`;
        assert.equal(ours.status, q.status, ctx);
        if (q.status !== 'bogus') assert.equal(ours.rcode, q.rcode, ctx);
        else {
          const codes = edeCodes(ours.ede);
          assert.ok(!codes.some((c) => UPSTREAM_FAILURE_EDE.has(c)), `an upstream failure (EDE 22/23) is no bogus verdict: ${ctx}`);
          assert.ok(dnssecEde(ours.ede), `a bogus answer carries a DNSSEC EDE (6-12, 27, or 0 naming a validation limit): ${ctx}`);
          assert.ok(ours.ede.some((l) => l.includes(q.name.replace(/\.$/, '')) || l.includes(q.name)), `EDE text names the query or failing name: ${ctx}`);
          const want = EXPECTED_EDE[z.name];
          if (want && q.type !== 'DNSKEY') assert.match(ours.ede.join('\n'), want, ctx);
        }
        for (const [who, verdict] of Object.entries(refs) as [keyof typeof refs, Status | 'error'][]) {
          if (verdict !== ours.status) {
            assert.ok(q.deviation?.[who] === verdict && q.deviation.reason.length > 10, `${who} disagrees with us and no deviation is recorded: ${ctx}`);
          }
        }
      });
    }
  });
}

describe('checking disabled and DO', () => {
  it('CD=1 returns bogus data as received, without AD and without SERVFAIL', async () => {
    const r = await dig(env.port, ['www.bogus-expired.test.', 'A', '+dnssec', '+cd']);
    assert.equal(r.status, 'NOERROR');
    assert.ok(!r.flags.has('ad'));
    assert.ok(r.answers.some((l) => /\sA\s/.test(l)));
  });

  it('a question for type RRSIG gets the signatures as received, INSECURE (no AD), with or without DO, like the validating Unbound', async () => {
    for (const flags of [['+dnssec'], ['+noadflag'], ['+adflag']]) {
      const r = await dig(env.port, ['www.alg13.test.', 'RRSIG', ...flags]);
      assert.equal(r.status, 'NOERROR', r.text);
      assert.ok(!r.flags.has('ad'), r.text);
      // Every signature at the name (for its A, AAAA and NSEC RRsets), and nothing else.
      assert.ok(r.answers.every((l) => /\sIN\s+RRSIG\s/.test(l)) && r.answers.some((l) => /\sRRSIG\s+A\s/.test(l)), r.text);
    }
    const ref = await worldDig(env.world.validatingUnbound, 'www.alg13.test.', 'RRSIG', { dnssec: true });
    assert.equal(ref.status, 'NOERROR');
    assert.equal(validatorVerdict(ref), 'insecure');
    // A bogus zone's signatures too: nothing is validated, so nothing is bogus.
    const bogus = await dig(env.port, ['www.bogus-expired.test.', 'RRSIG', '+dnssec']);
    assert.equal(bogus.status, 'NOERROR', bogus.text);
    assert.ok(!bogus.flags.has('ad'));
  });

  it('AD only for clients that set DO or AD; RRSIGs only with DO', async () => {
    const plain = await dig(env.port, ['www.alg13.test.', 'A', '+noadflag']);
    assert.ok(!plain.flags.has('ad'));
    assert.ok(!plain.answers.some((l) => /RRSIG/.test(l)));
    const adFlag = await dig(env.port, ['www.alg13.test.', 'A', '+adflag']);
    assert.ok(adFlag.flags.has('ad'));
    const withDo = await dig(env.port, ['www.alg13.test.', 'A', '+dnssec']);
    assert.ok(withDo.flags.has('ad'));
    assert.ok(withDo.answers.some((l) => /RRSIG/.test(l)));
  });
});
