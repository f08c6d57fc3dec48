/**
 * DNSSEC signing keys on node:crypto: generate a key for an algorithm, give its DNSKEY public key
 * field, and sign as DNSSEC does (RSA PKCS#1 v1.5 over SHA-1/256/512, ECDSA r||s, pure EdDSA).
 * The daemon signs only its own start-up self-test tree (src/selftest); tests use it for crafted data.
 */
import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto';

export interface SigningKey {
  readonly algorithm: number;
  readonly label: string;
  readonly privateKey: KeyObject;
  /** DNSKEY public key field (RFC 3110, RFC 6605, RFC 8080). */
  readonly dnskey: Uint8Array;
  sign(data: Uint8Array): Uint8Array;
}

const jwkBytes = (s: unknown): Buffer => Buffer.from(String(s), 'base64url');

const RSA_HASH: Record<number, string> = { 5: 'sha1', 7: 'sha1', 8: 'sha256', 10: 'sha512' };

/** RFC 3110 public key field from a modulus and exponent. */
export function rsaDnskey(exponent: Uint8Array, modulus: Uint8Array): Uint8Array {
  const head = exponent.length < 256 ? [exponent.length] : [0, exponent.length >> 8, exponent.length & 0xff];
  return Uint8Array.from([...head, ...exponent, ...modulus]);
}

export interface RsaPair {
  readonly bits: number;
  readonly e: number;
  readonly privateKey: KeyObject;
  readonly dnskey: Uint8Array;
}

export function rsaPair(bits: number, e = 65537): RsaPair {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: bits, publicExponent: e });
  const jwk = publicKey.export({ format: 'jwk' });
  return { bits, e, privateKey, dnskey: rsaDnskey(jwkBytes(jwk.e), jwkBytes(jwk.n)) };
}

/** An RSA key pair used under one of the RSA algorithms (5, 7, 8, 10). */
export function rsaKey(algorithm: number, pair: RsaPair): SigningKey {
  const hash = RSA_HASH[algorithm];
  if (!hash) throw new RangeError(`algorithm ${algorithm} is not an RSA algorithm`);
  const { privateKey, dnskey } = pair;
  return { algorithm, label: `RSA-${pair.bits} e=${pair.e}`, privateKey, dnskey, sign: (d) => new Uint8Array(sign(hash, d, privateKey)) };
}

export function ecKey(algorithm: 13 | 14): SigningKey {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: algorithm === 13 ? 'P-256' : 'P-384' });
  const jwk = publicKey.export({ format: 'jwk' });
  const dnskey = new Uint8Array(Buffer.concat([jwkBytes(jwk.x), jwkBytes(jwk.y)]));
  const hash = algorithm === 13 ? 'sha256' : 'sha384';
  return {
    algorithm, label: algorithm === 13 ? 'P-256' : 'P-384', privateKey, dnskey,
    sign: (d) => new Uint8Array(sign(hash, d, { key: privateKey, dsaEncoding: 'ieee-p1363' })),
  };
}

export function edKey(algorithm: 15 | 16): SigningKey {
  const { privateKey, publicKey } = algorithm === 15 ? generateKeyPairSync('ed25519') : generateKeyPairSync('ed448');
  const jwk = publicKey.export({ format: 'jwk' });
  return {
    algorithm, label: algorithm === 15 ? 'Ed25519' : 'Ed448', privateKey, dnskey: new Uint8Array(jwkBytes(jwk.x)),
    sign: (d) => new Uint8Array(sign(null, d, privateKey)),
  };
}

/** A fresh key for `algorithm` (RSA with `rsaBits`). */
export function generateSigningKey(algorithm: number, rsaBits = 1024): SigningKey {
  switch (algorithm) {
    case 13:
    case 14:
      return ecKey(algorithm);
    case 15:
    case 16:
      return edKey(algorithm);
    default:
      return rsaKey(algorithm, rsaPair(rsaBits));
  }
}
