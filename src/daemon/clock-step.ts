/**
 * Steps of the system clock while the daemon runs (NTP correcting a clock that was a year ahead, an operator's
 * `date -s`). Everything kept by clock time was kept by the wrong one: after a step back, answers cached for
 * 60 seconds (the wrong clock's SERVFAILs among them) would stay fresh for a year, the chain of trust would
 * keep the root's keys BOGUS for as long, and upstream hold-downs and probe schedules would lie in the future.
 *
 * The watch compares the injected clock with its monotonic time (`Clock.monotonic`) every `periodMs`; when their
 * difference moves by more than `thresholdMs`, the clock stepped, and `onStep` runs (the daemon flushes its
 * caches and probes the upstreams again). Event-loop stalls move both alike and are no step. A clock without a
 * monotonic time (ManualClock: time moves when a test says so) is not watched.
 */
import type { Clock } from '../clock.js';

export interface ClockStepOptions {
  readonly clock: Clock & { monotonic(): number };
  /** Told the step in milliseconds (negative: the clock went back). */
  readonly onStep: (stepMs: number) => void;
  /** How often to look (default 1 s). */
  readonly periodMs?: number;
  /** A smaller change is drift, not a step (default 30 s). */
  readonly thresholdMs?: number;
}

export class ClockStepWatch {
  private timer: NodeJS.Timeout | undefined;
  private offset: number;

  constructor(private readonly opts: ClockStepOptions) {
    this.offset = this.currentOffset();
  }

  start(): void {
    this.stop();
    this.offset = this.currentOffset();
    this.timer = setInterval(() => this.check(), this.opts.periodMs ?? 1000);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Look now; returns the step found (0 when none). */
  check(): number {
    const offset = this.currentOffset();
    const step = offset - this.offset;
    // Drift (NTP slewing) is followed, so that it never adds up to a step.
    this.offset = offset;
    if (Math.abs(step) <= (this.opts.thresholdMs ?? 30_000)) return 0;
    this.opts.onStep(step);
    return step;
  }

  private currentOffset(): number {
    return this.opts.clock.now() - this.opts.clock.monotonic();
  }
}
