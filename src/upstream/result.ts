/** What a pool query returns: an answer from one upstream, or a failure with every attempt made. */
import { Rcode, type Message } from '../wire/index.js';
import type { UnusableUpstream } from './select.js';
import type { NetworkFailure, TransportKind } from './transport.js';

/** How one attempt (one exchange with one upstream) ended. */
export type AttemptOutcome =
  /** An answer we accept (NOERROR, NXDOMAIN, ...). */
  | { readonly kind: 'answer'; readonly rcode: number }
  /** An answer whose rcode makes us ask elsewhere (SERVFAIL, REFUSED, FORMERR, NOTIMP, ...). */
  | { readonly kind: 'rcode-failure'; readonly rcode: number }
  | { readonly kind: 'timeout' }
  | { readonly kind: 'network-error'; readonly error: NetworkFailure };

export interface Attempt {
  /** `address:port` of the upstream asked. */
  readonly upstream: string;
  readonly priority: number;
  /** Transport of the last leg (tcp after a truncated UDP answer). */
  readonly transport: TransportKind;
  readonly tcpFallback: boolean;
  /** Asked while held down, as a last resort. */
  readonly wasHeldDown: boolean;
  /** 0 for the first pass over the upstreams, 1 for the first retry pass, ... */
  readonly round: number;
  readonly timeoutMs: number;
  /** Clock ms when the attempt started. */
  readonly startedAt: number;
  readonly elapsedMs: number;
  readonly outcome: AttemptOutcome;
  /** Packets ignored during the attempt (not matching the query, or unparsable). */
  readonly ignoredPackets: number;
}

export type FailureReason =
  /** No upstream is configured (or the deadline left no time to ask any). */
  | 'no-upstreams'
  /** A validated query, and no upstream is DNSSEC-capable (none was asked: see `unusable`). */
  | 'no-dnssec-upstream'
  /** Every attempt timed out. */
  | 'timeout'
  /** Every attempt failed at the network level (refused, unreachable, reset). */
  | 'network-error'
  /** Every upstream that answered said SERVFAIL (others, if any, did not answer). */
  | 'all-servfail'
  /** Every upstream that answered said REFUSED (others, if any, did not answer). */
  | 'all-refused'
  /** Upstreams answered with a mix of error rcodes. */
  | 'error-rcodes'
  /** Timeouts mixed with network errors. */
  | 'unreachable';

export type UpstreamResult =
  | {
    readonly kind: 'answer';
    /** Shared between coalesced callers: treat as read-only. */
    readonly message: Message;
    readonly upstream: string;
    readonly transport: TransportKind;
    readonly rttMs: number;
    /** All attempts, the successful one last. */
    readonly attempts: readonly Attempt[];
  }
  | {
    readonly kind: 'failure';
    readonly reason: FailureReason;
    readonly attempts: readonly Attempt[];
    /** The last error response received (e.g. SERVFAIL with an Extended DNS Error), if any. */
    readonly lastErrorResponse?: Message;
    /** Upstreams the query could not use (not DNSSEC-capable, unreachable, excluded). */
    readonly unusable?: readonly UnusableUpstream[];
  };

/**
 * Summarize failed attempts. Error rcodes say more than silence, so when some upstream answered
 * with an error the reason describes those answers; otherwise it says why nobody answered.
 */
export function failureReason(attempts: readonly Attempt[]): FailureReason {
  if (attempts.length === 0) return 'no-upstreams';
  const rcodes = attempts.flatMap((a) => (a.outcome.kind === 'rcode-failure' ? [a.outcome.rcode] : []));
  if (rcodes.length > 0) {
    if (rcodes.every((r) => r === Rcode.SERVFAIL)) return 'all-servfail';
    if (rcodes.every((r) => r === Rcode.REFUSED)) return 'all-refused';
    return 'error-rcodes';
  }
  if (attempts.every((a) => a.outcome.kind === 'timeout')) return 'timeout';
  if (attempts.every((a) => a.outcome.kind === 'network-error')) return 'network-error';
  return 'unreachable';
}
