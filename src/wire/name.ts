import { WireError } from './errors.js';
import type { WireReader } from './reader.js';
import type { WireWriter } from './writer.js';

const MAX_NAME_WIRE = 255;
const MAX_LABEL = 63;
/** A name has at most 127 labels; a sane compressor never needs more pointers than that. */
const MAX_POINTER_HOPS = 127;

function lowerByte(b: number): number {
  return b >= 0x41 && b <= 0x5a ? b | 0x20 : b;
}

function lowerLabel(l: Uint8Array): Uint8Array {
  let out: Uint8Array | undefined;
  for (let i = 0; i < l.length; i++) {
    const b = l[i]!;
    if (b >= 0x41 && b <= 0x5a) {
      out ??= l.slice();
      out[i] = b | 0x20;
    }
  }
  return out ?? l;
}

/** Compare two labels as lowercased octet strings (RFC 4034 §6.1). */
export function compareLabels(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const d = lowerByte(a[i]!) - lowerByte(b[i]!);
    if (d !== 0) return d;
  }
  return a.length - b.length;
}

/** Whether octet `b` is written as itself in presentation form (printable, and not one of . \\ " ( ) ; @ $). */
function plainOctet(b: number): boolean {
  return b > 0x20 && b < 0x7f && b !== 0x2e && b !== 0x5c && b !== 0x22 && b !== 0x28 && b !== 0x29 && b !== 0x3b && b !== 0x40 && b !== 0x24;
}

/**
 * The presentation form of a non-root name (lowercased with `lower`), made in one go when no octet needs an
 * escape (nearly every name): the per-octet string concatenation of labelToText cost more than anything else
 * in a key, and keys are made for every name of every message validated. Undefined when an escape is needed.
 */
function plainText(labels: readonly Uint8Array[], lower: boolean): string | undefined {
  const codes: number[] = [];
  for (const l of labels) {
    for (let i = 0; i < l.length; i++) {
      const b = l[i]!;
      if (!plainOctet(b)) return undefined;
      codes.push(lower && b >= 0x41 && b <= 0x5a ? b | 0x20 : b);
    }
    codes.push(0x2e);
  }
  return String.fromCharCode.apply(null, codes);
}

function labelToText(l: Uint8Array): string {
  let s = '';
  for (const b of l) {
    if (b === 0x2e || b === 0x5c || b === 0x22 || b === 0x28 || b === 0x29 || b === 0x3b || b === 0x40 || b === 0x24) {
      s += '\\' + String.fromCharCode(b);
    } else if (b > 0x20 && b < 0x7f) {
      s += String.fromCharCode(b);
    } else {
      s += '\\' + b.toString().padStart(3, '0');
    }
  }
  return s;
}

/**
 * A domain name: a list of labels (without the root label), case preserved.
 * Immutable; comparisons are case-insensitive as DNS requires.
 */
export class Name {
  readonly labels: readonly Uint8Array[];
  private _key: string | undefined;
  private _text: string | undefined;

  private constructor(labels: readonly Uint8Array[]) {
    this.labels = labels;
  }

  static readonly root = new Name([]);

  static fromLabels(labels: readonly Uint8Array[]): Name {
    let len = 1;
    for (const l of labels) {
      if (l.length === 0) throw new WireError('bad-text', 'empty label inside a name');
      if (l.length > MAX_LABEL) throw new WireError('label-too-long', `label of ${l.length} octets (max ${MAX_LABEL})`);
      len += l.length + 1;
    }
    if (len > MAX_NAME_WIRE) throw new WireError('name-too-long', `name of ${len} octets (max ${MAX_NAME_WIRE})`);
    return labels.length === 0 ? Name.root : new Name(labels);
  }

  /**
   * Parse presentation format. Relative names are completed with `origin` (default: root).
   * Supports \. \\ and \DDD escapes.
   */
  static fromText(text: string, origin: Name = Name.root): Name {
    if (text === '@') return origin;
    if (text === '.') return Name.root;
    if (text.length === 0) throw new WireError('bad-text', 'empty name');
    const labels: Uint8Array[] = [];
    let cur: number[] = [];
    let absolute = false;
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c === 0x5c) {
        const next = text[i + 1];
        if (next === undefined) throw new WireError('bad-text', `dangling escape in name "${text}"`);
        if (/[0-9]/.test(next)) {
          const digits = text.slice(i + 1, i + 4);
          if (!/^[0-9]{3}$/.test(digits) || Number(digits) > 255) {
            throw new WireError('bad-text', `bad \\DDD escape in name "${text}"`);
          }
          cur.push(Number(digits));
          i += 3;
        } else {
          if (next.charCodeAt(0) > 0xff) throw new WireError('bad-text', `non-ASCII character in name "${text}"`);
          cur.push(next.charCodeAt(0));
          i += 1;
        }
      } else if (c === 0x2e) {
        if (cur.length === 0) throw new WireError('bad-text', `empty label in name "${text}"`);
        labels.push(Uint8Array.from(cur));
        cur = [];
        if (i === text.length - 1) absolute = true;
      } else {
        if (c > 0xff) throw new WireError('bad-text', `non-ASCII character in name "${text}"`);
        cur.push(c);
      }
    }
    if (cur.length > 0) labels.push(Uint8Array.from(cur));
    return Name.fromLabels(absolute ? labels : [...labels, ...origin.labels]);
  }

  /** Read a possibly compressed name. Pointers must point strictly backwards. */
  static read(r: WireReader): Name {
    const buf = r.buf;
    const labels: Uint8Array[] = [];
    let pos = r.off;
    let jumped = false;
    let wireLen = 1;
    // A pointer must go to an offset below the lowest one visited so far: this forbids loops and forward pointers.
    let limit = r.off;
    // Chains of pointers to pointers would otherwise cost O(message size) per name.
    let hops = 0;
    for (;;) {
      if (pos >= buf.length) throw new WireError('truncated', 'message truncated inside a name', pos);
      const len = buf[pos]!;
      const kind = len & 0xc0;
      if (kind === 0xc0) {
        if (pos + 1 >= buf.length) throw new WireError('truncated', 'message truncated inside a compression pointer', pos);
        const target = ((len & 0x3f) << 8) | buf[pos + 1]!;
        if (target >= limit) {
          throw new WireError(target === pos ? 'pointer-loop' : 'forward-pointer', `compression pointer to ${target} is not backwards`, pos);
        }
        if (++hops > MAX_POINTER_HOPS) throw new WireError('pointer-loop', `more than ${MAX_POINTER_HOPS} compression pointers in one name`, pos);
        if (!jumped) r.off = pos + 2;
        jumped = true;
        limit = target;
        pos = target;
        continue;
      }
      if (kind !== 0) throw new WireError('bad-label-type', `label type 0x${kind.toString(16)} is not supported`, pos);
      if (len === 0) {
        if (!jumped) r.off = pos + 1;
        break;
      }
      wireLen += len + 1;
      if (wireLen > MAX_NAME_WIRE) throw new WireError('name-too-long', 'name longer than 255 octets', pos);
      if (pos + 1 + len > buf.length) throw new WireError('truncated', 'message truncated inside a label', pos);
      labels.push(buf.slice(pos + 1, pos + 1 + len));
      pos += 1 + len;
    }
    return labels.length === 0 ? Name.root : new Name(labels);
  }

  /** Write the name; with `compress`, reuse earlier identical (case included) suffixes and record new ones. */
  write(w: WireWriter, compress = false): void {
    for (let i = 0; i < this.labels.length; i++) {
      if (compress) {
        const key = suffixKey(this.labels, i);
        const at = w.compression.get(key);
        if (at !== undefined) {
          w.u16(0xc000 | at);
          return;
        }
        if (w.off < 0x4000) w.compression.set(key, w.off);
      }
      const l = this.labels[i]!;
      w.u8(l.length);
      w.bytes(l);
    }
    w.u8(0);
  }

  /** Uncompressed wire form. */
  toWire(lower = false): Uint8Array {
    const out = new Uint8Array(this.wireLength);
    let o = 0;
    for (const l of this.labels) {
      out[o++] = l.length;
      out.set(lower ? lowerLabel(l) : l, o);
      o += l.length;
    }
    out[o] = 0;
    return out;
  }

  get wireLength(): number {
    let n = 1;
    for (const l of this.labels) n += l.length + 1;
    return n;
  }

  get labelCount(): number {
    return this.labels.length;
  }

  isRoot(): boolean {
    return this.labels.length === 0;
  }

  /** Whether the first label is the wildcard label "*". */
  isWildcard(): boolean {
    const l = this.labels[0];
    return l !== undefined && l.length === 1 && l[0] === 0x2a;
  }

  toText(): string {
    if (this._text === undefined) {
      this._text = this.labels.length === 0 ? '.' : plainText(this.labels, false) ?? this.labels.map(labelToText).join('.') + '.';
    }
    return this._text;
  }

  toString(): string {
    return this.toText();
  }

  /** Lowercased text: a stable key for maps and case-insensitive equality. */
  get key(): string {
    if (this._key === undefined) {
      this._key = this.labels.length === 0 ? '.' : plainText(this.labels, true) ?? this.labels.map((l) => labelToText(lowerLabel(l))).join('.') + '.';
    }
    return this._key;
  }

  lower(): Name {
    return Name.fromLabelsUnchecked(this.labels.map(lowerLabel));
  }

  equals(other: Name): boolean {
    if (this === other) return true;
    if (this.labels.length !== other.labels.length) return false;
    for (let i = 0; i < this.labels.length; i++) {
      if (compareLabels(this.labels[i]!, other.labels[i]!) !== 0) return false;
    }
    return true;
  }

  /** True when this name is `other` or below it. */
  isSubdomainOf(other: Name): boolean {
    const d = this.labels.length - other.labels.length;
    if (d < 0) return false;
    for (let i = 0; i < other.labels.length; i++) {
      if (compareLabels(this.labels[d + i]!, other.labels[i]!) !== 0) return false;
    }
    return true;
  }

  /** Drop `n` leftmost labels. */
  parent(n = 1): Name {
    if (n > this.labels.length) throw new RangeError(`cannot strip ${n} labels from ${this.toText()}`);
    return Name.fromLabelsUnchecked(this.labels.slice(n));
  }

  /** The rightmost `n` labels. */
  suffix(n: number): Name {
    return Name.fromLabelsUnchecked(this.labels.slice(this.labels.length - n));
  }

  /** Prepend labels (e.g. "*" or "_25._tcp"). */
  prepend(...labels: Uint8Array[]): Name {
    return Name.fromLabels([...labels, ...this.labels]);
  }

  /** Canonical DNS name order (RFC 4034 §6.1). */
  compare(other: Name): number {
    const a = this.labels;
    const b = other.labels;
    let i = a.length - 1;
    let j = b.length - 1;
    for (; i >= 0 && j >= 0; i--, j--) {
      const d = compareLabels(a[i]!, b[j]!);
      if (d !== 0) return d;
    }
    return a.length - b.length;
  }

  /** Number of rightmost labels shared with `other`. */
  commonLabels(other: Name): number {
    let n = 0;
    const a = this.labels;
    const b = other.labels;
    while (n < a.length && n < b.length && compareLabels(a[a.length - 1 - n]!, b[b.length - 1 - n]!) === 0) n++;
    return n;
  }

  private static fromLabelsUnchecked(labels: readonly Uint8Array[]): Name {
    return labels.length === 0 ? Name.root : new Name(labels);
  }
}

/** Compression key of a suffix: exact octets, so that a pointer never changes a name's case (RFC 4343 §4.1). */
function suffixKey(labels: readonly Uint8Array[], from: number): string {
  let k = '';
  for (let i = from; i < labels.length; i++) {
    const l = labels[i]!;
    k += String.fromCharCode(l.length);
    for (const b of l) k += String.fromCharCode(b);
  }
  return k;
}
