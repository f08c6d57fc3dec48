/**
 * The CNAME/DNAME chain of an answer section, walked structurally from the query name (RFC 1034
 * §3.6.2, RFC 6672 §3): which links lead where, where the chain ends, and whether it loops, grows too
 * long or is inconsistent. No signature is checked here; response.ts validates every link afterwards.
 */
import { Name, RRType, WireError, typeToText, type NameData } from '../wire/index.js';
import type { SectionIndex } from './classify.js';
import type { SignedRRset } from './types.js';

export type AliasLink =
  | { kind: 'cname'; from: Name; to: Name; set: SignedRRset }
  /** A DNAME at an ancestor of `from`; `to` is the substituted name (the synthesized CNAME's target). */
  | { kind: 'dname'; from: Name; to: Name; set: SignedRRset };

export type WalkStop =
  /** The chain revisits a name, or would need more links than allowed. */
  | { kind: 'loop' | 'too-long'; name: Name }
  /** Records that cannot come from a correct server (several CNAMEs, a CNAME that is not the DNAME substitution). */
  | { kind: 'inconsistent'; name: Name; detail: string }
  /** A DNAME applies but the substituted name is longer than 255 octets (the YXDOMAIN case, RFC 6672 §2.2). */
  | { kind: 'overflow'; name: Name; dname: SignedRRset };

export interface ChainWalk {
  links: AliasLink[];
  /** The name the chain ends at. */
  end: Name;
  /** RRsets of the query type at `end` (every RRset at `end` for ANY). Empty: no data at the end. */
  answer: SignedRRset[];
  /** Set for a CNAME query answered by a DNAME-synthesized CNAME: the last link is the answer itself. */
  synthesizedAnswer?: boolean;
  stop?: WalkStop;
}

/**
 * DNAME substitution (RFC 6672 §2.2): replace the `owner` suffix of `name` by `target`.
 * Undefined when the result would exceed 255 octets.
 */
export function dnameSubstitute(name: Name, owner: Name, target: Name): Name | undefined {
  const keep = name.labels.slice(0, name.labelCount - owner.labelCount);
  try {
    return Name.fromLabels([...keep, ...target.labels]);
  } catch (e) {
    if (e instanceof WireError) return undefined;
    throw e;
  }
}

const targetOf = (set: SignedRRset): Name => (set.rrs[0]!.data as NameData).target;

/** Records of an RRset with distinct RDATA (a repeated record is the same record, RFC 2181 §5). */
const distinct = (set: SignedRRset): number => new Set(set.rrs.map((r) => Buffer.from(r.rdata).toString('latin1'))).size;

function answerAtEnd(index: SectionIndex, name: Name, qtype: number): SignedRRset[] {
  if (qtype === RRType.ANY) return index.allAnswersAt(name);
  const s = index.answerAt(name, qtype);
  return s ? [s] : [];
}

/** Types that may stand beside a CNAME (RFC 2181 §10.1, RFC 4035 §2.5: its own signatures and NSEC). */
const BESIDE_CNAME: ReadonlySet<number> = new Set([RRType.CNAME, RRType.RRSIG, RRType.NSEC]);

/**
 * RFC 2181 §10.1: a CNAME has no other data beside it, and one owner has one CNAME. An answer that puts
 * other data beside a CNAME on the chain contradicts itself (a classic forgery: an unsigned CNAME put in
 * front of a genuine signed RRset), so it cannot be evidence of either.
 */
function cnameClash(index: SectionIndex, name: Name): string | undefined {
  const cname = index.answerAt(name, RRType.CNAME);
  if (!cname) return undefined;
  const others = index.allAnswersAt(name).filter((s) => !BESIDE_CNAME.has(s.type));
  if (others.length === 0) return undefined;
  return `CNAME and other data (${others.map((s) => typeToText(s.type)).join(', ')}) at ${name.toText()}`;
}

/** Follow the chain from `qname` for `qtype`; at most `maxLinks` links. */
export function walkChain(qname: Name, qtype: number, index: SectionIndex, maxLinks: number): ChainWalk {
  const links: AliasLink[] = [];
  const visited = new Set<string>([qname.key]);
  let name = qname;
  for (;;) {
    const clash = cnameClash(index, name);
    if (clash) return { links, end: name, answer: [], stop: { kind: 'inconsistent', name, detail: clash } };
    const dname = index.dnameAbove(name);
    // A CNAME query under a DNAME is answered by the synthesized CNAME itself: validate it through the DNAME.
    const answer = qtype === RRType.CNAME && dname ? [] : answerAtEnd(index, name, qtype);
    if (answer.length > 0) return { links, end: name, answer };

    let link: AliasLink;
    const cname = index.answerAt(name, RRType.CNAME);
    if (dname) {
      if (distinct(dname) !== 1) {
        return { links, end: name, answer: [], stop: { kind: 'inconsistent', name: dname.name, detail: `${distinct(dname)} DNAME records at one owner` } };
      }
      const to = dnameSubstitute(name, dname.name, targetOf(dname));
      if (!to) return { links, end: name, answer: [], stop: { kind: 'overflow', name, dname } };
      // RFC 6672 §5.3.1: the synthesized CNAME is unsigned; it is accepted when it is exactly the substitution.
      if (cname && (distinct(cname) !== 1 || !targetOf(cname).equals(to))) {
        return {
          links, end: name, answer: [],
          stop: { kind: 'inconsistent', name, detail: `CNAME at ${name.toText()} is not the substitution ${to.toText()} of the DNAME at ${dname.name.toText()}` },
        };
      }
      link = { kind: 'dname', from: name, to, set: dname };
    } else {
      if (!cname) return { links, end: name, answer: [] };
      if (distinct(cname) !== 1) {
        return { links, end: name, answer: [], stop: { kind: 'inconsistent', name, detail: `${distinct(cname)} CNAME records at one owner` } };
      }
      link = { kind: 'cname', from: name, to: targetOf(cname), set: cname };
    }

    if (visited.has(link.to.key)) return { links, end: name, answer: [], stop: { kind: 'loop', name: link.to } };
    if (links.length >= maxLinks) return { links, end: name, answer: [], stop: { kind: 'too-long', name } };
    links.push(link);
    if (qtype === RRType.CNAME && link.kind === 'dname') return { links, end: name, answer: [], synthesizedAnswer: true };
    visited.add(link.to.key);
    name = link.to;
  }
}
