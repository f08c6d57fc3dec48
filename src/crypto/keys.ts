/**
 * DNSKEY public key fields and RRSIG signature fields, checked for shape before any backend sees
 * them, so both backends agree on what is a bad key or a bad signature:
 *  - RSA (RFC 3110 §2): exponent length in 1 octet, or 0 then 2 octets; exponent; modulus.
 *  - ECDSA (RFC 6605 §4): key X||Y, signature r||s, each coordinate 32 (P-256) or 48 (P-384) octets.
 *  - EdDSA (RFC 8080 §3, §4): the RFC 8032 encodings, 32/64 octets (Ed25519), 57/114 (Ed448).
 */
import {
  RSA_MAX_BITS, RSA_MAX_EXPONENT_BITS, type AlgorithmSpec, type EcdsaCurve, type EddsaCurve,
} from './algorithms.js';

export interface RsaPublicKey {
  readonly kind: 'rsa';
  /** Big-endian, leading zero octets removed. */
  readonly modulus: Uint8Array;
  readonly exponent: Uint8Array;
  readonly bits: number;
}

export interface EcdsaPublicKey {
  readonly kind: 'ecdsa';
  readonly curve: EcdsaCurve;
  readonly x: Uint8Array;
  readonly y: Uint8Array;
}

export interface EddsaPublicKey {
  readonly kind: 'eddsa';
  readonly curve: EddsaCurve;
  readonly point: Uint8Array;
}

export type PublicKey = RsaPublicKey | EcdsaPublicKey | EddsaPublicKey;

export type ParsedKey = { readonly ok: true; readonly key: PublicKey } | { readonly ok: false; readonly reason: string };

const fail = (reason: string): ParsedKey => ({ ok: false, reason });

function stripZeros(b: Uint8Array): Uint8Array {
  let i = 0;
  while (i < b.length && b[i] === 0) i++;
  return b.subarray(i);
}

function bitLength(b: Uint8Array): number {
  if (b.length === 0) return 0;
  return (b.length - 1) * 8 + (32 - Math.clz32(b[0]!));
}

function parseRsa(field: Uint8Array, minBits: number): ParsedKey {
  if (field.length < 1) return fail('empty RSA key');
  let off = 1;
  let expLen = field[0]!;
  if (expLen === 0) {
    if (field.length < 3) return fail('RSA key: truncated 3-octet exponent length');
    expLen = (field[1]! << 8) | field[2]!;
    off = 3;
    if (expLen === 0) return fail('RSA key: zero-length exponent');
  }
  if (off + expLen > field.length) return fail(`RSA key: exponent of ${expLen} octets overruns the key`);
  const exponent = stripZeros(field.subarray(off, off + expLen));
  const modulus = stripZeros(field.subarray(off + expLen));
  const eBits = bitLength(exponent);
  const bits = bitLength(modulus);
  if (bits === 0) return fail('RSA key: no modulus');
  if (bits < minBits || bits > RSA_MAX_BITS) return fail(`RSA key: ${bits}-bit modulus outside ${minBits}..${RSA_MAX_BITS}`);
  if ((modulus[modulus.length - 1]! & 1) === 0) return fail('RSA key: even modulus');
  if (eBits > RSA_MAX_EXPONENT_BITS) return fail(`RSA key: ${eBits}-bit exponent exceeds ${RSA_MAX_EXPONENT_BITS} bits`);
  if (eBits < 2 || (exponent[exponent.length - 1]! & 1) === 0) return fail('RSA key: exponent must be odd and at least 3');
  return { ok: true, key: { kind: 'rsa', modulus, exponent, bits } };
}

/** Parse a DNSKEY public key field for an algorithm spec. Never throws. */
export function parsePublicKey(spec: AlgorithmSpec, field: Uint8Array): ParsedKey {
  switch (spec.family) {
    case 'rsa':
      return parseRsa(field, spec.minModulusBits);
    case 'ecdsa':
      if (field.length !== 2 * spec.size) return fail(`ECDSA ${spec.curve} key of ${field.length} octets, expected ${2 * spec.size}`);
      return { ok: true, key: { kind: 'ecdsa', curve: spec.curve, x: field.subarray(0, spec.size), y: field.subarray(spec.size) } };
    case 'eddsa':
      if (field.length !== spec.keySize) return fail(`${spec.curve} key of ${field.length} octets, expected ${spec.keySize}`);
      return { ok: true, key: { kind: 'eddsa', curve: spec.curve, point: field } };
  }
}

/** Unsigned big-endian comparison of two equal-length octet strings. */
function lessThan(a: Uint8Array, b: Uint8Array): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i]! < b[i]!;
  return false;
}

/**
 * Why a signature field cannot be a signature under `key`, or undefined when its shape is right.
 * RSA signatures are exactly as long as the modulus and below it (RFC 8017 §8.2.2 step 1, §5.2.2).
 */
export function signatureProblem(spec: AlgorithmSpec, key: PublicKey, sig: Uint8Array): string | undefined {
  switch (spec.family) {
    case 'rsa': {
      if (key.kind !== 'rsa') return 'key of another family';
      const k = key.modulus.length;
      if (sig.length !== k) return `RSA signature of ${sig.length} octets, modulus is ${k}`;
      if (!lessThan(sig, key.modulus)) return 'RSA signature not below the modulus';
      return undefined;
    }
    case 'ecdsa':
      return sig.length === 2 * spec.size ? undefined : `ECDSA ${spec.curve} signature of ${sig.length} octets, expected ${2 * spec.size}`;
    case 'eddsa':
      return sig.length === spec.sigSize ? undefined : `${spec.curve} signature of ${sig.length} octets, expected ${spec.sigSize}`;
  }
}

/** Cache key for a parsed key: algorithm and the key octets, as a string. */
export function keyCacheId(algorithm: number, field: Uint8Array): string {
  return `${algorithm}:${Buffer.from(field.buffer, field.byteOffset, field.byteLength).toString('latin1')}`;
}
