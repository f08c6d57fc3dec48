/** Shared helpers for the crypto tests: vectors, a seeded PRNG, bit flips, DNSKEY encoding of node:crypto keys. */
import assert from 'node:assert/strict';
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

// ---- node:crypto keys in DNSKEY form (src/crypto/sign.ts) ----

export { ecKey, edKey, rsaDnskey, rsaKey, rsaPair, type RsaPair } from '../../src/crypto/sign.js';
export type { SigningKey as TestKey } from '../../src/crypto/sign.js';

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
