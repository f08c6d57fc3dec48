/** DNS over TCP framing (RFC 1035 §4.2.2): each message preceded by its 2-octet length. */

/** Collects stream chunks and hands out complete messages; linear in the bytes received however they are split. */
export class FrameDecoder {
  private chunks: Buffer[] = [];
  private total = 0;

  /** Octets buffered and not yet returned as a message. */
  get buffered(): number {
    return this.total;
  }

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.total += chunk.length;
  }

  /** Add received bytes and return every message they complete, in order. */
  pushAll(chunk: Buffer): Buffer[] {
    this.push(chunk);
    const out: Buffer[] = [];
    for (let m = this.next(); m; m = this.next()) out.push(m);
    return out;
  }

  /** The next complete message (without its length prefix), or undefined if more bytes are needed. */
  next(): Buffer | undefined {
    if (this.total < 2) return undefined;
    const len = (this.byteAt(0) << 8) | this.byteAt(1);
    if (this.total < 2 + len) return undefined;
    this.take(2);
    return this.take(len);
  }

  private byteAt(i: number): number {
    let idx = i;
    for (const c of this.chunks) {
      if (idx < c.length) return c[idx]!;
      idx -= c.length;
    }
    throw new RangeError('FrameDecoder: index past the buffered data');
  }

  /** Remove and return the first n buffered octets (n <= total). */
  private take(n: number): Buffer {
    this.total -= n;
    const first = this.chunks[0];
    if (n === 0) return Buffer.alloc(0);
    if (first && first.length >= n) {
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
      return first.subarray(0, n);
    }
    const out = Buffer.allocUnsafe(n);
    let off = 0;
    let i = 0;
    while (off < n) {
      const c = this.chunks[i]!;
      const use = Math.min(c.length, n - off);
      c.copy(out, off, 0, use);
      off += use;
      if (use === c.length) i++;
      else this.chunks[i] = c.subarray(use);
    }
    this.chunks.splice(0, i);
    return out;
  }
}

/** A message with its length prefix, ready to write. */
export function frame(msg: Uint8Array): Buffer {
  if (msg.length > 0xffff) throw new RangeError(`message of ${msg.length} octets cannot be framed`);
  const out = Buffer.allocUnsafe(2 + msg.length);
  out.writeUInt16BE(msg.length, 0);
  out.set(msg, 2);
  return out;
}
