import { WireError } from './errors.js';
import { Name } from './name.js';
import type { WireReader } from './reader.js';
import type { WireWriter } from './writer.js';

/** How a codec writes: compression only in messages, lowercasing only for canonical form. */
export interface EncodeOptions {
  compress: boolean;
  /** Lowercase embedded names (RFC 4034 §6.2 item 3); codecs ignore it unless `canonicalLowercase`. */
  lower: boolean;
}

/** One RDATA layout. New types register a codec with `registerRData`. */
export interface RDataCodec<T> {
  readonly mnemonic: string;
  /** Decode RDATA that ends at `end`; the reader may follow compression pointers for names. */
  decode(r: WireReader, end: number): T;
  encode(w: WireWriter, d: T, opts: EncodeOptions): void;
  /** RDATA in presentation format (without owner, TTL, class, type). */
  toText(d: T): string;
  /** Parse presentation-format RDATA tokens (already split, quotes and parentheses removed). */
  fromText(tokens: string[], origin: Name): T;
  /** Whether the RDATA holds domain names at all (if not, its bytes are kept as read). */
  readonly hasNames: boolean;
  /** Names that senders may compress (RFC 3597 §4: the RFC 1035 types). */
  readonly compressible: boolean;
  /** Names lowercased in canonical form: RFC 4034 §6.2 as amended by RFC 6840 §5.1. */
  readonly canonicalLowercase: boolean;
}

const codecs = new Map<number, RDataCodec<unknown>>();

export function registerRData<T>(type: number, codec: RDataCodec<T>): void {
  codecs.set(type, codec as RDataCodec<unknown>);
}

export function rdataCodec(type: number): RDataCodec<unknown> | undefined {
  return codecs.get(type);
}

/** RDATA of a type we have no codec for (RFC 3597): kept as bytes. */
export interface UnknownRData {
  readonly raw: Uint8Array;
}

export function rdataError(type: string, why: string, at?: number): WireError {
  return new WireError('bad-rdata', `${type} RDATA: ${why}`, at);
}

/** Write a name inside RDATA honouring the codec's compression and lowercasing rules. */
export function writeRDataName(w: WireWriter, n: Name, opts: EncodeOptions, compressible: boolean, lowerable: boolean): void {
  const name = opts.lower && lowerable ? n.lower() : n;
  name.write(w, opts.compress && compressible);
}

export function hex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex').toUpperCase();
}

export function fromHex(s: string, what: string): Uint8Array {
  if (!/^([0-9a-fA-F]{2})*$/.test(s)) throw new WireError('bad-text', `${what}: bad hex "${s}"`);
  return new Uint8Array(Buffer.from(s, 'hex'));
}

export function base64(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64');
}

export function fromBase64(s: string, what: string): Uint8Array {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(s) || s.length % 4 === 1) throw new WireError('bad-text', `${what}: bad base64`);
  return new Uint8Array(Buffer.from(s, 'base64'));
}

/** Parse an unsigned decimal field in presentation format. */
export function textUint(s: string | undefined, max: number, what: string): number {
  if (s === undefined || !/^[0-9]+$/.test(s) || Number(s) > max) {
    throw new WireError('bad-text', `${what}: expected an integer 0..${max}, got "${s ?? ''}"`);
  }
  return Number(s);
}

/** RFC 3597 generic RDATA text: \# <len> <hex...>. */
export function unknownToText(raw: Uint8Array): string {
  return raw.length === 0 ? '\\# 0' : `\\# ${raw.length} ${hex(raw)}`;
}

export function unknownFromText(tokens: string[]): Uint8Array {
  if (tokens[0] !== '\\#') throw new WireError('bad-text', 'generic RDATA must start with \\#');
  const len = textUint(tokens[1], 65535, 'generic RDATA length');
  const data = fromHex(tokens.slice(2).join(''), 'generic RDATA');
  if (data.length !== len) throw new WireError('bad-text', `generic RDATA length ${len} but ${data.length} octets given`);
  return data;
}
