/** RDATA codecs for TLSA/SMIMEA, SSHFP, SRV, CAA, and the small older types HINFO, RP, AFSDB, KX, NAPTR. */
import { RRType } from './constants.js';
import { WireError } from './errors.js';
import { Name } from './name.js';
import { charStringFromText, charStringToText } from './rdata-basic.js';
import {
  fromHex, hex, quotedText, rdataError, registerRData, textBytes, textUint, writeRDataName, writeU8Prefixed, type RDataCodec,
} from './rdata.js';
import type { WireReader } from './reader.js';

export interface TLSAData {
  readonly usage: number;
  readonly selector: number;
  readonly matchingType: number;
  readonly data: Uint8Array;
}

export interface SSHFPData {
  readonly algorithm: number;
  readonly fpType: number;
  readonly fingerprint: Uint8Array;
}

export interface SRVData {
  readonly priority: number;
  readonly weight: number;
  readonly port: number;
  readonly target: Name;
}

export interface CAAData {
  /** Bit 0x80 is Issuer Critical. */
  readonly flags: number;
  /** 1..255 ASCII letters and digits (RFC 8659 §4.1). */
  readonly tag: string;
  readonly value: Uint8Array;
}

export interface HINFOData { readonly cpu: Uint8Array; readonly os: Uint8Array }
export interface RPData { readonly mbox: Name; readonly txt: Name }
/** AFSDB (subtype + hostname) and KX (preference + exchanger) share this shape. */
export interface PrefNameData { readonly preference: number; readonly target: Name }
export interface NAPTRData {
  readonly order: number;
  readonly preference: number;
  readonly flags: Uint8Array;
  readonly services: Uint8Array;
  readonly regexp: Uint8Array;
  readonly replacement: Name;
}

const hexText = (b: Uint8Array): string => (b.length === 0 ? '' : ' ' + hex(b));

function tlsaCodec(mnemonic: string): RDataCodec<TLSAData> {
  return {
    mnemonic, hasNames: false, compressible: false, canonicalLowercase: false,
    decode(r, end) {
      if (end - r.off < 3) throw rdataError(mnemonic, `length ${end - r.off}, expected at least 3`, r.off);
      return { usage: r.u8(), selector: r.u8(), matchingType: r.u8(), data: r.bytes(end - r.off) };
    },
    encode(w, d) { w.u8(d.usage); w.u8(d.selector); w.u8(d.matchingType); w.bytes(d.data); },
    toText: (d) => `${d.usage} ${d.selector} ${d.matchingType}${hexText(d.data)}`,
    fromText(t) {
      if (t.length < 3) throw new WireError('bad-text', `${mnemonic}: expected usage, selector, matching type and data`);
      return {
        usage: textUint(t[0], 255, `${mnemonic} usage`), selector: textUint(t[1], 255, `${mnemonic} selector`),
        matchingType: textUint(t[2], 255, `${mnemonic} matching type`), data: fromHex(t.slice(3).join(''), `${mnemonic} data`),
      };
    },
  };
}

const sshfpCodec: RDataCodec<SSHFPData> = {
  mnemonic: 'SSHFP', hasNames: false, compressible: false, canonicalLowercase: false,
  decode(r, end) {
    if (end - r.off < 2) throw rdataError('SSHFP', `length ${end - r.off}, expected at least 2`, r.off);
    return { algorithm: r.u8(), fpType: r.u8(), fingerprint: r.bytes(end - r.off) };
  },
  encode(w, d) { w.u8(d.algorithm); w.u8(d.fpType); w.bytes(d.fingerprint); },
  toText: (d) => `${d.algorithm} ${d.fpType}${hexText(d.fingerprint)}`,
  fromText(t) {
    if (t.length < 2) throw new WireError('bad-text', 'SSHFP: expected algorithm, type and fingerprint');
    return {
      algorithm: textUint(t[0], 255, 'SSHFP algorithm'), fpType: textUint(t[1], 255, 'SSHFP type'),
      fingerprint: fromHex(t.slice(2).join(''), 'SSHFP fingerprint'),
    };
  },
};

const srvCodec: RDataCodec<SRVData> = {
  mnemonic: 'SRV', hasNames: true, compressible: false, canonicalLowercase: true,
  decode(r, end) {
    if (end - r.off < 7) throw rdataError('SRV', `length ${end - r.off}, expected at least 7`, r.off);
    return { priority: r.u16(), weight: r.u16(), port: r.u16(), target: Name.read(r) };
  },
  encode(w, d, o) { w.u16(d.priority); w.u16(d.weight); w.u16(d.port); writeRDataName(w, d.target, o, false, true); },
  toText: (d) => `${d.priority} ${d.weight} ${d.port} ${d.target.toText()}`,
  fromText(t, origin) {
    if (t.length !== 4) throw new WireError('bad-text', 'SRV: expected priority, weight, port and target');
    return {
      priority: textUint(t[0], 65535, 'SRV priority'), weight: textUint(t[1], 65535, 'SRV weight'),
      port: textUint(t[2], 65535, 'SRV port'), target: Name.fromText(t[3]!, origin),
    };
  },
};

const CAA_TAG = /^[A-Za-z0-9]+$/;

const caaCodec: RDataCodec<CAAData> = {
  mnemonic: 'CAA', hasNames: false, compressible: false, canonicalLowercase: false,
  decode(r, end) {
    if (end - r.off < 2) throw rdataError('CAA', `length ${end - r.off}, expected at least 2`, r.off);
    const flags = r.u8();
    const len = r.u8();
    if (len === 0 || r.off + len > end) throw rdataError('CAA', `bad tag length ${len}`, r.off - 1);
    const tag = Buffer.from(r.bytes(len)).toString('latin1');
    if (!CAA_TAG.test(tag)) throw rdataError('CAA', 'tag is not letters and digits', r.off - len);
    return { flags, tag, value: r.bytes(end - r.off) };
  },
  encode(w, d) {
    w.u8(d.flags);
    writeU8Prefixed(w, Buffer.from(d.tag, 'latin1'), 'CAA tag');
    w.bytes(d.value);
  },
  toText: (d) => `${d.flags} ${d.tag} ${quotedText(d.value)}`,
  fromText(t) {
    if (t.length !== 3) throw new WireError('bad-text', 'CAA: expected flags, tag and one value');
    const tag = t[1]!;
    if (!CAA_TAG.test(tag) || tag.length > 255) throw new WireError('bad-text', `CAA: bad tag "${tag}"`);
    return { flags: textUint(t[0], 255, 'CAA flags'), tag, value: textBytes(t[2]!, 'CAA value') };
  },
};

function readCharString(r: WireReader, end: number, what: string): Uint8Array {
  const len = r.u8(`${what} length`);
  if (r.off + len > end) throw rdataError(what, 'character-string overruns RDATA', r.off);
  return r.bytes(len);
}

const hinfoCodec: RDataCodec<HINFOData> = {
  mnemonic: 'HINFO', hasNames: false, compressible: false, canonicalLowercase: false,
  decode: (r, end) => ({ cpu: readCharString(r, end, 'HINFO'), os: readCharString(r, end, 'HINFO') }),
  encode(w, d) { writeU8Prefixed(w, d.cpu, 'HINFO CPU'); writeU8Prefixed(w, d.os, 'HINFO OS'); },
  toText: (d) => `${charStringToText(d.cpu)} ${charStringToText(d.os)}`,
  fromText(t) {
    if (t.length !== 2) throw new WireError('bad-text', 'HINFO: expected CPU and OS');
    return { cpu: charStringFromText(t[0]!), os: charStringFromText(t[1]!) };
  },
};

const rpCodec: RDataCodec<RPData> = {
  mnemonic: 'RP', hasNames: true, compressible: false, canonicalLowercase: true,
  decode: (r) => ({ mbox: Name.read(r), txt: Name.read(r) }),
  encode(w, d, o) { writeRDataName(w, d.mbox, o, false, true); writeRDataName(w, d.txt, o, false, true); },
  toText: (d) => `${d.mbox.toText()} ${d.txt.toText()}`,
  fromText(t, origin) {
    if (t.length !== 2) throw new WireError('bad-text', 'RP: expected mailbox and TXT names');
    return { mbox: Name.fromText(t[0]!, origin), txt: Name.fromText(t[1]!, origin) };
  },
};

function prefName(mnemonic: string): RDataCodec<PrefNameData> {
  return {
    mnemonic, hasNames: true, compressible: false, canonicalLowercase: true,
    decode: (r) => ({ preference: r.u16(), target: Name.read(r) }),
    encode(w, d, o) { w.u16(d.preference); writeRDataName(w, d.target, o, false, true); },
    toText: (d) => `${d.preference} ${d.target.toText()}`,
    fromText(t, origin) {
      if (t.length !== 2) throw new WireError('bad-text', `${mnemonic}: expected a number and a name`);
      return { preference: textUint(t[0], 65535, mnemonic), target: Name.fromText(t[1]!, origin) };
    },
  };
}

const naptrCodec: RDataCodec<NAPTRData> = {
  mnemonic: 'NAPTR', hasNames: true, compressible: false, canonicalLowercase: true,
  decode(r, end) {
    const order = r.u16();
    const preference = r.u16();
    const flags = readCharString(r, end, 'NAPTR');
    const services = readCharString(r, end, 'NAPTR');
    const regexp = readCharString(r, end, 'NAPTR');
    return { order, preference, flags, services, regexp, replacement: Name.read(r) };
  },
  encode(w, d, o) {
    w.u16(d.order); w.u16(d.preference);
    for (const s of [d.flags, d.services, d.regexp]) writeU8Prefixed(w, s, 'NAPTR string');
    writeRDataName(w, d.replacement, o, false, true);
  },
  toText: (d) => `${d.order} ${d.preference} ${charStringToText(d.flags)} ${charStringToText(d.services)} ${charStringToText(d.regexp)} ${d.replacement.toText()}`,
  fromText(t, origin) {
    if (t.length !== 6) throw new WireError('bad-text', 'NAPTR: expected 6 fields');
    return {
      order: textUint(t[0], 65535, 'NAPTR order'), preference: textUint(t[1], 65535, 'NAPTR preference'),
      flags: charStringFromText(t[2]!), services: charStringFromText(t[3]!), regexp: charStringFromText(t[4]!),
      replacement: Name.fromText(t[5]!, origin),
    };
  },
};

registerRData(RRType.TLSA, tlsaCodec('TLSA'));
registerRData(RRType.SMIMEA, tlsaCodec('SMIMEA'));
registerRData(RRType.SSHFP, sshfpCodec);
registerRData(RRType.SRV, srvCodec);
registerRData(RRType.CAA, caaCodec);
registerRData(RRType.HINFO, hinfoCodec);
registerRData(RRType.RP, rpCodec);
registerRData(RRType.AFSDB, prefName('AFSDB'));
registerRData(RRType.KX, prefName('KX'));
registerRData(RRType.NAPTR, naptrCodec);
