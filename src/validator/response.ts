/**
 * The response validator (RFC 4035 §5, RFC 6840, RFC 5155 §8, RFC 6672): given the question, the
 * upstream's message and a KeySource, say whether the answer is secure, insecure, bogus or
 * indeterminate, with the reason trail and the TTL cap.
 *
 * How a response is read:
 * - The message must answer the question (else bogus upstream-inconsistent); error rcodes and
 *   truncated messages are indeterminate (nothing to validate).
 * - The answer section's CNAME/DNAME chain is walked from the query name (alias.ts). Every link is
 *   validated in its own zone (trust.ts); a DNAME's synthesized CNAME is accepted unsigned when it is
 *   exactly the DNAME substitution (RFC 6672 §5.3.1). Loops and chains over limits.maxChainLength
 *   links are bogus chain-too-long.
 * - At the end of the chain: data of the query type (positive; wildcard expansions need the
 *   no-closer-match proof), or a negative answer (NXDOMAIN/NODATA proven by NSEC/NSEC3 of the zone), or
 *   a referral (the upstream did not recurse: secure with a verified DS, insecure with a proven absence
 *   of DS), or — after at least one link, with no SOA in authority — nothing: the upstream stopped
 *   short, and `chase` names what to ask next.
 * - DS data lives on the parent side of a cut: a DS RRset or a DS denial signed by the zone at the
 *   queried name itself (the child apex, RFC 4035 Appendix B.8 / RFC 5155 Appendix B.6) is not accepted;
 *   unsigned DS answers are judged by the parent zone's trust state.
 * - qtype RRSIG and truncated (TC) messages are indeterminate: nothing that can be validated.
 * - Records that are not on the chain (extra answer RRsets, the authority NS of a positive answer,
 *   the additional section) are ignored: they neither raise nor lower the verdict and are not returned
 *   as validated. The resolver must not hand them out as secure.
 * - The verdict is the weakest link; the trail lists every check (key trails from the KeySource,
 *   RRset checks, proofs, alias links) in order.
 */
import { RRType, Rcode, typeToText, type Message, type Name, type Question } from '../wire/index.js';
import { walkChain, type ChainWalk } from './alias.js';
import { SectionIndex, precheck } from './classify.js';
import type { Learned } from './learned.js';
import { proveNegative, proveReferral, proveWildcard } from './negative.js';
import { Run } from './trust.js';
import type { AnswerKind, KeySource, SignedRRset, Security, ValidationContext, Verdict } from './types.js';

export interface ResponseValidation {
  verdict: Verdict;
  /** When the answer's CNAME/DNAME chain ends at a name the upstream gave no data for (it stopped short), the name to ask next (the resolver chases it and combines). */
  chase?: { name: Name; type: number };
  /** Records that passed (for the cache/TTL): the minimum verified TTL over everything used. */
  ttl?: number;
  /** With a SECURE verdict: validated NSEC/NSEC3, wildcard and SOA RRsets for aggressive use (RFC 8198). */
  learned?: Learned;
}

function done(verdict: Verdict, chase?: { name: Name; type: number }, learned?: Learned): ResponseValidation {
  const out: ResponseValidation = { verdict };
  if (chase) out.chase = chase;
  if (learned && verdict.security === 'secure' && (learned.denial.length || learned.wildcards.length || learned.soa.length)) out.learned = learned;
  if ((verdict.security === 'secure' || verdict.security === 'insecure') && verdict.ttlCap !== undefined) out.ttl = verdict.ttlCap;
  return out;
}

export async function validateResponse(question: Question, msg: Message, keys: KeySource, ctx: ValidationContext): Promise<ResponseValidation> {
  const pre = precheck(question, msg);
  if (pre?.security === 'indeterminate') return done({ security: 'indeterminate', kind: 'other', detail: pre.detail, trail: [] });
  if (pre) {
    const reason = { kind: 'upstream-inconsistent', name: question.name.toText(), detail: pre.detail } as const;
    return done({ security: 'bogus', kind: 'other', reason, trail: [{ step: 'bogus', reason }] });
  }

  if (question.type === RRType.RRSIG) {
    // RRSIGs are not signed themselves (RFC 4035 §5.3.3 validates RRsets, not their signatures).
    return done({ security: 'indeterminate', kind: 'other', detail: 'RRSIG queries cannot be validated', trail: [] });
  }

  const index = new SectionIndex(msg, question.class);
  const run = new Run(keys, ctx, index);
  const { tally } = run;
  const qtype = question.type;
  const walk = walkChain(question.name, qtype, index, ctx.limits.maxChainLength);
  const inconsistent = (detail: string, name: Name = walk.end): ResponseValidation => {
    tally.bogus({ kind: 'upstream-inconsistent', name: name.toText(), detail });
    return done(tally.verdict('other'));
  };

  // Structural problems first: nothing a signature could repair.
  const stop = walk.stop;
  if (stop?.kind === 'loop' || stop?.kind === 'too-long') {
    for (const l of walk.links) tally.step({ step: 'alias', kind: l.kind, from: l.from.toText(), to: l.to.toText() });
    tally.bogus({ kind: 'chain-too-long', name: stop.name.toText() });
    return done(tally.verdict(walk.links.length > 0 ? 'cname' : 'other'));
  }
  if (stop?.kind === 'inconsistent') return inconsistent(stop.detail, stop.name);
  if (stop?.kind === 'overflow' && msg.rcode !== Rcode.YXDOMAIN) {
    return inconsistent(`DNAME substitution of ${stop.name.toText()} overflows 255 octets but rcode is not YXDOMAIN`);
  }
  if (msg.rcode === Rcode.YXDOMAIN && stop?.kind !== 'overflow') {
    tally.indeterminate('upstream answered YXDOMAIN without an overflowing DNAME substitution');
    return done(tally.verdict('other'));
  }
  if (walk.answer.length > 0 && msg.rcode !== Rcode.NOERROR) {
    return inconsistent(`rcode ${msg.rcode} with data of type ${typeToText(qtype)} at ${walk.end.toText()}`);
  }

  // Every link of the chain, in order.
  for (const link of walk.links) {
    tally.step({ step: 'alias', kind: link.kind, from: link.from.toText(), to: link.to.toText() });
    if (!(await validateSet(run, link.set))) return done(tally.verdict('cname'));
  }

  if (stop?.kind === 'overflow') {
    // RFC 6672 §2.2: YXDOMAIN is the right answer when the substitution is too long; the DNAME proves it.
    await validateSet(run, stop.dname);
    return done(tally.verdict('other'));
  }
  if (walk.synthesizedAnswer) return done(tally.verdict('positive'));

  if (walk.answer.length > 0) {
    for (const set of walk.answer) {
      if (!(await validateSet(run, set))) break;
    }
    return done(tally.verdict('positive'), undefined, run.learned);
  }
  const [verdict, chase] = await negativeEnd(run, walk, qtype, msg.rcode);
  return done(verdict, chase, run.learned);
}

/** Validate one RRset, with the wildcard proof when it was synthesized; false once the run has stopped. */
async function validateSet(run: Run, set: SignedRRset): Promise<boolean> {
  const r = await run.checkRRset(set);
  if (r.security === 'secure' && r.check.wildcard) await proveWildcard(run, set, r.keys, r.check);
  return !run.tally.stopped;
}

/** No data of the query type at the end of the chain. */
async function negativeEnd(run: Run, walk: ChainWalk, qtype: number, rcode: number): Promise<[Verdict, { name: Name; type: number }?]> {
  const { tally, index } = run;
  const end = walk.end;
  if (rcode === Rcode.NXDOMAIN) {
    await proveNegative(run, end, qtype, 'nxdomain');
    return [tally.verdict('nxdomain')];
  }
  // An alias chain that ends without data and without a negative answer (no SOA): the upstream stopped
  // short (e.g. an authoritative server not following an out-of-zone target). Ask for the rest.
  if (walk.links.length > 0 && !index.hasSoa()) return [tally.verdict('cname'), { name: end, type: qtype }];
  const cut = walk.links.length === 0 ? index.referralCut(end, qtype) : undefined;
  if (cut) {
    await proveReferral(run, cut);
    return [tally.verdict('referral')];
  }
  await proveNegative(run, end, qtype, 'nodata');
  return [tally.verdict('nodata')];
}

const RANK: Record<Security, number> = { bogus: 0, indeterminate: 1, insecure: 2, secure: 3 };

/**
 * Combine two links of one answer (`a` first, `b` after it, e.g. a CNAME chain and the chased rest):
 * the weaker status wins (bogus < indeterminate < insecure < secure; on a tie `a`'s reason), the
 * trails are concatenated, the TTL cap is the minimum, and the kind is `b`'s (the end of the chain).
 */
export function weakest(a: Verdict, b: Verdict): Verdict {
  const w = RANK[b.security] < RANK[a.security] ? b : a;
  const trail = [...a.trail, ...b.trail];
  const kind: AnswerKind = b.kind;
  const caps = [a, b].map((v) => (v.security === 'secure' || v.security === 'insecure' ? v.ttlCap : undefined)).filter((x): x is number => x !== undefined);
  const ttlCap = caps.length > 0 ? Math.min(...caps) : undefined;
  switch (w.security) {
    case 'secure': return { security: 'secure', kind, trail, ttlCap };
    case 'insecure': return { security: 'insecure', kind, reason: w.reason, trail, ttlCap };
    case 'bogus': return { security: 'bogus', kind, reason: w.reason, trail };
    case 'indeterminate': return { security: 'indeterminate', kind, detail: w.detail, trail };
  }
}
