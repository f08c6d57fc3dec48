/** Wall-clock time, injected wherever timing decisions (hold-downs, TTLs) must be testable. */
export interface Clock {
  /** Milliseconds since the Unix epoch. */
  now(): number;
  /**
   * A monotonic time in milliseconds (any origin) that `now()` follows, when `now()` is a real clock that can be
   * stepped (NTP, `date -s`): the daemon compares the two to find steps. A clock that moves only when told
   * (ManualClock) has none, and its moves are no steps.
   */
  monotonic?(): number;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  monotonic: () => performance.now(),
};

/** A clock that moves only when told (tests, and replaying RFC 5011 timers). */
export class ManualClock implements Clock {
  t: number;
  constructor(start = 1_700_000_000_000) {
    this.t = start;
  }
  now(): number {
    return this.t;
  }
  advance(ms: number): void {
    this.t += ms;
  }
  set(ms: number): void {
    this.t = ms;
  }
}
