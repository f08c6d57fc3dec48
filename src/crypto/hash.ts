/**
 * Hashes for DS digests (RFC 4034 §5.1.4, RFC 4509, RFC 6605 §2) and NSEC3 owner hashing
 * (RFC 5155 §5). node:crypto by default; per hash function, the pure-JS @noble/hashes version when
 * OpenSSL refuses it or gives a wrong known answer (checked once, on first use).
 */
import * as nodeCrypto from 'node:crypto';
import { sha1 } from '@noble/hashes/legacy.js';
import { sha256, sha384, sha512 } from '@noble/hashes/sha2.js';
import type { HashName } from './algorithms.js';
import type { CryptoBackendName } from './types.js';

const JS_HASHES: Readonly<Record<HashName, (data: Uint8Array) => Uint8Array>> = {
  sha1: (d) => sha1(d),
  sha256: (d) => sha256(d),
  sha384: (d) => sha384(d),
  sha512: (d) => sha512(d),
};

/** The pure-JS digest. */
export function jsDigest(hash: HashName, data: Uint8Array): Uint8Array {
  return JS_HASHES[hash](data);
}

/**
 * node:crypto's one-shot digest (Node 20.12 and later): no Hash object per digest, about half the cost of
 * createHash().update().digest() for the short inputs hashed here (an NSEC3 iteration hashes 20 octets and
 * the salt, thousands of times a second while cold names are validated). Absent on older Node 20 releases.
 */
const oneShot = (nodeCrypto as { hash?: (algorithm: string, data: Uint8Array, encoding: 'buffer') => Buffer }).hash;

/** The node:crypto digest; throws when OpenSSL refuses the hash. */
export function opensslDigest(hash: HashName, data: Uint8Array): Uint8Array {
  const b = oneShot ? oneShot(hash, data, 'buffer') : nodeCrypto.createHash(hash).update(data).digest();
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

const engines = new Map<HashName, CryptoBackendName>();

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Which engine computes `hash`: OpenSSL when it agrees with the JS digest of a test input. */
export function hashEngine(hash: HashName): CryptoBackendName {
  let e = engines.get(hash);
  if (e === undefined) {
    const probe = new TextEncoder().encode('dnssec-stubd hash self-test');
    try {
      e = sameBytes(opensslDigest(hash, probe), jsDigest(hash, probe)) ? 'openssl' : 'js';
    } catch {
      e = 'js';
    }
    engines.set(hash, e);
  }
  return e;
}

/** Digest with the engine chosen for `hash`. */
export function digest(hash: HashName, data: Uint8Array): Uint8Array {
  if (hashEngine(hash) === 'openssl') {
    try {
      return opensslDigest(hash, data);
    } catch {
      engines.set(hash, 'js');
    }
  }
  return jsDigest(hash, data);
}

/** The engine each hash function uses (for the status API). */
export function describeHashes(): Record<HashName, CryptoBackendName> {
  return { sha1: hashEngine('sha1'), sha256: hashEngine('sha256'), sha384: hashEngine('sha384'), sha512: hashEngine('sha512') };
}

/** DS digest types (IANA registry): 1 SHA-1, 2 SHA-256, 4 SHA-384. 3 (GOST) is not implemented (RFC 8624 §3.3). */
const DS_DIGESTS: ReadonlyMap<number, HashName> = new Map<number, HashName>([[1, 'sha1'], [2, 'sha256'], [4, 'sha384']]);

export function dsDigestSupported(digestType: number): boolean {
  return DS_DIGESTS.has(digestType);
}

/**
 * The DS digest of `data` (owner name in canonical wire form || DNSKEY RDATA, see src/wire
 * dsDigestInput), or undefined for a digest type this resolver does not implement.
 */
export function dsDigest(digestType: number, data: Uint8Array): Uint8Array | undefined {
  const h = DS_DIGESTS.get(digestType);
  return h === undefined ? undefined : digest(h, data);
}

/**
 * The NSEC3 hash of an owner name (RFC 5155 §5): IH(salt, x, 0) = H(x || salt),
 * IH(salt, x, k) = H(IH(salt, x, k-1) || salt), result IH(salt, owner, iterations).
 * `ownerWireLowercase` is the owner name in canonical (lowercase, uncompressed) wire form.
 * Undefined for hash algorithms other than 1 (SHA-1) and for iterations outside 0..65535.
 */
export function nsec3Hash(ownerWireLowercase: Uint8Array, salt: Uint8Array, iterations: number, hashAlg = 1): Uint8Array | undefined {
  if (hashAlg !== 1 || !Number.isInteger(iterations) || iterations < 0 || iterations > 0xffff) return undefined;
  const first = new Uint8Array(ownerWireLowercase.length + salt.length);
  first.set(ownerWireLowercase);
  first.set(salt, ownerWireLowercase.length);
  let x = digest('sha1', first);
  const step = new Uint8Array(20 + salt.length);
  step.set(salt, 20);
  for (let k = 0; k < iterations; k++) {
    step.set(x, 0);
    x = digest('sha1', step);
  }
  return x;
}
