/**
 * DNSSEC cryptography: RRSIG signature verification (two backends, OpenSSL and pure JS, plus
 * "auto"), DS digests and NSEC3 hashing. Base32hex for NSEC3 owner labels is src/wire's base32hex.
 */
import { createAutoVerifier, type AutoOptions } from './auto.js';
import { createJsVerifier, type JsVerifier } from './js.js';
import { createOpensslVerifier, type OpensslVerifier } from './openssl.js';
import type { AutoVerifier } from './types.js';

export * from './types.js';
export { KNOWN_ALGORITHMS, NOT_VALIDATED, algorithmSpec, type AlgorithmSpec, type HashName } from './algorithms.js';
export { dsDigest, dsDigestSupported, nsec3Hash, describeHashes } from './hash.js';
export { parsePublicKey, type PublicKey, type ParsedKey } from './keys.js';
export type { DetailedVerifier, DetailedResult, BackendOptions } from './engine.js';
export { createAutoVerifier, createJsVerifier, createOpensslVerifier, type AutoOptions, type JsVerifier, type OpensslVerifier };

/** A verifier: 'openssl' (node:crypto), 'js' (@noble + BigInt RSA) or 'auto' (OpenSSL, JS where OpenSSL refuses). */
export function createVerifier(kind: 'auto', opts?: AutoOptions): AutoVerifier;
export function createVerifier(kind: 'openssl', opts?: AutoOptions): OpensslVerifier;
export function createVerifier(kind: 'js', opts?: AutoOptions): JsVerifier;
export function createVerifier(kind: 'openssl' | 'js' | 'auto', opts?: AutoOptions): AutoVerifier | OpensslVerifier | JsVerifier;
export function createVerifier(kind: 'openssl' | 'js' | 'auto', opts: AutoOptions = {}): AutoVerifier | OpensslVerifier | JsVerifier {
  switch (kind) {
    case 'openssl': return createOpensslVerifier(opts);
    case 'js': return createJsVerifier(opts);
    case 'auto': return createAutoVerifier(opts);
  }
}
export { memoizingVerifier, VERIFY_OUTCOMES, type MemoStats, type MemoVerifier, type VerificationCount, type VerifyOutcome } from './memo.js';
