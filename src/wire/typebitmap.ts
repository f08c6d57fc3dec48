/** Type bit maps of NSEC and NSEC3 (RFC 4034 §4.1.2, RFC 5155 §3.2.1). */
import { typeFromText, typeToText } from './constants.js';
import { WireError } from './errors.js';
import { rdataError } from './rdata.js';
import type { WireReader } from './reader.js';
import type { WireWriter } from './writer.js';

/** A decoded bit map: the sorted type list, plus the octets when the sender did not encode them minimally. */
export interface TypeBitmap {
  readonly types: readonly number[];
  /**
   * Present only when the received bit map was valid but not minimal (trailing zero octets, or empty
   * windows): re-encoding then writes these octets so the RDATA stays byte-exact for signatures.
   */
  readonly rawBitmap?: Uint8Array | undefined;
}

/**
 * Read the bit map that fills the RDATA up to `end`. Windows must be in strictly increasing order
 * (no duplicates) and each bitmap 1..32 octets. Trailing zero octets are accepted.
 */
export function readTypeBitmap(r: WireReader, end: number, mnemonic: string): TypeBitmap {
  const start = r.off;
  const types: number[] = [];
  let lastWindow = -1;
  let minimal = true;
  while (r.off < end) {
    if (end - r.off < 2) throw rdataError(mnemonic, 'type bit map window header truncated', r.off);
    const window = r.u8();
    const len = r.u8();
    if (window <= lastWindow) throw rdataError(mnemonic, `type bit map window ${window} out of order or repeated`, r.off - 2);
    if (len < 1 || len > 32) throw rdataError(mnemonic, `type bit map length ${len} (must be 1..32)`, r.off - 1);
    if (r.off + len > end) throw rdataError(mnemonic, 'type bit map overruns RDATA', r.off);
    lastWindow = window;
    const bits = r.bytes(len);
    if (bits[len - 1] === 0) minimal = false;
    for (let i = 0; i < len; i++) {
      const b = bits[i]!;
      if (b === 0) continue;
      for (let j = 0; j < 8; j++) if (b & (0x80 >> j)) types.push(window * 256 + i * 8 + j);
    }
  }
  if (minimal) return { types };
  return { types, rawBitmap: r.buf.slice(start, end) };
}

/** The minimal bit map of a type list (any order, duplicates ignored). */
export function encodeTypeBitmap(types: readonly number[]): Uint8Array {
  const sorted = [...new Set(types)].sort((a, b) => a - b);
  const out: number[] = [];
  let i = 0;
  while (i < sorted.length) {
    const window = sorted[i]! >> 8;
    const bits = new Uint8Array(32);
    let len = 0;
    for (; i < sorted.length && sorted[i]! >> 8 === window; i++) {
      const low = sorted[i]! & 0xff;
      bits[low >> 3]! |= 0x80 >> (low & 7);
      len = (low >> 3) + 1;
    }
    out.push(window, len, ...bits.subarray(0, len));
  }
  return Uint8Array.from(out);
}

export function writeTypeBitmap(w: WireWriter, b: TypeBitmap): void {
  w.bytes(b.rawBitmap ?? encodeTypeBitmap(b.types));
}

export function typeBitmapToText(types: readonly number[]): string {
  return types.map(typeToText).join(' ');
}

/** Parse type mnemonics (or TYPEnnn); the result is sorted and free of duplicates. */
export function typeBitmapFromText(tokens: readonly string[], mnemonic: string): number[] {
  const set = new Set<number>();
  for (const t of tokens) {
    const v = typeFromText(t);
    if (v === undefined) throw new WireError('bad-text', `${mnemonic}: unknown type "${t}" in type bit map`);
    set.add(v);
  }
  return [...set].sort((a, b) => a - b);
}

/** Whether a bit map lists `type`. */
export function hasType(b: TypeBitmap, type: number): boolean {
  return b.types.includes(type);
}
