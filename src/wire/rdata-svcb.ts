/**
 * SVCB and HTTPS (RFC 9460). SvcParams are kept as key + raw value octets, so any RDATA whose
 * structure is valid round-trips; the common keys get their typed presentation form when their value
 * is well-formed, otherwise the generic keyNNNNN="..." form is printed.
 */
import { isIPv4 } from 'node:net';
import { RRType } from './constants.js';
import { WireError } from './errors.js';
import { Name } from './name.js';
import { ipv6FromText, ipv6ToText } from './rdata-basic.js';
import { base64, fromBase64, quotedText, rdataError, registerRData, textBytes, textUint, writeRDataName, type RDataCodec } from './rdata.js';

export interface SvcParam {
  readonly key: number;
  readonly value: Uint8Array;
}

export interface SVCBData {
  /** 0 is AliasMode. */
  readonly priority: number;
  readonly target: Name;
  /** In strictly increasing key order. */
  readonly params: readonly SvcParam[];
}

export const SvcParamKey = {
  mandatory: 0, alpn: 1, 'no-default-alpn': 2, port: 3, ipv4hint: 4, ech: 5, ipv6hint: 6, dohpath: 7, ohttp: 8,
} as const;

const keyNames = new Map<number, string>(Object.entries(SvcParamKey).map(([k, v]) => [v, k]));

export function svcKeyToText(k: number): string {
  return keyNames.get(k) ?? `key${k}`;
}

export function svcKeyFromText(s: string): number {
  const known = (SvcParamKey as Record<string, number>)[s];
  if (known !== undefined) return known;
  const m = /^key([0-9]{1,5})$/.exec(s);
  if (!m || Number(m[1]) > 65535) throw new WireError('bad-text', `SVCB: unknown SvcParamKey "${s}"`);
  return Number(m[1]);
}

/** Characters printable in an unquoted, unescaped value-list item. */
const PLAIN_ITEM = /^[\x21\x23-\x27\x2a\x2b\x2d-\x3a\x3c-\x5b\x5d-\x7e]+$/;

/** The typed presentation of a value, or undefined when only the generic form is faithful. */
function typedValue(key: number, v: Uint8Array): string | undefined {
  switch (key) {
    case SvcParamKey.mandatory: {
      if (v.length === 0 || v.length % 2 !== 0) return undefined;
      const keys: number[] = [];
      for (let i = 0; i < v.length; i += 2) keys.push((v[i]! << 8) | v[i + 1]!);
      if (keys.some((k, i) => i > 0 && k <= keys[i - 1]!)) return undefined;
      return keys.map(svcKeyToText).join(',');
    }
    case SvcParamKey.alpn: {
      const ids: string[] = [];
      for (let i = 0; i < v.length; ) {
        const len = v[i]!;
        if (len === 0 || i + 1 + len > v.length) return undefined;
        const id = Buffer.from(v.subarray(i + 1, i + 1 + len)).toString('latin1');
        if (!PLAIN_ITEM.test(id) || id.includes(',')) return undefined;
        ids.push(id);
        i += 1 + len;
      }
      return ids.length ? ids.join(',') : undefined;
    }
    case SvcParamKey.port:
      return v.length === 2 ? String((v[0]! << 8) | v[1]!) : undefined;
    case SvcParamKey.ipv4hint: {
      if (v.length === 0 || v.length % 4 !== 0) return undefined;
      const out: string[] = [];
      for (let i = 0; i < v.length; i += 4) out.push(Array.from(v.subarray(i, i + 4)).join('.'));
      return out.join(',');
    }
    case SvcParamKey.ipv6hint: {
      if (v.length === 0 || v.length % 16 !== 0) return undefined;
      const out: string[] = [];
      for (let i = 0; i < v.length; i += 16) out.push(ipv6ToText(v.subarray(i, i + 16)));
      return out.join(',');
    }
    case SvcParamKey.ech:
      return v.length ? base64(v) : undefined;
    case SvcParamKey.dohpath:
      return quotedText(v);
    default:
      return undefined;
  }
}

export function svcParamToText(p: SvcParam): string {
  const bare = p.key === SvcParamKey['no-default-alpn'] || p.key === SvcParamKey.ohttp;
  if (bare && p.value.length === 0) return svcKeyToText(p.key);
  const typed = bare ? undefined : typedValue(p.key, p.value);
  if (typed !== undefined) return `${svcKeyToText(p.key)}=${typed}`;
  return p.value.length === 0 ? `key${p.key}` : `key${p.key}=${quotedText(p.value)}`;
}

/** Split a value-list (RFC 9460 Appendix A.1) on commas not escaped with a backslash. */
function valueList(b: Uint8Array): Uint8Array[] {
  const items: Uint8Array[] = [];
  let cur: number[] = [];
  for (let i = 0; i < b.length; i++) {
    if (b[i] === 0x5c && i + 1 < b.length) cur.push(b[++i]!);
    else if (b[i] === 0x2c) { items.push(Uint8Array.from(cur)); cur = []; }
    else cur.push(b[i]!);
  }
  items.push(Uint8Array.from(cur));
  return items;
}

const bad = (why: string): WireError => new WireError('bad-text', `SVCB: ${why}`);

function valueFromText(name: string, key: number, text: string | undefined): Uint8Array {
  if (name.startsWith('key')) return text === undefined ? new Uint8Array(0) : textBytes(text, 'SvcParamValue');
  if (key === SvcParamKey['no-default-alpn'] || key === SvcParamKey.ohttp) {
    if (text !== undefined && text !== '') throw bad(`${name} takes no value`);
    return new Uint8Array(0);
  }
  if (text === undefined || text === '') throw bad(`${name} needs a value`);
  const raw = textBytes(text, 'SvcParamValue');
  const str = Buffer.from(raw).toString('latin1');
  switch (key) {
    case SvcParamKey.mandatory: {
      const keys = str.split(',').map(svcKeyFromText).sort((a, b) => a - b);
      if (keys.some((k, i) => i > 0 && k === keys[i - 1])) throw bad('duplicate key in mandatory');
      return Uint8Array.from(keys.flatMap((k) => [k >> 8, k & 0xff]));
    }
    case SvcParamKey.alpn: {
      const out: number[] = [];
      for (const id of valueList(raw)) {
        if (id.length === 0 || id.length > 255) throw bad('alpn ids must be 1..255 octets');
        out.push(id.length, ...id);
      }
      return Uint8Array.from(out);
    }
    case SvcParamKey.port: {
      const p = textUint(str, 65535, 'SVCB port');
      return Uint8Array.of(p >> 8, p & 0xff);
    }
    case SvcParamKey.ipv4hint:
      return Uint8Array.from(str.split(',').flatMap((a) => {
        if (!isIPv4(a)) throw bad(`bad ipv4hint "${a}"`);
        return a.split('.').map(Number);
      }));
    case SvcParamKey.ipv6hint:
      return Uint8Array.from(str.split(',').flatMap((a) => [...ipv6FromText(a)]));
    case SvcParamKey.ech:
      return fromBase64(str, 'SVCB ech');
    default: // dohpath
      return raw;
  }
}

/** Parse "key=value" / "key" tokens (quotes already removed) into params sorted by key. */
export function svcParamsFromText(tokens: readonly string[]): SvcParam[] {
  const params: SvcParam[] = [];
  for (const t of tokens) {
    const eq = t.indexOf('=');
    const name = eq < 0 ? t : t.slice(0, eq);
    const key = svcKeyFromText(name);
    params.push({ key, value: valueFromText(name, key, eq < 0 ? undefined : t.slice(eq + 1)) });
  }
  params.sort((a, b) => a.key - b.key);
  for (let i = 1; i < params.length; i++) {
    if (params[i]!.key === params[i - 1]!.key) throw bad(`SvcParamKey ${svcKeyToText(params[i]!.key)} repeated`);
  }
  for (const p of params) if (p.value.length > 65535) throw bad('SvcParamValue too long');
  return params;
}

function svcbCodec(mnemonic: string): RDataCodec<SVCBData> {
  return {
    mnemonic, hasNames: true, compressible: false, canonicalLowercase: false,
    decode(r, end) {
      if (end - r.off < 3) throw rdataError(mnemonic, `length ${end - r.off}, expected at least 3`, r.off);
      const priority = r.u16();
      const target = Name.read(r);
      const params: SvcParam[] = [];
      let last = -1;
      while (r.off < end) {
        if (end - r.off < 4) throw rdataError(mnemonic, 'SvcParam header truncated', r.off);
        const key = r.u16();
        const len = r.u16();
        if (key <= last) throw rdataError(mnemonic, `SvcParamKey ${key} out of order or repeated`, r.off - 4);
        if (r.off + len > end) throw rdataError(mnemonic, `SvcParam ${key} overruns RDATA`, r.off);
        last = key;
        params.push({ key, value: r.bytes(len) });
      }
      return { priority, target, params };
    },
    encode(w, d, o) {
      w.u16(d.priority);
      writeRDataName(w, d.target, o, false, false);
      for (const p of d.params) {
        if (p.value.length > 65535) throw rdataError(mnemonic, `SvcParam ${p.key} value over 65535 octets`);
        w.u16(p.key); w.u16(p.value.length); w.bytes(p.value);
      }
    },
    toText: (d) => [String(d.priority), d.target.toText(), ...d.params.map(svcParamToText)].join(' '),
    fromText(t, origin) {
      if (t.length < 2) throw new WireError('bad-text', `${mnemonic}: expected priority and target`);
      return { priority: textUint(t[0], 65535, `${mnemonic} priority`), target: Name.fromText(t[1]!, origin), params: svcParamsFromText(t.slice(2)) };
    },
  };
}

registerRData(RRType.SVCB, svcbCodec('SVCB'));
registerRData(RRType.HTTPS, svcbCodec('HTTPS'));
