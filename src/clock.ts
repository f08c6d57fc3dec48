/** Wall-clock time, injected wherever timing decisions (hold-downs, TTLs) must be testable. */
export interface Clock {
  /** Milliseconds since the Unix epoch. */
  now(): number;
}

export const systemClock: Clock = {
  now: () => Date.now(),
};
