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
import { DNSSEC_TYPES, RRType, encodeEde, type EdeEntry } from '../wire/index.js';
import type { CacheEntry } from './entry.js';
import { packetKey, scanQuestionName } from './key.js';

/** Node's Buffer#latin1Write: write('...', offset, 'latin1') without the argument handling (hot path). */
const latin1Write: (this: Buffer, s: string, offset: number) => number =
  (Buffer.prototype as unknown as { latin1Write?: (this: Buffer, s: string, offset: number) => number }).latin1Write ??
  function (this: Buffer, s: string, offset: number): number {
    return this.write(s, offset, 'latin1');
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

/** Types the server answers itself (OPT: FORMERR; zone transfers and MAILA/MAILB: NOTIMP). */
const NOT_CACHED_QTYPES: ReadonlySet<number> = new Set([RRType.OPT, RRType.IXFR, RRType.AXFR, 253, 254]);

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
  if (NOT_CACHED_QTYPES.has(qtype)) return undefined;
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

/**
 * The reply bytes for `packet` (viewed as `view`) from `entry`, records at `ttl`, with `extra` appended
 * to the entry's EDEs; undefined when it would exceed `limit` (the normal path then truncates).
 * `ourUdpSize` is the size we advertise in OPT.
 */
export function renderReply(
  packet: Uint8Array, view: QueryView, entry: CacheEntry, ttl: number, extra: EdeEntry | undefined, ourUdpSize: number, limit: number,
): Uint8Array | undefined {
  const qEnd = view.qEnd;
  const records = entry.records;
  const edes = extra ? (entry.ede ? [...entry.ede, extra] : [extra]) : entry.ede;
  const options = view.edns && edes ? encodeEde(edes) : undefined;
  let optLen = 0;
  if (view.edns) {
    optLen = 11;
    if (options) for (const o of options) optLen += 4 + o.data.length;
  }
  const out = Buffer.allocUnsafe(qEnd + records.length + optLen);
  for (let i = 0; i < qEnd; i++) out[i] = packet[i]!;
  out[2] = 0x80 | (packet[2]! & 0x01);
  const ad = entry.status === 'secure' && (view.dnssecOk || (packet[3]! & 0x20) !== 0);
  out[3] = 0x80 | (ad ? 0x20 : 0) | (packet[3]! & 0x10) | (entry.rcode & 0x0f);

  let w = qEnd;
  let an = entry.an;
  let ns = entry.ns;
  let ar = entry.ar;
  if (records.length > 0) {
    latin1Write.call(out, records, qEnd);
    const end = qEnd + records.length;
    const strip = entry.dnssec && !view.dnssecOk;
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
        if (DNSSEC_TYPES.has(type) && type !== view.qtype) {
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
    out[w] = 0;
    out[w + 1] = 0;
    out[w + 2] = RRType.OPT;
    out[w + 3] = ourUdpSize >> 8;
    out[w + 4] = ourUdpSize & 0xff;
    out[w + 5] = 0; // extended RCODE: cached rcodes fit in 4 bits
    out[w + 6] = 0; // version
    out[w + 7] = view.dnssecOk ? 0x80 : 0;
    out[w + 8] = 0;
    const rdlen = optLen - 11;
    out[w + 9] = rdlen >> 8;
    out[w + 10] = rdlen & 0xff;
    w += 11;
    if (options) {
      for (const o of options) {
        out[w] = o.code >> 8;
        out[w + 1] = o.code & 0xff;
        out[w + 2] = o.data.length >> 8;
        out[w + 3] = o.data.length & 0xff;
        out.set(o.data, w + 4);
        w += 4 + o.data.length;
      }
    }
    ar++;
  }
  if (w > limit) return undefined;
  out[6] = an >> 8;
  out[7] = an & 0xff;
  out[8] = ns >> 8;
  out[9] = ns & 0xff;
  out[10] = ar >> 8;
  out[11] = ar & 0xff;
  return w === out.length ? out : out.subarray(0, w);
}
