/** RDATA codecs for the RFC 1035/3596 types: A, AAAA, NS, CNAME, DNAME, PTR, SOA, MX, TXT. */
import { isIPv4, isIPv6 } from 'node:net';
import { RRType } from './constants.js';
import { WireError } from './errors.js';
import { Name } from './name.js';
import { quotedText, rdataError, registerRData, textBytes, textUint, writeRDataName, writeU8Prefixed, type RDataCodec } from './rdata.js';

export interface AData { readonly address: string }
export interface NameData { readonly target: Name }
export interface SOAData {
  readonly mname: Name; readonly rname: Name; readonly serial: number; readonly refresh: number;
  readonly retry: number; readonly expire: number; readonly minimum: number;
}
export interface MXData { readonly preference: number; readonly exchange: Name }
/** TXT keeps each character-string as bytes: nothing is lost, binary included. */
export interface TXTData { readonly strings: readonly Uint8Array[] }

const aCodec: RDataCodec<AData> = {
  mnemonic: 'A', hasNames: false, compressible: false, canonicalLowercase: false,
  decode(r, end) {
    if (end - r.off !== 4) throw rdataError('A', `length ${end - r.off}, expected 4`, r.off);
    return { address: Array.from(r.bytes(4)).join('.') };
  },
  encode(w, d) {
    for (const p of d.address.split('.')) w.u8(Number(p));
  },
  toText: (d) => d.address,
  fromText(t) {
    if (t.length !== 1 || !isIPv4(t[0]!)) throw new WireError('bad-text', `A: bad IPv4 address "${t.join(' ')}"`);
    return { address: t[0]! };
  },
};

export function ipv6ToText(b: Uint8Array): string {
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((b[i]! << 8) | b[i + 1]!);
  // RFC 5952 §5: IPv4-mapped addresses keep the dotted quad.
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) return `::ffff:${Array.from(b.subarray(12)).join('.')}`;
  // RFC 5952: compress the longest run (>= 2) of zero groups.
  let best = -1, bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) { best = i; bestLen = j - i; }
    i = j;
  }
  const hexs = groups.map((g) => g.toString(16));
  if (best < 0) return hexs.join(':');
  return hexs.slice(0, best).join(':') + '::' + hexs.slice(best + bestLen).join(':');
}

export function ipv6FromText(s: string): Uint8Array {
  if (!isIPv6(s) || s.includes('%')) throw new WireError('bad-text', `AAAA: bad IPv6 address "${s}"`);
  let text = s;
  const out = new Uint8Array(16);
  // Embedded IPv4 tail.
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  let tail: number[] = [];
  if (v4) {
    const p = v4[1]!.split('.').map(Number);
    tail = [(p[0]! << 8) | p[1]!, (p[2]! << 8) | p[3]!];
    text = text.slice(0, text.length - v4[1]!.length) + '0:0';
  }
  const [head, rest] = text.includes('::') ? text.split('::') as [string, string] : [text, undefined];
  const hs = head ? head.split(':') : [];
  const rs = rest === undefined ? [] : rest ? rest.split(':') : [];
  const groups = rest === undefined ? hs : [...hs, ...Array(8 - hs.length - rs.length).fill('0'), ...rs];
  const nums = groups.map((g) => parseInt(g, 16));
  if (tail.length) { nums[6] = tail[0]!; nums[7] = tail[1]!; }
  nums.forEach((g, i) => { out[i * 2] = g >> 8; out[i * 2 + 1] = g & 0xff; });
  return out;
}

const aaaaCodec: RDataCodec<AData> = {
  mnemonic: 'AAAA', hasNames: false, compressible: false, canonicalLowercase: false,
  decode(r, end) {
    if (end - r.off !== 16) throw rdataError('AAAA', `length ${end - r.off}, expected 16`, r.off);
    return { address: ipv6ToText(r.bytes(16)) };
  },
  encode(w, d) { w.bytes(ipv6FromText(d.address)); },
  toText: (d) => d.address,
  fromText(t) {
    if (t.length !== 1) throw new WireError('bad-text', 'AAAA: expected one address');
    return { address: ipv6ToText(ipv6FromText(t[0]!)) };
  },
};

function singleName(mnemonic: string, compressible: boolean): RDataCodec<NameData> {
  return {
    mnemonic, hasNames: true, compressible, canonicalLowercase: true,
    decode: (r) => ({ target: Name.read(r) }),
    encode(w, d, o) { writeRDataName(w, d.target, o, compressible, true); },
    toText: (d) => d.target.toText(),
    fromText(t, origin) {
      if (t.length !== 1) throw new WireError('bad-text', `${mnemonic}: expected one name`);
      return { target: Name.fromText(t[0]!, origin) };
    },
  };
}

const soaCodec: RDataCodec<SOAData> = {
  mnemonic: 'SOA', hasNames: true, compressible: true, canonicalLowercase: true,
  decode(r) {
    const mname = Name.read(r);
    const rname = Name.read(r);
    return { mname, rname, serial: r.u32(), refresh: r.u32(), retry: r.u32(), expire: r.u32(), minimum: r.u32() };
  },
  encode(w, d, o) {
    writeRDataName(w, d.mname, o, true, true);
    writeRDataName(w, d.rname, o, true, true);
    for (const v of [d.serial, d.refresh, d.retry, d.expire, d.minimum]) w.u32(v);
  },
  toText: (d) => `${d.mname.toText()} ${d.rname.toText()} ${d.serial} ${d.refresh} ${d.retry} ${d.expire} ${d.minimum}`,
  fromText(t, origin) {
    if (t.length !== 7) throw new WireError('bad-text', `SOA: expected 7 fields, got ${t.length}`);
    const n = (i: number, what: string) => textUint(t[i], 0xffffffff, `SOA ${what}`);
    return {
      mname: Name.fromText(t[0]!, origin), rname: Name.fromText(t[1]!, origin), serial: n(2, 'serial'),
      refresh: n(3, 'refresh'), retry: n(4, 'retry'), expire: n(5, 'expire'), minimum: n(6, 'minimum'),
    };
  },
};

const mxCodec: RDataCodec<MXData> = {
  mnemonic: 'MX', hasNames: true, compressible: true, canonicalLowercase: true,
  decode: (r) => ({ preference: r.u16(), exchange: Name.read(r) }),
  encode(w, d, o) { w.u16(d.preference); writeRDataName(w, d.exchange, o, true, true); },
  toText: (d) => `${d.preference} ${d.exchange.toText()}`,
  fromText(t, origin) {
    if (t.length !== 2) throw new WireError('bad-text', 'MX: expected preference and exchange');
    return { preference: textUint(t[0], 65535, 'MX preference'), exchange: Name.fromText(t[1]!, origin) };
  },
};

/** A character-string in presentation form: quoted, with \" \\ and \DDD escapes for the rest. */
export function charStringToText(s: Uint8Array): string {
  return quotedText(s);
}

/** Decode the escapes of one character-string token (quotes already removed by the tokenizer). */
export function charStringFromText(s: string): Uint8Array {
  const out = textBytes(s, 'character-string');
  if (out.length > 255) throw new WireError('bad-text', `character-string of ${out.length} octets (max 255)`);
  return out;
}

const txtCodec: RDataCodec<TXTData> = {
  mnemonic: 'TXT', hasNames: false, compressible: false, canonicalLowercase: false,
  decode(r, end) {
    const strings: Uint8Array[] = [];
    if (r.off === end) throw rdataError('TXT', 'empty RDATA', r.off);
    while (r.off < end) {
      const len = r.u8('TXT string length');
      if (r.off + len > end) throw rdataError('TXT', 'character-string overruns RDATA', r.off);
      strings.push(r.bytes(len));
    }
    return { strings };
  },
  encode(w, d) { for (const s of d.strings) writeU8Prefixed(w, s, 'TXT string'); },
  toText: (d) => d.strings.map(charStringToText).join(' '),
  fromText(t) {
    if (t.length === 0) throw new WireError('bad-text', 'TXT: no strings');
    return { strings: t.map(charStringFromText) };
  },
};

registerRData(RRType.A, aCodec);
registerRData(RRType.AAAA, aaaaCodec);
registerRData(RRType.NS, singleName('NS', true));
registerRData(RRType.CNAME, singleName('CNAME', true));
registerRData(RRType.PTR, singleName('PTR', true));
registerRData(RRType.DNAME, singleName('DNAME', false));
registerRData(RRType.SOA, soaCodec);
registerRData(RRType.MX, mxCodec);
registerRData(RRType.TXT, txtCodec);
