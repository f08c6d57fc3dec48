/**
 * The store behind aggressive use of validated NSEC/NSEC3 (RFC 8198): per zone, the NSEC RRsets in
 * canonical order (binary search for the one at or before a name), the NSEC3 RRsets, the wildcard
 * RRsets whose expansion was proven, and the signed SOA. Filled from the `learned` part of SECURE
 * validations only; read by src/validator/synthesis.ts through `DenialView`.
 *
 * Bounds: zones are kept in an LRU charged by bytes (`maxBytes`), and each zone holds at most
 * MAX_NSEC NSEC, MAX_NSEC3 NSEC3 and MAX_WILDCARDS wildcard RRsets (the NSEC3 proofs scan the list,
 * so it stays short). Every held RRset expires with the TTL it was validated with (record TTL, RRSIG
 * original TTL, signature expiration); expired sets are dropped when met.
 */
import { LRUCache } from 'lru-cache';
import type { HeldSet, DenialView, ZoneDenialView } from '../validator/synthesis.js';
import type { Learned, LearnedSet } from '../validator/learned.js';
import { RRType, type Name } from '../wire/index.js';

export const MAX_NSEC = 2048;
export const MAX_NSEC3 = 128;
export const MAX_WILDCARDS = 64;
/** Bytes charged per record besides its owner name and RDATA (object, array slots, RR fields). */
const RECORD_OVERHEAD = 120;

function setBytes(h: HeldSet): number {
  let n = 64;
  for (const r of [...h.set.rrs, ...h.set.sigs]) n += RECORD_OVERHEAD + r.name.wireLength + r.rdata.length;
  return n;
}

function held(l: LearnedSet, now: number): HeldSet {
  return { set: l.set, expires: now + Math.max(0, l.ttl) * 1000 };
}

/** What one zone's validated records are. */
class ZoneRecords implements ZoneDenialView {
  /** NSEC RRsets sorted by owner in canonical order. */
  private readonly nsecs: HeldSet[] = [];
  private readonly nsec3s = new Map<string, HeldSet>();
  private readonly wildcards = new Map<string, HeldSet>();
  private soaSet: HeldSet | undefined;
  bytes = 256;

  constructor(readonly zone: Name) {}

  get sets(): number {
    return this.nsecs.length + this.nsec3s.size + this.wildcards.size + (this.soaSet ? 1 : 0);
  }

  addDenial(h: HeldSet): void {
    if (h.set.type === RRType.NSEC) this.addNsec(h);
    else this.replaceIn(this.nsec3s, h.set.name.key, h, MAX_NSEC3);
  }

  addWildcard(h: HeldSet): void {
    this.replaceIn(this.wildcards, `${h.set.name.key}|${h.set.type}`, h, MAX_WILDCARDS);
  }

  setSoa(h: HeldSet): void {
    if (this.soaSet) this.bytes -= setBytes(this.soaSet);
    this.soaSet = h;
    this.bytes += setBytes(h);
  }

  private addNsec(h: HeldSet): void {
    const i = this.indexAtOrBefore(h.set.name);
    if (i >= 0 && this.nsecs[i]!.set.name.equals(h.set.name)) {
      this.bytes += setBytes(h) - setBytes(this.nsecs[i]!);
      this.nsecs[i] = h;
      return;
    }
    if (this.nsecs.length >= MAX_NSEC) {
      // Make room: the one that expires first goes.
      let victim = 0;
      for (let j = 1; j < this.nsecs.length; j++) if (this.nsecs[j]!.expires < this.nsecs[victim]!.expires) victim = j;
      this.bytes -= setBytes(this.nsecs[victim]!);
      this.nsecs.splice(victim, 1);
      this.addNsec(h);
      return;
    }
    this.nsecs.splice(i + 1, 0, h);
    this.bytes += setBytes(h);
  }

  private replaceIn(map: Map<string, HeldSet>, key: string, h: HeldSet, max: number): void {
    const old = map.get(key);
    if (old) {
      this.bytes -= setBytes(old);
      map.delete(key);
    } else if (map.size >= max) {
      const [oldestKey, oldest] = map.entries().next().value as [string, HeldSet];
      this.bytes -= setBytes(oldest);
      map.delete(oldestKey);
    }
    map.set(key, h);
    this.bytes += setBytes(h);
  }

  /** Index of the last NSEC whose owner sorts at or before `name`, -1 if none. */
  private indexAtOrBefore(name: Name): number {
    let lo = 0;
    let hi = this.nsecs.length - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (this.nsecs[mid]!.set.name.compare(name) <= 0) {
        found = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return found;
  }

  nsecAtOrBefore(name: Name, now: number): HeldSet | undefined {
    const i = this.indexAtOrBefore(name);
    if (i < 0) return undefined;
    const h = this.nsecs[i]!;
    if (h.expires > now) return h;
    this.bytes -= setBytes(h);
    this.nsecs.splice(i, 1);
    return undefined;
  }

  nsec3(now: number): HeldSet[] {
    return this.live(this.nsec3s, now);
  }

  wildcard(name: Name, type: number, now: number): HeldSet | undefined {
    const key = `${name.key}|${type}`;
    const h = this.wildcards.get(key);
    if (!h) return undefined;
    if (h.expires > now) return h;
    this.bytes -= setBytes(h);
    this.wildcards.delete(key);
    return undefined;
  }

  wildcardsOfType(type: number, now: number): HeldSet[] {
    return this.live(this.wildcards, now).filter((h) => h.set.type === type);
  }

  soa(now: number): HeldSet | undefined {
    return this.soaSet && this.soaSet.expires > now ? this.soaSet : undefined;
  }

  private live(map: Map<string, HeldSet>, now: number): HeldSet[] {
    const out: HeldSet[] = [];
    for (const [k, h] of map) {
      if (h.expires > now) out.push(h);
      else {
        this.bytes -= setBytes(h);
        map.delete(k);
      }
    }
    return out;
  }
}

/**
 * Index in a name key (lowercase presentation form, "a.b.c." or "." for the root) where the label after
 * the one starting at `i` starts: past the next unescaped dot (a "\\." or "\\DDD" escape is part of a label).
 * At the last label this returns the index of the root's key (the final ".").
 */
function nextLabel(key: string, i: number): number {
  for (let j = i; j < key.length; j++) {
    const c = key.charCodeAt(j);
    if (c === 0x5c) j++; // backslash: the next character is escaped (\DDD: digits are no dots anyway)
    else if (c === 0x2e) return j + 1 < key.length ? j + 1 : j;
  }
  return key.length - 1;
}

export interface ProofStoreStats {
  zones: number;
  /** RRsets held (NSEC, NSEC3, wildcards, SOA). */
  sets: number;
  bytes: number;
  maxBytes: number;
}

export class ProofStore implements DenialView {
  private readonly zones: LRUCache<string, ZoneRecords>;

  constructor(readonly maxBytes: number) {
    this.zones = new LRUCache<string, ZoneRecords>({ maxSize: Math.max(4096, Math.floor(maxBytes)), sizeCalculation: (z) => Math.max(1, z.bytes) });
  }

  /** Keep what a SECURE validation learned. */
  learn(l: Learned, now: number): void {
    const touched = new Set<ZoneRecords>();
    const zoneOf = (s: LearnedSet): ZoneRecords => {
      let z = this.zones.peek(s.zone.key);
      if (!z) {
        z = new ZoneRecords(s.zone);
        this.zones.set(s.zone.key, z);
      }
      touched.add(z);
      return z;
    };
    for (const s of l.denial) if (s.ttl > 0 && s.set.rrs.length > 0) zoneOf(s).addDenial(held(s, now));
    for (const s of l.wildcards) if (s.ttl > 0 && s.set.rrs.length > 0) zoneOf(s).addWildcard(held(s, now));
    for (const s of l.soa) if (s.ttl > 0 && s.set.rrs.length > 0) zoneOf(s).setSoa(held(s, now));
    // Charge the LRU the zone's new size (lru-cache keeps the old size when the same value is set again).
    for (const z of touched) {
      this.zones.delete(z.zone.key);
      this.zones.set(z.zone.key, z);
    }
  }

  zoneFor(name: Name, now: number): ZoneDenialView | undefined {
    if (this.zones.size === 0) return undefined;
    // The keys of `name` and its ancestors, deepest first, are suffixes of its key at label boundaries.
    const key = name.key;
    for (let i = 0; ; ) {
      const z = this.zones.get(i === 0 ? key : key.slice(i));
      if (z && (z.sets > 1 || (z.sets === 1 && !z.soa(now)))) return z;
      if (i >= key.length - 1) return undefined;
      i = nextLabel(key, i);
    }
  }

  /** Forget everything, or the zones at, below or above `name` (their records may speak for it). */
  flush(name?: Name): void {
    if (!name || name.isRoot()) {
      this.zones.clear();
      return;
    }
    for (const [k, z] of [...this.zones.entries()]) if (z.zone.isSubdomainOf(name) || name.isSubdomainOf(z.zone)) this.zones.delete(k);
  }

  stats(): ProofStoreStats {
    let sets = 0;
    for (const z of this.zones.values()) sets += z.sets;
    return { zones: this.zones.size, sets, bytes: this.zones.calculatedSize, maxBytes: this.maxBytes };
  }
}
