/**
 * The answer cache proper: entries by key in an LRU bounded by bytes (lru-cache `maxSize` with a size
 * per entry), expiry by the injected clock. An entry is fresh until its TTL runs out; after that it is
 * kept (if the LRU does not need the room) for `staleWindow` seconds as a serve-stale candidate when it
 * holds validated data (RFC 8767), and dropped when looked up past that.
 */
import { LRUCache } from 'lru-cache';
import type { Clock } from '../clock.js';
import type { CacheConfig } from '../config/schema.js';
import type { Name } from '../wire/index.js';
import type { CacheEntry } from './entry.js';
import { keyUnder, nameKeyPart } from './key.js';

/**
 * Heap bytes an entry costs besides its key and record blob: the entry object, the two string
 * headers, and lru-cache's bookkeeping (Map slot, key/value/next/prev/size array slots). Measured by
 * bench/cache-mem.ts (see bench/RESULTS.md); rounded up so that `maxBytes` bounds the real heap.
 */
export const ENTRY_OVERHEAD = 352;

/** The bytes an entry is charged against `maxBytes`. */
export function entrySize(key: string, e: CacheEntry): number {
  let n = ENTRY_OVERHEAD + key.length + e.records.length;
  if (e.ede) for (const x of e.ede) n += 64 + (x.text?.length ?? 0);
  return n;
}

export type Lookup =
  | { kind: 'fresh'; entry: CacheEntry; ttl: number }
  /** Expired, but the last attempt to refresh it failed a moment ago: serve it stale without asking again. */
  | { kind: 'stale'; entry: CacheEntry }
  /** Not usable as is; `stale` is a serve-stale candidate should the upstreams fail. */
  | { kind: 'miss'; stale: CacheEntry | undefined };

export type StaleConfig = Pick<CacheConfig, 'maxBytes' | 'staleWindow' | 'failureTtl'>;

export class AnswerCache {
  private readonly lru: LRUCache<string, CacheEntry>;
  private readonly staleMs: number;

  /**
   * `onUnused`: called once for each entry the mail prefetch stored (`mail === 'prefetched'`) that no client was
   * served: when it is found expired, or leaves the cache (evicted, replaced, flushed) before that.
   */
  constructor(private readonly cfg: StaleConfig, private readonly clock: Clock, private readonly onUnused?: () => void) {
    this.lru = new LRUCache<string, CacheEntry>({
      maxSize: Math.max(1024, Math.floor(cfg.maxBytes)),
      sizeCalculation: (e, k) => entrySize(k, e),
      ...(onUnused ? { dispose: (e: CacheEntry) => this.unused(e) } : {}),
    });
    this.staleMs = cfg.staleWindow * 1000;
  }

  /** A prefetched entry that was never served is done with: counted once. */
  private unused(e: CacheEntry): void {
    if (e.mail !== 'prefetched') return;
    e.mail = undefined;
    this.onUnused?.();
  }

  get size(): number {
    return this.lru.size;
  }

  /** Bytes charged for the entries held (always at most maxBytes). */
  get bytes(): number {
    return this.lru.calculatedSize;
  }

  /** Whether an expired entry may still be served stale at `now`. */
  private staleUsable(e: CacheEntry, now: number): boolean {
    return e.validated && now < e.expires + this.staleMs;
  }

  lookup(key: string, now = this.clock.now()): Lookup {
    const e = this.lru.get(key);
    if (!e) return { kind: 'miss', stale: undefined };
    switch (this.state(key, e, now)) {
      case 'fresh':
        return { kind: 'fresh', entry: e, ttl: e.ttlLeft(now) };
      case 'stale':
        return { kind: 'stale', entry: e };
      case 'candidate':
        return { kind: 'miss', stale: e };
      case 'gone':
        return { kind: 'miss', stale: undefined };
    }
  }

  /** The entry under `key` (marked recently used), whatever its state: for the fast path, with `state`. */
  get(key: string): CacheEntry | undefined {
    return this.lru.get(key);
  }

  /**
   * What an entry is good for at `now`: serving (fresh), serving stale (expired, the last refresh failed
   * moments ago), a serve-stale candidate, or nothing (then it is dropped).
   */
  state(key: string, e: CacheEntry, now: number): 'fresh' | 'stale' | 'candidate' | 'gone' {
    if (now < e.expires) return 'fresh';
    if (e.mail === 'prefetched') this.unused(e);
    if (this.staleUsable(e, now)) return now < e.staleUntil ? 'stale' : 'candidate';
    if (this.lru.peek(key) === e) this.lru.delete(key);
    return 'gone';
  }

  /** The entry under `key` without touching its recency. */
  peek(key: string): CacheEntry | undefined {
    return this.lru.peek(key);
  }

  /** Keep an entry (entries with TTL 0 are not kept). */
  set(key: string, e: CacheEntry): void {
    if (e.ttl <= 0) return;
    this.lru.set(key, e);
  }

  /**
   * The upstreams failed for `key` at `now`: if it holds validated data that expired within the stale
   * window, serve it stale from now on for `failureTtl` seconds (then try again) and return it.
   */
  staleAfterFailure(key: string, now: number): CacheEntry | undefined {
    const e = this.lru.peek(key);
    if (!e || now < e.expires || !this.staleUsable(e, now)) return undefined;
    e.staleUntil = now + this.cfg.failureTtl * 1000;
    return e;
  }

  /** The fresh entry under `key`, if any. */
  fresh(key: string, now: number): CacheEntry | undefined {
    const e = this.lru.peek(key);
    return e && now < e.expires ? e : undefined;
  }

  /**
   * Forget the cached failures (no upstream answered, INDETERMINATE), e.g. when an upstream becomes
   * DNSSEC-capable again: they must not outlive the outage. Returns the count.
   */
  flushFailures(): number {
    const doomed: string[] = [];
    for (const [k, e] of this.lru.entries()) if (e.status === 'failure' || e.status === 'indeterminate') doomed.push(k);
    for (const k of doomed) this.lru.delete(k);
    return doomed.length;
  }

  /** Forget everything, or `name` and every name below it (all types, classes and CD); returns the count. */
  flush(name?: Name): number {
    if (!name || name.isRoot()) {
      const n = this.lru.size;
      this.lru.clear();
      return n;
    }
    const suffix = nameKeyPart(name);
    const doomed: string[] = [];
    for (const k of this.lru.keys()) if (keyUnder(k, suffix)) doomed.push(k);
    for (const k of doomed) this.lru.delete(k);
    return doomed.length;
  }
}
