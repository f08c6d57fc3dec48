/**
 * The OpenSSL backend: node:crypto KeyObjects built from JWK (RSA {n, e}, EC {x, y}, OKP {x}),
 * cached per (algorithm, key octets). ECDSA signatures are r||s, i.e. IEEE P1363 encoding.
 */
import { createPublicKey, verify as nodeVerify, type KeyObject, type VerifyKeyObjectInput } from 'node:crypto';
import type { AlgorithmSpec } from './algorithms.js';
import { CachedVerifier, type BackendOptions, type Engine } from './engine.js';
import type { PublicKey } from './keys.js';

type OpensslKey = KeyObject | VerifyKeyObjectInput;

const b64url = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64url');

const CURVE_NAMES = { p256: 'P-256', p384: 'P-384', ed25519: 'Ed25519', ed448: 'Ed448' } as const;

function importKey(_spec: AlgorithmSpec, key: PublicKey): OpensslKey {
  switch (key.kind) {
    case 'rsa':
      return createPublicKey({ key: { kty: 'RSA', n: b64url(key.modulus), e: b64url(key.exponent) }, format: 'jwk' });
    case 'ecdsa': {
      const k = createPublicKey({ key: { kty: 'EC', crv: CURVE_NAMES[key.curve], x: b64url(key.x), y: b64url(key.y) }, format: 'jwk' });
      return { key: k, dsaEncoding: 'ieee-p1363' };
    }
    case 'eddsa':
      return createPublicKey({ key: { kty: 'OKP', crv: CURVE_NAMES[key.curve], x: b64url(key.point) }, format: 'jwk' });
  }
}

function verify(spec: AlgorithmSpec, key: OpensslKey, data: Uint8Array, signature: Uint8Array): boolean {
  return nodeVerify(spec.family === 'eddsa' ? null : spec.hash, data, key, signature);
}

export const opensslEngine: Engine<OpensslKey> = { name: 'openssl', trusted: false, importKey, verify };

export type OpensslVerifier = CachedVerifier<OpensslKey>;

export function createOpensslVerifier(opts: BackendOptions = {}): OpensslVerifier {
  return new CachedVerifier(opensslEngine, opts);
}
