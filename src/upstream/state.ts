/**
 * Per-upstream state: counters for metrics, availability with an exponential hold-down after
 * failures, and the DNSSEC capability learnt by probing and by watching answers (capability.ts).
 * Times are clock milliseconds (the injected Clock), so hold-downs can be tested by moving the clock.
 */
import type { UpstreamConfig } from '../config/schema.js';
import { endpointLabel } from '../net/address.js';
import type { DnssecCapability } from './capability.js';
import { noIgnored, type IgnoredCounts } from './query.js';
import type { NetworkFailure } from './transport.js';

export interface HoldDownPolicy {
  /** Hold-down after the first failure. */
  readonly initialMs: number;
  /** Growth per further consecutive failure. */
  readonly factor: number;
  /** Ceiling. */
  readonly maxMs: number;
}

export const DEFAULT_HOLD_DOWN: HoldDownPolicy = { initialMs: 5_000, factor: 2, maxMs: 300_000 };

/** Hold-down for the n-th consecutive failure (n >= 1): initial * factor^(n-1), capped. */
export function holdDownMs(policy: HoldDownPolicy, consecutiveFailures: number): number {
  const n = Math.max(1, consecutiveFailures);
  return Math.min(policy.maxMs, policy.initialMs * Math.pow(policy.factor, n - 1));
}

/** What made an upstream be marked down. */
export type FailureCause =
  | { readonly kind: 'timeout' }
  | { readonly kind: 'network-error'; readonly error: NetworkFailure }
  | { readonly kind: 'rcode'; readonly rcode: number };

/** Availability. A 'down' upstream whose `until` has passed is due for a retry and is used again. */
export type UpstreamHealth =
  | { readonly kind: 'unknown' }
  | { readonly kind: 'up'; readonly since: number }
  | {
    readonly kind: 'down';
    readonly since: number;
    readonly until: number;
    readonly consecutiveFailures: number;
    readonly cause: FailureCause;
  };

export type { DnssecCapability } from './capability.js';

export interface UpstreamCounters {
  /** Exchanges started (one per attempt; a TCP retry after truncation is part of the same one). */
  queries: number;
  /** Exchanges that ended with an accepted answer (any rcode but the failover ones). */
  answers: number;
  /** UDP answers with TC=1 that were fetched again over TCP. */
  tcpFallbacks: number;
  timeouts: number;
  networkErrors: number;
  servfail: number;
  refused: number;
  /** FORMERR, NOTIMP, BADVERS and other rcodes that make us fail over. */
  otherErrorRcodes: number;
  /** Received packets that did not answer our query (wrong ID, question or source, unparsable). */
  ignored: IgnoredCounts;
  /** DNSSEC-capability probes run (their queries are not counted above). */
  probes: number;
  /** Second rounds of a probe, run at once when its first round failed, before NOT-DNSSEC-CAPABLE is believed. */
  probeConfirmations: number;
  /** Answers that lacked DNSSEC records another upstream supplied (strikes). */
  strippedAnswers: number;
  /** Probes by verdict (after a confirming second round): DNSSEC-capable, not DNSSEC-capable, unreachable. */
  probeCapable: number;
  probeNotCapable: number;
  probeUnreachable: number;
  /**
   * Validated questions asked again of other upstreams because this upstream's answer (or one of the chain
   * of trust's DS/DNSKEY answers) was BOGUS: a re-ask excludes every upstream already asked, each counted.
   */
  bogusReasks: number;
}

/** Upper bounds (ms) of the RTT histogram's buckets: loopback fractions of a millisecond up to the 5 s query deadline. */
export const RTT_BUCKETS_MS: readonly number[] = Object.freeze([0.25, 0.5, 1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000]);

export interface RttSnapshot {
  /** The buckets' upper bounds (RTT_BUCKETS_MS). */
  readonly boundsMs: readonly number[];
  /** Exchanges per bucket (not cumulative); one more at the end for those above the largest bound. */
  readonly counts: readonly number[];
  readonly sumMs: number;
  readonly count: number;
}

/** Round-trip times of an upstream's answered exchanges, as fixed bucket counts (what a Prometheus histogram needs). */
export class RttHistogram {
  private readonly counts = new Float64Array(RTT_BUCKETS_MS.length + 1);
  private sumMs = 0;
  private n = 0;

  observe(ms: number): void {
    let b = 0;
    while (b < RTT_BUCKETS_MS.length && ms > RTT_BUCKETS_MS[b]!) b++;
    this.counts[b]!++;
    this.sumMs += ms;
    this.n++;
  }

  snapshot(): RttSnapshot {
    return Object.freeze({ boundsMs: RTT_BUCKETS_MS, counts: Object.freeze([...this.counts]), sumMs: this.sumMs, count: this.n });
  }
}

/** Read-only view of one upstream, for metrics and diagnostics. */
export interface UpstreamSnapshot {
  readonly label: string;
  readonly config: UpstreamConfig;
  readonly health: UpstreamHealth;
  /** Clock ms until which the upstream is held down; null when it is not. */
  readonly downUntil: number | null;
  readonly dnssec: DnssecCapability;
  readonly counters: Readonly<Omit<UpstreamCounters, 'ignored'>> & { readonly ignored: Readonly<IgnoredCounts> };
  readonly lastRttMs: number | null;
  /** Round-trip times of every exchange that got a response (any rcode; probes not included). */
  readonly rtt: RttSnapshot;
  readonly lastAnswerAt: number | null;
  readonly inFlight: number;
}

/** The change a failure made, so the caller can log transitions. */
export type FailureEffect =
  | { readonly kind: 'marked-down'; readonly until: number; readonly consecutiveFailures: number }
  | { readonly kind: 'already-counted' };

export class UpstreamState {
  readonly config: UpstreamConfig;
  readonly label: string;
  /** Position in the configured list: breaks ties between equal priorities. */
  readonly index: number;
  health: UpstreamHealth = { kind: 'unknown' };
  dnssec: DnssecCapability = { kind: 'unprobed' };
  readonly counters: UpstreamCounters = {
    queries: 0, answers: 0, tcpFallbacks: 0, timeouts: 0, networkErrors: 0, servfail: 0, refused: 0, otherErrorRcodes: 0,
    ignored: noIgnored(), probes: 0, probeConfirmations: 0, strippedAnswers: 0, probeCapable: 0, probeNotCapable: 0, probeUnreachable: 0,
    bogusReasks: 0,
  };
  readonly rtt = new RttHistogram();
  lastRttMs: number | null = null;
  lastAnswerAt: number | null = null;
  inFlight = 0;
  private readonly policy: HoldDownPolicy;

  constructor(config: UpstreamConfig, index: number, policy: HoldDownPolicy) {
    this.config = config;
    this.index = index;
    this.label = endpointLabel(config);
    this.policy = policy;
  }

  /** Held down at `now` (a down upstream whose hold-down has expired counts as available). */
  isHeldDown(now: number): boolean {
    return this.health.kind === 'down' && now < this.health.until;
  }

  downUntil(): number | null {
    return this.health.kind === 'down' ? this.health.until : null;
  }

  /** An accepted answer: the upstream is up again and preferred by its priority from now on. */
  recordAnswer(now: number, rttMs: number): void {
    this.lastRttMs = rttMs;
    this.lastAnswerAt = now;
    if (this.health.kind !== 'up') this.health = { kind: 'up', since: now };
  }

  /**
   * A failure of an exchange that started at `startedAt`. Failures of exchanges that were already
   * under way when the upstream was last marked down do not lengthen the hold-down again: a burst
   * of concurrent timeouts is one failure, not fifty.
   */
  recordFailure(now: number, startedAt: number, cause: FailureCause): FailureEffect {
    const h = this.health;
    if (h.kind === 'down' && startedAt < h.since) return { kind: 'already-counted' };
    const consecutiveFailures = h.kind === 'down' ? h.consecutiveFailures + 1 : 1;
    const until = now + holdDownMs(this.policy, consecutiveFailures);
    this.health = { kind: 'down', since: now, until, consecutiveFailures, cause };
    return { kind: 'marked-down', until, consecutiveFailures };
  }

  snapshot(): UpstreamSnapshot {
    return Object.freeze({
      label: this.label,
      config: this.config,
      health: this.health,
      downUntil: this.downUntil(),
      dnssec: this.dnssec,
      counters: Object.freeze({ ...this.counters, ignored: Object.freeze({ ...this.counters.ignored }) }),
      lastRttMs: this.lastRttMs,
      rtt: this.rtt.snapshot(),
      lastAnswerAt: this.lastAnswerAt,
      inFlight: this.inFlight,
    });
  }
}

/**
 * The order in which to ask upstreams at `now`: available ones by priority (then list position),
 * then the held-down ones by the same order, as a last resort rather than failing outright.
 */
export function tryOrder(states: readonly UpstreamState[], now: number): UpstreamState[] {
  const byPriority = (a: UpstreamState, b: UpstreamState): number => a.config.priority - b.config.priority || a.index - b.index;
  const up = states.filter((s) => !s.isHeldDown(now)).sort(byPriority);
  const down = states.filter((s) => s.isHeldDown(now)).sort(byPriority);
  return [...up, ...down];
}
