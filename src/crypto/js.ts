/**
 * The pure-JS backend: @noble/curves for ECDSA (P-256, P-384) and EdDSA (Ed25519, Ed448),
 * @noble/hashes for digests, and a BigInt RSASSA-PKCS1-v1_5 verifier (rsa-pkcs1.ts).
 * ECDSA accepts high-S signatures (DNSSEC has no low-S rule); EdDSA uses the strict RFC 8032
 * decoding (zip215: false).
 */
import { ed25519 } from '@noble/curves/ed25519.js';
import { ed448 } from '@noble/curves/ed448.js';
import { p256, p384 } from '@noble/curves/nist.js';
import type { AlgorithmSpec } from './algorithms.js';
import { CachedVerifier, type BackendOptions, type Engine } from './engine.js';
import { jsDigest } from './hash.js';
import type { PublicKey } from './keys.js';
import { rsaJsKey, rsaPkcs1Verify, type RsaJsKey } from './rsa-pkcs1.js';

type JsKey =
  | { readonly kind: 'rsa'; readonly key: RsaJsKey }
  /** SEC 1 uncompressed point, 0x04 || X || Y, checked to be on the curve. */
  | { readonly kind: 'ecdsa'; readonly sec1: Uint8Array }
  | { readonly kind: 'eddsa'; readonly point: Uint8Array };

const ECDSA = { p256, p384 } as const;
const EDDSA = { ed25519, ed448 } as const;

function importKey(_spec: AlgorithmSpec, key: PublicKey): JsKey {
  switch (key.kind) {
    case 'rsa':
      return { kind: 'rsa', key: rsaJsKey(key) };
    case 'ecdsa': {
      const sec1 = new Uint8Array(1 + key.x.length + key.y.length);
      sec1[0] = 0x04;
      sec1.set(key.x, 1);
      sec1.set(key.y, 1 + key.x.length);
      const point = ECDSA[key.curve].Point.fromBytes(sec1); // throws when not on the curve
      point.assertValidity();
      return { kind: 'ecdsa', sec1 };
    }
    case 'eddsa':
      return { kind: 'eddsa', point: key.point.slice() };
  }
}

function verify(spec: AlgorithmSpec, key: JsKey, data: Uint8Array, signature: Uint8Array): boolean {
  if (spec.family === 'rsa' && key.kind === 'rsa') return rsaPkcs1Verify(key.key, spec.hash, jsDigest(spec.hash, data), signature);
  if (spec.family === 'ecdsa' && key.kind === 'ecdsa') {
    // prehash: noble hashes the message with the curve's hash (SHA-256 for P-256, SHA-384 for P-384).
    return ECDSA[spec.curve].verify(signature, data, key.sec1, { prehash: true, lowS: false, format: 'compact' });
  }
  if (spec.family === 'eddsa' && key.kind === 'eddsa') return EDDSA[spec.curve].verify(signature, data, key.point, { zip215: false });
  throw new Error(`key of family ${key.kind} under ${spec.family}`);
}

export const jsEngine: Engine<JsKey> = { name: 'js', trusted: true, importKey, verify };

export type JsVerifier = CachedVerifier<JsKey>;

export function createJsVerifier(opts: BackendOptions = {}): JsVerifier {
  return new CachedVerifier(jsEngine, opts);
}
