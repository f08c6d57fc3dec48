/**
 * What one validation run learned that may answer other questions later (RFC 8198, aggressive use of
 * DNSSEC-validated cache): the NSEC/NSEC3 RRsets that verified with a secure zone's keys, the wildcard
 * RRsets whose expansion was proven legitimate, and the signed SOA of negative answers. Collected by the
 * run (trust.ts, negative.ts) and handed out only with a SECURE verdict; the cache keeps them
 * (src/cache/proofs.ts) and the synthesis (synthesis.ts) reads them back.
 */
import type { Name } from '../wire/index.js';
import type { SignedRRset } from './types.js';

/** One validated RRset of `zone`, good for `ttl` seconds from when it was validated. */
export interface LearnedSet {
  zone: Name;
  /** For wildcards: the wildcard owner ("*.<closest encloser>"), not the expanded name. */
  set: SignedRRset;
  ttl: number;
}

export interface Learned {
  denial: LearnedSet[];
  wildcards: LearnedSet[];
  soa: LearnedSet[];
}

export function emptyLearned(): Learned {
  return { denial: [], wildcards: [], soa: [] };
}
