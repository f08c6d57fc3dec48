/**
 * RSASSA-PKCS1-v1_5 verification in BigInt arithmetic (RFC 8017 §8.2.2, EMSA-PKCS1-v1_5 §9.2),
 * for the pure-JS backend. The whole encoded message is rebuilt and compared octet for octet:
 * no parsing of the decrypted block, so no padding-parsing forgeries.
 */
import type { RsaHash } from './algorithms.js';
import type { RsaPublicKey } from './keys.js';

/** DER DigestInfo prefixes (RFC 8017 §9.2 note 1): AlgorithmIdentifier with NULL parameters, then the OCTET STRING header. */
const DIGEST_INFO: Readonly<Record<RsaHash, Uint8Array>> = {
  sha1: Uint8Array.from([0x30, 0x21, 0x30, 0x09, 0x06, 0x05, 0x2b, 0x0e, 0x03, 0x02, 0x1a, 0x05, 0x00, 0x04, 0x14]),
  sha256: Uint8Array.from([
    0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20,
  ]),
  sha512: Uint8Array.from([
    0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03, 0x05, 0x00, 0x04, 0x40,
  ]),
};

/** Minimum padding string length (RFC 8017 §9.2 step 5: at least 8 octets of 0xff). */
const MIN_PADDING = 8;

export interface RsaJsKey {
  readonly n: bigint;
  readonly e: bigint;
  /** Modulus length in octets. */
  readonly k: number;
}

export function bytesToBigInt(b: Uint8Array): bigint {
  return b.length === 0 ? 0n : BigInt('0x' + Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex'));
}

/** I2OSP: `x` as exactly `k` big-endian octets; undefined if it does not fit. */
export function bigIntToBytes(x: bigint, k: number): Uint8Array | undefined {
  const hex = x.toString(16);
  if (hex.length > 2 * k) return undefined;
  return new Uint8Array(Buffer.from(hex.padStart(2 * k, '0'), 'hex'));
}

/** base^exp mod m, left-to-right square-and-multiply (public exponents only: not constant time). */
export function modPow(base: bigint, exp: bigint, m: bigint): bigint {
  if (m === 1n) return 0n;
  let result = 1n;
  const b = base % m;
  for (let i = exp.toString(2), j = 0; j < i.length; j++) {
    result = (result * result) % m;
    if (i[j] === '1') result = (result * b) % m;
  }
  return result;
}

export function rsaJsKey(key: RsaPublicKey): RsaJsKey {
  return { n: bytesToBigInt(key.modulus), e: bytesToBigInt(key.exponent), k: key.modulus.length };
}

/** EMSA-PKCS1-v1_5 encoding of a digest into k octets, or undefined when k is too small. */
export function emsaPkcs1v15(hash: RsaHash, digest: Uint8Array, k: number): Uint8Array | undefined {
  const prefix = DIGEST_INFO[hash];
  const tLen = prefix.length + digest.length;
  const psLen = k - tLen - 3;
  if (psLen < MIN_PADDING) return undefined;
  const em = new Uint8Array(k);
  em[1] = 0x01;
  em.fill(0xff, 2, 2 + psLen);
  em[2 + psLen] = 0x00;
  em.set(prefix, 3 + psLen);
  em.set(digest, 3 + psLen + prefix.length);
  return em;
}

/**
 * RSASSA-PKCS1-v1_5-VERIFY with a precomputed digest of the message. The signature must already
 * be k octets (see keys.ts signatureProblem); out-of-range representatives are invalid.
 */
export function rsaPkcs1Verify(key: RsaJsKey, hash: RsaHash, digest: Uint8Array, signature: Uint8Array): boolean {
  if (signature.length !== key.k) return false;
  const s = bytesToBigInt(signature);
  if (s >= key.n) return false;
  const em = bigIntToBytes(modPow(s, key.e, key.n), key.k);
  const expected = emsaPkcs1v15(hash, digest, key.k);
  if (em === undefined || expected === undefined) return false;
  let diff = 0;
  for (let i = 0; i < key.k; i++) diff |= em[i]! ^ expected[i]!;
  return diff === 0;
}
