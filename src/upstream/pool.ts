/**
 * The upstream pool: asks upstreams in priority order, fails over on timeouts, network errors and
 * error rcodes, holds failed upstreams down for a growing period (while still using them as a
 * last resort), and coalesces identical concurrent questions into one upstream query.
 *
 * Each query says what it needs (select.ts): validated queries go only to DNSSEC-capable upstreams.
 * The capabilities themselves are set by a health monitor (health.ts), which attaches to the pool
 * to hear how attempts end and to hold validated queries until the first probes have spoken.
 */
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { systemClock, type Clock } from '../clock.js';
import type { UpstreamConfig } from '../config/schema.js';
import type { Logger } from '../log.js';
import { isIpLiteral } from '../net/address.js';
import type { StripEvidence } from '../validator/types.js';
import { RRClass, Rcode, rcodeToText, typeToText, type Message, type Name } from '../wire/index.js';
import { makeQuestion, noIgnored, questionKey, totalIgnored, type IgnoredCounts, type UpstreamQuestion } from './query.js';
import { failureReason, type Attempt, type AttemptOutcome, type UpstreamResult } from './result.js';
import { dnssecAvailable, selectUpstreams, type QueryOptions, type UnusableUpstream, type UpstreamNeed } from './select.js';
import { DEFAULT_HOLD_DOWN, UpstreamState, type FailureCause, type HoldDownPolicy, type UpstreamSnapshot } from './state.js';
import { exchange, type ExchangeOptions, type ExchangeOutcome, type UpstreamEndpoint } from './transport.js';

export type { Attempt, AttemptOutcome, FailureReason, UpstreamResult } from './result.js';
export type { QueryOptions, UpstreamNeed, UnusableUpstream } from './select.js';

/** What a health monitor hears from the pool. */
export interface PoolHooks {
  /** After every attempt (the state's health and counters already updated). */
  onAttempt?(st: UpstreamState, outcome: AttemptOutcome): void;
  /** An answer of `upstream` lacked DNSSEC records that another DNSSEC-capable upstream supplied. */
  onStripped?(st: UpstreamState, evidence: StripEvidence): void;
}

/** The pool (or pools, per domain) that answers a question: what the resolver and the chain of trust ask. */
export interface PoolRoutes {
  poolFor(name: Name, type: number): RoutedPool;
  /** Whether the question goes to the default (global) upstreams, not to a domain-specific forward zone. */
  isDefaultRoute?(name: Name, type: number): boolean;
}

/** The part of a pool the resolver and the chain of trust use. */
export interface RoutedPool {
  query(name: Name, type: number, klass?: number, opts?: QueryOptions): Promise<UpstreamResult>;
  /** Report an answer that lacked DNSSEC records another upstream supplied (a strike against `upstream`). */
  reportStripped?(upstream: string, evidence: StripEvidence): void;
  /** Whether a validated query could go to a reachable DNSSEC-capable upstream right now. */
  dnssecReachable?(): boolean;
  /** Upstreams unusable for validated queries right now (for error texts). */
  unusableForDnssec?(): readonly UnusableUpstream[];
}

/** How one exchange is carried out; the default is the UDP/TCP transport. */
export type Exchanger = (up: UpstreamEndpoint, q: UpstreamQuestion, opts: ExchangeOptions) => Promise<ExchangeOutcome>;

export interface PoolOptions {
  /** Clock for hold-down times (default: the system clock). Network timeouts use real timers. */
  readonly clock?: Clock;
  readonly logger?: Logger;
  /** Per-attempt timeout for each pass over the upstreams; the last value repeats. Default [1500, 3000]. */
  readonly attemptTimeoutsMs?: readonly number[];
  /** Deadline for a whole query, all attempts included. Default 5000. */
  readonly totalTimeoutMs?: number;
  /** Passes over the upstreams. Default 3. */
  readonly maxRounds?: number;
  /** Pause before the second pass, doubled for each further one. Default 100. */
  readonly retryDelayMs?: number;
  /** An attempt is not started with less time than this left. Default 50. */
  readonly minAttemptMs?: number;
  readonly holdDown?: Partial<HoldDownPolicy>;
  readonly exchange?: Exchanger;
}

export interface PoolStats {
  /** Calls to query(). */
  readonly queries: number;
  /** Calls answered by joining an identical query already in flight. */
  readonly coalesced: number;
  /** Distinct questions currently being asked upstream. */
  readonly inFlight: number;
}

/** How an rcode is treated: accepted, or failed over (and whether the upstream is held down for it). */
type RcodeVerdict = { readonly kind: 'accept' } | { readonly kind: 'failover'; readonly holdDown: boolean };

function judgeRcode(rcode: number): RcodeVerdict {
  switch (rcode) {
    // SERVFAIL usually concerns one name (broken authorities), not the upstream: ask elsewhere, keep it up.
    case Rcode.SERVFAIL:
      return { kind: 'failover', holdDown: false };
    // The upstream will not serve us, or does not understand our (EDNS) query: useless until further notice.
    case Rcode.REFUSED:
    case Rcode.NOTIMP:
    case Rcode.FORMERR:
    case Rcode.BADVERS:
      return { kind: 'failover', holdDown: true };
    default:
      return { kind: 'accept' };
  }
}

export class UpstreamPool implements RoutedPool, PoolRoutes {
  private readonly states: UpstreamState[];
  private readonly clock: Clock;
  private readonly logger: Logger | undefined;
  private readonly timeouts: readonly number[];
  private readonly totalTimeoutMs: number;
  private readonly maxRounds: number;
  private readonly retryDelayMs: number;
  private readonly minAttemptMs: number;
  private readonly exchange: Exchanger;
  private readonly inflight = new Map<string, Promise<UpstreamResult>>();
  private queries = 0;
  private coalesced = 0;
  private hooks: PoolHooks = {};
  /** Held by a health monitor until the first probes have spoken: validated queries wait for it. */
  private gate: Promise<void> | undefined;
  /** With a health monitor, unprobed upstreams are not used for validated queries. */
  private strict = false;

  constructor(upstreams: readonly UpstreamConfig[], opts: PoolOptions = {}) {
    for (const u of upstreams) {
      if (!isIpLiteral(u.address)) throw new RangeError(`upstream address "${u.address}" is not an IP address`);
      if (!Number.isInteger(u.port) || u.port < 1 || u.port > 65535) throw new RangeError(`upstream port ${u.port} is out of range`);
    }
    const policy: HoldDownPolicy = { ...DEFAULT_HOLD_DOWN, ...opts.holdDown };
    this.states = upstreams.map((u, i) => new UpstreamState(u, i, policy));
    this.clock = opts.clock ?? systemClock;
    this.logger = opts.logger;
    this.timeouts = opts.attemptTimeoutsMs && opts.attemptTimeoutsMs.length > 0 ? opts.attemptTimeoutsMs : [1500, 3000];
    this.totalTimeoutMs = opts.totalTimeoutMs ?? 5000;
    this.maxRounds = opts.maxRounds ?? 3;
    this.retryDelayMs = opts.retryDelayMs ?? 100;
    this.minAttemptMs = opts.minAttemptMs ?? 50;
    this.exchange = opts.exchange ?? exchange;
  }

  /**
   * Ask the upstreams that suit `opts.need` (default: any). Identical questions in flight (name
   * compared case-insensitively, type, class, need and exclusions) share one upstream query and
   * one result. Never rejects.
   */
  query(name: Name, type: number, klass: number = RRClass.IN, opts: QueryOptions = {}): Promise<UpstreamResult> {
    this.queries++;
    const q = makeQuestion(name, type, klass);
    const need = opts.need ?? 'any';
    const exclude = opts.exclude && opts.exclude.size > 0 ? opts.exclude : undefined;
    const key = `${questionKey(q)}|${need}|${exclude ? [...exclude].sort().join(',') : ''}`;
    // A re-ask after a BOGUS answer: the upstreams asked before are the ones doubted.
    if (exclude) for (const st of this.states) if (exclude.has(st.label)) st.counters.bogusReasks++;
    const pending = this.inflight.get(key);
    if (pending) {
      this.coalesced++;
      return pending;
    }
    const p = this.run(q, need, exclude).finally(() => this.inflight.delete(key));
    this.inflight.set(key, p);
    return p;
  }

  /** A single pool routes every name to itself. */
  poolFor(): UpstreamPool {
    return this;
  }

  /** For the health monitor: hooks, and the first probes' gate (validated queries wait for it). */
  attach(hooks: PoolHooks, gate?: Promise<void>): void {
    this.hooks = hooks;
    this.strict = true;
    this.gate = gate?.then(() => {
      this.gate = undefined;
    });
  }

  /** The live states, for the health monitor (everyone else reads snapshot()). */
  upstreamStates(): readonly UpstreamState[] {
    return this.states;
  }

  /** The exchanger, so that probes go through the same transport as queries. */
  exchanger(): Exchanger {
    return this.exchange;
  }

  reportStripped(upstream: string, evidence: StripEvidence): void {
    const st = this.states.find((s) => s.label === upstream);
    if (!st) return;
    st.counters.strippedAnswers++;
    this.logger?.warn({ upstream, ...evidence }, 'upstream answer lacked DNSSEC records another upstream supplied');
    this.hooks.onStripped?.(st, evidence);
  }

  dnssecReachable(): boolean {
    return dnssecAvailable(this.states, this.clock.now(), this.strict);
  }

  unusableForDnssec(): readonly UnusableUpstream[] {
    return selectUpstreams(this.states, this.clock.now(), 'dnssec', undefined, this.strict).unusable;
  }

  /** Read-only state of every upstream, in configured order. */
  snapshot(): readonly UpstreamSnapshot[] {
    return this.states.map((s) => s.snapshot());
  }

  stats(): PoolStats {
    return { queries: this.queries, coalesced: this.coalesced, inFlight: this.inflight.size };
  }

  private async run(q: UpstreamQuestion, need: UpstreamNeed, exclude: ReadonlySet<string> | undefined): Promise<UpstreamResult> {
    if (need !== 'any' && this.gate) await this.gate;
    const attempts: Attempt[] = [];
    const deadline = performance.now() + this.totalTimeoutMs;
    // Upstreams that answered with an error rcode: asking them again in this query would not help.
    const answeredBadly = new Set<UpstreamState>();
    let lastErrorResponse: Message | undefined;
    rounds: for (let round = 0; round < this.maxRounds; round++) {
      if (round > 0) {
        const pause = Math.min(this.retryDelayMs * 2 ** (round - 1), deadline - performance.now() - this.minAttemptMs);
        if (pause > 0) await sleep(pause);
      }
      const order = selectUpstreams(this.states, this.clock.now(), need, exclude, this.strict).order.filter((s) => !answeredBadly.has(s));
      if (order.length === 0) break;
      const timeout = this.timeouts[Math.min(round, this.timeouts.length - 1)]!;
      for (const st of order) {
        const left = deadline - performance.now();
        if (left < this.minAttemptMs) break rounds;
        const { attempt, message } = await this.attempt(st, q, round, Math.min(timeout, left), deadline);
        attempts.push(attempt);
        switch (attempt.outcome.kind) {
          case 'answer':
            return { kind: 'answer', message: message!, upstream: st.label, transport: attempt.transport, rttMs: attempt.elapsedMs, attempts };
          case 'rcode-failure':
            answeredBadly.add(st);
            lastErrorResponse = message;
            break;
          case 'timeout':
          case 'network-error':
            break;
        }
      }
    }
    const unusable = selectUpstreams(this.states, this.clock.now(), need, exclude, this.strict).unusable;
    const reason = attempts.length === 0 && (need === 'dnssec' || need === 'insecure') && unusable.length > 0
      ? (need === 'dnssec' ? 'no-dnssec-upstream' : 'no-upstreams')
      : failureReason(attempts);
    this.logger?.debug({ ...this.qfields(q), need, reason, attempts: attempts.length, unusable }, 'upstream query failed');
    return {
      kind: 'failure', reason, attempts, ...(lastErrorResponse ? { lastErrorResponse } : {}), ...(unusable.length ? { unusable } : {}),
    };
  }

  /** One exchange with one upstream, with its bookkeeping and logging. */
  private async attempt(
    st: UpstreamState, q: UpstreamQuestion, round: number, timeoutMs: number, deadline: number,
  ): Promise<{ attempt: Attempt; message?: Message }> {
    const startedAt = this.clock.now();
    const wasHeldDown = st.isHeldDown(startedAt);
    st.counters.queries++;
    st.inFlight++;
    let out: ExchangeOutcome;
    try {
      out = await this.exchange(st.config, q, { timeoutMs, deadline });
    } catch (e) {
      // A custom exchanger broke its contract: treat it as a network error rather than reject.
      const err = e as NodeJS.ErrnoException;
      out = {
        kind: 'network-error', transport: 'udp', elapsedMs: 0, tcpFallback: false, ignored: noIgnored(), ignoredTotal: noIgnored(),
        error: { phase: 'socket', code: typeof err?.code === 'string' ? err.code : 'EUNKNOWN', message: String(err?.message ?? e) },
      };
    } finally {
      st.inFlight--;
    }
    addIgnored(st.counters.ignored, out.ignoredTotal);
    if (out.tcpFallback) st.counters.tcpFallbacks++;
    const now = this.clock.now();
    let outcome: AttemptOutcome;
    let message: Message | undefined;
    let elapsedMs: number;
    let cause: FailureCause | undefined;
    switch (out.kind) {
      case 'response': {
        message = out.message;
        elapsedMs = out.rttMs;
        st.rtt.observe(out.rttMs);
        const verdict = judgeRcode(out.message.rcode);
        if (verdict.kind === 'accept') {
          outcome = { kind: 'answer', rcode: out.message.rcode };
          st.counters.answers++;
          const wasDown = st.health.kind === 'down';
          st.recordAnswer(now, out.rttMs);
          if (wasDown) this.logger?.info({ upstream: st.label }, 'upstream answers again');
        } else {
          outcome = { kind: 'rcode-failure', rcode: out.message.rcode };
          if (out.message.rcode === Rcode.SERVFAIL) st.counters.servfail++;
          else if (out.message.rcode === Rcode.REFUSED) st.counters.refused++;
          else st.counters.otherErrorRcodes++;
          if (verdict.holdDown) cause = { kind: 'rcode', rcode: out.message.rcode };
        }
        break;
      }
      case 'timeout':
        elapsedMs = out.elapsedMs;
        outcome = { kind: 'timeout' };
        st.counters.timeouts++;
        cause = { kind: 'timeout' };
        break;
      case 'network-error':
        elapsedMs = out.elapsedMs;
        outcome = { kind: 'network-error', error: out.error };
        st.counters.networkErrors++;
        cause = { kind: 'network-error', error: out.error };
        break;
    }
    const attempt: Attempt = {
      upstream: st.label, priority: st.config.priority, transport: out.transport, tcpFallback: out.tcpFallback,
      wasHeldDown, round, timeoutMs, startedAt, elapsedMs, outcome, ignoredPackets: totalIgnored(out.ignoredTotal),
    };
    if (this.logger && (this.logger.isLevelEnabled?.('debug') ?? true)) this.logger.debug({
      ...this.qfields(q), upstream: st.label, transport: out.transport, tcpFallback: out.tcpFallback, outcome: outcome.kind,
      rcode: message ? rcodeToText(message.rcode) : undefined, answers: message?.answer.length, rttMs: Math.round(elapsedMs * 10) / 10,
      round, wasHeldDown, ignoredPackets: attempt.ignoredPackets,
      error: outcome.kind === 'network-error' ? outcome.error.code : undefined,
    }, 'upstream query');
    if (cause) {
      const effect = st.recordFailure(now, startedAt, cause);
      if (effect.kind === 'marked-down') {
        this.logger?.warn({
          upstream: st.label, cause: cause.kind, holdDownMs: effect.until - now, consecutiveFailures: effect.consecutiveFailures,
        }, 'upstream marked down');
      }
    }
    this.hooks.onAttempt?.(st, outcome);
    return message ? { attempt, message } : { attempt };
  }

  private qfields(q: UpstreamQuestion): { qname: string; qtype: string; qclass: number } {
    return { qname: q.name.toText(), qtype: typeToText(q.type), qclass: q.class };
  }
}

function addIgnored(into: IgnoredCounts, from: IgnoredCounts): void {
  for (const k of Object.keys(from) as (keyof IgnoredCounts)[]) into[k] += from[k];
}
