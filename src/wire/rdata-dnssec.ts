/** RDATA codecs for DNSSEC: DS/CDS, DNSKEY/CDNSKEY, RRSIG, NSEC, NSEC3, NSEC3PARAM (RFC 4034, 5155, 7344). */
import { RRType, typeFromText, typeToText } from './constants.js';
import { algorithmFromText, sigTimeFromText, sigTimeToText } from './dnssec-text.js';
import { WireError } from './errors.js';
import { Name } from './name.js';
import type { WireReader } from './reader.js';
import {
  base32hex, base64, fromBase32hex, fromBase64, fromHex, hex, rdataError, registerRData, textUint, writeRDataName,
  writeU8Prefixed, type RDataCodec,
} from './rdata.js';
import {
  readTypeBitmap, typeBitmapFromText, typeBitmapToText, writeTypeBitmap, type TypeBitmap,
} from './typebitmap.js';

export interface DSData {
  readonly keyTag: number;
  readonly algorithm: number;
  readonly digestType: number;
  readonly digest: Uint8Array;
}

export interface DNSKEYData {
  readonly flags: number;
  readonly protocol: number;
  readonly algorithm: number;
  readonly publicKey: Uint8Array;
}

/** DNSKEY flag bits (RFC 4034 §2.1.1, RFC 5011 §7). */
export const DnskeyFlag = { ZONE: 0x0100, REVOKE: 0x0080, SEP: 0x0001 } as const;

export interface RRSIGData {
  readonly typeCovered: number;
  readonly algorithm: number;
  readonly labels: number;
  readonly originalTtl: number;
  /** Seconds since the epoch, modulo 2^32 (compare with serial arithmetic, RFC 4034 §3.1.5). */
  readonly expiration: number;
  readonly inception: number;
  readonly keyTag: number;
  readonly signer: Name;
  readonly signature: Uint8Array;
}

export interface NSECData extends TypeBitmap {
  /** Next owner name, case kept (not lowercased in canonical form, RFC 6840 §5.1). */
  readonly next: Name;
}

export interface NSEC3Data extends TypeBitmap {
  readonly hashAlgorithm: number;
  /** Bit 0x01 is Opt-Out. */
  readonly flags: number;
  readonly iterations: number;
  readonly salt: Uint8Array;
  /** Next hashed owner name, binary (base32hex in text). */
  readonly nextHashed: Uint8Array;
}

export interface NSEC3PARAMData {
  readonly hashAlgorithm: number;
  readonly flags: number;
  readonly iterations: number;
  readonly salt: Uint8Array;
}

/**
 * The key tag of a DNSKEY RDATA (RFC 4034 Appendix B). For algorithm 1 (RSA/MD5) it is the
 * 3rd- and 2nd-to-last octets of the modulus, i.e. of the RDATA (Appendix B.1).
 */
export function keyTag(rdata: Uint8Array): number {
  if (rdata.length >= 4 && rdata[3] === 1) {
    return rdata.length >= 7 ? (rdata[rdata.length - 3]! << 8) | rdata[rdata.length - 2]! : 0;
  }
  let ac = 0;
  for (let i = 0; i < rdata.length; i++) ac += i & 1 ? rdata[i]! : rdata[i]! << 8;
  ac += (ac >>> 16) & 0xffff;
  return ac & 0xffff;
}

/** Join hex tokens (whitespace is allowed inside, RFC 4034 §5.3); "-" alone means empty. */
function hexField(tokens: string[], what: string): Uint8Array {
  const s = tokens.join('');
  return s === '-' ? new Uint8Array(0) : fromHex(s, what);
}

function saltFromText(s: string | undefined, what: string): Uint8Array {
  if (s === undefined) throw new WireError('bad-text', `${what}: missing salt`);
  if (s === '-') return new Uint8Array(0);
  const salt = fromHex(s, what);
  if (salt.length === 0 || salt.length > 255) throw new WireError('bad-text', `${what}: salt of ${salt.length} octets`);
  return salt;
}

const saltToText = (s: Uint8Array): string => (s.length === 0 ? '-' : hex(s));

const fields = (parts: (string | number)[]): string => parts.filter((p) => p !== '').join(' ');

function dsCodec(mnemonic: string): RDataCodec<DSData> {
  return {
    mnemonic, hasNames: false, compressible: false, canonicalLowercase: false,
    decode(r, end) {
      if (end - r.off < 4) throw rdataError(mnemonic, `length ${end - r.off}, expected at least 4`, r.off);
      return { keyTag: r.u16(), algorithm: r.u8(), digestType: r.u8(), digest: r.bytes(end - r.off) };
    },
    encode(w, d) { w.u16(d.keyTag); w.u8(d.algorithm); w.u8(d.digestType); w.bytes(d.digest); },
    toText: (d) => fields([d.keyTag, d.algorithm, d.digestType, hex(d.digest)]),
    fromText(t) {
      if (t.length < 3) throw new WireError('bad-text', `${mnemonic}: expected key tag, algorithm, digest type and digest`);
      return {
        keyTag: textUint(t[0], 65535, `${mnemonic} key tag`), algorithm: algorithmFromText(t[1], `${mnemonic} algorithm`),
        digestType: textUint(t[2], 255, `${mnemonic} digest type`), digest: hexField(t.slice(3), `${mnemonic} digest`),
      };
    },
  };
}

function dnskeyCodec(mnemonic: string): RDataCodec<DNSKEYData> {
  return {
    mnemonic, hasNames: false, compressible: false, canonicalLowercase: false,
    decode(r, end) {
      if (end - r.off < 4) throw rdataError(mnemonic, `length ${end - r.off}, expected at least 4`, r.off);
      return { flags: r.u16(), protocol: r.u8(), algorithm: r.u8(), publicKey: r.bytes(end - r.off) };
    },
    encode(w, d) { w.u16(d.flags); w.u8(d.protocol); w.u8(d.algorithm); w.bytes(d.publicKey); },
    toText: (d) => fields([d.flags, d.protocol, d.algorithm, base64(d.publicKey)]),
    fromText(t) {
      if (t.length < 3) throw new WireError('bad-text', `${mnemonic}: expected flags, protocol, algorithm and key`);
      return {
        flags: textUint(t[0], 65535, `${mnemonic} flags`), protocol: textUint(t[1], 255, `${mnemonic} protocol`),
        algorithm: algorithmFromText(t[2], `${mnemonic} algorithm`), publicKey: fromBase64(t.slice(3).join(''), `${mnemonic} key`),
      };
    },
  };
}

const rrsigCodec: RDataCodec<RRSIGData> = {
  mnemonic: 'RRSIG', hasNames: true, compressible: false, canonicalLowercase: true,
  decode(r, end) {
    if (end - r.off < 19) throw rdataError('RRSIG', `length ${end - r.off}, expected at least 19`, r.off);
    const typeCovered = r.u16();
    const algorithm = r.u8();
    const labels = r.u8();
    const originalTtl = r.u32();
    const expiration = r.u32();
    const inception = r.u32();
    const keyTag = r.u16();
    const signer = Name.read(r);
    if (r.off > end) throw rdataError('RRSIG', 'signer name overruns RDATA', r.off);
    return { typeCovered, algorithm, labels, originalTtl, expiration, inception, keyTag, signer, signature: r.bytes(end - r.off) };
  },
  encode(w, d, o) {
    w.u16(d.typeCovered); w.u8(d.algorithm); w.u8(d.labels); w.u32(d.originalTtl);
    w.u32(d.expiration); w.u32(d.inception); w.u16(d.keyTag);
    writeRDataName(w, d.signer, o, false, true);
    w.bytes(d.signature);
  },
  toText: (d) => fields([
    typeToText(d.typeCovered), d.algorithm, d.labels, d.originalTtl, sigTimeToText(d.expiration),
    sigTimeToText(d.inception), d.keyTag, d.signer.toText(), base64(d.signature),
  ]),
  fromText(t, origin) {
    if (t.length < 8) throw new WireError('bad-text', `RRSIG: expected at least 8 fields, got ${t.length}`);
    const typeCovered = typeFromText(t[0]!);
    if (typeCovered === undefined) throw new WireError('bad-text', `RRSIG: unknown type covered "${t[0]}"`);
    return {
      typeCovered, algorithm: algorithmFromText(t[1], 'RRSIG algorithm'), labels: textUint(t[2], 255, 'RRSIG labels'),
      originalTtl: textUint(t[3], 0xffffffff, 'RRSIG original TTL'), expiration: sigTimeFromText(t[4], 'RRSIG expiration'),
      inception: sigTimeFromText(t[5], 'RRSIG inception'), keyTag: textUint(t[6], 65535, 'RRSIG key tag'),
      signer: Name.fromText(t[7]!, origin), signature: fromBase64(t.slice(8).join(''), 'RRSIG signature'),
    };
  },
};

const nsecCodec: RDataCodec<NSECData> = {
  mnemonic: 'NSEC', hasNames: true, compressible: false, canonicalLowercase: false,
  decode(r, end) {
    const next = Name.read(r);
    if (r.off > end) throw rdataError('NSEC', 'next name overruns RDATA', r.off);
    return { next, ...readTypeBitmap(r, end, 'NSEC') };
  },
  encode(w, d, o) {
    writeRDataName(w, d.next, o, false, false);
    writeTypeBitmap(w, d);
  },
  toText: (d) => fields([d.next.toText(), typeBitmapToText(d.types)]),
  textExact: (d) => d.rawBitmap === undefined,
  fromText(t, origin) {
    if (t.length < 1) throw new WireError('bad-text', 'NSEC: missing next name');
    return { next: Name.fromText(t[0]!, origin), types: typeBitmapFromText(t.slice(1), 'NSEC') };
  },
};

function readNsec3Head(r: WireReader, end: number, mnemonic: string): NSEC3PARAMData {
  if (end - r.off < 5) throw rdataError(mnemonic, `length ${end - r.off}, expected at least 5`, r.off);
  const hashAlgorithm = r.u8();
  const flags = r.u8();
  const iterations = r.u16();
  const saltLen = r.u8();
  if (r.off + saltLen > end) throw rdataError(mnemonic, 'salt overruns RDATA', r.off);
  return { hashAlgorithm, flags, iterations, salt: r.bytes(saltLen) };
}

function nsec3HeadFromText(t: string[], mnemonic: string): NSEC3PARAMData {
  return {
    hashAlgorithm: textUint(t[0], 255, `${mnemonic} hash algorithm`), flags: textUint(t[1], 255, `${mnemonic} flags`),
    iterations: textUint(t[2], 65535, `${mnemonic} iterations`), salt: saltFromText(t[3], `${mnemonic} salt`),
  };
}

const nsec3Codec: RDataCodec<NSEC3Data> = {
  mnemonic: 'NSEC3', hasNames: false, compressible: false, canonicalLowercase: false,
  decode(r, end) {
    const head = readNsec3Head(r, end, 'NSEC3');
    if (r.off >= end) throw rdataError('NSEC3', 'hash length missing', r.off);
    const hashLen = r.u8();
    if (hashLen === 0) throw rdataError('NSEC3', 'empty next hashed owner name', r.off - 1);
    if (r.off + hashLen > end) throw rdataError('NSEC3', 'next hashed owner name overruns RDATA', r.off);
    const nextHashed = r.bytes(hashLen);
    return { ...head, nextHashed, ...readTypeBitmap(r, end, 'NSEC3') };
  },
  encode(w, d) {
    w.u8(d.hashAlgorithm); w.u8(d.flags); w.u16(d.iterations);
    writeU8Prefixed(w, d.salt, 'NSEC3 salt');
    writeU8Prefixed(w, d.nextHashed, 'NSEC3 next hashed owner');
    writeTypeBitmap(w, d);
  },
  toText: (d) => fields([
    d.hashAlgorithm, d.flags, d.iterations, saltToText(d.salt), base32hex(d.nextHashed), typeBitmapToText(d.types),
  ]),
  textExact: (d) => d.rawBitmap === undefined,
  fromText(t) {
    if (t.length < 5) throw new WireError('bad-text', 'NSEC3: expected algorithm, flags, iterations, salt and next hash');
    const nextHashed = fromBase32hex(t[4]!, 'NSEC3 next hashed owner');
    if (nextHashed.length === 0 || nextHashed.length > 255) throw new WireError('bad-text', 'NSEC3: bad next hashed owner length');
    return { ...nsec3HeadFromText(t, 'NSEC3'), nextHashed, types: typeBitmapFromText(t.slice(5), 'NSEC3') };
  },
};

const nsec3paramCodec: RDataCodec<NSEC3PARAMData> = {
  mnemonic: 'NSEC3PARAM', hasNames: false, compressible: false, canonicalLowercase: false,
  decode: (r, end) => readNsec3Head(r, end, 'NSEC3PARAM'),
  encode(w, d) { w.u8(d.hashAlgorithm); w.u8(d.flags); w.u16(d.iterations); writeU8Prefixed(w, d.salt, 'NSEC3PARAM salt'); },
  toText: (d) => fields([d.hashAlgorithm, d.flags, d.iterations, saltToText(d.salt)]),
  fromText(t) {
    if (t.length !== 4) throw new WireError('bad-text', 'NSEC3PARAM: expected algorithm, flags, iterations and salt');
    return nsec3HeadFromText(t, 'NSEC3PARAM');
  },
};

registerRData(RRType.DS, dsCodec('DS'));
registerRData(RRType.CDS, dsCodec('CDS'));
registerRData(RRType.DNSKEY, dnskeyCodec('DNSKEY'));
registerRData(RRType.CDNSKEY, dnskeyCodec('CDNSKEY'));
registerRData(RRType.RRSIG, rrsigCodec);
registerRData(RRType.NSEC, nsecCodec);
registerRData(RRType.NSEC3, nsec3Codec);
registerRData(RRType.NSEC3PARAM, nsec3paramCodec);
