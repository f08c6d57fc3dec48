/**
 * The chain of trust's memory: what is known about each name on a path from a trust anchor down.
 *
 * One entry per name, three kinds (like Unbound's key entries: good, null and bad, plus the
 * "not a delegation point" facts its FINDKEY state learns on the way):
 *  - `zone`:   the name is a zone cut with validated (secure) keys;
 *  - `inside`: the name is proven not to be a zone cut: it belongs to the secure zone `zone`;
 *  - `end`:    trust ends here: insecure delegation, bogus step or upstream failure (`keys`), and so
 *              for every name below. Stored only at the name where it ended.
 *
 * Expiry is by `validUntil` against the injected clock (never the LRU's own timers); bogus entries
 * live at most BOGUS_TTL_MS, indeterminate ones at most INDETERMINATE_TTL_MS.
 */
import { LRUCache } from 'lru-cache';
import type { Clock } from '../clock.js';
import type { Name } from '../wire/index.js';
import type { TrailStep, ZoneKeys } from './types.js';

export type SecureKeys = Extract<ZoneKeys, { security: 'secure' }>;
export type EndKeys = Exclude<ZoneKeys, SecureKeys>;

export type ChainNode =
  | { kind: 'zone'; name: Name; keys: SecureKeys; validUntil: number }
  | {
      kind: 'inside';
      name: Name;
      /** The secure zone the name belongs to (its keys verify DS answers for names below). */
      zone: SecureKeys;
      /** The zone's trail plus the proof that `name` is not a cut. */
      trail: TrailStep[];
      validUntil: number;
    }
  | { kind: 'end'; name: Name; keys: EndKeys; validUntil: number };

/** A bogus chain state is retried after this long at most (like Unbound's bogus key TTL). */
export const BOGUS_TTL_MS = 60_000;
/** An upstream failure is remembered this long at most: long enough to absorb a burst, not more. */
export const INDETERMINATE_TTL_MS = 5_000;

/** The trail that explains a node: the one of the keys it carries. */
export function nodeTrail(node: ChainNode): TrailStep[] {
  return node.kind === 'inside' ? node.trail : node.keys.trail;
}

/** The secure keys to continue the walk below a node, if trust continues. */
export function zoneBelow(node: ChainNode): SecureKeys | undefined {
  return node.kind === 'zone' ? node.keys : node.kind === 'inside' ? node.zone : undefined;
}

/** Cap `validUntil` by the kind's maximum lifetime. */
export function capValidUntil(keys: ZoneKeys, validUntil: number, now: number): number {
  if (keys.security === 'bogus') return Math.min(validUntil, now + BOGUS_TTL_MS);
  if (keys.security === 'indeterminate') return Math.min(validUntil, now + INDETERMINATE_TTL_MS);
  return validUntil;
}

interface Entry {
  node: ChainNode;
}

export class KeyCache {
  private readonly lru: LRUCache<string, Entry>;

  constructor(private readonly clock: Clock, maxEntries: number) {
    this.lru = new LRUCache<string, Entry>({ max: Math.max(1, Math.floor(maxEntries)) });
  }

  get size(): number {
    return this.lru.size;
  }

  /** The live entry for `name` (an expired one is dropped). */
  get(name: Name): ChainNode | undefined {
    const e = this.lru.get(name.key);
    if (!e) return undefined;
    if (e.node.validUntil <= this.clock.now()) {
      this.lru.delete(name.key);
      return undefined;
    }
    return e.node;
  }

  /** Remember a node; `end` nodes only where trust ended (below, the walk up finds them). */
  set(node: ChainNode): void {
    if (node.kind === 'end' && !node.keys.zone.equals(node.name)) return;
    if (node.validUntil <= this.clock.now()) return;
    this.lru.set(node.name.key, { node });
  }

  /** Forget the entries `doomed` picks; returns how many. */
  flushWhere(doomed: (node: ChainNode) => boolean): number {
    const keys: string[] = [];
    for (const [k, e] of this.lru.entries()) if (doomed(e.node)) keys.push(k);
    for (const k of keys) this.lru.delete(k);
    return keys.length;
  }

  /** Forget everything, or `name` and every name below it. */
  flush(name?: Name): number {
    if (!name) {
      const n = this.lru.size;
      this.lru.clear();
      return n;
    }
    const doomed: string[] = [];
    for (const [k, e] of this.lru.entries()) if (e.node.name.isSubdomainOf(name)) doomed.push(k);
    for (const k of doomed) this.lru.delete(k);
    return doomed.length;
  }
}
