/**
 * The cache's fast path: read a raw query just enough to find its entry, and build the reply by
 * copying the entry's record blob behind the client's header and question, patching ID, flags, TTLs
 * and counts — no record is decoded or re-encoded. Anything unusual is left to the normal path
 * (returns undefined): the normal path parses, screens and, on a hit, answers from the same entry.
 *
 * The reply is what the normal path would send (resolver/answer.ts `shapeOutcome` + server/responder.ts
 * `replyMessage`): ID, RD, CD and question echoed; QR, RA; AD for secure data when the client set DO
 * or AD; RRSIG/NSEC/NSEC3 only with DO (unless asked for); OPT with our UDP size, DO echoed and the
 * EDEs iff the query had OPT. The normal path compresses more names; the content is the same.
 */
import { RRType, encodeEde, rdataCodec, type EdeEntry } from '../wire/index.js';
import { writeCounts, type CacheEntry } from './entry.js';
import { packetKey, scanQuestionName } from './key.js';
import { keepTail, replyBuffer } from './reply-store.js';

/** Node's Buffer#latin1Write: write('...', offset, 'latin1') without the argument handling (hot path). */
const latin1Write: (this: Uint8Array, s: string, offset: number) => number =
  (Buffer.prototype as unknown as { latin1Write?: (this: Uint8Array, s: string, offset: number) => number }).latin1Write ??
  function (this: Uint8Array, s: string, offset: number): number {
    return Buffer.from(this.buffer, this.byteOffset, this.byteLength).write(s, offset, 'latin1');
  };

/** What the fast path needs from a query. */
export interface QueryView {
  key: string;
  /** Offset just past the question (QTYPE, QCLASS). */
  qEnd: number;
  qtype: number;
  edns: boolean;
  dnssecOk: boolean;
  /** The client's EDNS UDP size (0 without EDNS). */
  udpSize: number;
}

/** Types the server answers itself (OPT: FORMERR; zone transfers and MAILA/MAILB: NOTIMP); compared, not looked up. */
function notCached(qtype: number): boolean {
  return qtype === RRType.OPT || qtype === RRType.IXFR || qtype === RRType.AXFR || qtype === 253 || qtype === 254;
}

/** RRSIG, NSEC, NSEC3 (DNSSEC_TYPES): compared, not looked up. */
function dnssecType(type: number): boolean {
  return type === RRType.RRSIG || type === RRType.NSEC || type === RRType.NSEC3;
}

/**
 * A plain query: QR=0, opcode QUERY, one question with an uncompressed name, no answer or authority
 * records, at most an OPT (root owner, version 0, well-formed options) in additional, no trailing data.
 */
export function viewQuery(packet: Uint8Array): QueryView | undefined {
  const len = packet.length;
  if (len < 17) return undefined;
  if ((packet[2]! & 0xf8) !== 0) return undefined; // QR or a non-QUERY opcode
  if (packet[4] !== 0 || packet[5] !== 1 || packet[6] !== 0 || packet[7] !== 0 || packet[8] !== 0 || packet[9] !== 0 || packet[10] !== 0) return undefined;
  const arcount = packet[11]!;
  if (arcount > 1) return undefined;
  const nameEnd = scanQuestionName(packet);
  if (nameEnd < 0 || nameEnd + 4 > len) return undefined;
  const qtype = (packet[nameEnd]! << 8) | packet[nameEnd + 1]!;
  if (notCached(qtype)) return undefined;
  const qEnd = nameEnd + 4;
  let p = qEnd;
  if (arcount === 0) {
    if (p !== len) return undefined;
    return { key: key(packet, nameEnd, qtype), qEnd, qtype, edns: false, dnssecOk: false, udpSize: 0 };
  }
  if (p + 11 > len || packet[p] !== 0 || packet[p + 1] !== 0 || packet[p + 2] !== RRType.OPT) return undefined;
  if (packet[p + 6] !== 0) return undefined; // EDNS version: BADVERS comes from the normal path
  const udpSize = (packet[p + 3]! << 8) | packet[p + 4]!;
  const dnssecOk = (packet[p + 7]! & 0x80) !== 0;
  const rdlen = (packet[p + 9]! << 8) | packet[p + 10]!;
  const optStart = p + 11;
  const optEnd = optStart + rdlen;
  if (optEnd !== len) return undefined;
  for (p = optStart; p < optEnd; ) {
    if (p + 4 > optEnd) return undefined;
    p += 4 + ((packet[p + 2]! << 8) | packet[p + 3]!);
  }
  if (p !== optEnd) return undefined;
  return { key: key(packet, nameEnd, qtype), qEnd, qtype, edns: true, dnssecOk, udpSize };
}

function key(packet: Uint8Array, nameEnd: number, qtype: number): string {
  return packetKey(nameEnd, qtype, (packet[nameEnd + 2]! << 8) | packet[nameEnd + 3]!, (packet[3]! & 0x10) !== 0);
}

/** Largest UDP reply for the query: min(max(its EDNS size, 512), ours); 512 without EDNS. */
export function udpLimit(view: QueryView, ours: number): number {
  return view.edns ? Math.min(Math.max(view.udpSize, 512), ours) : 512;
}

/** EDE options as OPT RDATA octets (code, length, data for each). */
function optionOctets(edes: readonly EdeEntry[]): Uint8Array {
  const options = encodeEde(edes);
  let n = 0;
  for (const o of options) n += 4 + o.data.length;
  const out = new Uint8Array(n);
  let w = 0;
  for (const o of options) {
    out[w] = o.code >> 8;
    out[w + 1] = o.code & 0xff;
    out[w + 2] = o.data.length >> 8;
    out[w + 3] = o.data.length & 0xff;
    out.set(o.data, w + 4);
    w += 4 + o.data.length;
  }
  return out;
}

/** An entry's EDE list (never changed once stored) encoded once: every hit on it sends the same octets. */
const encodedEdes = new WeakMap<readonly EdeEntry[], Uint8Array>();

/** The OPT RDATA of a reply from `entry`: its EDEs, then `extra` (a stale answer's EDE 3, encoded each time). */
function edeOptions(entry: CacheEntry, extra: EdeEntry | undefined): Uint8Array | undefined {
  const own = entry.ede;
  if (extra) return optionOctets(own ? [...own, extra] : [extra]);
  if (!own) return undefined;
  let b = encodedEdes.get(own);
  if (!b) {
    b = optionOctets(own);
    encodedEdes.set(own, b);
  }
  return b;
}

/** Write the OPT record at `w` (root owner, our UDP size, version 0, DO echoed, the EDE options); returns its end. */
function writeOpt(out: Uint8Array, w: number, dnssecOk: boolean, ourUdpSize: number, options: Uint8Array | undefined): number {
  out[w] = 0;
  out[w + 1] = 0;
  out[w + 2] = RRType.OPT;
  out[w + 3] = ourUdpSize >> 8;
  out[w + 4] = ourUdpSize & 0xff;
  out[w + 5] = 0; // extended RCODE: cached rcodes fit in 4 bits
  out[w + 6] = 0; // version
  out[w + 7] = dnssecOk ? 0x80 : 0;
  out[w + 8] = 0;
  const rdlen = options ? options.length : 0;
  out[w + 9] = rdlen >> 8;
  out[w + 10] = rdlen & 0xff;
  if (options) out.set(options, w + 11);
  return w + 11 + rdlen;
}

/** Copy the client's header and question, and set the reply's flags (QR, RD echoed, RA, AD, CD echoed, RCODE). */
function writeHead(out: Uint8Array, packet: Uint8Array, view: QueryView, entry: CacheEntry): void {
  for (let i = 0; i < view.qEnd; i++) out[i] = packet[i]!;
  out[2] = 0x80 | (packet[2]! & 0x01);
  const ad = entry.status === 'secure' && (view.dnssecOk || (packet[3]! & 0x20) !== 0);
  out[3] = 0x80 | (ad ? 0x20 : 0) | (packet[3]! & 0x10) | (entry.rcode & 0x0f);
}

/** Whether the owner names at [a, aEnd) and [b, bEnd) of a blob are the same octets, ASCII case aside. */
function sameOwner(blob: string, a: number, aEnd: number, b: number, bEnd: number): boolean {
  if (aEnd - a !== bEnd - b) return false;
  for (let i = 0; i < aEnd - a; i++) {
    const x = blob.charCodeAt(a + i);
    const y = blob.charCodeAt(b + i);
    if (x === y) continue;
    const lx = x | 0x20;
    if (lx !== (y | 0x20) || lx < 0x61 || lx > 0x7a) return false;
  }
  return true;
}

/**
 * The first RRset the normal path writes (serializeMessage's unit: consecutive records of one owner, class
 * and type, RRSIGs with the type they cover), among the records served (`strip`: without the DNSSEC types
 * other than `qtype`): its section and the fewest octets it can take there (each owner name two octets, a
 * compression pointer, or one for the root; RDATA as long as it is). Undefined when there is none, or when
 * one of its records has a type whose names in RDATA the normal path compresses (no such bound then).
 */
function firstRun(entry: CacheEntry, strip: boolean, qtype: number): { section: number; size: number } | undefined {
  const b = entry.records;
  let section = -1;
  let size = 0;
  let unit = 0;
  let klass = 0;
  let owner = 0;
  let ownerEnd = 0;
  for (let p = 0, index = 0; p < b.length; index++) {
    let t = p;
    for (;;) {
      const l = b.charCodeAt(t);
      if (l === 0) {
        t += 1;
        break;
      }
      if (l >= 0xc0) {
        t += 2;
        break;
      }
      t += 1 + l;
    }
    const type = (b.charCodeAt(t) << 8) | b.charCodeAt(t + 1);
    const cls = (b.charCodeAt(t + 2) << 8) | b.charCodeAt(t + 3);
    const rdlen = (b.charCodeAt(t + 8) << 8) | b.charCodeAt(t + 9);
    const start = p;
    p = t + 10 + rdlen;
    if (strip && dnssecType(type) && type !== qtype) continue;
    const sec = index < entry.an ? 0 : index < entry.an + entry.ns ? 1 : 2;
    const u = type === RRType.RRSIG && rdlen >= 2 ? (b.charCodeAt(t + 10) << 8) | b.charCodeAt(t + 11) : type;
    if (section < 0) {
      section = sec;
      unit = u;
      klass = cls;
      owner = start;
      ownerEnd = t;
    } else if (sec !== section || u !== unit || cls !== klass || !sameOwner(b, owner, ownerEnd, start, t)) break;
    if (rdataCodec(type)?.compressible === true) return undefined;
    size += (t - start === 1 ? 1 : 2) + 10 + rdlen;
  }
  return section < 0 ? undefined : { section, size };
}

/**
 * The reply bytes for `packet` (viewed as `view`) from `entry`, records at `ttl`, with `extra` appended
 * to the entry's EDEs. Over `limit`: the normal path's truncated reply when the bytes tell what it is
 * (`emptyTruncated`), else undefined (the normal path then truncates). `ourUdpSize` is the size we advertise
 * in OPT.
 */
export function renderReply(
  packet: Uint8Array, view: QueryView, entry: CacheEntry, ttl: number, extra: EdeEntry | undefined, ourUdpSize: number, limit: number,
): Uint8Array | undefined {
  const qEnd = view.qEnd;
  // What the octets after the question depend on besides the entry: TTL, OPT record or not, DO, and whether
  // the type asked is one of those stripped without DO (an entry has one type: this only keeps the rule local).
  const as = ttl * 8 + (view.edns ? 1 : 0) + (view.dnssecOk ? 2 : 0) + (dnssecType(view.qtype) ? 4 : 0);
  const kept = entry.rendered;
  if (extra === undefined && typeof kept === 'object' && kept.as === as && kept.udpSize === ourUdpSize && qEnd + kept.octets.length <= limit) {
    const out = replyBuffer(qEnd + kept.octets.length);
    writeHead(out, packet, view, entry);
    writeCounts(out, kept.an, kept.ns, kept.ar);
    out.set(kept.octets, qEnd);
    return out;
  }
  const records = entry.records;
  const options = view.edns ? edeOptions(entry, extra) : undefined;
  const optLen = view.edns ? 11 + (options ? options.length : 0) : 0;
  const strip = entry.dnssec && !view.dnssecOk;
  // Nothing to strip and too large: decided without copying the records (a large RRset asked again and again).
  if (!strip && records.length > 0 && qEnd + records.length + optLen > limit) {
    return emptyTruncated(packet, view, entry, options, optLen, ourUdpSize, limit, strip);
  }
  const out = replyBuffer(qEnd + records.length + optLen);
  writeHead(out, packet, view, entry);

  let w = qEnd;
  let an = entry.an;
  let ns = entry.ns;
  let ar = entry.ar;
  if (records.length > 0) {
    latin1Write.call(out, records, qEnd);
    const end = qEnd + records.length;
    const t0 = ttl >>> 24;
    const t1 = (ttl >>> 16) & 0xff;
    const t2 = (ttl >>> 8) & 0xff;
    const t3 = ttl & 0xff;
    let index = 0;
    for (let r = qEnd; r < end; index++) {
      // Owner name: labels, then a zero octet or a pointer.
      let t = r;
      for (;;) {
        const l = out[t]!;
        if (l === 0) {
          t += 1;
          break;
        }
        if (l >= 0xc0) {
          t += 2;
          break;
        }
        t += 1 + l;
      }
      const next = t + 10 + ((out[t + 8]! << 8) | out[t + 9]!);
      if (strip) {
        const type = (out[t]! << 8) | out[t + 1]!;
        if (dnssecType(type) && type !== view.qtype) {
          if (index < entry.an) an--;
          else if (index < entry.an + entry.ns) ns--;
          else ar--;
          r = next;
          continue;
        }
        if (w !== r) {
          out.copyWithin(w, r, next);
          t += w - r;
        }
      }
      out[t + 4] = t0;
      out[t + 5] = t1;
      out[t + 6] = t2;
      out[t + 7] = t3;
      w += next - r;
      r = next;
    }
  }
  if (view.edns) {
    w = writeOpt(out, w, view.dnssecOk, ourUdpSize, options);
    ar++;
  }
  if (w > limit) return emptyTruncated(packet, view, entry, options, optLen, ourUdpSize, limit, strip);
  writeCounts(out, an, ns, ar);
  if (extra === undefined) keepTail(entry, as, ourUdpSize, out, qEnd, w, an, ns, ar);
  return w === out.length ? out : out.subarray(0, w);
}

/**
 * A reply too large for the client, when the normal path (serializeReply: RRsets that do not fit are left out
 * whole, the first one that does not fit ends the reply, TC=1 when it is in the answer or authority section)
 * certainly keeps no record at all: its first RRset does not fit even at its smallest (`firstRun`), behind the
 * question and the OPT record it reserves room for (EDE texts included: the reply without records must fit
 * with them, else the normal path shortens them and this is not its reply). The reply: the header with TC=1
 * and no records, the question, the OPT record. Any other case: undefined, the normal path truncates.
 */
function emptyTruncated(
  packet: Uint8Array, view: QueryView, entry: CacheEntry, options: Uint8Array | undefined, optLen: number, ourUdpSize: number, limit: number,
  strip: boolean,
): Uint8Array | undefined {
  const qEnd = view.qEnd;
  if (qEnd + optLen > limit) return undefined;
  const run = firstRun(entry, strip, view.qtype);
  if (!run || run.section > 1 || qEnd + run.size + optLen <= limit) return undefined;
  const out = replyBuffer(qEnd + optLen);
  writeHead(out, packet, view, entry);
  out[2] = out[2]! | 0x02;
  writeCounts(out, 0, 0, view.edns ? 1 : 0);
  if (view.edns) writeOpt(out, qEnd, view.dnssecOk, ourUdpSize, options);
  return out;
}
