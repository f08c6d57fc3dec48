/**
 * "No usable upstream": why a question got no answer we may validate, and the SERVFAIL text for it.
 * Never BOGUS: EDE 22 (No Reachable Authority) when nothing answered in time or nothing DNSSEC-capable
 * is left, 23 (Network Error) for network errors and error rcodes. The text names the upstreams that
 * were tried and the ones that are not DNSSEC-capable, e.g.
 * "no DNSSEC-capable upstream reachable for www.example. MX (127.0.0.2:53: network error); 127.0.0.3:53 is not DNSSEC-capable".
 */
import type { FailureReason, UpstreamResult } from '../upstream/result.js';
import type { UnusableUpstream } from '../upstream/select.js';
import { EdeCode } from '../wire/index.js';

export interface AttemptSummary {
  readonly upstream: string;
  /** 'timeout', 'network error ECONNREFUSED', 'SERVFAIL', ... */
  readonly outcome: string;
}

export type UpstreamFailureCause =
  /** Validated query, and no upstream is DNSSEC-capable right now: none was asked. */
  | { readonly kind: 'no-dnssec-upstream'; readonly unusable: readonly UnusableUpstream[] }
  /** Upstreams were asked and none answered (for a validated query: only DNSSEC-capable ones were asked). */
  | {
    readonly kind: 'no-answer';
    readonly validated: boolean;
    readonly reason: FailureReason;
    readonly attempts: readonly AttemptSummary[];
    readonly unusable: readonly UnusableUpstream[];
  }
  /** The answer came, but the chain of trust's DS/DNSKEY could not be fetched and no DNSSEC-capable upstream is reachable now. */
  | { readonly kind: 'chain-unreachable'; readonly detail: string; readonly unusable: readonly UnusableUpstream[] };

type Failure = Extract<UpstreamResult, { kind: 'failure' }>;

export function causeOf(r: Failure, validated: boolean): UpstreamFailureCause {
  const unusable = r.unusable ?? [];
  if (r.reason === 'no-dnssec-upstream') return { kind: 'no-dnssec-upstream', unusable };
  const attempts = r.attempts.map((a) => ({
    upstream: a.upstream,
    outcome: a.outcome.kind === 'network-error' ? `network error ${a.outcome.error.code}`
      : a.outcome.kind === 'rcode-failure' ? `rcode ${a.outcome.rcode}`
      : a.outcome.kind,
  }));
  return { kind: 'no-answer', validated, reason: r.reason, attempts, unusable };
}

/** Whether asking a non-DNSSEC upstream instead (insecure fallback) is in order: nothing DNSSEC-capable could be reached. */
export function unreachableCause(c: UpstreamFailureCause): boolean {
  return c.kind !== 'no-answer' || (c.validated && c.reason !== 'all-servfail');
}

function unusableText(list: readonly UnusableUpstream[]): string[] {
  const out: string[] = [];
  for (const u of list) {
    if (u.why === 'not-capable') out.push(`${u.upstream} is not DNSSEC-capable`);
    else if (u.why === 'unreachable') out.push(`${u.upstream} is unreachable`);
    else if (u.why === 'unprobed') out.push(`${u.upstream} is not probed yet`);
  }
  return out;
}

function tried(attempts: readonly AttemptSummary[]): string {
  const seen = new Map<string, string>();
  for (const a of attempts) seen.set(a.upstream, a.outcome);
  return [...seen].map(([u, o]) => `${u}: ${o}`).join(', ');
}

/** The EDE code and EXTRA-TEXT for a client whose question got no usable upstream answer. */
export function failureEde(cause: UpstreamFailureCause, qtext: string): { code: number; text: string } {
  const others = unusableText(cause.unusable);
  const tail = others.length ? `; ${others.join('; ')}` : '';
  switch (cause.kind) {
    case 'no-dnssec-upstream':
      return { code: EdeCode.NO_REACHABLE_AUTHORITY, text: `no DNSSEC-capable upstream reachable for ${qtext}${tail}` };
    case 'chain-unreachable':
      return { code: EdeCode.NO_REACHABLE_AUTHORITY, text: `no DNSSEC-capable upstream reachable for ${qtext} (${cause.detail})${tail}` };
    case 'no-answer': {
      const code = cause.reason === 'timeout' || cause.reason === 'no-upstreams' ? EdeCode.NO_REACHABLE_AUTHORITY : EdeCode.NETWORK_ERROR;
      const how = cause.attempts.length ? tried(cause.attempts) : cause.reason;
      if (cause.validated && cause.reason !== 'all-servfail') return { code, text: `no DNSSEC-capable upstream reachable for ${qtext} (${how})${tail}` };
      return { code, text: `no upstream answered ${qtext}: ${cause.reason}${cause.attempts.length ? ` (${how})` : ''}` };
    }
  }
}
