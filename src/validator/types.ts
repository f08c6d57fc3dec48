/**
 * The validator's vocabulary: security statuses, the reasons behind them, the reason trail, and the
 * small interfaces through which the (pure) validator gets what it cannot compute itself.
 *
 * Pure means: the functions in src/validator take records, a clock, a crypto verifier and a budget,
 * and return verdicts. The only I/O is behind `KeySource` (implemented by the chain-of-trust driver,
 * which asks the upstream pool) — the validator never opens a socket or reads a file.
 */
import type { Clock } from '../clock.js';
import type { DNSKEYData, DSData, Name, RR, RRSIGData } from '../wire/index.js';

export type Security = 'secure' | 'insecure' | 'bogus' | 'indeterminate';

/** What kind of answer it is, independent of its security. */
export type AnswerKind = 'positive' | 'cname' | 'nxdomain' | 'nodata' | 'referral' | 'other';

/** Why data is bogus. Each kind maps to one Extended DNS Error code (see ede.ts). */
export type BogusReason =
  | { kind: 'rrsigs-missing'; name: string; type: string } // EDE 10
  | { kind: 'dnskey-missing'; zone: string; keyTag?: number } // EDE 9: no usable DNSKEY for the RRSIG / DS
  | { kind: 'anchor-gone'; zone: string } // EDE 9: the trust anchor zone has no trusted key left (RFC 5011: all revoked or removed); fail closed
  | { kind: 'anchor-not-published'; zone: string; keyTags: number[]; published: string } // EDE 9: no trusted anchor key is in the zone's DNSKEY RRset (a stale anchor)
  // EDE 7 and 8. `signer` (the zone whose key made the signature) and both ends of its validity let the resolver
  // tell a wrong system clock (the signatures of many zones, the root's included, outside in the same direction)
  // from one zone's expired signatures: resolver/clock-sanity.ts.
  | { kind: 'signature-expired'; name: string; type: string; keyTag: number; expiration: number; inception: number; signer: string }
  | { kind: 'signature-not-yet-valid'; name: string; type: string; keyTag: number; inception: number; expiration: number; signer: string }
  | { kind: 'signature-invalid'; name: string; type: string; keyTag: number; detail?: string } // EDE 6
  | { kind: 'bad-rrsig'; name: string; type: string; detail: string } // EDE 6: signer/labels/owner rules of RFC 4035 §5.3.1
  | { kind: 'ds-mismatch'; zone: string; detail?: string } // EDE 6: no DNSKEY matches any DS
  | { kind: 'no-zone-key'; zone: string; keyTag: number } // EDE 11: key without the Zone Key bit
  | { kind: 'nsec-missing'; name: string; type: string; proof: ProofKind } // EDE 12
  | { kind: 'proof-invalid'; name: string; type: string; proof: ProofKind; detail: string } // EDE 6
  | { kind: 'budget-exceeded'; what: 'signatures' | 'nsec3-hashes' | 'keys-per-tag'; limit: number } // EDE 0 + text
  | { kind: 'chain-too-long'; name: string } // CNAME/DNAME chain over the limit or looping (SERVFAIL)
  | { kind: 'upstream-inconsistent'; name: string; detail: string }; // EDE 6: e.g. DS says signed, no RRSIGs anywhere

/** Bogus reasons that mean "records that must exist were not in the answer": the signs of a stripping upstream. */
export const STRIP_REASONS: ReadonlySet<string> = new Set(['rrsigs-missing', 'nsec-missing', 'dnskey-missing', 'anchor-not-published', 'upstream-inconsistent']);

/**
 * An answer that was bogus for a STRIP_REASONS reason while another DNSSEC-capable upstream's answer for
 * the same question validated: a strike against the first upstream (src/upstream keeps these).
 */
export interface StripEvidence {
  readonly at: number;
  readonly name: string;
  readonly type: string;
  /** The bogus reason the stripped answer gave (rrsigs-missing, nsec-missing, dnskey-missing, ...). */
  readonly reason: string;
  /** The upstream whose answer for the same question validated. */
  readonly confirmedBy: string;
}

export type ProofKind = 'nxdomain' | 'nodata' | 'wildcard' | 'wildcard-nodata' | 'no-ds' | 'referral';

/** Why data is insecure. `ede` is informational (the answer is not SERVFAIL). */
export type InsecureReason =
  | { kind: 'no-ds'; zone: string } // delegation proven unsigned
  | { kind: 'opt-out'; zone: string } // only an NSEC3 opt-out span covers it (RFC 5155 §6, §8.8)
  | { kind: 'unsupported-algorithm'; zone: string; algorithms: number[] } // RFC 4035 §5.2, RFC 6840 §5.2 (EDE 1)
  | { kind: 'unsupported-digest'; zone: string; digestTypes: number[] } // (EDE 2)
  | { kind: 'nsec3-iterations'; zone: string; iterations: number; limit: number } // RFC 9276 (EDE 27)
  | { kind: 'nsec3-hash-algorithm'; zone: string; algorithm: number }
  | { kind: 'no-anchor'; name: string } // no trust anchor above the name
  | { kind: 'negative-trust-anchor'; zone: string } // RFC 7646
  | { kind: 'insecure-fallback'; upstream: string } // no DNSSEC-capable upstream reachable: answered unvalidated by a non-DNSSEC one
  | { kind: 'not-validated-type'; type: string }; // qtype RRSIG: signatures are not signed themselves, nothing validates them

/** One step of the reason trail: what was checked, with which key or proof, and what came out. */
export type TrailStep =
  | { step: 'anchor'; zone: string; keyTags: number[] }
  | { step: 'keys'; zone: string; security: Security; keyTags: number[]; via: 'anchor' | 'ds' | 'cache' }
  | { step: 'ds'; zone: string; security: Security; detail: string }
  | { step: 'rrset'; name: string; type: string; security: Security; keyTag?: number; signer?: string; wildcard?: string }
  | { step: 'proof'; proof: ProofKind; using: 'nsec' | 'nsec3'; security: Security; detail: string }
  | { step: 'alias'; kind: 'cname' | 'dname'; from: string; to: string }
  | { step: 'bogus'; reason: BogusReason }
  | { step: 'insecure'; reason: InsecureReason };

/** The final word on one answer. */
export type Verdict =
  | { security: 'secure'; kind: AnswerKind; trail: TrailStep[]; ttlCap: number | undefined }
  | { security: 'insecure'; kind: AnswerKind; reason: InsecureReason; trail: TrailStep[]; ttlCap: number | undefined }
  | { security: 'bogus'; kind: AnswerKind; reason: BogusReason; trail: TrailStep[] }
  | { security: 'indeterminate'; kind: AnswerKind; detail: string; trail: TrailStep[] };

/** The trust state of one zone's keys, as the chain of trust established it. */
export type ZoneKeys =
  | {
      security: 'secure';
      zone: Name;
      /** The validated DNSKEY RRset (all keys, revoked ones included; use `zoneSigningKeys`). */
      keys: RR<DNSKEYData>[];
      /** Absolute time (ms) after which the validation must be redone (TTL, signature expiry). */
      validUntil: number;
      trail: TrailStep[];
    }
  | { security: 'insecure'; zone: Name; reason: InsecureReason; validUntil: number; trail: TrailStep[] }
  | { security: 'bogus'; zone: Name; reason: BogusReason; validUntil: number; trail: TrailStep[] }
  /**
   * The chain could not be built because the upstream did not answer (timeout, network error,
   * SERVFAIL): not BOGUS. Never cached for more than a few seconds by the chain of trust.
   */
  | { security: 'indeterminate'; zone: Name; detail: string; validUntil: number; trail: TrailStep[] };

/** Trust anchors for one zone: DS records, DNSKEY records, or both. */
export interface TrustAnchor {
  zone: Name;
  ds: RR<DSData>[];
  dnskeys: RR<DNSKEYData>[];
}

/** Limits against KeyTrap (CVE-2023-50387) and NSEC3 floods (CVE-2023-50868), and other knobs. */
export interface ValidatorLimits {
  /** Signature verifications tried for one RRset (default 8). */
  maxSignaturesPerRRset: number;
  /** DNSKEYs tried for one (key tag, algorithm) pair (default 4). */
  maxKeysPerTag: number;
  /** Signature verifications for one client query, chain included (default 64). */
  maxSignaturesPerQuery: number;
  /** NSEC3 hash computations for one client query (default 200). */
  maxNsec3HashesPerQuery: number;
  /** NSEC3 iterations above this make the answer insecure (default 150, RFC 9276). */
  maxNsec3Iterations: number;
  /** CNAME/DNAME links followed (default 12). */
  maxChainLength: number;
}

export const DEFAULT_LIMITS: ValidatorLimits = {
  maxSignaturesPerRRset: 8,
  maxKeysPerTag: 4,
  maxSignaturesPerQuery: 64,
  maxNsec3HashesPerQuery: 200,
  maxNsec3Iterations: 150,
  maxChainLength: 12,
};

/** Clock-skew allowance for RRSIG validity (like Unbound: 10% of the validity period, 1 h to 1 day). */
export interface SkewPolicy {
  fraction: number;
  minSeconds: number;
  maxSeconds: number;
}

export const DEFAULT_SKEW: SkewPolicy = { fraction: 0.1, minSeconds: 3600, maxSeconds: 86400 };

/** Counts work for one client query; `spend*` return false once the budget is gone. */
export interface Budget {
  spendSignature(): boolean;
  spendNsec3Hash(n?: number): boolean;
  readonly signaturesUsed: number;
  readonly nsec3HashesUsed: number;
}

/** Everything a pure validation function needs besides the records. */
export interface ValidationContext {
  clock: Clock;
  crypto: import('../crypto/types.js').SignatureVerifier;
  limits: ValidatorLimits;
  skew: SkewPolicy;
  budget: Budget;
}

/** How the validator obtains trust for a zone; implemented by the chain-of-trust driver (I/O lives there). */
export interface KeySource {
  /** The validated keys of `zone` (a zone apex, e.g. an RRSIG signer), building the chain from an anchor as needed. */
  keysForZone(zone: Name, ctx: ValidationContext): Promise<ZoneKeys>;
  /**
   * The trust state of the zone that holds `name`, for unsigned data: walks the delegations from the
   * closest trust anchor towards `name` and returns the deepest zone's keys, or the insecure/bogus
   * state of the first delegation that is not securely signed.
   */
  zoneOf(name: Name, ctx: ValidationContext): Promise<ZoneKeys>;
}

/** An RRset as found in a response section, with the RRSIGs that cover it. */
export interface SignedRRset {
  name: Name;
  type: number;
  class: number;
  rrs: RR[];
  sigs: RR<RRSIGData>[];
}
