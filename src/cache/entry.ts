/**
 * One cached answer, stored compactly: the records of the three sections as one wire-format blob (a
 * latin1 string: one V8 string, no Buffer objects per entry) plus a few numbers.
 *
 * Blob layout: the records in order (answer, authority, additional), each as
 *   owner | type | class | TTL (0, patched when served) | RDLENGTH | RDATA (uncompressed, as received).
 * An owner name that shares labels with the question name is written as its own leading labels plus a
 * compression pointer into the question, which every reply has at offset 12 with the same layout
 * (the same name, whatever its case): 0xC00C for the question name itself. The blob can therefore be
 * copied behind the client's question as it is, and records can be dropped (RRSIG/NSEC/NSEC3 for
 * clients without DO) without breaking other records' pointers. Names so compressed take the case of
 * the client's question, as they do when an upstream compresses against the question.
 */
import { DNSSEC_TYPES, Rcode, RRType, WireWriter, parseMessage, type EdeEntry, type Name, type RR } from '../wire/index.js';
import type { Outcome, OutcomeStatus } from './outcome.js';

/** The records and OPT record of a reply rendered from an entry, and what they were rendered for (cache/render.ts). */
export interface RenderedTail {
  /** TTL of the records, times 8, plus the variant (1: OPT record, 2: DO, 4: the type asked is RRSIG, NSEC or NSEC3). */
  readonly as: number;
  /** The UDP size the OPT record advertises. */
  readonly udpSize: number;
  readonly an: number;
  readonly ns: number;
  readonly ar: number;
  /** What follows the question: the records (TTLs patched, DNSSEC records stripped without DO), the OPT record. */
  readonly octets: Uint8Array;
}

/** Where an answer came from, for serving: fresh, or stale (RFC 8767) with a fixed TTL and EDE 3. */
export class CacheEntry {
  /** A background refresh (prefetch) was started for this entry: at most one. */
  refreshing = false;
  /** Clock ms until which this expired entry is served stale without asking again (the last try failed). */
  staleUntil = 0;
  /**
   * The MTA-aware prefetch (resolver/mail-prefetch.ts): 'prefetched' while an entry it stored has not been
   * served to a client (its first client hit counts, or it counts as wasted when it expires or leaves unused);
   * 'hosts' on an MX answer whose hosts were prefetched (once per entry).
   */
  mail: 'prefetched' | 'hosts' | undefined = undefined;
  /**
   * The last reply rendered from this entry (cache/render.ts), so that the next hits in the same second get its
   * records copied instead of rebuilt: a number (TTL and variant: rendered once, nothing kept yet) or, once
   * rendered twice the same way, the octets themselves (held within a global budget, render.ts).
   */
  rendered: RenderedTail | number | undefined = undefined;

  constructor(
    readonly status: OutcomeStatus,
    readonly rcode: number,
    /** Records, see the module comment (latin1). */
    readonly records: string,
    readonly an: number,
    readonly ns: number,
    readonly ar: number,
    /** Whether any record is RRSIG, NSEC or NSEC3 (stripped for clients without DO). */
    readonly dnssec: boolean,
    /** EDEs every client gets (bogus reason, upstream failure, informational). */
    readonly ede: readonly EdeEntry[] | undefined,
    /** Clock ms when stored. */
    readonly born: number,
    /** Lifetime in seconds. */
    readonly ttl: number,
  ) {}

  /** Clock ms at which it stops being fresh. */
  get expires(): number {
    return this.born + this.ttl * 1000;
  }

  /** Whole seconds of TTL left at `now` (what the records are served with). */
  ttlLeft(now: number): number {
    return Math.max(0, this.ttl - Math.floor((now - this.born) / 1000));
  }

  /** Data that was validated (the only kind ever served stale). */
  get validated(): boolean {
    return this.status === 'secure' || this.status === 'insecure';
  }
}

/** Byte offset of each label of `name` in its wire form (index = label number). */
function labelOffsets(name: Name): number[] {
  const out: number[] = [];
  let o = 0;
  for (const l of name.labels) {
    out.push(o);
    o += 1 + l.length;
  }
  return out;
}

function writeOwner(w: WireWriter, owner: Name, qname: Name, qOffsets: number[]): void {
  const shared = owner.commonLabels(qname);
  const own = owner.labelCount - shared;
  for (let i = 0; i < own; i++) {
    const l = owner.labels[i]!;
    w.u8(l.length);
    w.bytes(l);
  }
  if (shared === 0) w.u8(0);
  else w.u16(0xc000 | (12 + qOffsets[qname.labelCount - shared]!));
}

/** Encode an outcome for `qname`, to live `ttl` seconds from `now`. */
export function encodeEntry(qname: Name, o: Outcome, ttl: number, now: number): CacheEntry {
  if (o.kind === 'servfail') return new CacheEntry(o.status, Rcode.SERVFAIL, '', 0, 0, 0, false, o.ede, now, ttl);
  const w = new WireWriter(256);
  const qOffsets = labelOffsets(qname);
  let dnssec = false;
  const put = (rrs: readonly RR[]): number => {
    let n = 0;
    for (const rr of rrs) {
      if (rr.type === RRType.OPT) continue;
      if (DNSSEC_TYPES.has(rr.type)) dnssec = true;
      writeOwner(w, rr.name, qname, qOffsets);
      w.u16(rr.type);
      w.u16(rr.class);
      w.u32(0);
      w.u16(rr.rdata.length);
      w.bytes(rr.rdata);
      n++;
    }
    return n;
  };
  const an = put(o.answer);
  const ns = put(o.authority);
  const ar = put(o.additional);
  const bytes = w.finish();
  const records = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('latin1');
  return new CacheEntry(o.status, o.rcode, records, an, ns, ar, dnssec, o.ede.length > 0 ? o.ede : undefined, now, ttl);
}

/** Offset just past the owner name of the record at `p` (labels, then a zero octet or a pointer). */
export function skipOwner(buf: Uint8Array, p: number): number {
  for (;;) {
    const len = buf[p]!;
    if (len === 0) return p + 1;
    if (len >= 0xc0) return p + 2;
    p += 1 + len;
  }
}

/** Set the TTL of every record in buf[start, end). */
export function patchTtls(buf: Uint8Array, start: number, end: number, ttl: number): void {
  for (let p = start; p < end; ) {
    const t = skipOwner(buf, p);
    buf[t + 4] = ttl >>> 24;
    buf[t + 5] = (ttl >>> 16) & 0xff;
    buf[t + 6] = (ttl >>> 8) & 0xff;
    buf[t + 7] = ttl & 0xff;
    p = t + 10 + ((buf[t + 8]! << 8) | buf[t + 9]!);
  }
}

/** ANCOUNT, NSCOUNT and ARCOUNT into a message header (octets 6-11). */
export function writeCounts(buf: Uint8Array, an: number, ns: number, ar: number): void {
  buf[6] = an >> 8;
  buf[7] = an & 0xff;
  buf[8] = ns >> 8;
  buf[9] = ns & 0xff;
  buf[10] = ar >> 8;
  buf[11] = ar & 0xff;
}

/**
 * The records of an entry as RR objects with `ttl`, for the slow path. `question` is the wire form
 * of the client's question (name, type, class) that the blob's pointers refer to.
 */
export function decodeEntry(e: CacheEntry, question: Uint8Array, ttl: number): { answer: RR[]; authority: RR[]; additional: RR[] } {
  const start = 12 + question.length;
  const buf = Buffer.alloc(start + e.records.length);
  buf[5] = 1;
  writeCounts(buf, e.an, e.ns, e.ar);
  buf.set(question, 12);
  buf.write(e.records, start, 'latin1');
  patchTtls(buf, start, buf.length, ttl);
  const m = parseMessage(buf);
  return { answer: m.answer, authority: m.authority, additional: m.additional };
}

/** The outcome an entry stands for, with its records at `ttl` (and `extra` EDEs appended). */
export function entryOutcome(e: CacheEntry, question: Uint8Array, ttl: number): Outcome {
  const ede = e.ede ? [...e.ede] : [];
  switch (e.status) {
    case 'bogus':
    case 'indeterminate':
    case 'failure':
      return { kind: 'servfail', status: e.status, ede };
    case 'secure':
    case 'insecure':
    case 'unchecked':
      return { kind: 'data', status: e.status, rcode: e.rcode, ...decodeEntry(e, question, ttl), ede, ttlCap: undefined };
  }
}

/** Wire form of a question (name as given, type, class): what follows the header of every reply. */
export function questionWire(q: { name: Name; type: number; class: number }): Uint8Array {
  const name = q.name.toWire();
  const out = new Uint8Array(name.length + 4);
  out.set(name, 0);
  out[name.length] = q.type >> 8;
  out[name.length + 1] = q.type & 0xff;
  out[name.length + 2] = q.class >> 8;
  out[name.length + 3] = q.class & 0xff;
  return out;
}
