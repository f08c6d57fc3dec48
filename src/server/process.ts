/** One received message in, one reply (or a reason to stay silent) out: the transport-independent part. */
import {
  EdeCode, Opcode, RRClass, RRType, Rcode, makeRR, parseHeader, parseMessage, rcodeToText, typeToText,
  type Message, type Question,
} from '../wire/index.js';
import type { AccessList } from './acl.js';
import type { RefusalLimiter } from './ratelimit.js';
import {
  echoHeader, echoQuery, errorAnswer, replyMessage, serializeReply, udpReplyLimit,
  type QueryEcho,
} from './responder.js';
import type { ServerCounters } from './stats.js';
import { isCachedAnswer, type Answer, type CachedAnswer, type ClientInfo, type DropReason, type FastPath, type FastReply, type QueryEventSink, type QueryHandler } from './types.js';
import type { Logger } from '../log.js';

export interface QueryContext {
  readonly handler: QueryHandler;
  readonly fastPath?: FastPath | undefined;
  readonly acl: AccessList;
  /** How many REFUSED replies clients outside `acl` get (past it: dropped, so as not to reflect). */
  readonly refusals: RefusalLimiter;
  readonly udpMaxSize: number;
  readonly stats: ServerCounters;
  readonly logger: Logger | undefined;
  readonly events?: QueryEventSink | undefined;
}

/** What became of one received message: a reply to send, or nothing (and why). */
export type ProcessResult =
  | { kind: 'drop'; reason: DropReason }
  | { kind: 'reply'; bytes: Uint8Array; rcode: number };

/** Why the server answered without asking the handler (for the debug log). */
type Screening =
  | { kind: 'refused' }
  | { kind: 'formerr'; why: string }
  | { kind: 'notimp'; why: string }
  | { kind: 'badvers'; version: number }
  | { kind: 'any' }
  | { kind: 'handler' };

/** Query types a stub does not serve: zone transfers and the obsolete mail meta-types. */
const UNSUPPORTED_QTYPES: ReadonlySet<number> = new Set([RRType.IXFR, RRType.AXFR, 253, 254]);

const TCP_MAX = 65535;

/** TTL of the RFC 8482 HINFO: an hour, so that a client caches the refusal to list everything. */
const ANY_TTL = 3600;
const RFC8482 = new TextEncoder().encode('RFC8482');

/**
 * The reply to QTYPE=ANY (RFC 8482 §4.2): one synthesized HINFO RRset, CPU "RFC8482", OS empty, instead of
 * every RRset at the name. No upstream is asked, so ANY can neither amplify nor load the upstreams; the
 * record is ours, not the zone's, so it never carries AD or an RRSIG.
 */
function anyAnswer(q: Question): Answer {
  const klass = q.class === RRClass.ANY ? RRClass.IN : q.class;
  const hinfo = makeRR(q.name, RRType.HINFO, ANY_TTL, { cpu: RFC8482, os: new Uint8Array(0) }, klass);
  return { rcode: Rcode.NOERROR, answer: [hinfo], authority: [], additional: [] };
}

/** Whether debug lines are wanted: their fields are not even built otherwise (hot path). */
function debugOn(log: Logger | undefined): boolean {
  return log !== undefined && (log.isLevelEnabled?.('debug') ?? true);
}

function describe(client: ClientInfo): string {
  return client.address.includes(':') ? `[${client.address}]:${client.port}` : `${client.address}:${client.port}`;
}

async function askHandler(ctx: QueryContext, query: Message, client: ClientInfo): Promise<Answer | CachedAnswer> {
  try {
    const ans = await ctx.handler(query, client);
    if (typeof ans === 'object' && ans !== null && isCachedAnswer(ans)) return ans;
    if (typeof ans !== 'object' || ans === null || !Array.isArray(ans.answer) || !Array.isArray(ans.authority) || !Array.isArray(ans.additional)) {
      throw new TypeError('handler returned a malformed answer');
    }
    return ans;
  } catch (err) {
    ctx.stats.handlerError();
    const q = query.question[0];
    ctx.logger?.error({ err, client: describe(client), qname: q?.name.toText(), qtype: q ? typeToText(q.type) : undefined }, 'query handler failed');
    return errorAnswer(Rcode.SERVFAIL);
  }
}

/** Decide what to do with a well-formed header: answer ourselves, or ask the handler. */
interface Screened {
  screening: Screening;
  echo: QueryEcho;
  /** The parsed query, when it parsed. */
  query: Message | undefined;
}

function screen(packet: Uint8Array, allowed: boolean): Screened {
  const header = parseHeader(packet);
  let query: Message | undefined;
  let parseError = '';
  try {
    query = parseMessage(packet);
  } catch (err) {
    parseError = err instanceof Error ? err.message : String(err);
  }
  if (!allowed) {
    return { screening: { kind: 'refused' }, echo: query ? echoQuery(query) : echoHeader(header), query };
  }
  if (!query) {
    const screening: Screening = header.opcode !== Opcode.QUERY
      ? { kind: 'notimp', why: `opcode ${header.opcode}` }
      : { kind: 'formerr', why: parseError };
    return { screening, echo: echoHeader(header), query };
  }
  if (query.opcode !== Opcode.QUERY) return { screening: { kind: 'notimp', why: `opcode ${query.opcode}` }, echo: echoQuery(query), query };
  if (query.edns && query.edns.version !== 0) {
    return { screening: { kind: 'badvers', version: query.edns.version }, echo: echoQuery(query), query };
  }
  if (query.question.length !== 1) {
    return { screening: { kind: 'formerr', why: `QDCOUNT ${query.question.length}` }, echo: echoQuery(query, false), query };
  }
  const qtype = query.question[0]!.type;
  if (qtype === RRType.OPT) return { screening: { kind: 'formerr', why: 'QTYPE OPT' }, echo: echoQuery(query), query };
  if (UNSUPPORTED_QTYPES.has(qtype)) {
    return { screening: { kind: 'notimp', why: `QTYPE ${typeToText(qtype)}` }, echo: echoQuery(query), query };
  }
  if (qtype === RRType.ANY) return { screening: { kind: 'any' }, echo: echoQuery(query), query };
  return { screening: { kind: 'handler' }, echo: echoQuery(query), query };
}

/** A cached answer rendered from the raw query, or undefined (then its records are serialized). */
function renderCached(ctx: QueryContext, a: CachedAnswer, packet: Uint8Array, client: ClientInfo): FastReply | undefined {
  try {
    return a.render(packet, client, ctx.udpMaxSize);
  } catch (err) {
    ctx.logger?.error({ err, client: describe(client) }, 'rendering a cached answer failed; taking the normal path');
    return undefined;
  }
}

function answerOf(ctx: QueryContext, a: CachedAnswer, query: Message, client: ClientInfo): Answer {
  try {
    return a.toAnswer();
  } catch (err) {
    ctx.stats.handlerError();
    const q = query.question[0];
    ctx.logger?.error({ err, client: describe(client), qname: q?.name.toText(), qtype: q ? typeToText(q.type) : undefined }, 'query handler failed');
    return errorAnswer(Rcode.SERVFAIL);
  }
}

/**
 * The fast path, synchronously: a reply for a query the FastPath can answer in full, else undefined
 * (then processQuery takes it). Only allowed clients' queries (QR=0, a header at least) are offered.
 */
export function fastReply(ctx: QueryContext, packet: Uint8Array, client: ClientInfo): FastReply | undefined {
  const fast = ctx.fastPath;
  if (!fast || packet.length < 12 || (packet[2]! & 0x80) !== 0 || !ctx.acl.allows(client.address)) return undefined;
  let r;
  try {
    r = fast(packet, client, ctx.udpMaxSize);
  } catch (err) {
    ctx.logger?.error({ err, client: describe(client) }, 'fast path failed; taking the normal path');
    return undefined;
  }
  if (!r) return undefined;
  const log = ctx.logger;
  if (log && (log.isLevelEnabled?.('debug') ?? true)) {
    const b = r.bytes;
    log.debug({
      client: describe(client),
      transport: client.transport,
      id: (b[0]! << 8) | b[1]!,
      rcode: rcodeToText(r.rcode),
      answers: (b[6]! << 8) | b[7]!,
      size: b.length,
      fast: true,
    }, 'query');
  }
  return r;
}

/**
 * Process one received message. Never rejects: handler failures become SERVFAIL, and a reply
 * that cannot be serialized becomes a bare SERVFAIL.
 */
export async function processQuery(ctx: QueryContext, packet: Uint8Array, client: ClientInfo): Promise<ProcessResult> {
  const log = ctx.logger;
  if (packet.length < 12) {
    ctx.stats.drop('short');
    log?.debug({ client: describe(client), transport: client.transport, size: packet.length }, 'dropped: shorter than a DNS header');
    return { kind: 'drop', reason: 'short' };
  }
  if ((packet[2]! & 0x80) !== 0) {
    ctx.stats.drop('response');
    log?.debug({ client: describe(client), transport: client.transport }, 'dropped: QR=1 (a response)');
    return { kind: 'drop', reason: 'response' };
  }
  const allowed = ctx.acl.allows(client.address);
  // Outside the allow list: REFUSED within the rate limits, else silence (never a reflector).
  if (!allowed && !ctx.refusals.allow(client.address)) {
    ctx.stats.drop('ratelimited');
    if (debugOn(log)) log!.debug({ client: describe(client), transport: client.transport }, 'dropped: not allowed, past the REFUSED rate limit');
    return { kind: 'drop', reason: 'ratelimited' };
  }
  const started = Date.now();
  const { screening, echo, query } = screen(packet, allowed);
  let ans: Answer;
  switch (screening.kind) {
    case 'refused':
      ctx.stats.notAllowed();
      ans = errorAnswer(Rcode.REFUSED, [{ code: EdeCode.PROHIBITED }]);
      break;
    case 'formerr':
      ctx.stats.malformed();
      ans = errorAnswer(Rcode.FORMERR);
      break;
    case 'notimp':
      ans = errorAnswer(Rcode.NOTIMP, [{ code: EdeCode.NOT_SUPPORTED, text: `${screening.why} is not supported` }]);
      break;
    case 'badvers':
      ans = errorAnswer(Rcode.BADVERS);
      break;
    case 'any':
      ans = anyAnswer(query!.question[0]!);
      break;
    case 'handler': {
      const a = await askHandler(ctx, query!, client);
      if (!isCachedAnswer(a)) {
        ans = a;
        break;
      }
      const fast = renderCached(ctx, a, packet, client);
      if (fast) {
        if (debugOn(log)) log!.debug({
          client: describe(client), transport: client.transport, id: echo.id, rcode: rcodeToText(fast.rcode),
          answers: (fast.bytes[6]! << 8) | fast.bytes[7]!, size: fast.bytes.length, ms: Date.now() - started, cached: true,
        }, 'query');
        return { kind: 'reply', bytes: fast.bytes, rcode: fast.rcode };
      }
      ans = answerOf(ctx, a, query!, client);
      break;
    }
  }
  const limit = client.transport === 'udp' ? udpReplyLimit(query, ctx.udpMaxSize) : TCP_MAX;
  let bytes: Uint8Array;
  let rcode: number;
  let truncated = false;
  try {
    const msg = replyMessage(echo, ans, ctx.udpMaxSize);
    const out = serializeReply(msg, limit);
    bytes = out.bytes;
    rcode = msg.rcode;
    truncated = out.truncated;
  } catch (err) {
    log?.error({ err, client: describe(client) }, 'could not serialize the reply; answering SERVFAIL');
    const msg = replyMessage(echo, errorAnswer(Rcode.SERVFAIL), ctx.udpMaxSize);
    bytes = serializeReply(msg, limit).bytes;
    rcode = msg.rcode;
  }
  const q = echo.question[0];
  if (debugOn(log)) log!.debug({
    client: describe(client),
    transport: client.transport,
    id: echo.id,
    qname: q?.name.toText(),
    qtype: q ? typeToText(q.type) : undefined,
    rcode: rcodeToText(rcode),
    answers: (bytes[6]! << 8) | bytes[7]!,
    tc: truncated,
    size: bytes.length,
    ms: Date.now() - started,
    ...(screening.kind === 'handler' ? {} : { verdict: screening.kind, ...('why' in screening ? { why: screening.why } : {}) }),
  }, 'query');
  return { kind: 'reply', bytes, rcode };
}
