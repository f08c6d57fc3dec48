/** The signature-verification interface shared by the OpenSSL (node:crypto) and pure-JS backends. */

export type CryptoBackendName = 'openssl' | 'js';

/** Which engine the auto backend uses for one algorithm. */
export type BackendChoice = CryptoBackendName | 'unsupported';

/**
 * The outcome of one verification. `invalid` is a well-formed key and signature that do not match;
 * `bad-key` / `bad-signature` are fields that cannot be a key or signature of the algorithm at all.
 * Only `valid` means the signature is good.
 */
export type VerifyResult =
  | { readonly kind: 'valid' }
  | { readonly kind: 'invalid' }
  | { readonly kind: 'unsupported-algorithm'; readonly algorithm: number }
  | { readonly kind: 'bad-key'; readonly reason: string }
  | { readonly kind: 'bad-signature'; readonly reason: string };

export interface SignatureVerifier {
  readonly name: CryptoBackendName | 'auto';
  /** True when this verifier validates the DNSSEC algorithm (RFC 8624: not 1, 3, 6, 12; not unknown numbers). */
  supports(algorithm: number): boolean;
  /**
   * Verify one RRSIG. `publicKey` is the DNSKEY public key field exactly as in RDATA, `data` the
   * signed data of RFC 4034 §3.1.8.1, `signature` the RRSIG signature field. Never throws.
   */
  verify(algorithm: number, publicKey: Uint8Array, data: Uint8Array, signature: Uint8Array): VerifyResult;
}

/** The auto verifier also reports which engine each known algorithm uses (for the status API). */
export interface AutoVerifier extends SignatureVerifier {
  readonly name: 'auto';
  describe(): Record<number, BackendChoice>;
}

export const VALID: VerifyResult = Object.freeze({ kind: 'valid' });
export const INVALID: VerifyResult = Object.freeze({ kind: 'invalid' });

export const badKey = (reason: string): VerifyResult => ({ kind: 'bad-key', reason });
export const badSignature = (reason: string): VerifyResult => ({ kind: 'bad-signature', reason });
export const unsupported = (algorithm: number): VerifyResult => ({ kind: 'unsupported-algorithm', algorithm });

/** A thrown value as text, for result reasons. */
export function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
