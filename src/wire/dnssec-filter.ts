/** The DNSSEC record types a client gets only when it set DO (RFC 4035 §3.2.1). */
import { RRType } from './constants.js';
import type { RR } from './record.js';

/** RRSIG, NSEC and NSEC3: dropped from replies to clients without DO. */
export const DNSSEC_TYPES: ReadonlySet<number> = new Set([RRType.RRSIG, RRType.NSEC, RRType.NSEC3]);

/**
 * For clients without DO (RFC 4035 §3.2.1): drop RRSIG, NSEC and NSEC3 records, except records of
 * the type the client asked for (a query for type RRSIG gets its RRSIGs).
 */
export function stripDnssec(rrs: readonly RR[], qtype: number): RR[] {
  return rrs.filter((rr) => !DNSSEC_TYPES.has(rr.type) || rr.type === qtype);
}
