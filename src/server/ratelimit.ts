/**
 * Token buckets for the replies sent to clients outside the allow list (REFUSED). Each source address has a
 * bucket, and one more bounds them all (the sources of a reflection attack are spoofed, so each may appear
 * once); past either, the query is dropped without a reply, so the daemon cannot be used to reflect traffic
 * at someone. A reply costs one token of both; a bucket holds `2 × rate` tokens (a burst of two seconds' worth)
 * and refills continuously. Like RRL in BIND or Unbound's ip-ratelimit, but only for the refused: allowed
 * clients are never limited here.
 */

/** Milliseconds on some monotonic-enough scale (the daemon's clock). */
export type Now = () => number;

export interface RefusalLimits {
  /** REFUSED replies per second to one source address (0: never answer a client outside the allow list). */
  perSource: number;
  /** REFUSED replies per second over all sources (0: never). */
  total: number;
}

/** Source buckets kept at most; past it, full (idle) buckets are forgotten first, then all of them. */
const MAX_SOURCES = 16_384;

class Bucket {
  constructor(public tokens: number, public at: number) {}

  /** Refill at `rate` tokens/s up to `cap`, then take one token if there is one. */
  take(now: number, rate: number, cap: number): boolean {
    if (now > this.at) {
      this.tokens = Math.min(cap, this.tokens + ((now - this.at) * rate) / 1000);
      this.at = now;
    } else if (now < this.at) {
      // The clock was stepped back: refill from now on (else not before it is back where it was, maybe a year).
      this.at = now;
    }
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  full(now: number, rate: number, cap: number): boolean {
    return this.tokens + ((now - this.at) * rate) / 1000 >= cap;
  }
}

export class RefusalLimiter {
  private readonly sources = new Map<string, Bucket>();
  private readonly all: Bucket;

  constructor(readonly limits: RefusalLimits, private readonly now: Now) {
    for (const [k, v] of Object.entries(limits)) {
      if (!Number.isFinite(v) || v < 0) throw new RangeError(`refusal rate ${k} must be a number of replies per second (0 or more), got ${String(v)}`);
    }
    this.all = new Bucket(2 * limits.total, now());
  }

  /** Whether a REFUSED reply may go to `address` now (takes a token when it may). */
  allow(address: string): boolean {
    const { perSource, total } = this.limits;
    if (perSource <= 0 || total <= 0) return false;
    const now = this.now();
    let b = this.sources.get(address);
    if (!b) {
      if (this.sources.size >= MAX_SOURCES) this.prune(now);
      b = new Bucket(2 * perSource, now);
      this.sources.set(address, b);
    }
    // The source's token first: a source past its own rate does not use up the shared bucket.
    if (!b.take(now, perSource, 2 * perSource)) return false;
    if (!this.all.take(now, total, 2 * total)) {
      b.tokens += 1;
      return false;
    }
    return true;
  }

  /** Source buckets held (for the tests and the stats). */
  get size(): number {
    return this.sources.size;
  }

  /** Forget the buckets that are full again (a new bucket would be the same); all of them when none is. */
  private prune(now: number): void {
    const { perSource } = this.limits;
    for (const [k, b] of this.sources) if (b.full(now, perSource, 2 * perSource)) this.sources.delete(k);
    if (this.sources.size >= MAX_SOURCES) this.sources.clear();
  }
}
