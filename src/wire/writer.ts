import { WireError } from './errors.js';

/** Growable big-endian writer with a name-compression table. */
export class WireWriter {
  private buf: Uint8Array;
  private view: DataView;
  off = 0;
  /** Name suffix (wire labels joined, case kept) -> offset, for compression. */
  readonly compression = new Map<string, number>();

  constructor(initial = 512) {
    this.buf = new Uint8Array(initial);
    this.view = new DataView(this.buf.buffer);
  }

  private ensure(n: number): void {
    if (this.off + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.off + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.off));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }

  u8(v: number): void {
    this.ensure(1);
    this.buf[this.off++] = v & 0xff;
  }

  u16(v: number): void {
    this.ensure(2);
    this.view.setUint16(this.off, v & 0xffff);
    this.off += 2;
  }

  u32(v: number): void {
    this.ensure(4);
    this.view.setUint32(this.off, v >>> 0);
    this.off += 4;
  }

  bytes(b: Uint8Array): void {
    this.ensure(b.length);
    this.buf.set(b, this.off);
    this.off += b.length;
  }

  /** Overwrite a 16-bit value at an earlier offset (RDLENGTH, counts). */
  patchU16(at: number, v: number): void {
    this.view.setUint16(at, v & 0xffff);
  }

  /** Drop everything written after `at` (used when a record does not fit). Compression entries past it are removed. */
  rewind(at: number): void {
    this.off = at;
    for (const [k, v] of this.compression) if (v >= at) this.compression.delete(k);
  }

  finish(): Uint8Array {
    if (this.off > 65535) throw new WireError('too-large', `message of ${this.off} octets exceeds 65535`);
    return this.buf.slice(0, this.off);
  }
}
