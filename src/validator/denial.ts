/**
 * Authenticated denial of existence: picks NSEC (nsec.ts) or NSEC3 (nsec3.ts) proofs by the records
 * given. `records` are the NSEC or NSEC3 RRs of the authority section whose RRSIGs the caller already
 * verified (secure), all from `zone`; other record types in it are ignored.
 */
import { RRType, typeToText, type Name, type RR } from '../wire/index.js';
import { nsecProveNoDs, nsecProveNodata, nsecProveNxdomain, nsecProveWildcardAnswer } from './nsec.js';
import { nsec3ProveNoDs, nsec3ProveNodata, nsec3ProveNxdomain, nsec3ProveWildcardAnswer } from './nsec3.js';
import type { DenialResult } from './proof.js';
import type { ProofKind, ValidationContext } from './types.js';

export type { DenialResult } from './proof.js';

/**
 * Run the NSEC proof when NSEC records are present, else the NSEC3 proof. When both kinds are
 * present (a zone in transition) the NSEC3 proof is the fallback for a NSEC proof that is not secure.
 */
function dispatch(records: readonly RR[], proof: ProofKind, name: Name, qtype: number, nsec: () => DenialResult, nsec3: () => DenialResult): DenialResult {
  const hasNsec = records.some((r) => r.type === RRType.NSEC);
  const hasNsec3 = records.some((r) => r.type === RRType.NSEC3);
  if (hasNsec) {
    const r = nsec();
    if (r.security === 'secure' || !hasNsec3) return r;
    const r3 = nsec3();
    return r3.security === 'bogus' ? r : r3;
  }
  if (hasNsec3) return nsec3();
  const type = typeToText(qtype);
  return {
    security: 'bogus',
    reason: { kind: 'nsec-missing', name: name.toText(), type, proof },
    step: { step: 'proof', proof, using: 'nsec', security: 'bogus', detail: 'no NSEC or NSEC3 records' },
  };
}

/** Name error: qname and the wildcard at its closest encloser do not exist. Secure gives the closest encloser. */
export function proveNxdomain(qname: Name, records: RR[], zone: Name, ctx: ValidationContext): DenialResult {
  return dispatch(records, 'nxdomain', qname, 0,
    () => nsecProveNxdomain(qname, records, zone, ctx), () => nsec3ProveNxdomain(qname, records, zone, ctx));
}

/**
 * No data: qname exists without qtype (and without CNAME), is an empty non-terminal, or matches a
 * wildcard without qtype (then `closestEncloser` is set and the step's proof is 'wildcard-nodata').
 * For qtype DS the proving record must come from the parent side (no SOA at qname).
 */
export function proveNodata(qname: Name, qtype: number, records: RR[], zone: Name, ctx: ValidationContext): DenialResult {
  return dispatch(records, 'nodata', qname, qtype,
    () => nsecProveNodata(qname, qtype, records, zone, ctx), () => nsec3ProveNodata(qname, qtype, records, zone, ctx));
}

/** A wildcard-expanded answer: no name closer to qname than `closestEncloser` exists. */
export function proveWildcardAnswer(qname: Name, closestEncloser: Name, records: RR[], zone: Name, ctx: ValidationContext): DenialResult {
  return dispatch(records, 'wildcard', qname, 0,
    () => nsecProveWildcardAnswer(qname, closestEncloser, records, zone, ctx),
    () => nsec3ProveWildcardAnswer(qname, closestEncloser, records, zone, ctx));
}

/**
 * No DS at `name` (records from the parent `zone`):
 * - secure: `name` is a delegation without DS (the child is insecure); or, with `notDelegation: true`,
 *   `name` is no zone cut at all (no NS at it, an empty non-terminal, or a name that does not exist);
 * - insecure (opt-out): only an NSEC3 Opt-Out span covers `name` — treat the child as unsigned;
 * - bogus: the records contradict (DS or SOA at name, CNAME) or are missing.
 */
export function proveNoDs(name: Name, records: RR[], zone: Name, ctx: ValidationContext): DenialResult {
  return dispatch(records, 'no-ds', name, RRType.DS,
    () => nsecProveNoDs(name, records, zone, ctx), () => nsec3ProveNoDs(name, records, zone, ctx));
}
