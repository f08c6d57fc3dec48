/**
 * Extended DNS Errors (RFC 8914) for validation outcomes: one INFO-CODE per reason kind, and an
 * EXTRA-TEXT naming what failed ("www.example. A: RRSIG by key 12345 expired 2026-11-01T00:00:00Z").
 */
import { EdeCode } from '../wire/index.js';
import type { BogusReason, InsecureReason, ProofKind } from './types.js';

type Reason = BogusReason | InsecureReason;

/** A 32-bit RRSIG time (seconds modulo 2^32) as an ISO 8601 UTC instant, without milliseconds. */
export function sigTimeIso(t: number): string {
  return new Date((t >>> 0) * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

const PROOF_TEXT: Record<ProofKind, string> = {
  nxdomain: 'name error',
  nodata: 'no data',
  wildcard: 'wildcard expansion',
  'wildcard-nodata': 'wildcard no data',
  'no-ds': 'no DS',
  referral: 'referral',
};

const list = (xs: readonly number[]): string => xs.join(', ');

/** A one-line description of a reason, for EXTRA-TEXT and logs. */
export function describeReason(r: Reason): string {
  switch (r.kind) {
    case 'rrsigs-missing':
      return `${r.name} ${r.type}: no usable RRSIG`;
    case 'anchor-not-published':
      return `${r.zone}: the trust anchor is gone: the zone publishes none of its keys (anchor key tags ${r.keyTags.join(', ')}; published DNSKEY key tags ${r.published}); see \`dnssec-stubd anchors\``;
    case 'anchor-gone':
      return `${r.zone}: the trust anchor is gone (no trusted key left: all revoked or removed); see \`dnssec-stubd anchors\``;
    case 'dnskey-missing':
      return r.keyTag === undefined ? `${r.zone} DNSKEY: no usable key` : `${r.zone} DNSKEY: no usable key with tag ${r.keyTag}`;
    case 'signature-expired':
      return `${r.name} ${r.type}: RRSIG by key ${r.keyTag} expired ${sigTimeIso(r.expiration)}`;
    case 'signature-not-yet-valid':
      return `${r.name} ${r.type}: RRSIG by key ${r.keyTag} not valid before ${sigTimeIso(r.inception)}`;
    case 'signature-invalid':
      return `${r.name} ${r.type}: RRSIG by key ${r.keyTag} does not verify${r.detail ? ` (${r.detail})` : ''}`;
    case 'bad-rrsig':
      return `${r.name} ${r.type}: unusable RRSIG: ${r.detail}`;
    case 'ds-mismatch':
      return `${r.zone} DNSKEY: no key matches the DS records${r.detail ? ` (${r.detail})` : ''}`;
    case 'no-zone-key':
      return `${r.zone} DNSKEY: key ${r.keyTag} lacks the Zone Key bit`;
    case 'nsec-missing':
      return `${r.name} ${r.type}: no NSEC/NSEC3 proof of ${PROOF_TEXT[r.proof]}`;
    case 'proof-invalid':
      return `${r.name} ${r.type}: ${PROOF_TEXT[r.proof]} proof invalid: ${r.detail}`;
    case 'budget-exceeded':
      return `validation work limit reached: ${r.what} (limit ${r.limit})`;
    case 'chain-too-long':
      return `${r.name}: CNAME/DNAME chain too long or looping`;
    case 'upstream-inconsistent':
      return `${r.name}: inconsistent upstream answer: ${r.detail}`;
    case 'no-ds':
      return `${r.zone}: delegation proven unsigned (no DS)`;
    case 'opt-out':
      return `${r.zone}: covered by an NSEC3 opt-out span`;
    case 'unsupported-algorithm':
      return `${r.zone}: unsupported DNSKEY algorithm ${list(r.algorithms)}`;
    case 'unsupported-digest':
      return `${r.zone}: unsupported DS digest type ${list(r.digestTypes)}`;
    case 'nsec3-iterations':
      return `${r.zone}: NSEC3 iterations ${r.iterations} above the limit of ${r.limit}`;
    case 'nsec3-hash-algorithm':
      return `${r.zone}: unknown NSEC3 hash algorithm ${r.algorithm}`;
    case 'no-anchor':
      return `${r.name}: no trust anchor above the name`;
    case 'negative-trust-anchor':
      return `${r.zone}: negative trust anchor`;
    case 'insecure-fallback':
      return `not validated: no DNSSEC-capable upstream reachable, answered by ${r.upstream}, which is not DNSSEC-capable (insecure fallback)`;
    case 'not-validated-type':
      return `${r.type} records are not signed themselves: answered as received, not validated`;
  }
}

/** The RFC 8914 INFO-CODE of a reason. Insecure reasons without their own code map to 0 (Other). */
function codeFor(r: Reason): number {
  switch (r.kind) {
    case 'rrsigs-missing': return EdeCode.RRSIGS_MISSING;
    case 'dnskey-missing': return EdeCode.DNSKEY_MISSING;
    case 'anchor-gone': return EdeCode.DNSKEY_MISSING;
    case 'anchor-not-published': return EdeCode.DNSKEY_MISSING;
    case 'signature-expired': return EdeCode.SIGNATURE_EXPIRED;
    case 'signature-not-yet-valid': return EdeCode.SIGNATURE_NOT_YET_VALID;
    case 'signature-invalid': return EdeCode.DNSSEC_BOGUS;
    case 'bad-rrsig': return EdeCode.DNSSEC_BOGUS;
    case 'ds-mismatch': return EdeCode.DNSSEC_BOGUS;
    case 'no-zone-key': return EdeCode.NO_ZONE_KEY_BIT_SET;
    case 'nsec-missing': return EdeCode.NSEC_MISSING;
    case 'proof-invalid': return EdeCode.DNSSEC_BOGUS;
    case 'budget-exceeded': return EdeCode.OTHER;
    case 'chain-too-long': return EdeCode.OTHER;
    case 'upstream-inconsistent': return EdeCode.DNSSEC_BOGUS;
    case 'unsupported-algorithm': return EdeCode.UNSUPPORTED_DNSKEY_ALGORITHM;
    case 'unsupported-digest': return EdeCode.UNSUPPORTED_DS_DIGEST_TYPE;
    case 'nsec3-iterations': return EdeCode.UNSUPPORTED_NSEC3_ITERATIONS;
    case 'no-ds':
    case 'opt-out':
    case 'nsec3-hash-algorithm':
    case 'no-anchor':
    case 'negative-trust-anchor':
    case 'insecure-fallback':
    case 'not-validated-type':
      return EdeCode.OTHER;
  }
}

/**
 * The Extended DNS Error for a bogus or insecure reason. For insecure reasons only
 * unsupported-algorithm (1), unsupported-digest (2) and nsec3-iterations (27) have a code of their
 * own; the others give 0 (Other) with text, for callers that want to explain an insecure answer.
 */
export function edeFor(reason: BogusReason | InsecureReason): { code: number; text: string } {
  return { code: codeFor(reason), text: describeReason(reason) };
}
