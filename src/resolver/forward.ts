/**
 * The query handler for the forwarding daemon: asks the upstream pool and shapes the answer for the client.
 * (The validator and the cache slot in here in later issues; the server stays unaware of them.)
 */
import { EdeCode, Rcode, RRType, rcodeToText, typeToText, type Message, type RR } from '../wire/index.js';
import type { Answer, ClientInfo, Logger, QueryHandler } from '../server/types.js';
import { stripDnssec } from '../server/responder.js';
import type { UpstreamPool, UpstreamResult } from '../upstream/pool.js';

/** Lowest TTL of the records that make up the answer (for logs and, later, the cache). */
export function answerTtl(rrs: readonly RR[]): number | undefined {
  let min: number | undefined;
  for (const rr of rrs) if (rr.type !== RRType.OPT) min = min === undefined ? rr.ttl : Math.min(min, rr.ttl);
  return min;
}

function upstreamFailure(result: Extract<UpstreamResult, { kind: 'failure' }>, q: string): Answer {
  // No answer from any upstream: never dress this up as BOGUS. EDE 22 when nothing answered, 23 on network errors.
  const code = result.reason === 'timeout' ? EdeCode.NO_REACHABLE_AUTHORITY : EdeCode.NETWORK_ERROR;
  return {
    rcode: Rcode.SERVFAIL,
    answer: [],
    authority: [],
    additional: [],
    ede: [{ code, text: `no upstream answered ${q}: ${result.reason}` }],
  };
}

export function forwardingHandler(pool: Pick<UpstreamPool, 'query'>, logger?: Logger): QueryHandler {
  return async (query: Message, client: ClientInfo): Promise<Answer> => {
    const q = query.question[0]!;
    const qtext = `${q.name.toText()} ${typeToText(q.type)}`;
    const result = await pool.query(q.name, q.type, q.class);
    if (result.kind === 'failure') {
      logger?.debug({ client: client.address, query: qtext, failure: result.reason }, 'no upstream answer');
      return upstreamFailure(result, qtext);
    }
    const m = result.message;
    const dnssecOk = query.edns?.dnssecOk ?? false;
    const shape = (rrs: RR[]): RR[] => (dnssecOk ? rrs : stripDnssec(rrs, q.type));
    const answer: Answer = {
      rcode: m.rcode,
      // No validation yet: AD is never claimed (the upstream's AD means nothing, we asked with CD).
      flags: { ad: false, ra: true },
      answer: shape(m.answer),
      authority: shape(m.authority),
      additional: shape(m.additional),
    };
    logger?.debug(
      {
        client: client.address,
        query: qtext,
        upstream: result.upstream,
        transport: result.transport,
        rcode: rcodeToText(m.rcode),
        answers: m.answer.length,
        ttl: answerTtl(m.answer.length ? m.answer : m.authority),
        rttMs: result.rttMs,
      },
      'answered',
    );
    return answer;
  };
}
