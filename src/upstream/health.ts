/**
 * The health monitor of one pool: probes every upstream's DNSSEC capability at start, then every
 * probe interval (UNREACHABLE ones more often), and at once when an attempt to it fails or when an
 * unreachable one answers again; and keeps the strikes the resolver and the chain of trust report
 * for answers that lacked DNSSEC records another upstream supplied. An upstream with `strikeLimit`
 * strikes within `strikeWindowMs` is NOT-DNSSEC-capable until a probe clears it.
 *
 * A probe that fails is run a second time at once, and only two failures in a row make an upstream
 * NOT-DNSSEC-CAPABLE: one garbled or lost answer, or one SERVFAIL of a DS fetch, must not take the
 * only upstream away from validated queries until the next interval. At once rather than after a
 * pause: the faults this covers are per packet, the second round asks with fresh IDs, ports and
 * random name, and the state the caller waits for (start gate, probeNow) is known when it returns.
 *
 * Scheduling is by the injected clock: a timer only calls tick(), which starts the probes that are
 * due at clock.now(). Tests with a ManualClock set `tickMs: 0` and call tick() themselves.
 */
import { systemClock, type Clock } from '../clock.js';
import type { Logger } from '../log.js';
import type { StripEvidence } from '../validator/types.js';
import type { Name } from '../wire/index.js';
import { capabilityLabel, describeCapability, type DnssecCapability } from './capability.js';
import type { UpstreamPool } from './pool.js';
import { probeUpstream, type ProbeVerdict } from './probe.js';
import type { AttemptOutcome } from './result.js';
import type { UpstreamState } from './state.js';

export interface HealthOptions {
  /** The zone probed: the trust anchor's. */
  readonly zone: Name;
  readonly probeIntervalMs: number;
  /** Per probe question. */
  readonly probeTimeoutMs: number;
  readonly clock?: Clock;
  readonly logger?: Logger;
  /** Strikes that make an upstream NOT-DNSSEC-capable (default 3). */
  readonly strikeLimit?: number;
  /** Strikes older than this are forgotten (default 10 minutes). */
  readonly strikeWindowMs?: number;
  /** Least time between two probes of one upstream started by failures or recoveries (default 1 s, at most the interval). */
  readonly minProbeGapMs?: number;
  /** Probe period for UNREACHABLE upstreams (default: the interval, at most 30 s). */
  readonly unreachableIntervalMs?: number;
  /** Timer period for tick() (default: a quarter of the interval, at most 1 s); 0: no timer. */
  readonly tickMs?: number;
  /** Told about every change of an upstream's capability kind. */
  readonly onChange?: (change: CapabilityChange) => void;
  readonly randomLabel?: () => string;
}

export interface CapabilityChange {
  readonly upstream: string;
  readonly from: DnssecCapability;
  readonly to: DnssecCapability;
}

/** Read-only state of one upstream for status output. */
export interface UpstreamHealthView {
  readonly upstream: string;
  readonly priority: number;
  /** DNSSEC-CAPABLE, NOT-DNSSEC-CAPABLE, UNREACHABLE or UNPROBED. */
  readonly state: string;
  readonly summary: string;
  readonly capability: DnssecCapability;
  readonly strikes: readonly StripEvidence[];
  readonly nextProbeAt: number;
  readonly probing: boolean;
  readonly probes: number;
}

type NotCapable = Extract<ProbeVerdict, { kind: 'not-capable' }>;

interface Track {
  readonly st: UpstreamState;
  nextProbeAt: number;
  lastStartedAt: number;
  running: Promise<void> | undefined;
  strikes: StripEvidence[];
}

export class HealthMonitor {
  private readonly clock: Clock;
  private readonly tracks: Track[];
  private readonly strikeLimit: number;
  private readonly strikeWindowMs: number;
  private readonly minGapMs: number;
  private readonly unreachableMs: number;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(private readonly pool: UpstreamPool, private readonly opts: HealthOptions) {
    this.clock = opts.clock ?? systemClock;
    this.tracks = pool.upstreamStates().map((st) => ({ st, nextProbeAt: 0, lastStartedAt: -Infinity, running: undefined, strikes: [] }));
    this.strikeLimit = Math.max(1, opts.strikeLimit ?? 3);
    this.strikeWindowMs = opts.strikeWindowMs ?? 600_000;
    this.minGapMs = Math.min(opts.minProbeGapMs ?? 1000, opts.probeIntervalMs);
    this.unreachableMs = opts.unreachableIntervalMs ?? Math.min(opts.probeIntervalMs, 30_000);
  }

  /**
   * Attach to the pool and probe every upstream now. Validated queries wait until the first probes
   * have found a DNSSEC-capable upstream with no better-priority one still being probed (or all are done).
   * Resolves when every first probe is done.
   */
  start(): Promise<void> {
    this.stopped = false;
    const all = this.tracks.map((t) => this.probe(t));
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const done = new Set<Track>();
    const check = (): void => {
      const capable = this.tracks.filter((t) => done.has(t) && t.st.dnssec.kind === 'capable');
      const best = Math.min(...capable.map((t) => t.st.config.priority));
      const betterPending = this.tracks.some((t) => !done.has(t) && t.st.config.priority <= best);
      if (done.size === this.tracks.length || (capable.length > 0 && !betterPending)) release();
    };
    this.tracks.forEach((t, i) => void all[i]!.then(() => {
      done.add(t);
      check();
    }));
    if (this.tracks.length === 0) release();
    this.pool.attach({
      onAttempt: (st, outcome) => this.onAttempt(st, outcome),
      onStripped: (st, ev) => this.onStripped(st, ev),
    }, gate);
    const tickMs = this.opts.tickMs ?? Math.max(50, Math.min(1000, Math.floor(this.opts.probeIntervalMs / 4)));
    if (tickMs > 0) {
      this.timer = setInterval(() => void this.tick(), tickMs);
      this.timer.unref();
    }
    return Promise.all(all).then(() => undefined);
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Start the probes that are due; resolves when they are done. */
  tick(): Promise<void> {
    const now = this.clock.now();
    return Promise.all(this.tracks.filter((t) => !t.running && t.nextProbeAt <= now).map((t) => this.probe(t))).then(() => undefined);
  }

  /** Probe one upstream (by label) or all now; a probe already running is joined. */
  probeNow(upstream?: string): Promise<void> {
    const ts = this.tracks.filter((t) => upstream === undefined || t.st.label === upstream);
    return Promise.all(ts.map((t) => this.probe(t))).then(() => undefined);
  }

  snapshot(): UpstreamHealthView[] {
    return this.tracks.map((t) => Object.freeze({
      upstream: t.st.label,
      priority: t.st.config.priority,
      state: capabilityLabel(t.st.dnssec),
      summary: describeCapability(t.st.dnssec),
      capability: t.st.dnssec,
      strikes: [...t.strikes],
      nextProbeAt: t.nextProbeAt,
      probing: t.running !== undefined,
      probes: t.st.counters.probes,
    }));
  }

  private probe(t: Track): Promise<void> {
    if (t.running) return t.running;
    if (this.stopped) return Promise.resolve();
    const p = this.runProbe(t).finally(() => {
      t.running = undefined;
    });
    t.running = p;
    return p;
  }

  /** A probe started by an event (failure, recovery), unless one ran very recently. */
  private probeSoon(t: Track): void {
    if (t.running || this.stopped || this.clock.now() - t.lastStartedAt < this.minGapMs) return;
    void this.probe(t);
  }

  private async runProbe(t: Track): Promise<void> {
    const st = t.st;
    const startedAt = this.clock.now();
    t.lastStartedAt = startedAt;
    st.counters.probes++;
    let v = await this.probeRound(st);
    let confirms: NotCapable | undefined;
    // A failure that would flip the state is believed only when a second round, right away, fails too.
    if (v.kind === 'not-capable' && st.dnssec.kind !== 'not-capable') {
      const first = v;
      st.counters.probeConfirmations++;
      this.opts.logger?.debug({ upstream: st.label, failed: first.failed }, 'probe failed: probing again to confirm');
      v = await this.probeRound(st);
      if (v.kind === 'not-capable') confirms = first;
      else this.unconfirmed(st, first, v);
    }
    const now = this.clock.now();
    const before = st.dnssec;
    let after: DnssecCapability;
    switch (v.kind) {
      case 'capable':
        st.counters.probeCapable++;
        after = { kind: 'capable', checkedAt: now, evidence: v.evidence };
        t.strikes = [];
        if (st.health.kind !== 'up') st.recordAnswer(now, v.rttMs);
        break;
      case 'not-capable': {
        st.counters.probeNotCapable++;
        const cause = { source: 'probe', failed: v.failed, ...(confirms ? { confirms: { failed: confirms.failed, evidence: confirms.evidence } } : {}) } as const;
        after = { kind: 'not-capable', checkedAt: now, cause, evidence: v.evidence };
        if (st.health.kind !== 'up') st.recordAnswer(now, v.rttMs);
        break;
      }
      case 'unreachable': {
        st.counters.probeUnreachable++;
        const wasCapable = before.kind === 'capable' || (before.kind === 'unreachable' && before.wasCapable);
        after = { kind: 'unreachable', checkedAt: now, failure: v.failure, evidence: v.evidence, wasCapable };
        st.recordFailure(now, startedAt, v.cause);
        break;
      }
    }
    // The period runs from the probe's start: a probe that failed slowly under a fault that has since ended
    // does not push the one that sees the recovery further than one interval.
    t.nextProbeAt = startedAt + (after.kind === 'unreachable' ? this.unreachableMs : this.opts.probeIntervalMs);
    this.set(t, after, 'probe');
  }

  private probeRound(st: UpstreamState): Promise<ProbeVerdict> {
    return probeUpstream(st.config, this.pool.exchanger(), {
      zone: this.opts.zone, timeoutMs: this.opts.probeTimeoutMs, clock: this.clock,
      ...(this.opts.randomLabel ? { randomLabel: this.opts.randomLabel } : {}),
    });
  }

  /** A failed round that the second one did not confirm: no state change, but worth a line (a flaky path). */
  private unconfirmed(st: UpstreamState, first: NotCapable, second: ProbeVerdict): void {
    const failed = first.evidence.checks.filter((c) => c.result === 'fail').map((c) => `${c.check} (${c.detail})`);
    this.opts.logger?.info({
      upstream: st.label, failed: failed.join('; '), second: second.kind,
    }, 'probe failure not confirmed by a second probe');
  }

  private set(t: Track, after: DnssecCapability, by: 'probe' | 'answers'): void {
    const before = t.st.dnssec;
    t.st.dnssec = after;
    if (before.kind === after.kind) {
      this.opts.logger?.debug({ upstream: t.st.label, dnssec: capabilityLabel(after) }, 'upstream probed');
      return;
    }
    const fields = { upstream: t.st.label, priority: t.st.config.priority, from: capabilityLabel(before), to: capabilityLabel(after), by, evidence: describeCapability(after) };
    if (after.kind === 'capable') this.opts.logger?.info(fields, 'upstream DNSSEC state changed');
    else this.opts.logger?.warn(fields, 'upstream DNSSEC state changed');
    this.opts.onChange?.({ upstream: t.st.label, from: before, to: after });
  }

  private track(st: UpstreamState): Track | undefined {
    return this.tracks.find((t) => t.st === st);
  }

  private onAttempt(st: UpstreamState, outcome: AttemptOutcome): void {
    const t = this.track(st);
    if (!t) return;
    const failed = outcome.kind === 'timeout' || outcome.kind === 'network-error';
    // A failure: find out at once whether it is down (and whether anything else is up).
    if (failed && st.dnssec.kind !== 'unreachable') this.probeSoon(t);
    // An unreachable upstream answers again: find out at once whether it is DNSSEC-capable.
    if (outcome.kind === 'answer' && st.dnssec.kind === 'unreachable') this.probeSoon(t);
  }

  private onStripped(st: UpstreamState, ev: StripEvidence): void {
    const t = this.track(st);
    if (!t) return;
    const now = this.clock.now();
    t.strikes = [...t.strikes.filter((s) => now - s.at < this.strikeWindowMs), ev];
    const c = st.dnssec;
    if (t.strikes.length < this.strikeLimit || (c.kind !== 'capable' && c.kind !== 'unprobed')) return;
    this.set(t, {
      kind: 'not-capable', checkedAt: now, cause: { source: 'observed', strikes: [...t.strikes] }, evidence: c.kind === 'capable' ? c.evidence : null,
    }, 'answers');
  }
}
