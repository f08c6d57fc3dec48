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
 *
 * Bounded twice, least recently used first: by entries, and by the heap they are charged (`nodeCharge`, an
 * estimate from the keys' RDATA): a zone's DNSKEY RRset can be near 64 KiB, so a count alone does not bound the
 * memory of names in zones with many large keys.
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

/** The heap charged by default, at most, to the entries of a key cache (about 10,000 names of typical zones). */
export const DEFAULT_KEY_CACHE_BYTES = 32 * 1024 * 1024;

/** Per entry, per DNSKEY and per trail step: the objects around the octets (measured: 2.9 KiB per typical zone). */
const NODE_OVERHEAD = 512;
const KEY_OVERHEAD = 400;
const TRAIL_STEP_OVERHEAD = 128;

/**
 * The heap an entry is charged: its name, its trail, and for a zone its DNSKEY records (RDATA and the key
 * octets decoded from it). An `inside` node shares its zone's keys with the zone's entry: not charged again.
 */
export function nodeCharge(node: ChainNode): number {
  let n = NODE_OVERHEAD + node.name.wireLength + TRAIL_STEP_OVERHEAD * nodeTrail(node).length;
  if (node.kind === 'zone') for (const k of node.keys.keys) n += KEY_OVERHEAD + k.rdata.length + k.data.publicKey.length;
  return n;
}

export class KeyCache {
  private readonly lru: LRUCache<string, Entry>;

  /** The bound on the heap charged to the entries (see nodeCharge). */
  readonly maxBytes: number;

  constructor(private readonly clock: Clock, maxEntries: number, maxBytes: number = DEFAULT_KEY_CACHE_BYTES) {
    this.maxBytes = Math.max(1, Math.floor(maxBytes));
    this.lru = new LRUCache<string, Entry>({
      max: Math.max(1, Math.floor(maxEntries)),
      maxSize: this.maxBytes,
      // Computed once per set: the LRU keeps the size with the entry.
      sizeCalculation: (e) => nodeCharge(e.node),
    });
  }

  get size(): number {
    return this.lru.size;
  }

  /** The heap charged to the entries held now (see nodeCharge). */
  get bytes(): number {
    return this.lru.calculatedSize;
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
    // An entry larger than the whole bound is not kept (the LRU refuses it; the old one for the name goes).
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
