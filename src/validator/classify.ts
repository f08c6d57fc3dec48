/**
 * Response classification for the response validator: does the message answer the question, which
 * rcodes can be validated at all, and an index of its answer and authority RRsets (grouped with their
 * RRSIGs) that the alias walk and the proofs look things up in.
 *
 * Nothing here verifies a signature; it only sorts records.
 */
import { RRType, Rcode, rcodeToText, typeToText, type Message, type Name, type Question } from '../wire/index.js';
import { splitSignedRRsets } from './rrsig.js';
import type { SignedRRset } from './types.js';

/** Why a message cannot be validated as an answer to the question (before looking at any record). */
export type Precheck =
  | { security: 'indeterminate'; detail: string }
  | { security: 'bogus'; detail: string };

/**
 * Header and question checks. A message for another question (or none) is `bogus` (upstream-inconsistent);
 * an error rcode is `indeterminate`: there is no data to validate (SERVFAIL, REFUSED, ...). YXDOMAIN is
 * let through: it is the answer to a DNAME substitution that overflows (RFC 6672 §2.2), checked later.
 * A truncated message is `indeterminate`: records may be missing (the transport retries over TCP).
 */
export function precheck(question: Question, msg: Message): Precheck | undefined {
  const q = msg.question;
  if (q.length > 0) {
    const m = q[0]!;
    if (q.length !== 1 || !m.name.equals(question.name) || m.type !== question.type || m.class !== question.class) {
      const got = q.map((x) => `${x.name.toText()} ${typeToText(x.type)}`).join(', ');
      return { security: 'bogus', detail: `response is for ${got}, not ${question.name.toText()} ${typeToText(question.type)}` };
    }
  }
  if (msg.rcode !== Rcode.NOERROR && msg.rcode !== Rcode.NXDOMAIN && msg.rcode !== Rcode.YXDOMAIN) {
    return { security: 'indeterminate', detail: `upstream answered ${rcodeToText(msg.rcode)}` };
  }
  if (q.length === 0) return { security: 'bogus', detail: 'response without a question section' };
  if (msg.flags.tc) return { security: 'indeterminate', detail: 'truncated response (TC set)' };
  return undefined;
}

const setKey = (name: Name, type: number): string => `${name.key}|${type}`;

/** Deepest first (most labels), then canonical order for determinism. */
export function deepestFirst(a: Name, b: Name): number {
  return b.labelCount - a.labelCount || a.compare(b);
}

/** The answer and authority sections as RRsets with their covering RRSIGs. */
export class SectionIndex {
  private readonly answerMap = new Map<string, SignedRRset>();
  private readonly answerSets: SignedRRset[];
  readonly authority: SignedRRset[];

  constructor(msg: Message, klass: number) {
    this.answerSets = splitSignedRRsets(msg.answer).filter((s) => s.class === klass && s.type !== RRType.RRSIG);
    for (const s of this.answerSets) {
      const k = setKey(s.name, s.type);
      const prev = this.answerMap.get(k);
      // splitSignedRRsets already merges one RRset; if it did not (records spread out), merge here.
      if (prev) this.answerMap.set(k, { ...prev, rrs: [...prev.rrs, ...s.rrs], sigs: [...prev.sigs, ...s.sigs] });
      else this.answerMap.set(k, s);
    }
    this.authority = splitSignedRRsets(msg.authority).filter((s) => s.class === klass && s.type !== RRType.RRSIG);
  }

  answerAt(name: Name, type: number): SignedRRset | undefined {
    return this.answerMap.get(setKey(name, type));
  }

  /** Every answer RRset owned by `name` (for qtype ANY). */
  allAnswersAt(name: Name): SignedRRset[] {
    return [...this.answerMap.values()].filter((s) => s.name.equals(name));
  }

  /** The DNAME RRset in the answer whose owner is the deepest proper ancestor of `name` (RFC 6672 §2.2). */
  dnameAbove(name: Name): SignedRRset | undefined {
    let best: SignedRRset | undefined;
    for (const s of this.answerMap.values()) {
      if (s.type !== RRType.DNAME || s.name.labelCount >= name.labelCount || !name.isSubdomainOf(s.name)) continue;
      if (!best || s.name.labelCount > best.name.labelCount) best = s;
    }
    return best;
  }

  authorityOfType(type: number): SignedRRset[] {
    return this.authority.filter((s) => s.type === type);
  }

  /** NSEC and NSEC3 RRsets of the authority section. */
  get denial(): SignedRRset[] {
    return this.authority.filter((s) => s.type === RRType.NSEC || s.type === RRType.NSEC3);
  }

  hasSoa(): boolean {
    return this.authority.some((s) => s.type === RRType.SOA);
  }

  /** The SOA RRset of the deepest zone at or above `name` (the zone a negative answer comes from). */
  soaFor(name: Name, strictlyAbove: boolean): SignedRRset | undefined {
    return this.authorityOfType(RRType.SOA)
      .filter((s) => name.isSubdomainOf(s.name) && !(strictlyAbove && s.name.equals(name)))
      .sort((a, b) => deepestFirst(a.name, b.name))[0];
  }

  /**
   * The delegation point when the message is a referral for `name`: NOERROR, nothing in the answer for
   * it, NS RRset in authority at or above `name`, no SOA. For a DS query at the cut itself the shape is
   * not accepted as a referral (the DS lives above the cut; the caller treats it as NODATA, conservatively).
   */
  referralCut(name: Name, qtype: number): Name | undefined {
    if (this.hasSoa()) return undefined;
    const cut = this.authorityOfType(RRType.NS)
      .map((s) => s.name)
      .filter((n) => name.isSubdomainOf(n) && !n.isRoot())
      .sort(deepestFirst)[0];
    if (!cut) return undefined;
    if (qtype === RRType.DS && cut.equals(name)) return undefined;
    return cut;
  }
}

/**
 * The name whose zone holds data of `type` at `owner`: DS lives on the parent side of a zone cut
 * (RFC 4035 §2.4), so it is the parent's zone; everything else is the owner's.
 */
export function trustName(owner: Name, type: number): Name {
  return type === RRType.DS && !owner.isRoot() ? owner.parent() : owner;
}

/**
 * Whether `signer` may sign data of `type` at `owner` (RFC 4035 §5.3.1: the signer is the owner or an
 * ancestor; a DS RRset is signed by the parent, never by the zone at its own apex, root excepted).
 */
export function signerMayCover(signer: Name, owner: Name, type: number): boolean {
  if (!owner.isSubdomainOf(signer)) return false;
  if (type === RRType.DS && !owner.isRoot() && signer.equals(owner)) return false;
  return true;
}
