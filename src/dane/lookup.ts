/**
 * The lookups of a DANE check and their DNSSEC status, read from the reply a validating resolver gives an MTA:
 * AD set → SECURE, NOERROR without AD → INSECURE, NXDOMAIN (with AD or not), SERVFAIL with a DNSSEC Extended
 * DNS Error → BOGUS; SERVFAIL with EDE 22/23 (no upstream answered), a timeout or any other reply → NOANSWER.
 *
 * Two ways to ask, one classification:
 * - `dnsLookup`: over DNS to a running daemon (the upstream pool's `exchange`: UDP, TCP when truncated), with RD, AD
 *   and EDNS (for the EDEs);
 * - `handlerLookup`: in process, through a query handler, i.e. the path client queries take in the daemon
 *   (`stack.cached.handler`: the answer cache in front of the validating resolver).
 */
import { EdeCode, Name, decodeEde, RRClass, Rcode, rcodeToText, rrToText, serializeMessage, typeToText, makeQuery, type EdeEntry, type RR } from '../wire/index.js';
import type { Answer, CachedAnswer, QueryHandler } from '../server/types.js';
import { exchange, type UpstreamEndpoint } from '../upstream/transport.js';
import { randomId, type BuiltQuery } from '../upstream/query.js';

export type LookupStatus = 'SECURE' | 'INSECURE' | 'BOGUS' | 'NXDOMAIN' | 'NOANSWER';

export interface LookupResult {
  readonly name: string;
  readonly type: string;
  readonly status: LookupStatus;
  /** The AD bit: for NXDOMAIN, whether the denial was validated. */
  readonly ad: boolean;
  /** The reply's rcode as text; undefined when no reply came. */
  readonly rcode: string | undefined;
  /** The answer section (CNAMEs included), in presentation form. */
  readonly records: readonly string[];
  readonly ede: readonly EdeEntry[];
  /** Why there is no data or no answer (EDE text, timeout, rcode), if anything is to be said. */
  readonly reason: string | undefined;
  /** The answer section's records, typed (not part of the JSON: `records` is their text). */
  readonly answer: readonly RR[];
}

export interface DaneLookup {
  lookup(name: Name, type: number): Promise<LookupResult>;
}

/** EDEs a validator sends with SERVFAIL for BOGUS data (RFC 8914 §5: 1, 2, 6-12, 25, 27). */
const DNSSEC_EDES: ReadonlySet<number> = new Set([
  EdeCode.UNSUPPORTED_DNSKEY_ALGORITHM, EdeCode.UNSUPPORTED_DS_DIGEST_TYPE, EdeCode.DNSSEC_BOGUS, EdeCode.SIGNATURE_EXPIRED,
  EdeCode.SIGNATURE_NOT_YET_VALID, EdeCode.DNSKEY_MISSING, EdeCode.RRSIGS_MISSING, EdeCode.NO_ZONE_KEY_BIT_SET,
  EdeCode.NSEC_MISSING, EdeCode.SIGNATURE_EXPIRED_BEFORE_VALID, EdeCode.UNSUPPORTED_NSEC3_ITERATIONS,
]);

export interface ReplyView {
  readonly rcode: number;
  readonly ad: boolean;
  readonly answer: readonly RR[];
  readonly ede: readonly EdeEntry[];
}

/** The status of one reply. */
export function classifyReply(name: Name, type: number, r: ReplyView): LookupResult {
  const base = { name: name.toText(), type: typeToText(type), ad: r.ad, rcode: rcodeToText(r.rcode), records: r.answer.map(rrToText), ede: r.ede, answer: r.answer };
  const edeText = r.ede.length ? r.ede.map((e) => `EDE ${e.code}${e.text ? `: ${e.text}` : ''}`).join('; ') : undefined;
  switch (r.rcode) {
    case Rcode.NOERROR:
      return { ...base, status: r.ad ? 'SECURE' : 'INSECURE', reason: edeText };
    case Rcode.NXDOMAIN:
      return { ...base, status: 'NXDOMAIN', reason: edeText };
    case Rcode.SERVFAIL:
      if (r.ede.some((e) => DNSSEC_EDES.has(e.code))) return { ...base, status: 'BOGUS', reason: edeText };
      return { ...base, status: 'NOANSWER', reason: edeText ?? 'SERVFAIL without an Extended DNS Error' };
    default:
      return { ...base, status: 'NOANSWER', reason: edeText ?? `rcode ${rcodeToText(r.rcode)}` };
  }
}

/** A lookup that got no reply at all. */
export function noReply(name: Name, type: number, reason: string): LookupResult {
  return { name: name.toText(), type: typeToText(type), status: 'NOANSWER', ad: false, rcode: undefined, records: [], ede: [], reason, answer: [] };
}

/** The question as an MTA asks it: RD, AD (RFC 6840 §5.7: the AD bit back without DNSSEC records), EDNS for the EDEs. */
export function daneQuery(name: Name, type: number, id: number = randomId()): BuiltQuery {
  const message = makeQuery(name, type, { id, rd: true, ad: true, edns: { udpSize: 1232, version: 0, dnssecOk: false, z: 0, options: [] } });
  return { id, message, bytes: serializeMessage(message).bytes };
}

/** Lookups over DNS to a running resolver (the daemon's listen address). */
export function dnsLookup(server: UpstreamEndpoint, timeoutMs: number): DaneLookup {
  return {
    async lookup(name, type) {
      // UDP, then TCP for a truncated, broken or oversized answer: the pool's exchange, with the MTA's query.
      const leg = await exchange(server, { name, type, class: RRClass.IN }, { timeoutMs, query: daneQuery(name, type) });
      const at = `${server.address}:${server.port}`;
      switch (leg.kind) {
        case 'timeout':
          return noReply(name, type, `no reply from ${at} within ${timeoutMs} ms`);
        case 'network-error':
          return noReply(name, type, `${at}: ${leg.error.code} ${leg.error.message}`);
        case 'response': {
          const m = leg.message;
          return classifyReply(name, type, { rcode: m.rcode, ad: m.flags.ad, answer: m.answer, ede: decodeEde(m.edns?.options) });
        }
      }
    },
  };
}

function isCached(a: Answer | CachedAnswer): a is CachedAnswer {
  return (a as Partial<CachedAnswer>).cached === true;
}

/** Lookups through a query handler in this process: the daemon's (or a private stack's) answer cache and resolver. */
export function handlerLookup(handler: QueryHandler): DaneLookup {
  return {
    async lookup(name, type) {
      const query = daneQuery(name, type).message;
      const got = await handler(query, { address: '127.0.0.1', port: 0, transport: 'tcp' });
      const a = isCached(got) ? got.toAnswer() : got;
      return classifyReply(name, type, { rcode: a.rcode, ad: a.flags?.ad ?? false, answer: a.answer, ede: a.ede ?? [] });
    },
  };
}
