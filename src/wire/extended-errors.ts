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
