/**
 * NSEC denial-of-existence proofs (RFC 4035 §5.4, RFC 6840 §4.1/§4.3/§4.4). `records` are NSEC RRs
 * whose signatures the caller verified, all from `zone`; records of other types or outside the zone
 * are ignored.
 */
import { Name, RRType, type NSECData, type RR } from '../wire/index.js';
import { ProofOutcome, nodataBitmapProblem, wildcardAt, type DenialResult } from './proof.js';
import type { ValidationContext } from './types.js';

type Nsec = RR<NSECData>;

function nsecsOf(records: readonly RR[], zone: Name): Nsec[] {
  return records.filter(
    (r): r is Nsec => r.type === RRType.NSEC && r.name.isSubdomainOf(zone) && (r.data as NSECData).next.isSubdomainOf(zone),
  );
}

const has = (n: Nsec, t: number): boolean => n.data.types.includes(t);

/**
 * Whether `n` proves that `name` does not exist: owner < name < next in canonical order, the last
 * NSEC's next name wrapping to the apex. An NSEC with DNAME, or NS without SOA (a delegation, RFC
 * 6840 §4.1), says nothing about the names below its owner.
 */
export function nsecCovers(n: Nsec, name: Name, zone: Name): boolean {
  if (!name.isSubdomainOf(zone)) return false;
  const owner = n.name;
  const next = n.data.next;
  if (owner.compare(name) >= 0) return false;
  const wraps = next.compare(owner) <= 0;
  if (!wraps && name.compare(next) >= 0) return false;
  if (name.isSubdomainOf(owner) && (has(n, RRType.DNAME) || (has(n, RRType.NS) && !has(n, RRType.SOA)))) return false;
  return true;
}

/** The closest encloser of a name a covering NSEC denies: its longest common ancestor with owner or next. */
function closestEncloserFrom(name: Name, n: Nsec, zone: Name): Name {
  const common = Math.max(name.commonLabels(n.name), name.commonLabels(n.data.next), zone.labelCount);
  return name.suffix(Math.min(common, name.labelCount));
}

/** An NSEC proving `name` an empty non-terminal: it covers name and its next name lies below it. */
function emptyNonTerminal(list: Nsec[], name: Name, zone: Name): Nsec | undefined {
  return list.find((n) => nsecCovers(n, name, zone) && n.data.next.isSubdomainOf(name) && !n.data.next.equals(name));
}

/** The covering NSEC for a name that does not exist at all (not an empty non-terminal). */
function coverOfMissing(list: Nsec[], name: Name, zone: Name): Nsec | undefined {
  return list.find((n) => nsecCovers(n, name, zone) && !n.data.next.isSubdomainOf(name));
}

/** NXDOMAIN: an NSEC covers qname and one covers the wildcard at the closest encloser. */
export function nsecProveNxdomain(qname: Name, records: RR[], zone: Name, _ctx: ValidationContext): DenialResult {
  const out = new ProofOutcome('nsec', 'nxdomain', qname, 0);
  const list = nsecsOf(records, zone);
  if (list.length === 0) return out.missing('no NSEC records');
  if (list.some((n) => n.name.equals(qname))) return out.invalid(`an NSEC at ${qname.toText()} shows the name exists`);
  if (emptyNonTerminal(list, qname, zone)) return out.invalid(`${qname.toText()} is an empty non-terminal`);
  const cover = coverOfMissing(list, qname, zone);
  if (!cover) return out.missing(`no NSEC covers ${qname.toText()}`);
  const ce = closestEncloserFrom(qname, cover, zone);
  const wc = wildcardAt(ce);
  if (list.some((n) => n.name.equals(wc))) return out.invalid(`the wildcard ${wc.toText()} exists`);
  const wcCover = list.find((n) => nsecCovers(n, wc, zone));
  if (!wcCover) return out.missing(`no NSEC denies the wildcard ${wc.toText()}`);
  return out.secure(
    `${cover.name.toText()} NSEC covers the name, ${wcCover.name.toText()} NSEC covers ${wc.toText()}`, { closestEncloser: ce },
  );
}

/** NODATA: NSEC at qname without qtype/CNAME, an empty non-terminal, or wildcard NODATA. */
export function nsecProveNodata(qname: Name, qtype: number, records: RR[], zone: Name, _ctx: ValidationContext): DenialResult {
  const out = new ProofOutcome('nsec', 'nodata', qname, qtype);
  const list = nsecsOf(records, zone);
  if (list.length === 0) return out.missing('no NSEC records');
  const match = list.find((n) => n.name.equals(qname));
  if (match) {
    const problem = nodataBitmapProblem(match.data.types, qtype, qname);
    if (problem) return out.invalid(`NSEC at ${qname.toText()}: ${problem}`);
    return out.secure(`NSEC at ${qname.toText()} lacks the type`);
  }
  const ent = emptyNonTerminal(list, qname, zone);
  if (ent) return out.secure(`${ent.name.toText()} NSEC shows an empty non-terminal`);
  const cover = coverOfMissing(list, qname, zone);
  if (!cover) return out.missing(`no NSEC matches or covers ${qname.toText()}`);
  const ce = closestEncloserFrom(qname, cover, zone);
  const wc = wildcardAt(ce);
  const wcMatch = list.find((n) => n.name.equals(wc));
  const wout = new ProofOutcome('nsec', 'wildcard-nodata', qname, qtype);
  if (!wcMatch) {
    if (list.some((n) => nsecCovers(n, wc, zone))) return out.invalid(`${qname.toText()} does not exist (a name error, not no data)`);
    return wout.missing(`no NSEC at the wildcard ${wc.toText()}`);
  }
  const problem = nodataBitmapProblem(wcMatch.data.types, qtype, qname);
  if (problem) return wout.invalid(`NSEC at ${wc.toText()}: ${problem}`);
  return wout.secure(`${cover.name.toText()} NSEC covers the name, NSEC at ${wc.toText()} lacks the type`, { closestEncloser: ce });
}

/** Wildcard answer: no closer match than the wildcard's closest encloser exists (RFC 4035 §5.3.4). */
export function nsecProveWildcardAnswer(qname: Name, closestEncloser: Name, records: RR[], zone: Name, _ctx: ValidationContext): DenialResult {
  const out = new ProofOutcome('nsec', 'wildcard', qname, 0);
  if (!qname.isSubdomainOf(closestEncloser) || qname.labelCount <= closestEncloser.labelCount) {
    return out.invalid(`${qname.toText()} is not below the closest encloser ${closestEncloser.toText()}`);
  }
  const list = nsecsOf(records, zone);
  if (list.length === 0) return out.missing('no NSEC records');
  if (list.some((n) => n.name.equals(qname))) return out.invalid(`an NSEC at ${qname.toText()} shows the name exists`);
  const cover = coverOfMissing(list, qname, zone);
  if (!cover) return out.missing(`no NSEC covers ${qname.toText()}`);
  const ce = closestEncloserFrom(qname, cover, zone);
  if (!ce.equals(closestEncloser)) {
    return out.invalid(`the closest encloser is ${ce.toText()}, the wildcard was expanded at ${closestEncloser.toText()}`);
  }
  return out.secure(`${cover.name.toText()} NSEC covers the name`, { closestEncloser: ce });
}

/** No DS at `name` (RFC 4035 §5.2, RFC 6840 §4.4): parent-side NSEC with NS, without DS and SOA. */
export function nsecProveNoDs(name: Name, records: RR[], zone: Name, _ctx: ValidationContext): DenialResult {
  const out = new ProofOutcome('nsec', 'no-ds', name, RRType.DS);
  const list = nsecsOf(records, zone);
  if (list.length === 0) return out.missing('no NSEC records');
  const match = list.find((n) => n.name.equals(name));
  if (match) {
    if (has(match, RRType.DS)) return out.invalid(`NSEC at ${name.toText()} lists DS`);
    if (has(match, RRType.SOA) && !name.isRoot()) return out.invalid(`NSEC at ${name.toText()} is from the child zone apex (SOA set)`);
    if (has(match, RRType.CNAME)) return out.invalid(`NSEC at ${name.toText()} lists CNAME`);
    if (has(match, RRType.NS)) return out.secure(`NSEC at ${name.toText()}: delegation without DS`);
    return out.secure(`NSEC at ${name.toText()}: no NS, not a delegation`, { notDelegation: true });
  }
  const ent = emptyNonTerminal(list, name, zone);
  if (ent) return out.secure(`${ent.name.toText()} NSEC shows an empty non-terminal`, { notDelegation: true });
  const cover = coverOfMissing(list, name, zone);
  if (cover) return out.secure(`${cover.name.toText()} NSEC shows the name does not exist`, { notDelegation: true });
  return out.missing(`no NSEC matches or covers ${name.toText()}`);
}
