/**
 * A verifier that remembers good signatures. Whether a signature is valid for given data and key never
 * changes (validity periods are checked before crypto, in the validator), so a repeat of the same
 * (signature, key, data) triple — the same NSEC proof or wildcard RRSIG in answer after answer — costs
 * a byte comparison instead of a public-key operation. Only `valid` outcomes are remembered; the memory
 * is bounded in bytes.
 *
 * It is also where the stack's verifications are counted, by algorithm and result (`stats().verifications`):
 * every verify() call, answered from memory or by the backend, one increment of a typed array.
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

/** How a verification ended, for counting: `error` is a key or signature field that cannot be one of the algorithm. */
export const VERIFY_OUTCOMES = ['valid', 'invalid', 'unsupported', 'error'] as const;
export type VerifyOutcome = (typeof VERIFY_OUTCOMES)[number];

/** Verifications of one algorithm that ended one way. */
export interface VerificationCount {
  algorithm: number;
  result: VerifyOutcome;
  count: number;
}

export interface MemoStats {
  /** Verifications answered from memory, and ones that needed the backend. */
  hits: number;
  misses: number;
  entries: number;
  bytes: number;
  /** Every verification since creation by algorithm and result (memory hits are `valid`); only non-zero counts, by algorithm. */
  verifications: VerificationCount[];
}

export interface MemoVerifier extends SignatureVerifier {
  stats(): MemoStats;
}

function outcomeIndex(r: VerifyResult): number {
  switch (r.kind) {
    case 'valid': return 0;
    case 'invalid': return 1;
    case 'unsupported-algorithm': return 2;
    default: return 3;
  }
}

/** Wrap `inner`; `maxBytes` bounds the remembered keys + data (default 8 MiB). */
export function memoizingVerifier(inner: SignatureVerifier, maxBytes = 8 * 1024 * 1024): MemoVerifier {
  const cache = new LRUCache<string, Entry>({
    maxSize: maxBytes,
    sizeCalculation: (e, k) => e.publicKey.length + e.data.length + k.length + 64,
  });
  let hits = 0;
  let misses = 0;
  // Per (algorithm 0-255, outcome): slot algorithm * 4 + outcome index.
  const counts = new Float64Array(256 * VERIFY_OUTCOMES.length);
  const verifications = (): VerificationCount[] => {
    const out: VerificationCount[] = [];
    counts.forEach((count, slot) => {
      if (count > 0) out.push({ algorithm: slot >> 2, result: VERIFY_OUTCOMES[slot & 3]!, count });
    });
    return out;
  };
  return {
    name: inner.name,
    supports: (alg) => inner.supports(alg),
    verify(algorithm, publicKey, data, signature): VerifyResult {
      const slot = (algorithm & 0xff) * 4;
      const key = Buffer.from(signature.buffer, signature.byteOffset, signature.byteLength).toString('base64');
      const e = cache.get(key);
      if (e && e.algorithm === algorithm && sameBytes(e.publicKey, publicKey) && sameBytes(e.data, data)) {
        hits++;
        counts[slot]!++;
        return VALID;
      }
      misses++;
      const r = inner.verify(algorithm, publicKey, data, signature);
      counts[slot + outcomeIndex(r)]!++;
      if (r.kind === 'valid') cache.set(key, { algorithm, publicKey: publicKey.slice(), data: data.slice() });
      return r;
    },
    stats: () => ({ hits, misses, entries: cache.size, bytes: cache.calculatedSize, verifications: verifications() }),
  };
}
