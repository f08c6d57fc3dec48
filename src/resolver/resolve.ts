/**
 * The resolver: asks the upstreams (DO+CD), validates the answer from the trust anchors down,
 * follows CNAME/DNAME chains the upstream stopped short of, and returns the records with their verdict.
 * Used by the query handler (the daemon) and by `dnssec-stubd query` (the trace).
 *
 * Upstream choice (issue 4): validated questions go only to DNSSEC-capable upstreams of the pool for
 * the name (forward zones: longest suffix). A BOGUS answer is asked again from other DNSSEC-capable
 * upstreams, up to `bogusConfirmations` in all, and is BOGUS only when none of them gives a
 * non-bogus answer; an upstream whose answer lacked records another one supplied gets a strike.
 * With no DNSSEC-capable upstream reachable the result is 'upstream-failure' (never BOGUS), or, with
 * the insecure fallback for the name, the non-DNSSEC upstream's answer as INSECURE (counted).
 * Names at or below a negative trust anchor are INSECURE without validation.
 */
import type { Clock } from '../clock.js';
import type { SignatureVerifier } from '../crypto/types.js';
import type { PoolRoutes, RoutedPool } from '../upstream/pool.js';
import type { UpstreamResult } from '../upstream/result.js';
import { createBudget } from '../validator/budget.js';
import type { NegativeTrustAnchors } from '../validator/nta.js';
import { validateResponse, weakest, type ResponseValidation } from '../validator/response.js';
import { STRIP_REASONS, type AnswerKind, type BogusReason, type InsecureReason, type KeySource, type SkewPolicy, type ValidationContext, type ValidatorLimits, type Verdict } from '../validator/types.js';
import { synthesize, type DenialView, type Synthesized } from '../validator/synthesis.js';
import type { Learned } from '../validator/learned.js';
import { insecureZone, servedAsReceived, servedRecords } from '../validator/served.js';
import { Name, RRType, Rcode, emptyFlags, typeToText, type Message, type Question, type RR } from '../wire/index.js';
import type { ClockSanity } from './clock-sanity.js';
import { causeOf, unreachableCause, type UpstreamFailureCause } from './failure.js';

export type { UpstreamFailureCause } from './failure.js';

/** What resolving one question produced. */
export type Resolution =
  | {
      kind: 'answer';
      /** RCODE of the last link of the chain (NXDOMAIN at the end of a CNAME chain stays NXDOMAIN). */
      rcode: number;
      /**
       * What the validation proved (validator/served.ts), never the upstream's sections; as received only
       * with a BOGUS or INDETERMINATE verdict, for the trace (never served). No additional section.
       */
      answer: RR[];
      authority: RR[];
      verdict: Verdict;
      /** Upstreams that answered, in order (one per chain link; re-asked ones included). */
      upstreams: string[];
      /** BOGUS for a signature time while the system clock looks wrong: what ClockSanity says, for the EDE text. */
      clockNote?: string;
    }
  | {
      /** No usable upstream answered: never reported as BOGUS (the cache may serve stale for it). */
      kind: 'upstream-failure';
      /** The pool's failure reason ('timeout', 'network-error', 'no-dnssec-upstream', ...). */
      reason: string;
      /** Structured: which upstreams were tried, which are not DNSSEC-capable (always set by Resolver). */
      cause?: UpstreamFailureCause;
      upstreams: string[];
    }
  | {
      /** CD=1 from the client: data as received, not validated. */
      kind: 'unchecked';
      rcode: number;
      answer: RR[];
      authority: RR[];
      additional: RR[];
      upstreams: string[];
    };

export interface ResolveOptions {
  /** CD=1 from the client: the data as received, not validated. */
  checkingDisabled?: boolean;
  /** Ask upstream even when held NSEC/NSEC3 proofs could answer (RFC 8198): a prefetch wants fresh data. */
  upstreamOnly?: boolean;
}

export interface ResolverPolicy {
  /** DNSSEC-capable upstreams that must agree before an answer is BOGUS (default 1). */
  bogusConfirmations?: number;
  /** With no DNSSEC-capable upstream reachable: ask a non-DNSSEC one (INSECURE), for every name or the listed suffixes. */
  insecureFallback?: { enabled: boolean; domains: readonly string[] };
  /** TTL cap (seconds) of insecure-fallback answers, so that they do not outlive the outage in caches (default 5). */
  fallbackTtl?: number;
  negativeTrustAnchors?: NegativeTrustAnchors;
}

export interface ResolverDeps {
  /** Where to ask: a router (per-domain pools) or one pool. */
  pool: PoolRoutes | Pick<RoutedPool, 'query'>;
  keys: KeySource;
  crypto: SignatureVerifier;
  clock: Clock;
  limits: ValidatorLimits;
  skew: SkewPolicy;
  policy?: ResolverPolicy;
  /** Validated NSEC/NSEC3/wildcards for aggressive use (RFC 8198); without it every question goes upstream. */
  aggressive?: DenialView & { learn(l: Learned, now: number): void };
  /** Watches the verdicts for a wrong system clock (clock-sanity.ts). */
  clockSanity?: Pick<ClockSanity, 'observe' | 'edeNote'>;
}

/** Counters for metrics. */
export interface ResolverStats {
  /** Answers given INSECURE from a non-DNSSEC upstream because no DNSSEC-capable one was reachable. */
  insecureFallbackAnswers: number;
  /** Answers given INSECURE because of a negative trust anchor. */
  negativeTrustAnchorAnswers: number;
  /** Bogus answers asked again from another DNSSEC-capable upstream. */
  reasked: number;
  /** Of those, the ones another upstream answered non-bogus (the first one's answer was wrong). */
  reaskRescued: number;
  /** Questions that ended as 'upstream-failure'. */
  upstreamFailures: number;
  /** Questions (chain links included) answered from cached validated NSEC/NSEC3 and wildcards (RFC 8198), not asked upstream. */
  aggressiveAnswers: number;
  /** Resolutions by outcome: the validation status, 'failure' (no usable upstream answered) or 'unchecked' (CD=1). */
  statuses: Record<ResolutionStatus, number>;
  /**
   * Validations that ended BOGUS because a work limit was reached (KeyTrap, NSEC3 hash floods), by the limit:
   * signatures (per RRset or per query), NSEC3 hashes per query, keys per key tag.
   */
  budgetExceeded: Record<BudgetLimit, number>;
}

export type BudgetLimit = Extract<BogusReason, { kind: 'budget-exceeded' }>['what'];

export type ResolutionStatus = Verdict['security'] | 'failure' | 'unchecked';

/** The outcome a resolution is counted under. */
export function resolutionStatus(r: Resolution): ResolutionStatus {
  switch (r.kind) {
    case 'answer': return r.verdict.security;
    case 'unchecked': return 'unchecked';
    case 'upstream-failure': return 'failure';
  }
}

/** The records one link contributes: what its validation proved (served.ts), as received only when bogus or indeterminate (never served then). */
interface LinkRecords {
  answer: RR[];
  authority: RR[];
}

function linkRecords(message: Message, result: ResponseValidation): LinkRecords {
  if (result.served) return { answer: servedRecords(result.served.answer), authority: servedRecords(result.served.authority) };
  const v = result.verdict.security;
  if (v === 'bogus' || v === 'indeterminate') return { answer: message.answer, authority: message.authority };
  return { answer: [], authority: [] };
}

type Link =
  | { kind: 'link'; message: Message; result: ResponseValidation; records: LinkRecords; upstreams: string[] }
  | { kind: 'failure'; failure: Extract<UpstreamResult, { kind: 'failure' }>; upstreams: string[] };

/** Bogus reasons another upstream cannot change: not worth asking again. */
const FINAL_REASONS: ReadonlySet<string> = new Set(['budget-exceeded', 'chain-too-long', 'anchor-gone']);

export class Resolver {
  private readonly counters: Omit<ResolverStats, 'statuses' | 'budgetExceeded'> = { insecureFallbackAnswers: 0, negativeTrustAnchorAnswers: 0, reasked: 0, reaskRescued: 0, upstreamFailures: 0, aggressiveAnswers: 0 };
  private readonly statuses: Record<ResolutionStatus, number> = { secure: 0, insecure: 0, bogus: 0, indeterminate: 0, failure: 0, unchecked: 0 };
  private readonly budgetExceeded: Record<BudgetLimit, number> = { 'signatures': 0, 'nsec3-hashes': 0, 'keys-per-tag': 0 };
  private readonly confirmations: number;
  private readonly fallbackDomains: Name[];

  constructor(private readonly deps: ResolverDeps) {
    this.confirmations = Math.max(1, deps.policy?.bogusConfirmations ?? 1);
    this.fallbackDomains = (deps.policy?.insecureFallback?.domains ?? []).map((d) => Name.fromText(d.endsWith('.') ? d : `${d}.`));
  }

  /** A fresh validation context (one budget per client query). */
  context(): ValidationContext {
    const { clock, crypto, limits, skew } = this.deps;
    return { clock, crypto, limits, skew, budget: createBudget(limits) };
  }

  stats(): Readonly<ResolverStats> {
    return { ...this.counters, statuses: { ...this.statuses }, budgetExceeded: { ...this.budgetExceeded } };
  }

  async resolve(q: Question, opts: ResolveOptions = {}): Promise<Resolution> {
    const r = await this.resolveUncounted(q, opts);
    this.statuses[resolutionStatus(r)]++;
    return r;
  }

  private async resolveUncounted(q: Question, opts: ResolveOptions): Promise<Resolution> {
    const nta = this.deps.policy?.negativeTrustAnchors?.covering(q.name);
    if (opts.checkingDisabled) return this.unvalidated(q);
    if (nta) return this.unvalidated(q, { kind: 'negative-trust-anchor', zone: nta.toText() });
    // RRSIGs are not signed themselves (RFC 4035 §2.2): a question for them gets them as received, INSECURE
    // (no AD), as Unbound and BIND answer it, never a SERVFAIL for "RRSIGs missing".
    if (q.type === RRType.RRSIG) return this.unvalidated(q, { kind: 'not-validated-type', type: 'RRSIG' });
    const ctx = this.context();
    const first = await this.link(q, ctx, opts.upstreamOnly === true);
    if (first.kind === 'failure') return this.failed(q, causeOf(first.failure, true), first.failure.reason, first.upstreams);
    const upstreams = [...first.upstreams];
    let msg: Message = first.message;
    let result = first.result;
    let verdict = result.verdict;
    let records = first.records;
    const answer = [...records.answer];
    let links = 0;
    // The upstream stopped short of the end of a CNAME/DNAME chain: ask for the rest and combine.
    while (result.chase && verdict.security !== 'bogus') {
      if (++links > this.deps.limits.maxChainLength) {
        verdict = weakest(verdict, {
          security: 'bogus', kind: 'cname', trail: [],
          reason: { kind: 'chain-too-long', name: result.chase.name.toText() },
        });
        break;
      }
      const current: Question = { name: result.chase.name, type: result.chase.type, class: q.class };
      const next = await this.link(current, ctx);
      if (next.kind === 'failure') return this.failed(q, causeOf(next.failure, true), next.failure.reason, [...upstreams, ...next.upstreams]);
      upstreams.push(...next.upstreams);
      msg = next.message;
      result = next.result;
      records = next.records;
      verdict = weakest(verdict, result.verdict);
      for (const rr of records.answer) if (!answer.some((a) => sameRecord(a, rr))) answer.push(rr);
    }
    // The chain of trust could not be fetched because nothing DNSSEC-capable is reachable: an upstream failure.
    if (verdict.security === 'indeterminate') {
      const pool = this.route(q.name, q.type);
      if (pool.dnssecReachable && !pool.dnssecReachable()) {
        const cause: UpstreamFailureCause = { kind: 'chain-unreachable', detail: verdict.detail, unusable: pool.unusableForDnssec?.() ?? [] };
        return this.failed(q, cause, 'no-dnssec-upstream', upstreams);
      }
    }
    const clockNote = this.deps.clockSanity?.edeNote(verdict);
    return { kind: 'answer', rcode: msg.rcode, answer, authority: records.authority, verdict, upstreams, ...(clockNote ? { clockNote } : {}) };
  }

  /** Whether `q` goes to the default upstreams (a single pool, or the router's global one). */
  private defaultRoute(q: Question): boolean {
    return (this.deps.pool as Partial<PoolRoutes>).isDefaultRoute?.(q.name, q.type) ?? true;
  }

  private route(name: Name, type: number): Pick<RoutedPool, 'query'> & Partial<RoutedPool> {
    const p = this.deps.pool;
    return 'poolFor' in p ? p.poolFor(name, type) : p;
  }

  /**
   * One question, validated: asked from DNSSEC-capable upstreams only. A BOGUS verdict is asked
   * again from the next upstream not asked yet, up to `confirmations` upstreams; the first
   * non-bogus answer wins (and the ones before it get a strike when their answer lacked records).
   */
  private async link(q: Question, ctx: ValidationContext, upstreamOnly = false): Promise<Link> {
    const cached = upstreamOnly ? undefined : this.synthesized(q, ctx);
    if (cached) return cached;
    const pool = this.route(q.name, q.type);
    const tried = new Set<string>();
    let bogus: Extract<Link, { kind: 'link' }> | undefined;
    for (let i = 0; i < this.confirmations; i++) {
      const r = await pool.query(q.name, q.type, q.class, { need: 'dnssec', ...(tried.size ? { exclude: new Set(tried) } : {}) });
      if (r.kind === 'failure') {
        if (bogus) return bogus; // nobody else to ask: the bogus answers stand
        return { kind: 'failure', failure: r, upstreams: [] };
      }
      tried.add(r.upstream);
      if (bogus) this.counters.reasked++;
      const result = await validateResponse(q, r.message, this.deps.keys, ctx);
      const v = result.verdict;
      this.deps.clockSanity?.observe(v, r.message);
      // Only the default upstreams' view is kept for RFC 8198: a forward zone may serve a private view that
      // the public NSEC chain denies (and the public proofs must never answer for it).
      if (result.learned && this.defaultRoute(q)) this.deps.aggressive?.learn(result.learned, this.deps.clock.now());
      if (v.security !== 'bogus') {
        if (v.security === 'indeterminate' && bogus) continue;
        if (bogus) this.rescued(pool, q, bogus, r.upstream);
        return { kind: 'link', message: r.message, result, records: linkRecords(r.message, result), upstreams: [...tried] };
      }
      bogus ??= { kind: 'link', message: r.message, result, records: linkRecords(r.message, result), upstreams: [] };
      bogus.upstreams.push(r.upstream);
      if (v.reason.kind === 'budget-exceeded') this.budgetExceeded[v.reason.what]++;
      if (FINAL_REASONS.has(v.reason.kind)) return bogus;
    }
    return bogus!;
  }

  /**
   * Answer `q` at once, without asking anyone, when validated NSEC/NSEC3 proofs and wildcards held from
   * earlier secure answers prove it (RFC 8198); undefined otherwise (then resolve() asks upstream).
   * Synchronous, so the answer cache can use it on its fast path. Not for CD=1 questions.
   */
  synthesizeNow(q: Question): Resolution | undefined {
    if (this.deps.policy?.negativeTrustAnchors?.covering(q.name)) return undefined;
    const s = this.synthesis(q, this.context());
    if (!s) return undefined;
    this.statuses[s.verdict.security]++;
    return { kind: 'answer', rcode: s.rcode, answer: s.answer, authority: s.authority, verdict: s.verdict, upstreams: [] };
  }

  private synthesis(q: Question, ctx: ValidationContext): Synthesized | undefined {
    const view = this.deps.aggressive;
    if (!view || !this.defaultRoute(q)) return undefined;
    const s = synthesize(q, view, ctx);
    if (s) this.counters.aggressiveAnswers++;
    return s;
  }

  /** The question answered from cached validated records (RFC 8198), as if an upstream had said it. */
  private synthesized(q: Question, ctx: ValidationContext): Extract<Link, { kind: 'link' }> | undefined {
    const s = this.synthesis(q, ctx);
    if (!s) return undefined;
    const flags = { ...emptyFlags(), qr: true, rd: true, ra: true };
    const message: Message = { id: 0, opcode: 0, flags, rcode: s.rcode, question: [q], answer: s.answer, authority: s.authority, additional: [] };
    const result: ResponseValidation = { verdict: s.verdict };
    if (s.verdict.ttlCap !== undefined) result.ttl = s.verdict.ttlCap;
    return { kind: 'link', message, result, records: { answer: s.answer, authority: s.authority }, upstreams: [] };
  }

  /** Another upstream's answer validated: the bogus ones before it lacked something (a strike each). */
  private rescued(pool: Partial<RoutedPool>, q: Question, bogus: Extract<Link, { kind: 'link' }>, by: string): void {
    this.counters.reaskRescued++;
    const v = bogus.result.verdict;
    if (v.security !== 'bogus' || !STRIP_REASONS.has(v.reason.kind)) return;
    for (const upstream of bogus.upstreams) {
      pool.reportStripped?.(upstream, {
        at: this.deps.clock.now(), name: q.name.toText(), type: typeToText(q.type), reason: v.reason.kind, confirmedBy: by,
      });
    }
  }

  /**
   * Not validated, asked from DNSSEC-capable upstreams first, then any: without `reason` (CD=1) the data
   * as received; with one (a negative trust anchor, a type nothing validates) an INSECURE answer.
   */
  private async unvalidated(q: Question, reason?: InsecureReason): Promise<Resolution> {
    const r = await this.route(q.name, q.type).query(q.name, q.type, q.class, { need: 'prefer-dnssec' });
    if (r.kind === 'failure') return this.failure(causeOf(r, false), r.reason, []);
    const m = r.message;
    const upstreams = [r.upstream];
    if (!reason) return { kind: 'unchecked', rcode: m.rcode, answer: m.answer, authority: m.authority, additional: m.additional, upstreams };
    if (reason.kind === 'negative-trust-anchor') this.counters.negativeTrustAnchorAnswers++;
    return this.insecureAnswer(q, m, reason, upstreams);
  }

  /** No DNSSEC-capable upstream answered: the insecure fallback if it applies to the name, else 'upstream-failure'. */
  private async failed(q: Question, cause: UpstreamFailureCause, reason: string, upstreams: string[]): Promise<Resolution> {
    if (unreachableCause(cause) && this.fallbackFor(q.name)) {
      const r = await this.route(q.name, q.type).query(q.name, q.type, q.class, { need: 'insecure' });
      if (r.kind === 'answer') {
        this.counters.insecureFallbackAnswers++;
        const reason: InsecureReason = { kind: 'insecure-fallback', upstream: r.upstream };
        return this.insecureAnswer(q, r.message, reason, [...upstreams, r.upstream], this.deps.policy?.fallbackTtl ?? 5);
      }
    }
    return this.failure(cause, reason, upstreams);
  }

  private failure(cause: UpstreamFailureCause, reason: string, upstreams: string[]): Resolution {
    this.counters.upstreamFailures++;
    return { kind: 'upstream-failure', reason, cause, upstreams };
  }

  private fallbackFor(name: Name): boolean {
    return this.deps.policy?.insecureFallback?.enabled === true || this.fallbackDomains.some((d) => name.isSubdomainOf(d));
  }

  /**
   * An answer that is INSECURE by policy (never SECURE, never validated): the chain for the question and
   * the authority records inside the zone the reason names, nothing else (served.ts).
   */
  private insecureAnswer(q: Question, m: Message, reason: InsecureReason, upstreams: string[], ttlCap?: number): Resolution {
    const verdict: Verdict = { security: 'insecure', kind: answerKind(q, m), reason, trail: [{ step: 'insecure', reason }], ttlCap };
    const zone = insecureZone(reason);
    const served = servedAsReceived(q, m, zone === undefined ? undefined : Name.fromText(zone), this.deps.limits.maxChainLength);
    return { kind: 'answer', rcode: m.rcode, answer: servedRecords(served.answer), authority: servedRecords(served.authority), verdict, upstreams };
  }
}

function answerKind(q: Question, m: Message): AnswerKind {
  if (m.rcode === Rcode.NXDOMAIN) return 'nxdomain';
  if (m.rcode !== Rcode.NOERROR) return 'other';
  if (m.answer.some((rr) => rr.type === q.type && rr.name.equals(q.name))) return 'positive';
  if (m.answer.some((rr) => rr.type === RRType.CNAME || rr.type === RRType.DNAME)) return 'cname';
  return 'nodata';
}

function sameRecord(a: RR, b: RR): boolean {
  return a.type === b.type && a.class === b.class && a.name.equals(b.name) && Buffer.compare(a.rdata, b.rdata) === 0;
}
