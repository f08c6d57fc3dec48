/**
 * From a Resolution to the client's answer (resolver/cached.ts is the query handler the listener calls).
 * SECURE: AD when the client set DO or AD (RFC 6840 §5.7-5.8). INSECURE: no AD. BOGUS: SERVFAIL with an
 * Extended DNS Error naming the name, type and reason. CD=1: the data as received, no AD, never SERVFAIL
 * for bogus. DNSSEC records only for clients that set DO. Upstream failures are never reported as BOGUS.
 *
 * Two steps: `outcomeOf` says what a resolution means for every client (an `Outcome`, cache/outcome.ts: what the cache stores), and
 * `shapeOutcome` applies one client's DO and AD bits to it.
 */
import type { Outcome } from '../cache/outcome.js';
import type { Answer } from '../server/types.js';
import { describeReason, edeFor } from '../validator/ede.js';
import type { Verdict } from '../validator/types.js';
import { EdeCode, Rcode, RRType, stripDnssec, typeToText, type EdeEntry, type Message, type RR } from '../wire/index.js';
import { failureEde, type UpstreamFailureCause } from './failure.js';
import type { Resolution } from './resolve.js';

/** Lowest TTL of the records that make up the answer (for logs and the cache). */
export function answerTtl(rrs: readonly RR[]): number | undefined {
  let min: number | undefined;
  for (const rr of rrs) if (rr.type !== RRType.OPT) min = min === undefined ? rr.ttl : Math.min(min, rr.ttl);
  return min;
}

/** No upstream answered: EDE 22 (No Reachable Authority) when nothing answered in time, else 23 (Network Error). */
export function upstreamFailureEde(reason: string, q: string): EdeEntry {
  const code = reason === 'timeout' || reason === 'no-upstreams' ? EdeCode.NO_REACHABLE_AUTHORITY : EdeCode.NETWORK_ERROR;
  return { code, text: `no upstream answered ${q}: ${reason}` };
}

/** One line for logs: status and why. */
export function verdictSummary(v: Verdict): string {
  switch (v.security) {
    case 'secure':
      return `secure ${v.kind}`;
    case 'insecure':
      return `insecure ${v.kind}: ${describeReason(v.reason)}`;
    case 'bogus':
      return `bogus ${v.kind}: ${describeReason(v.reason)}`;
    case 'indeterminate':
      return `indeterminate ${v.kind}: ${v.detail}`;
  }
}

/** Insecure reasons that get an informational EDE: the answer is insecure only because we cannot check it. */
const CANNOT_CHECK: ReadonlySet<string> = new Set(['unsupported-algorithm', 'unsupported-digest', 'nsec3-iterations']);

/**
 * The meaning of a resolution for every client. Any resolution other than 'answer' and 'unchecked'
 * (an upstream failure, or a kind added later) is a failure: SERVFAIL with EDE 22/23, never BOGUS.
 */
export function outcomeOf(res: Resolution, qtext: string): Outcome {
  if (res.kind === 'unchecked') {
    return { kind: 'data', status: 'unchecked', rcode: res.rcode, answer: res.answer, authority: res.authority, additional: res.additional, ede: [], ttlCap: undefined };
  }
  if (res.kind !== 'answer') {
    // The structured cause names the upstreams tried and the ones that are not DNSSEC-capable (failure.ts).
    const cause = (res as { cause?: UpstreamFailureCause }).cause;
    if (cause) return { kind: 'servfail', status: 'failure', ede: [failureEde(cause, qtext)] };
    const r = (res as { reason?: unknown }).reason;
    return { kind: 'servfail', status: 'failure', ede: [upstreamFailureEde(typeof r === 'string' ? r : String((res as { kind: string }).kind), qtext)] };
  }
  const v = res.verdict;
  switch (v.security) {
    case 'bogus': {
      const ede = edeFor(v.reason);
      // The text names the query and the failing name, type and reason (which may be another zone's keys), and
      // the system clock when it looks wrong (resolver/clock-sanity.ts).
      const text = ede.text.startsWith(qtext) ? ede.text : `${qtext}: ${ede.text}`;
      return { kind: 'servfail', status: 'bogus', ede: [{ code: ede.code, text: res.clockNote ? `${text}; ${res.clockNote}` : text }] };
    }
    case 'indeterminate':
      return { kind: 'servfail', status: 'indeterminate', ede: [{ code: EdeCode.DNSSEC_INDETERMINATE, text: `${qtext}: ${v.detail}` }] };
    case 'secure':
    case 'insecure':
      return {
        kind: 'data',
        status: v.security,
        rcode: res.rcode,
        // The resolver built these from what the validation proved (validator/served.ts), not from the
        // upstream's sections; nothing unvalidated goes under AD, and the additional section stays empty.
        answer: res.answer,
        authority: res.authority,
        additional: [],
        ede: v.security === 'insecure' && CANNOT_CHECK.has(v.reason.kind) ? [edeFor(v.reason)] : [],
        ttlCap: v.ttlCap,
      };
  }
}

/**
 * One client's answer: AD only for secure data and clients that set DO or AD (never with CD, whose data is
 * unchecked); RRSIG/NSEC/NSEC3 only for clients that set DO. `extraEde` is appended (e.g. Stale Answer).
 */
export function shapeOutcome(query: Message, o: Outcome, extraEde?: EdeEntry): Answer {
  if (o.kind === 'servfail') return { rcode: Rcode.SERVFAIL, answer: [], authority: [], additional: [], ede: extraEde ? [...o.ede, extraEde] : o.ede };
  const q = query.question[0]!;
  const dnssecOk = query.edns?.dnssecOk ?? false;
  const shape = (rrs: RR[]): RR[] => (dnssecOk ? rrs : stripDnssec(rrs, q.type));
  const answer: Answer = {
    rcode: o.rcode,
    flags: { ad: o.status === 'secure' && (dnssecOk || query.flags.ad) },
    answer: shape(o.answer),
    authority: shape(o.authority),
    additional: shape(o.additional),
  };
  const ede = extraEde ? [...o.ede, extraEde] : o.ede;
  if (ede.length > 0) answer.ede = ede;
  return answer;
}

/** "name TYPE" as logs and EDE texts show a question. */
export function questionText(query: Message): string {
  const q = query.question[0]!;
  return `${q.name.toText()} ${typeToText(q.type)}`;
}
