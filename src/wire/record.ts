import { RRClass, RRType, classToText, typeToText } from './constants.js';
import { WireError } from './errors.js';
import { Name } from './name.js';
import { rdataCodec, unknownToText, type EncodeOptions, type UnknownRData } from './rdata.js';
import { WireReader } from './reader.js';
import { WireWriter } from './writer.js';

/**
 * A resource record. `rdata` is always the exact, uncompressed RDATA octets (as signed);
 * `data` is the typed view of them (UnknownRData for types without a codec).
 */
export interface RR<D = unknown> {
  readonly name: Name;
  readonly type: number;
  readonly class: number;
  readonly ttl: number;
  readonly data: D;
  readonly rdata: Uint8Array;
}

export interface Question {
  readonly name: Name;
  readonly type: number;
  readonly class: number;
}

/** Narrow a record to the typed data of `type`. */
export function isType<D>(rr: RR, type: number): rr is RR<D> {
  return rr.type === type;
}

const NO_COMPRESS: EncodeOptions = { compress: false, lower: false };

/** Build a record from typed data (computes the exact RDATA bytes). */
export function makeRR<D>(name: Name, type: number, ttl: number, data: D, klass: number = RRClass.IN): RR<D> {
  return { name, type, class: klass, ttl, data, rdata: encodeRData(type, data, NO_COMPRESS) };
}

/**
 * Build a record from raw RDATA bytes (decodes the typed view; throws WireError when they are malformed).
 * Standalone RDATA has no message to point into, so compression pointers in it are refused.
 */
export function rrFromRData(name: Name, type: number, klass: number, ttl: number, rdata: Uint8Array): RR {
  const r = new WireReader(rdata);
  const data = decodeRData(r, type, rdata.length);
  if (r.off !== rdata.length) throw new WireError('rdata-length', `${typeToText(type)} RDATA has ${rdata.length - r.off} trailing octets`);
  if (rdataCodec(type)?.hasNames) {
    const again = encodeRData(type, data, NO_COMPRESS);
    if (!bytesEqual(again, rdata)) throw new WireError('bad-rdata', `${typeToText(type)} RDATA holds a compressed name`);
  }
  return { name, type, class: klass, ttl, data, rdata };
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export function encodeRData(type: number, data: unknown, opts: EncodeOptions): Uint8Array {
  const codec = rdataCodec(type);
  if (!codec) return (data as UnknownRData).raw;
  const w = new WireWriter(64);
  codec.encode(w, data, opts);
  return w.finish();
}

function decodeRData(r: WireReader, type: number, end: number): unknown {
  const codec = rdataCodec(type);
  if (!codec) return { raw: r.bytes(end - r.off, 'RDATA') } satisfies UnknownRData;
  return codec.decode(r, end);
}

/** Read one record (after the question section). Names in RDATA are decompressed; `rdata` is uncompressed. */
export function readRR(r: WireReader): RR {
  const name = Name.read(r);
  const type = r.u16('type');
  const klass = r.u16('class');
  const ttl = r.u32('TTL');
  const rdlen = r.u16('RDLENGTH');
  r.need(rdlen, 'RDATA');
  const start = r.off;
  const end = start + rdlen;
  const codec = rdataCodec(type);
  if (!codec || !codec.hasNames) {
    // No names inside: the bytes as read are the RDATA.
    const rdata = r.buf.slice(start, end);
    const sub = new WireReader(rdata);
    const data = decodeRData(sub, type, rdlen);
    if (sub.off !== rdlen) throw new WireError('rdata-length', `${typeToText(type)} RDATA has ${rdlen - sub.off} trailing octets`, start);
    r.off = end;
    return { name, type, class: klass, ttl, data, rdata };
  }
  // Names may be compressed against the whole message: decode in place, then re-encode uncompressed.
  const bounded = new WireReader(r.buf.subarray(0, end), start);
  const data = codec.decode(bounded, end);
  if (bounded.off !== end) throw new WireError('rdata-length', `${typeToText(type)} RDATA length mismatch`, start);
  r.off = end;
  return { name, type, class: klass, ttl, data, rdata: encodeRData(type, data, NO_COMPRESS) };
}

/** Write one record; names in RDATA are compressed only for the RFC 1035 types. */
export function writeRR(w: WireWriter, rr: RR, compress: boolean): void {
  rr.name.write(w, compress);
  w.u16(rr.type);
  w.u16(rr.class);
  w.u32(rr.ttl);
  const codec = rdataCodec(rr.type);
  if (compress && codec?.compressible) {
    const lenAt = w.off;
    w.u16(0);
    codec.encode(w, rr.data, { compress: true, lower: false });
    w.patchU16(lenAt, w.off - lenAt - 2);
  } else {
    w.u16(rr.rdata.length);
    w.bytes(rr.rdata);
  }
}

export function rdataToText(rr: RR): string {
  const codec = rdataCodec(rr.type);
  if (!codec || (codec.textExact && !codec.textExact(rr.data))) return unknownToText(rr.rdata);
  return codec.toText(rr.data);
}

/** One line of zone-file text: owner TTL class type rdata. */
export function rrToText(rr: RR): string {
  return `${rr.name.toText()}\t${rr.ttl}\t${classToText(rr.class)}\t${typeToText(rr.type)}\t${rdataToText(rr)}`;
}

export function questionToText(q: Question): string {
  return `${q.name.toText()} ${classToText(q.class)} ${typeToText(q.type)}`;
}

/** Records of one RRset compare equal when owner (case-insensitively), type, class and RDATA match. */
export function sameRRset(a: RR, b: RR): boolean {
  return a.type === b.type && a.class === b.class && a.name.equals(b.name);
}

export { RRType };
