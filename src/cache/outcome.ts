/**
 * What one resolution means for every client, before the per-client shaping (DO, AD): what the answer
 * cache stores, and what the resolver makes of a Resolution (resolver/answer.ts `outcomeOf`).
 */
import type { EdeEntry, RR } from '../wire/index.js';

/** Data (secure, insecure, or unchecked for CD=1), or a SERVFAIL (bogus, indeterminate, no upstream answered). */
export type Outcome =
  | {
      kind: 'data';
      status: 'secure' | 'insecure' | 'unchecked';
      rcode: number;
      answer: RR[];
      authority: RR[];
      additional: RR[];
      /** Informational EDEs (e.g. an algorithm we cannot check). */
      ede: EdeEntry[];
      /** The validator's TTL bound (RRSIG original TTL, signature expiry, key validity, SOA minimum). */
      ttlCap: number | undefined;
    }
  | { kind: 'servfail'; status: 'bogus' | 'indeterminate' | 'failure'; ede: EdeEntry[] };

export type OutcomeStatus = Outcome['status'];
