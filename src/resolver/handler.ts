/**
 * The query handler the listener calls: resolve (validate) and turn the outcome into the client's answer.
 * SECURE: AD when the client set DO or AD (RFC 6840 §5.7-5.8). INSECURE: no AD. BOGUS: SERVFAIL with an
 * Extended DNS Error naming the name, type and reason. CD=1: the data as received, no AD, never SERVFAIL
 * for bogus. DNSSEC records only for clients that set DO. Upstream failures are never reported as BOGUS.
 */
import type { Answer, ClientInfo, Logger, QueryHandler } from '../server/types.js';
import { stripDnssec } from '../server/responder.js';
import { describeReason, edeFor } from '../validator/ede.js';
import type { Verdict } from '../validator/types.js';
import { EdeCode, Rcode, RRType, rcodeToText, typeToText, type Message, type RR } from '../wire/index.js';
import type { Resolution, Resolver } from './resolve.js';

/** Lowest TTL of the records that make up the answer (for logs and the cache). */
export function answerTtl(rrs: readonly RR[]): number | undefined {
  let min: number | undefined;
  for (const rr of rrs) if (rr.type !== RRType.OPT) min = min === undefined ? rr.ttl : Math.min(min, rr.ttl);
  return min;
}

function servfail(code: number, text: string): Answer {
  return { rcode: Rcode.SERVFAIL, answer: [], authority: [], additional: [], ede: [{ code, text }] };
}

/** No upstream answered: EDE 22 (No Reachable Authority) when nothing answered in time, else 23 (Network Error). */
export function upstreamFailureAnswer(reason: string, q: string): Answer {
  const code = reason === 'timeout' || reason === 'no-upstreams' ? EdeCode.NO_REACHABLE_AUTHORITY : EdeCode.NETWORK_ERROR;
  return servfail(code, `no upstream answered ${q}: ${reason}`);
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

/** Shape a resolution for one client. */
export function answerFor(query: Message, res: Resolution, qtext: string): Answer {
  const q = query.question[0]!;
  const dnssecOk = query.edns?.dnssecOk ?? false;
  const shape = (rrs: RR[]): RR[] => (dnssecOk ? rrs : stripDnssec(rrs, q.type));
  switch (res.kind) {
    case 'upstream-failure':
      return upstreamFailureAnswer(res.reason, qtext);
    case 'unchecked':
      return { rcode: res.rcode, flags: { ad: false }, answer: shape(res.answer), authority: shape(res.authority), additional: shape(res.additional) };
    case 'answer': {
      const v = res.verdict;
      if (v.security === 'bogus') {
        const ede = edeFor(v.reason);
        // The text names the query and the failing name, type and reason (which may be another zone's keys).
        return servfail(ede.code, ede.text.startsWith(qtext) ? ede.text : `${qtext}: ${ede.text}`);
      }
      if (v.security === 'indeterminate') return servfail(EdeCode.DNSSEC_INDETERMINATE, `${qtext}: ${v.detail}`);
      const wantsAd = dnssecOk || query.flags.ad;
      const answer: Answer = {
        rcode: res.rcode,
        flags: { ad: v.security === 'secure' && wantsAd },
        answer: shape(res.answer),
        authority: shape(res.authority),
        additional: shape(res.additional),
      };
      // Informational EDE for answers that are insecure only because we cannot check them.
      if (v.security === 'insecure' && ['unsupported-algorithm', 'unsupported-digest', 'nsec3-iterations'].includes(v.reason.kind)) {
        answer.ede = [edeFor(v.reason)];
      }
      return answer;
    }
  }
}

export function validatingHandler(resolver: Resolver, logger?: Logger): QueryHandler {
  return async (query: Message, client: ClientInfo): Promise<Answer> => {
    const q = query.question[0]!;
    const qtext = `${q.name.toText()} ${typeToText(q.type)}`;
    const res = await resolver.resolve(q, { checkingDisabled: query.flags.cd });
    const answer = answerFor(query, res, qtext);
    if (logger) {
      const status = res.kind === 'answer' ? verdictSummary(res.verdict) : res.kind;
      logger.debug(
        {
          client: client.address,
          query: qtext,
          upstreams: res.upstreams,
          status,
          rcode: rcodeToText(answer.rcode),
          answers: answer.answer.length,
          ttl: answerTtl(answer.answer.length ? answer.answer : answer.authority),
          trail: res.kind === 'answer' ? res.verdict.trail : undefined,
        },
        `${qtext} ${status}`,
      );
    }
    return answer;
  };
}
