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
 * - What is served is what was validated (served.ts): the result carries the RRsets to serve, built
 *   from the run (the chain with the signatures that verified, the proofs' NSEC/NSEC3 and SOA), never
 *   the upstream's sections. Answer RRsets off the chain are dropped; data beside a CNAME is bogus
 *   (alias.ts); an authority RRset of a secure answer that does not validate makes it bogus.
 * - A chain whose tail (past the first link) fails inside the message is not bogus yet: the verdict of
 *   the good part comes back with `chase` at the failed name, which the resolver asks on its own.
 * - The verdict is the weakest link; the trail lists every check (key trails from the KeySource,
 *   RRset checks, proofs, alias links) in order.
 */
import { Name, RRType, Rcode, typeToText, type Message, type Question } from '../wire/index.js';
import { walkChain, type ChainWalk } from './alias.js';
import { SectionIndex, precheck, trustName } from './classify.js';
import type { Learned } from './learned.js';
import { proveNegative, proveReferral, proveWildcard } from './negative.js';
import { insecureAuthority, insecureZone, secureAuthority, type Served } from './served.js';
import { Run, type Mark } from './trust.js';
import type { AnswerKind, KeySource, SignedRRset, Security, ValidationContext, Verdict } from './types.js';

export interface ResponseValidation {
  verdict: Verdict;
  /**
   * The name to ask next, and combine: when the answer's CNAME/DNAME chain ends at a name the upstream gave
   * no data for (it stopped short), or when the chain's tail (after at least one good link) failed inside
   * this message: the tail is then asked on its own before anything is called BOGUS, as Unbound does.
   */
  chase?: { name: Name; type: number };
  /** Records that passed (for the cache/TTL): the minimum verified TTL over everything used. */
  ttl?: number;
  /** With a SECURE verdict: validated NSEC/NSEC3, wildcard and SOA RRsets for aggressive use (RFC 8198). */
  learned?: Learned;
  /** With a SECURE or INSECURE verdict: what may be served (served.ts); never the upstream's sections as received. */
  served?: Served;
}

function done(verdict: Verdict, chase?: { name: Name; type: number }, learned?: Learned, served?: Served): ResponseValidation {
  const out: ResponseValidation = { verdict };
  if (chase) out.chase = chase;
  if (learned && verdict.security === 'secure' && (learned.denial.length || learned.wildcards.length || learned.soa.length)) out.learned = learned;
  if ((verdict.security === 'secure' || verdict.security === 'insecure') && verdict.ttlCap !== undefined) out.ttl = verdict.ttlCap;
  if (served && (verdict.security === 'secure' || verdict.security === 'insecure')) out.served = served;
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

  const answer: SignedRRset[] = [];
  /**
   * The part of the chain from `from` on failed inside this message. Past the first link, the tail is
   * asked on its own (the resolver chases it) before the answer is called BOGUS; the run forgets it.
   */
  const tailFailed = (from: Name, mark: Mark, kind: AnswerKind): ResponseValidation => {
    if (tally.stop?.security !== 'bogus' || from.equals(question.name)) return done(tally.verdict(kind));
    run.rewind(mark);
    return done(tally.verdict('cname'), { name: from, type: qtype }, run.learned, { answer, authority: [] });
  };

  // Every link of the chain, in order.
  for (const link of walk.links) {
    const mark = run.mark();
    tally.step({ step: 'alias', kind: link.kind, from: link.from.toText(), to: link.to.toText() });
    const r = await validateSet(run, link.set);
    if (!r) return tailFailed(link.from, mark, 'cname');
    answer.push(r);
    // A DNAME's synthesized CNAME (RFC 6672 §5.3.1): unsigned, and exactly the substitution (alias.ts checked it).
    const synthesized = link.kind === 'dname' ? index.answerAt(link.from, RRType.CNAME) : undefined;
    if (synthesized) answer.push(synthesized);
  }

  if (stop?.kind === 'overflow') {
    // RFC 6672 §2.2: YXDOMAIN is the right answer when the substitution is too long; the DNAME proves it.
    const r = await validateSet(run, stop.dname);
    if (r) answer.push(r);
    return finish(run, 'other', walk.end, qtype, answer);
  }
  if (walk.synthesizedAnswer) return finish(run, 'positive', walk.end, qtype, answer);

  const mark = run.mark();
  if (walk.answer.length > 0) {
    for (const set of walk.answer) {
      const r = await validateSet(run, set);
      if (!r) return tailFailed(walk.end, mark, 'positive');
      answer.push(r);
    }
    return finish(run, 'positive', walk.end, qtype, answer);
  }
  const [kind, chase] = await negativeEnd(run, walk, qtype, msg.rcode);
  if (tally.stopped) return tailFailed(walk.end, mark, kind);
  return finish(run, kind, walk.end, qtype, answer, chase);
}

/** The verdict, with the authority section served beside `answer` (which may still make it BOGUS). */
async function finish(run: Run, kind: AnswerKind, end: Name, qtype: number, answer: SignedRRset[], chase?: { name: Name; type: number }): Promise<ResponseValidation> {
  const { tally } = run;
  let authority: SignedRRset[] = [];
  if (!tally.stopped && !tally.insecure) authority = await secureAuthority(run, kind, end, answer);
  else if (!tally.stopped && tally.insecure) {
    const zone = insecureZone(tally.insecure);
    const bailiwick = zone === undefined ? undefined : Name.fromText(zone);
    authority = insecureAuthority(run.index.authority, (s) => run.provenAuthoritySet(s), trustName(end, qtype), bailiwick);
  }
  return done(tally.verdict(kind), chase, run.learned, { answer, authority });
}

/** Validate one RRset, with the wildcard proof when it was synthesized: the RRset as served, or undefined once the run has stopped. */
async function validateSet(run: Run, set: SignedRRset): Promise<SignedRRset | undefined> {
  const r = await run.checkRRset(set);
  if (r.security === 'secure' && r.check.wildcard) await proveWildcard(run, set, r.keys, r.check);
  if (run.tally.stopped) return undefined;
  return r.security === 'secure' ? run.provenSet(set, r.check, r.keys) : set;
}

/** No data of the query type at the end of the chain: the kind of answer it is (the tally has the verdict), and what to ask next. */
async function negativeEnd(run: Run, walk: ChainWalk, qtype: number, rcode: number): Promise<[AnswerKind, { name: Name; type: number }?]> {
  const { index } = run;
  const end = walk.end;
  if (rcode === Rcode.NXDOMAIN) {
    await proveNegative(run, end, qtype, 'nxdomain');
    return ['nxdomain'];
  }
  // An alias chain that ends without data and without a negative answer (no SOA): the upstream stopped
  // short (e.g. an authoritative server not following an out-of-zone target). Ask for the rest.
  if (walk.links.length > 0 && !index.hasSoa()) return ['cname', { name: end, type: qtype }];
  const cut = walk.links.length === 0 ? index.referralCut(end, qtype) : undefined;
  if (cut) {
    await proveReferral(run, cut);
    return ['referral'];
  }
  await proveNegative(run, end, qtype, 'nodata');
  return ['nodata'];
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
