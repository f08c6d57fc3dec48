import { WireError } from './errors.js';

/** Bounds-checked sequential reader over a DNS message. */
export class WireReader {
  readonly buf: Uint8Array;
  off: number;
  private readonly view: DataView;

  constructor(buf: Uint8Array, off = 0) {
    // A Buffer (what node:dgram and node:net hand over) is viewed as a plain Uint8Array: its slice() would
    // return views that pin the whole packet, and labels and RDATA of two array classes would make every
    // function that handles them polymorphic (slower, and deoptimized when the other class first shows up).
    this.buf = Object.getPrototypeOf(buf) === Uint8Array.prototype ? buf : new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
    this.off = off;
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  get remaining(): number {
    return this.buf.length - this.off;
  }

  need(n: number, what: string): void {
    if (this.off + n > this.buf.length) {
      throw new WireError('truncated', `message truncated while reading ${what}`, this.off);
    }
  }

  u8(what = 'octet'): number {
    this.need(1, what);
    return this.buf[this.off++]!;
  }

  u16(what = '16-bit field'): number {
    this.need(2, what);
    const v = this.view.getUint16(this.off);
    this.off += 2;
    return v;
  }

  u32(what = '32-bit field'): number {
    this.need(4, what);
    const v = this.view.getUint32(this.off);
    this.off += 4;
    return v;
  }

  /** A copy of the next n bytes (copies so that records never pin the packet buffer). */
  bytes(n: number, what = 'data'): Uint8Array {
    this.need(n, what);
    const out = this.buf.slice(this.off, this.off + n);
    this.off += n;
    return out;
  }
}
