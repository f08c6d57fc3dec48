/** Extended DNS Errors (RFC 8914): one entry of a reply, and its EDNS option encoding. */
import { EdnsOptionCode } from './constants.js';
import type { EdnsOption } from './message.js';

/** One Extended DNS Error to put into a reply's OPT record. */
export interface EdeEntry {
  /** INFO-CODE, see EdeCode. */
  code: number;
  /** EXTRA-TEXT, sent as UTF-8 (may be shortened to fit the reply size). */
  text?: string;
}

const encoder = new TextEncoder();

/** EDE options: 2-octet INFO-CODE then the UTF-8 EXTRA-TEXT (no NUL). */
export function encodeEde(entries: readonly EdeEntry[]): EdnsOption[] {
  return entries.map((e) => {
    const text = e.text ? encoder.encode(e.text) : new Uint8Array(0);
    const data = new Uint8Array(2 + text.length);
    data[0] = (e.code >> 8) & 0xff;
    data[1] = e.code & 0xff;
    data.set(text, 2);
    return { code: EdnsOptionCode.EDE, data };
  });
}

const decoder = new TextDecoder('utf-8', { fatal: false });

/** The EDEs of received EDNS options, the inverse of `encodeEde` (a trailing NUL some servers send is dropped). */
export function decodeEde(options: readonly EdnsOption[] | undefined): EdeEntry[] {
  const out: EdeEntry[] = [];
  for (const o of options ?? []) {
    if (o.code !== EdnsOptionCode.EDE || o.data.length < 2) continue;
    const code = (o.data[0]! << 8) | o.data[1]!;
    const text = decoder.decode(o.data.subarray(2)).replace(/\0+$/, '');
    out.push(text ? { code, text } : { code });
  }
  return out;
}
