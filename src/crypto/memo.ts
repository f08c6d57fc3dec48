/**
 * A verifier that remembers good signatures. Whether a signature is valid for given data and key never
 * changes (validity periods are checked before crypto, in the validator), so a repeat of the same
 * (signature, key, data) triple — the same NSEC proof or wildcard RRSIG in answer after answer — costs
 * a byte comparison instead of a public-key operation. Only `valid` outcomes are remembered; the memory
 * is bounded in bytes.
 */
import { LRUCache } from 'lru-cache';
import { VALID, type SignatureVerifier, type VerifyResult } from './types.js';

interface Entry {
  algorithm: number;
  publicKey: Uint8Array;
  data: Uint8Array;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.compare(a, b) === 0;
}

export interface MemoVerifier extends SignatureVerifier {
  /** Verifications answered from memory, and ones that needed the backend. */
  stats(): { hits: number; misses: number; entries: number; bytes: number };
}

/** Wrap `inner`; `maxBytes` bounds the remembered keys + data (default 8 MiB). */
export function memoizingVerifier(inner: SignatureVerifier, maxBytes = 8 * 1024 * 1024): MemoVerifier {
  const cache = new LRUCache<string, Entry>({
    maxSize: maxBytes,
    sizeCalculation: (e, k) => e.publicKey.length + e.data.length + k.length + 64,
  });
  let hits = 0;
  let misses = 0;
  return {
    name: inner.name,
    supports: (alg) => inner.supports(alg),
    verify(algorithm, publicKey, data, signature): VerifyResult {
      const key = Buffer.from(signature.buffer, signature.byteOffset, signature.byteLength).toString('base64');
      const e = cache.get(key);
      if (e && e.algorithm === algorithm && sameBytes(e.publicKey, publicKey) && sameBytes(e.data, data)) {
        hits++;
        return VALID;
      }
      misses++;
      const r = inner.verify(algorithm, publicKey, data, signature);
      if (r.kind === 'valid') cache.set(key, { algorithm, publicKey: publicKey.slice(), data: data.slice() });
      return r;
    },
    stats: () => ({ hits, misses, entries: cache.size, bytes: cache.calculatedSize }),
  };
}
