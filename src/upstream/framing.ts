/** DNS over TCP framing (RFC 1035 §4.2.2, RFC 7766 §8): each message is preceded by a 2-octet length. */

/** Prefix one message with its length. */
export function frame(message: Uint8Array): Uint8Array {
  if (message.length > 0xffff) throw new RangeError(`DNS message of ${message.length} octets does not fit TCP framing`);
  const out = new Uint8Array(message.length + 2);
  out[0] = message.length >> 8;
  out[1] = message.length & 0xff;
  out.set(message, 2);
  return out;
}

/**
 * Reassembles length-prefixed messages from a byte stream that arrives in arbitrary chunks:
 * a length split across chunks, a message split across many, or several messages in one chunk.
 */
export class FrameDecoder {
  private chunks: Uint8Array[] = [];
  private buffered = 0;

  /** Add received bytes; returns every message completed by them, in order. */
  push(chunk: Uint8Array): Uint8Array[] {
    if (chunk.length > 0) {
      this.chunks.push(chunk);
      this.buffered += chunk.length;
    }
    const out: Uint8Array[] = [];
    for (;;) {
      if (this.buffered < 2) break;
      const head = this.peek(2);
      const len = (head[0]! << 8) | head[1]!;
      if (this.buffered < 2 + len) break;
      this.take(2);
      out.push(this.take(len));
    }
    return out;
  }

  /** Octets received but not yet part of a complete message. */
  get pending(): number {
    return this.buffered;
  }

  private peek(n: number): Uint8Array {
    const first = this.chunks[0]!;
    if (first.length >= n) return first.subarray(0, n);
    return this.copy(n, false);
  }

  private take(n: number): Uint8Array {
    return this.copy(n, true);
  }

  private copy(n: number, consume: boolean): Uint8Array {
    const out = new Uint8Array(n);
    let o = 0;
    let i = 0;
    let rest: Uint8Array | undefined;
    while (o < n) {
      const c = this.chunks[i]!;
      const k = Math.min(c.length, n - o);
      out.set(c.subarray(0, k), o);
      o += k;
      if (k < c.length) rest = c.subarray(k);
      i++;
    }
    if (consume) {
      this.chunks = rest ? [rest, ...this.chunks.slice(i)] : this.chunks.slice(i);
      this.buffered -= n;
    }
    return out;
  }
}
