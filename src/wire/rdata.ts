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
  /** False when toText cannot express these exact octets; the generic \# form is printed instead. */
  textExact?(d: T): boolean;
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

const B32HEX = '0123456789abcdefghijklmnopqrstuv';

/** base32hex (RFC 4648 §7), lowercase, without padding, as NSEC3 presentation format uses it. */
export function base32hex(b: Uint8Array): string {
  let out = '';
  let acc = 0;
  let bits = 0;
  for (const x of b) {
    acc = (acc << 8) | x;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out += B32HEX[(acc >>> bits) & 31];
    }
    acc &= (1 << bits) - 1;
  }
  if (bits > 0) out += B32HEX[(acc << (5 - bits)) & 31];
  return out;
}

/** Parse unpadded base32hex (either case). Rejects lengths and trailing bits no encoder produces. */
export function fromBase32hex(s: string, what: string): Uint8Array {
  const t = s.toLowerCase().replace(/=+$/, '');
  if (!/^[0-9a-v]*$/.test(t) || [1, 3, 6].includes(t.length % 8)) {
    throw new WireError('bad-text', `${what}: bad base32hex "${s}"`);
  }
  const out = new Uint8Array(Math.floor((t.length * 5) / 8));
  let acc = 0;
  let bits = 0;
  let o = 0;
  for (let i = 0; i < t.length; i++) {
    acc = (acc << 5) | B32HEX.indexOf(t[i]!);
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (acc >>> bits) & 0xff;
    }
    acc &= (1 << bits) - 1;
  }
  if (acc !== 0) throw new WireError('bad-text', `${what}: base32hex "${s}" has non-zero padding bits`);
  return out;
}

/** Decode the presentation escapes of one token (\X and \DDD) into octets; no length limit. */
export function textBytes(s: string, what = 'text'): Uint8Array {
  const out: number[] = [];
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x5c) {
      const d = s.slice(i + 1, i + 4);
      if (/^[0-9]{3}$/.test(d)) {
        if (Number(d) > 255) throw new WireError('bad-text', `${what}: escape \\${d} is over 255`);
        out.push(Number(d));
        i += 3;
      } else if (i + 1 < s.length && !/[0-9]/.test(s[i + 1]!)) {
        const n = s.charCodeAt(i + 1);
        if (n > 0xff) throw new WireError('bad-text', `${what}: non-ASCII character`);
        out.push(n);
        i += 1;
      } else throw new WireError('bad-text', `${what}: bad escape in "${s}"`);
    } else {
      if (c > 0xff) throw new WireError('bad-text', `${what}: non-ASCII character`);
      out.push(c);
    }
  }
  return Uint8Array.from(out);
}

/** Octets as a quoted presentation string: \" and \\ escaped, other non-printables as \DDD. */
export function quotedText(s: Uint8Array): string {
  let out = '"';
  for (const b of s) {
    if (b === 0x22 || b === 0x5c) out += '\\' + String.fromCharCode(b);
    else if (b >= 0x20 && b < 0x7f) out += String.fromCharCode(b);
    else out += '\\' + b.toString().padStart(3, '0');
  }
  return out + '"';
}

/** Write a length-prefixed string (character-string, salt, hash); refuses over 255 octets instead of wrapping. */
export function writeU8Prefixed(w: WireWriter, s: Uint8Array, what: string): void {
  if (s.length > 255) throw new WireError('bad-rdata', `${what}: ${s.length} octets (max 255)`);
  w.u8(s.length);
  w.bytes(s);
}
