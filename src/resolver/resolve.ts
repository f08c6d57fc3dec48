/**
 * The resolver: asks the upstream pool (DO+CD), validates the answer from the trust anchors down,
 * follows CNAME/DNAME chains the upstream stopped short of, and returns the records with their verdict.
 * Used by the query handler (the daemon) and by `dnssec-stubd query` (the trace).
 */
import type { Clock } from '../clock.js';
import type { SignatureVerifier } from '../crypto/types.js';
import { createBudget } from '../validator/budget.js';
import { validateResponse, weakest } from '../validator/response.js';
import type { KeySource, SkewPolicy, ValidationContext, ValidatorLimits, Verdict } from '../validator/types.js';
import type { Message, Question, RR } from '../wire/index.js';
import type { UpstreamPool } from '../upstream/pool.js';

/** What resolving one question produced. */
export type Resolution =
  | {
      kind: 'answer';
      /** RCODE of the last link of the chain (NXDOMAIN at the end of a CNAME chain stays NXDOMAIN). */
      rcode: number;
      answer: RR[];
      authority: RR[];
      additional: RR[];
      verdict: Verdict;
      /** Upstreams that answered, in order (one per chain link). */
      upstreams: string[];
    }
  | {
      kind: 'upstream-failure';
      /** Nothing answered: never reported as BOGUS. */
      reason: string;
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

export interface ResolverDeps {
  pool: Pick<UpstreamPool, 'query'>;
  keys: KeySource;
  crypto: SignatureVerifier;
  clock: Clock;
  limits: ValidatorLimits;
  skew: SkewPolicy;
}

export class Resolver {
  constructor(private readonly deps: ResolverDeps) {}

  /** A fresh validation context (one budget per client query). */
  context(): ValidationContext {
    const { clock, crypto, limits, skew } = this.deps;
    return { clock, crypto, limits, skew, budget: createBudget(limits) };
  }

  async resolve(q: Question, opts: { checkingDisabled?: boolean } = {}): Promise<Resolution> {
    const first = await this.deps.pool.query(q.name, q.type, q.class);
    if (first.kind === 'failure') return { kind: 'upstream-failure', reason: first.reason, upstreams: [] };
    const upstreams = [first.upstream];
    if (opts.checkingDisabled) {
      const m = first.message;
      return { kind: 'unchecked', rcode: m.rcode, answer: m.answer, authority: m.authority, additional: m.additional, upstreams };
    }
    const ctx = this.context();
    let msg: Message = first.message;
    let current: Question = q;
    let result = await validateResponse(current, msg, this.deps.keys, ctx);
    let verdict = result.verdict;
    const answer = [...msg.answer];
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
      const next = await this.deps.pool.query(result.chase.name, result.chase.type, q.class);
      if (next.kind === 'failure') return { kind: 'upstream-failure', reason: next.reason, upstreams };
      upstreams.push(next.upstream);
      current = { name: result.chase.name, type: result.chase.type, class: q.class };
      msg = next.message;
      result = await validateResponse(current, msg, this.deps.keys, ctx);
      verdict = weakest(verdict, result.verdict);
      for (const rr of msg.answer) if (!answer.some((a) => sameRecord(a, rr))) answer.push(rr);
    }
    return {
      kind: 'answer',
      rcode: msg.rcode,
      answer,
      authority: msg.authority,
      additional: msg.additional,
      verdict,
      upstreams,
    };
  }
}

function sameRecord(a: RR, b: RR): boolean {
  return a.type === b.type && a.class === b.class && a.name.equals(b.name) && Buffer.compare(a.rdata, b.rdata) === 0;
}

