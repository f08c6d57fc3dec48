/**
 * The part both backends share: algorithm lookup, key parsing and shape checks (keys.ts), a bounded
 * cache of imported keys per (algorithm, key octets), and turning every failure into a result.
 * A backend only supplies an Engine: how to import a checked key and how to verify with it.
 */
import { LRUCache } from 'lru-cache';
import { algorithmSpec, primitiveOf, type AlgorithmSpec, type Primitive } from './algorithms.js';
import { keyCacheId, parsePublicKey, signatureProblem, type PublicKey } from './keys.js';
import { knownAnswer } from './known-answers.js';
import {
  INVALID, VALID, badKey, badSignature, errorText, unsupported, type CryptoBackendName, type SignatureVerifier,
  type VerifyResult,
} from './types.js';

export interface Engine<K> {
  readonly name: CryptoBackendName;
  /** Whether the engine should be trusted for a primitive without a self-test (the JS engine). */
  readonly trusted: boolean;
  /** The engine's key for a shape-checked public key. Throwing means the key is unusable (bad-key). */
  importKey(spec: AlgorithmSpec, key: PublicKey): K;
  /** Verify; false for a non-matching signature. Throwing is an engine failure, not a verdict. */
  verify(spec: AlgorithmSpec, key: K, data: Uint8Array, signature: Uint8Array): boolean;
}

/** A verdict, or the engine failing to reach one (which the auto backend retries elsewhere). */
export type DetailedResult = VerifyResult | { readonly kind: 'engine-error'; readonly reason: string };

type CacheEntry<K> = { readonly ok: true; readonly key: PublicKey; readonly engineKey: K } | { readonly ok: false; readonly reason: string };

export const DEFAULT_KEY_CACHE_SIZE = 10_000;

export interface BackendOptions {
  /** Imported keys kept (default 10,000). */
  keyCacheSize?: number;
}

/** A backend verifier that can also report engine failures and run its known-answer tests. */
export interface DetailedVerifier extends SignatureVerifier {
  readonly name: CryptoBackendName;
  verifyDetailed(algorithm: number, publicKey: Uint8Array, data: Uint8Array, signature: Uint8Array): DetailedResult;
  selfTest(algorithm: number): boolean;
}

export class CachedVerifier<K> implements DetailedVerifier {
  readonly name: CryptoBackendName;
  private readonly cache: LRUCache<string, CacheEntry<K>>;
  private readonly selfTests = new Map<Primitive, boolean>();

  constructor(private readonly engine: Engine<K>, opts: BackendOptions = {}) {
    this.name = engine.name;
    this.cache = new LRUCache<string, CacheEntry<K>>({ max: Math.max(1, opts.keyCacheSize ?? DEFAULT_KEY_CACHE_SIZE) });
  }

  /**
   * A validated algorithm whose primitive passed its known-answer test (once, memoised). An engine
   * failing it (e.g. SHA-1 signatures refused by policy) then answers unsupported-algorithm for the
   * algorithm: a system-wide fact, unlike a failure on one input, which is never reported that way.
   */
  supports(algorithm: number): boolean {
    const spec = algorithmSpec(algorithm);
    if (spec === undefined) return false;
    if (this.engine.trusted) return true;
    const p = primitiveOf(spec);
    let ok = this.selfTests.get(p);
    if (ok === undefined) {
      ok = this.selfTest(algorithm);
      this.selfTests.set(p, ok);
    }
    return ok;
  }

  /**
   * Run the known-answer test for an algorithm's primitive now (not memoised): a known-good
   * signature must verify and the same signature over altered data must not.
   */
  selfTest(algorithm: number): boolean {
    const spec = algorithmSpec(algorithm);
    if (spec === undefined) return false;
    const v = knownAnswer(primitiveOf(spec));
    const tampered = Uint8Array.from(v.data);
    tampered[tampered.length - 1]! ^= 0x01;
    return this.verifyDetailed(algorithm, v.key, v.data, v.signature, false).kind === 'valid' &&
      this.verifyDetailed(algorithm, v.key, tampered, v.signature, false).kind === 'invalid';
  }

  verify(algorithm: number, publicKey: Uint8Array, data: Uint8Array, signature: Uint8Array): VerifyResult {
    if (!this.supports(algorithm)) return unsupported(algorithm);
    const r = this.verifyDetailed(algorithm, publicKey, data, signature);
    return r.kind === 'engine-error' ? badSignature(`${this.name} failed: ${r.reason}`) : r;
  }

  /** Verify without the supports() gate, reporting engine failures as such. Never throws. */
  verifyDetailed(algorithm: number, publicKey: Uint8Array, data: Uint8Array, signature: Uint8Array, useCache = true): DetailedResult {
    const spec = algorithmSpec(algorithm);
    if (spec === undefined) return unsupported(algorithm);
    const entry = this.keyEntry(spec, algorithm, publicKey, useCache);
    if (!entry.ok) return badKey(entry.reason);
    const problem = signatureProblem(spec, entry.key, signature);
    if (problem !== undefined) return badSignature(problem);
    try {
      return this.engine.verify(spec, entry.engineKey, data, signature) ? VALID : INVALID;
    } catch (e) {
      return { kind: 'engine-error', reason: errorText(e) };
    }
  }

  /** Number of keys currently cached. */
  get cachedKeys(): number {
    return this.cache.size;
  }

  private keyEntry(spec: AlgorithmSpec, algorithm: number, field: Uint8Array, useCache: boolean): CacheEntry<K> {
    const id = useCache ? keyCacheId(algorithm, field) : undefined;
    const hit = id === undefined ? undefined : this.cache.get(id);
    if (hit !== undefined) return hit;
    const entry = this.importEntry(spec, field);
    if (id !== undefined) this.cache.set(id, entry);
    return entry;
  }

  private importEntry(spec: AlgorithmSpec, field: Uint8Array): CacheEntry<K> {
    // A copy: cached entries must not alias a buffer the caller may reuse.
    const parsed = parsePublicKey(spec, field.slice());
    if (!parsed.ok) return parsed;
    try {
      return { ok: true, key: parsed.key, engineKey: this.engine.importKey(spec, parsed.key) };
    } catch (e) {
      return { ok: false, reason: `${this.name} rejected the key: ${errorText(e)}` };
    }
  }
}
