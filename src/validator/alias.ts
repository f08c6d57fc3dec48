/**
 * The CNAME/DNAME chain of an answer section, walked structurally from the query name (RFC 1034
 * §3.6.2, RFC 6672 §3): which links lead where, where the chain ends, and whether it loops, grows too
 * long or is inconsistent. No signature is checked here; response.ts validates every link afterwards.
 */
import { Name, RRType, WireError, type NameData } from '../wire/index.js';
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

function answerAtEnd(index: SectionIndex, name: Name, qtype: number): SignedRRset[] {
  if (qtype === RRType.ANY) return index.allAnswersAt(name);
  const s = index.answerAt(name, qtype);
  return s ? [s] : [];
}

/** Follow the chain from `qname` for `qtype`; at most `maxLinks` links. */
export function walkChain(qname: Name, qtype: number, index: SectionIndex, maxLinks: number): ChainWalk {
  const links: AliasLink[] = [];
  const visited = new Set<string>([qname.key]);
  let name = qname;
  for (;;) {
    const dname = index.dnameAbove(name);
    // A CNAME query under a DNAME is answered by the synthesized CNAME itself: validate it through the DNAME.
    const answer = qtype === RRType.CNAME && dname ? [] : answerAtEnd(index, name, qtype);
    if (answer.length > 0) return { links, end: name, answer };

    let link: AliasLink;
    const cname = index.answerAt(name, RRType.CNAME);
    if (dname) {
      if (dname.rrs.length !== 1) {
        return { links, end: name, answer: [], stop: { kind: 'inconsistent', name: dname.name, detail: `${dname.rrs.length} DNAME records at one owner` } };
      }
      const to = dnameSubstitute(name, dname.name, targetOf(dname));
      if (!to) return { links, end: name, answer: [], stop: { kind: 'overflow', name, dname } };
      // RFC 6672 §5.3.1: the synthesized CNAME is unsigned; it is accepted when it is exactly the substitution.
      if (cname && (cname.rrs.length !== 1 || !targetOf(cname).equals(to))) {
        return {
          links, end: name, answer: [],
          stop: { kind: 'inconsistent', name, detail: `CNAME at ${name.toText()} is not the substitution ${to.toText()} of the DNAME at ${dname.name.toText()}` },
        };
      }
      link = { kind: 'dname', from: name, to, set: dname };
    } else {
      if (!cname) return { links, end: name, answer: [] };
      if (cname.rrs.length !== 1) {
        return { links, end: name, answer: [], stop: { kind: 'inconsistent', name, detail: `${cname.rrs.length} CNAME records at one owner` } };
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
