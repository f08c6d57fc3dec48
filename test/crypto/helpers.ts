/** Shared helpers for the crypto tests: vectors, a seeded PRNG, bit flips, DNSKEY encoding of node:crypto keys. */
import assert from 'node:assert/strict';
import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { createVerifier, type SignatureVerifier, type VerifyResult } from '../../src/crypto/index.js';
import {
  RRType, keyTag, parseZoneText, signedData, type DNSKEYData, type RR, type RRSIGData,
} from '../../src/wire/index.js';

import { fromHex, toHex } from '../support/vectors.js';

export { VECTORS, fromHex, loadVector, toHex } from '../support/vectors.js';
export const fromB64 = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'base64'));

/** Both backends, created once per test file. */
export const BACKENDS: readonly SignatureVerifier[] = [createVerifier('openssl'), createVerifier('js')];

/** mulberry32: a small deterministic PRNG so failures reproduce. */
export function prng(seed: number): { next(): number; int(n: number): number; bytes(n: number): Uint8Array } {
  let a = seed >>> 0;
  const next = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number): number => Math.floor(next() * n);
  const bytes = (n: number): Uint8Array => Uint8Array.from({ length: n }, () => int(256));
  return { next, int, bytes };
}

/** A copy of `b` with one bit flipped. */
export function flipBit(b: Uint8Array, bit: number): Uint8Array {
  const out = Uint8Array.from(b);
  out[(bit >>> 3) % out.length]! ^= 1 << (bit & 7);
  return out;
}

/** Verify, failing the test if the verifier throws (it must never throw). */
export function verifyNoThrow(v: SignatureVerifier, alg: number, key: Uint8Array, data: Uint8Array, sig: Uint8Array): VerifyResult {
  let r: VerifyResult | undefined;
  assert.doesNotThrow(() => { r = v.verify(alg, key, data, sig); }, `${v.name} threw for algorithm ${alg}`);
  return r!;
}

export interface SigCase {
  readonly label: string;
  readonly algorithm: number;
  readonly key: Uint8Array;
  readonly data: Uint8Array;
  readonly signature: Uint8Array;
}

const rrsetKey = (rr: RR, type: number): string => `${rr.name.toText().toLowerCase()}|${rr.class}|${type}`;

/**
 * Every RRSIG among `records` with its covered RRset (same owner and class), its DNSKEY from `keys`
 * (by key tag and algorithm) and the signed data built by src/wire.
 */
export function signatureCases(records: readonly RR[], keys: readonly RR<DNSKEYData>[], where: string): SigCase[] {
  const sets = new Map<string, RR[]>();
  for (const rr of records) {
    if (rr.type === RRType.RRSIG) continue;
    const k = rrsetKey(rr, rr.type);
    sets.set(k, [...(sets.get(k) ?? []), rr]);
  }
  const out: SigCase[] = [];
  for (const rr of records) {
    if (rr.type !== RRType.RRSIG) continue;
    const sig = rr as RR<RRSIGData>;
    const rrset = sets.get(rrsetKey(sig, sig.data.typeCovered));
    assert.ok(rrset, `${where}: no RRset for ${sig.name.toText()} RRSIG ${sig.data.typeCovered}`);
    const key = keys.find((k) => keyTag(k.rdata) === sig.data.keyTag && k.data.algorithm === sig.data.algorithm);
    assert.ok(key, `${where}: no DNSKEY with tag ${sig.data.keyTag}`);
    out.push({
      label: `${where} ${sig.name.toText()} RRSIG(${sig.data.typeCovered}) by ${sig.data.keyTag}`,
      algorithm: sig.data.algorithm, key: key.data.publicKey, data: signedData(sig, rrset), signature: sig.data.signature,
    });
  }
  return out;
}

export function zoneRecords(lines: readonly string[]): RR[] {
  return parseZoneText(lines.join('\n'));
}

// ---- node:crypto keys in DNSKEY form ----

export interface TestKey {
  readonly algorithm: number;
  readonly label: string;
  readonly privateKey: KeyObject;
  /** DNSKEY public key field. */
  readonly dnskey: Uint8Array;
  /** Sign as DNSSEC does (RSA PKCS#1 v1.5, ECDSA r||s, pure EdDSA). */
  sign(data: Uint8Array): Uint8Array;
}

const jwkBytes = (s: unknown): Buffer => Buffer.from(String(s), 'base64url');

/** RFC 3110 public key field from a modulus and exponent. */
export function rsaDnskey(exponent: Uint8Array, modulus: Uint8Array): Uint8Array {
  const head = exponent.length < 256 ? [exponent.length] : [0, exponent.length >> 8, exponent.length & 0xff];
  return Uint8Array.from([...head, ...exponent, ...modulus]);
}

const HASH: Record<number, string | null> = { 5: 'sha1', 7: 'sha1', 8: 'sha256', 10: 'sha512', 13: 'sha256', 14: 'sha384', 15: null, 16: null };

export interface RsaPair {
  readonly bits: number;
  readonly e: number;
  readonly privateKey: KeyObject;
  readonly dnskey: Uint8Array;
}

export function rsaPair(bits: number, e: number): RsaPair {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: bits, publicExponent: e });
  const jwk = publicKey.export({ format: 'jwk' });
  return { bits, e, privateKey, dnskey: rsaDnskey(jwkBytes(jwk.e), jwkBytes(jwk.n)) };
}

/** An RSA key pair used under one of the RSA algorithms (5, 7, 8, 10). */
export function rsaKey(algorithm: number, pair: RsaPair): TestKey {
  const { privateKey, dnskey } = pair;
  return {
    algorithm, label: `RSA-${pair.bits} e=${pair.e}`, privateKey, dnskey,
    sign: (d) => new Uint8Array(sign(HASH[algorithm]!, d, privateKey)),
  };
}

export function ecKey(algorithm: 13 | 14): TestKey {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: algorithm === 13 ? 'P-256' : 'P-384' });
  const jwk = publicKey.export({ format: 'jwk' });
  const dnskey = new Uint8Array(Buffer.concat([jwkBytes(jwk.x), jwkBytes(jwk.y)]));
  return {
    algorithm, label: algorithm === 13 ? 'P-256' : 'P-384', privateKey, dnskey,
    sign: (d) => new Uint8Array(sign(HASH[algorithm]!, d, { key: privateKey, dsaEncoding: 'ieee-p1363' })),
  };
}

export function edKey(algorithm: 15 | 16): TestKey {
  const { privateKey, publicKey } = algorithm === 15 ? generateKeyPairSync('ed25519') : generateKeyPairSync('ed448');
  const jwk = publicKey.export({ format: 'jwk' });
  return {
    algorithm, label: algorithm === 15 ? 'Ed25519' : 'Ed448', privateKey, dnskey: new Uint8Array(jwkBytes(jwk.x)),
    sign: (d) => new Uint8Array(sign(null, d, privateKey)),
  };
}

/** Curve orders (SEC 2 / FIPS 186-4 D.1.2.3, D.1.2.4). */
export const CURVE_ORDER: Record<13 | 14, bigint> = {
  13: 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n,
  14: 0xffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973n,
};

/** The other ECDSA signature for the same (r, s): (r, n - s). One of the pair is high-S. */
export function flipS(algorithm: 13 | 14, sig: Uint8Array): Uint8Array {
  const size = sig.length / 2;
  const s = BigInt('0x' + toHex(sig.subarray(size)));
  const s2 = CURVE_ORDER[algorithm] - s;
  const out = Uint8Array.from(sig);
  out.set(fromHex(s2.toString(16).padStart(2 * size, '0')), size);
  return out;
}
