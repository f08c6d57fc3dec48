/** Shared helpers for the wire tests: vector loading, byte helpers, and a test-only signature checker. */
import assert from 'node:assert/strict';
import { createPublicKey, verify, type KeyObject } from 'node:crypto';
import {
  WireError, WireReader, WireWriter, parseRR, readRR, rrToText, writeRR, type DNSKEYData, type RR,
} from '../../src/wire/index.js';

import { toHex } from '../support/vectors.js';

export { VECTORS, fromHex, loadVector, toHex } from '../support/vectors.js';

/** Assert that fn throws a WireError (optionally with one of the given codes). */
export function throwsWire(fn: () => unknown, codes?: string[] | string): WireError {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof WireError, `expected WireError, got ${String(e)}`);
    if (codes !== undefined) {
      const list = typeof codes === 'string' ? [codes] : codes;
      assert.ok(list.includes(e.code), `expected code ${list.join('|')}, got ${e.code}: ${e.message}`);
    }
    return e;
  }
  assert.fail('expected a WireError, nothing was thrown');
}

/** One record's full uncompressed wire form. */
export function rrWire(rr: RR): Uint8Array {
  const w = new WireWriter(64);
  writeRR(w, rr, false);
  return w.finish();
}

export function rrFromWire(b: Uint8Array): RR {
  const r = new WireReader(b);
  const rr = readRR(r);
  assert.equal(r.off, b.length);
  return rr;
}

const b64url = (b: Uint8Array): string => Buffer.from(b).toString('base64url');

/**
 * A DNSKEY as a node:crypto public key (RSA per RFC 3110, ECDSA per RFC 6605, EdDSA per RFC 8080).
 * Test-only: the project's verifier lives in src/crypto; this is an independent check of signedData.
 */
export function dnskeyToKeyObject(k: DNSKEYData): { key: KeyObject; hash: string | null; p1363: boolean } {
  const pk = k.publicKey;
  switch (k.algorithm) {
    case 5: case 7: case 8: case 10: {
      let off = 1;
      let elen = pk[0]!;
      if (elen === 0) { elen = (pk[1]! << 8) | pk[2]!; off = 3; }
      const e = pk.subarray(off, off + elen);
      const n = pk.subarray(off + elen);
      const key = createPublicKey({ key: { kty: 'RSA', n: b64url(n), e: b64url(e) }, format: 'jwk' });
      return { key, hash: k.algorithm === 8 ? 'sha256' : k.algorithm === 10 ? 'sha512' : 'sha1', p1363: false };
    }
    case 13: case 14: {
      const half = pk.length / 2;
      const crv = k.algorithm === 13 ? 'P-256' : 'P-384';
      const key = createPublicKey({ key: { kty: 'EC', crv, x: b64url(pk.subarray(0, half)), y: b64url(pk.subarray(half)) }, format: 'jwk' });
      return { key, hash: k.algorithm === 13 ? 'sha256' : 'sha384', p1363: true };
    }
    case 15: case 16: {
      const key = createPublicKey({ key: { kty: 'OKP', crv: k.algorithm === 15 ? 'Ed25519' : 'Ed448', x: b64url(pk) }, format: 'jwk' });
      return { key, hash: null, p1363: false };
    }
    default:
      throw new Error(`test helper: algorithm ${k.algorithm} not supported`);
  }
}

export function verifySig(k: DNSKEYData, data: Uint8Array, sig: Uint8Array): boolean {
  const { key, hash, p1363 } = dnskeyToKeyObject(k);
  return verify(hash, data, p1363 ? { key, dsaEncoding: 'ieee-p1363' } : key, sig);
}

/** text -> wire -> text -> wire must be byte-exact, and the text form stable. Returns the text. */
export function roundTrip(rr: RR): string {
  const wire1 = rrWire(rr);
  const back = rrFromWire(wire1);
  const text = rrToText(back);
  const again = parseRR(text);
  assert.equal(toHex(rrWire(again)), toHex(wire1), `round trip of ${text}`);
  assert.equal(rrToText(again), text);
  return text;
}
