/**
 * What an answer may serve: the rule "what is served is what was validated".
 *
 * The upstream is on the network path, so everything in its message that the validator did not prove is
 * an attacker's word. A reply is therefore built from the validation run, never from the upstream's
 * sections:
 * - answer section: the chain from the question (CNAME/DNAME links, then the RRsets at its end), each
 *   secure RRset with the RRSIGs of its signer that verify; any other answer RRset is dropped (response.ts and
 *   alias.ts make the contradictions among them, such as data beside a CNAME, BOGUS);
 * - authority section of a SECURE answer: the RRsets the proofs validated (NSEC/NSEC3, SOA, a referral's
 *   DS); RRsets of types that never belong there (A, CNAME, TXT, ...) dropped unread, as Unbound's scrubber
 *   does; SOA/DS/NSEC/NSEC3 RRsets signed by a zone the answer does not rest on dropped unread; any other
 *   one only if it verifies with its signer's keys, and one that does not (unsigned included) makes the
 *   answer BOGUS (as Unbound's val_check_nonsecure does); NS RRsets: a referral's is served,
 *   others dropped (as Unbound's "truncate to minimal");
 * - authority section of an INSECURE answer: the proven RRsets, and SOA/NS/DS RRsets of a zone at or above
 *   the end of the chain and NSEC/NSEC3 RRsets, each inside the insecure zone the answer came from;
 * - additional section: nothing (no validated answer needs it; a client asks for what it wants).
 */
import { RRType, typeToText, type Message, type Name, type Question, type RR } from '../wire/index.js';
import { walkChain } from './alias.js';
import { SectionIndex } from './classify.js';
import type { Run } from './trust.js';
import type { AnswerKind, InsecureReason, SignedRRset } from './types.js';

/** The kinds of RRset an authority section carries (negative answers, referrals, wildcard proofs). */
const AUTHORITY_TYPES: ReadonlySet<number> = new Set([RRType.SOA, RRType.NS, RRType.DS, RRType.NSEC, RRType.NSEC3]);

/** The RRsets of a validated answer, per section, as served. */
export interface Served {
  answer: SignedRRset[];
  authority: SignedRRset[];
}

/** The records of some RRsets: each RRset's records, then its signatures. */
export function servedRecords(sets: readonly SignedRRset[]): RR[] {
  const out: RR[] = [];
  for (const s of sets) out.push(...s.rrs, ...s.sigs);
  return out;
}

/**
 * The authority section of an answer that is SECURE so far. Marks the run BOGUS (upstream-inconsistent)
 * when an RRset there does not validate.
 */
export async function secureAuthority(run: Run, kind: AnswerKind, end: Name, answer: readonly SignedRRset[]): Promise<SignedRRset[]> {
  const out: SignedRRset[] = [];
  // The zones the answer rests on: those that signed its chain and its proofs.
  const zones = new Set<string>();
  for (const set of [...answer, ...run.provenAuthority.values()]) for (const sig of set.sigs) zones.add(sig.data.signer.key);
  for (const set of run.index.authority) {
    const proven = run.provenAuthoritySet(set);
    if (proven) {
      out.push(proven);
      continue;
    }
    // Data that never belongs in the authority section (an A, a CNAME, a TXT) is dropped unread, as Unbound's
    // scrubber does (RFC 2181 §5.4.1 ranks it lowest); only the kinds a proof or a referral uses must validate.
    if (!AUTHORITY_TYPES.has(set.type)) continue;
    if (set.type === RRType.NS) {
      // A referral's NS RRset is the referral itself (unsigned by design, RFC 4035 §2.2); its DS or no-DS proof was checked.
      if (kind === 'referral' && end.isSubdomainOf(set.name)) out.push(set);
      // Anywhere else an NS RRset says nothing the answer needs (a delegation's NS is unsigned anyway): dropped,
      // as Unbound's "truncate to minimal" does.
      continue;
    }
    // Signed by a zone the answer does not rest on (another zone's genuine NSEC, say): not this answer's
    // business, and not worth fetching that zone's keys on an upstream's say-so. Dropped unread.
    if (set.sigs.length > 0 && !set.sigs.some((sig) => zones.has(sig.data.signer.key))) continue;
    const r = await run.verifyExtra(set);
    if ('served' in r) {
      out.push(r.served);
      continue;
    }
    run.tally.step({ step: 'rrset', name: set.name.toText(), type: typeToText(set.type), security: 'bogus' });
    run.tally.bogus({
      kind: 'upstream-inconsistent', name: set.name.toText(),
      detail: `${set.name.toText()} ${typeToText(set.type)} in the authority section of a signed answer does not validate (${r.failed})`,
    });
    return [];
  }
  return out;
}

/** The zone an insecure answer came from, as far as the reason says (records outside it are not served). */
export function insecureZone(reason: InsecureReason): string | undefined {
  switch (reason.kind) {
    case 'no-ds':
    case 'opt-out':
    case 'unsupported-algorithm':
    case 'unsupported-digest':
    case 'nsec3-iterations':
    case 'nsec3-hash-algorithm':
    case 'negative-trust-anchor':
      return reason.zone;
    case 'no-anchor':
      return reason.name;
    case 'insecure-fallback':
      return '.';
    case 'not-validated-type':
      return undefined;
  }
}



/**
 * The authority section of an INSECURE answer ending at `end`: proven RRsets, and the records of the
 * kinds a negative answer or a referral carries, inside `bailiwick` (SOA, NS and DS only of a zone at or
 * above `end`). Undefined bailiwick: only proven RRsets.
 */
export function insecureAuthority(authority: readonly SignedRRset[], proven: (s: SignedRRset) => SignedRRset | undefined, end: Name, bailiwick: Name | undefined): SignedRRset[] {
  const out: SignedRRset[] = [];
  for (const set of authority) {
    const p = proven(set);
    if (p) out.push(p);
    else if (bailiwick && AUTHORITY_TYPES.has(set.type) && set.name.isSubdomainOf(bailiwick)) {
      if (set.type === RRType.NSEC || set.type === RRType.NSEC3 || end.isSubdomainOf(set.name)) out.push(set);
    }
  }
  return out;
}

/**
 * An answer given INSECURE without validation (a negative trust anchor, the insecure fallback): the
 * chain from the question as received, and the authority records inside `bailiwick`; nothing else.
 */
export function servedAsReceived(question: Question, msg: Message, bailiwick: Name | undefined, maxLinks: number): Served {
  const index = new SectionIndex(msg, question.class);
  if (question.type === RRType.RRSIG) {
    // RRSIGs are not RRsets of their own to the index: serve the signatures owned by the name.
    const sigs = msg.answer.filter((rr) => rr.type === RRType.RRSIG && rr.name.equals(question.name) && rr.class === question.class);
    const answer = sigs.length > 0 ? [{ name: question.name, type: RRType.RRSIG, class: question.class, rrs: sigs, sigs: [] }] : [];
    return { answer, authority: insecureAuthority(index.authority, () => undefined, question.name, bailiwick) };
  }
  const walk = walkChain(question.name, question.type, index, maxLinks);
  const answer: SignedRRset[] = [];
  for (const link of walk.links) {
    answer.push(link.set);
    const synthesized = link.kind === 'dname' ? index.answerAt(link.from, RRType.CNAME) : undefined;
    if (synthesized) answer.push(synthesized);
  }
  if (!walk.stop) answer.push(...walk.answer);
  return { answer, authority: insecureAuthority(index.authority, () => undefined, walk.end, bailiwick) };
}
