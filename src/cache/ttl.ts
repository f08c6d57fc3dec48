/**
 * How long an answer is cached (seconds).
 *
 * Data (secure, insecure, or unchecked for CD=1): the lowest of
 *  - the TTL of every record kept (all three sections),
 *  - for a SOA in the authority section, its MINIMUM (RFC 2308 §5: negative answers live
 *    min(SOA TTL, SOA MINIMUM)),
 *  - the validator's cap (`verdict.ttlCap`: each verified RRset's RRSIG original TTL and the time left
 *    to its signature expiration, the validity of the keys used, the SOA bound of a negative proof),
 * then at most `maxTtl` and at least `minTtl`. An answer with no TTL information at all (no records,
 * e.g. NODATA without SOA) is not cached (RFC 2308 §5), whatever `minTtl` says.
 *
 * BOGUS: `bogusTtl`. INDETERMINATE and upstream failures: `failureTtl` (a few seconds at most).
 */
import type { CacheConfig } from '../config/schema.js';
import { RRType, type RR, type SOAData } from '../wire/index.js';
import type { Outcome } from './outcome.js';

export type TtlConfig = Pick<CacheConfig, 'maxTtl' | 'minTtl' | 'bogusTtl' | 'failureTtl'>;

/** Lowest TTL over the records (SOA MINIMUM folded in for authority SOAs); undefined without records. */
export function recordsTtl(answer: readonly RR[], authority: readonly RR[], additional: readonly RR[]): number | undefined {
  let min = Infinity;
  for (const rr of answer) if (rr.type !== RRType.OPT) min = Math.min(min, rr.ttl);
  for (const rr of authority) {
    if (rr.type === RRType.OPT) continue;
    min = Math.min(min, rr.ttl);
    if (rr.type === RRType.SOA) min = Math.min(min, (rr.data as SOAData).minimum);
  }
  for (const rr of additional) if (rr.type !== RRType.OPT) min = Math.min(min, rr.ttl);
  return Number.isFinite(min) ? min : undefined;
}

/** maxTtl, then minTtl. */
export function clampTtl(seconds: number, cfg: TtlConfig): number {
  return Math.max(cfg.minTtl, Math.min(Math.max(0, Math.floor(seconds)), cfg.maxTtl));
}

/** The cache lifetime of an outcome, in whole seconds (0: not cached). */
export function outcomeTtl(o: Outcome, cfg: TtlConfig): number {
  if (o.kind === 'servfail') return o.status === 'bogus' ? cfg.bogusTtl : cfg.failureTtl;
  const records = recordsTtl(o.answer, o.authority, o.additional);
  if (records === undefined) return 0;
  return clampTtl(o.ttlCap === undefined ? records : Math.min(records, o.ttlCap), cfg);
}
