/**
 * DNSSEC algorithm numbers to the cryptography they name (RFC 3110, 5155, 5702, 6605, 8080), and
 * the ones this resolver does not validate (RFC 8624 §3.1: RSAMD5, DSA, DSA-NSEC3-SHA1, ECC-GOST).
 */

export type HashName = 'sha1' | 'sha256' | 'sha384' | 'sha512';
export type RsaHash = 'sha1' | 'sha256' | 'sha512';
export type EcdsaCurve = 'p256' | 'p384';
export type EddsaCurve = 'ed25519' | 'ed448';

export type AlgorithmSpec =
  | { readonly family: 'rsa'; readonly hash: RsaHash; readonly minModulusBits: number }
  | { readonly family: 'ecdsa'; readonly curve: EcdsaCurve; readonly hash: 'sha256' | 'sha384'; readonly size: number }
  | { readonly family: 'eddsa'; readonly curve: EddsaCurve; readonly keySize: number; readonly sigSize: number };

/** The primitive behind an algorithm: two algorithm numbers (5 and 7) share one. */
export type Primitive = 'rsa-sha1' | 'rsa-sha256' | 'rsa-sha512' | EcdsaCurve | EddsaCurve;

/** RSA modulus limits (bits). RFC 3110 allows 512..4096; RFC 5702 §2/§3 raises RSASHA512's floor to 1024. */
export const RSA_MIN_BITS = 512;
export const RSA_MAX_BITS = 4096;
/** Public exponents above 64 bits are refused (OpenSSL does so too for moduli over 3072 bits). */
export const RSA_MAX_EXPONENT_BITS = 64;

const RSA_SHA1 = { family: 'rsa', hash: 'sha1', minModulusBits: RSA_MIN_BITS } as const;

const SPECS: ReadonlyMap<number, AlgorithmSpec> = new Map<number, AlgorithmSpec>([
  [5, RSA_SHA1],
  [7, RSA_SHA1],
  [8, { family: 'rsa', hash: 'sha256', minModulusBits: RSA_MIN_BITS }],
  [10, { family: 'rsa', hash: 'sha512', minModulusBits: 1024 }],
  [13, { family: 'ecdsa', curve: 'p256', hash: 'sha256', size: 32 }],
  [14, { family: 'ecdsa', curve: 'p384', hash: 'sha384', size: 48 }],
  [15, { family: 'eddsa', curve: 'ed25519', keySize: 32, sigSize: 64 }],
  [16, { family: 'eddsa', curve: 'ed448', keySize: 57, sigSize: 114 }],
]);

/** Algorithms that are defined but not validated (RFC 8624 §3.1 "MUST NOT" / not implemented). */
export const NOT_VALIDATED: readonly number[] = [1, 3, 6, 12];

/** Every algorithm number the status API reports on: the validated ones and the refused ones. */
export const KNOWN_ALGORITHMS: readonly number[] = [...NOT_VALIDATED, ...SPECS.keys()].sort((a, b) => a - b);

/** The spec of a validated algorithm, or undefined for refused or unknown numbers. */
export function algorithmSpec(algorithm: number): AlgorithmSpec | undefined {
  return SPECS.get(algorithm);
}

export function primitiveOf(spec: AlgorithmSpec): Primitive {
  switch (spec.family) {
    case 'rsa': return `rsa-${spec.hash}`;
    case 'ecdsa': return spec.curve;
    case 'eddsa': return spec.curve;
  }
}
