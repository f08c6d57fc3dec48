/**
 * Building the query we send upstream and deciding whether a received packet answers it.
 * Every upstream query asks for DNSSEC records (DO=1) and unvalidated data (CD=1): this daemon
 * validates by itself and must see bogus data rather than a SERVFAIL from a validating upstream.
 */
import { randomInt } from 'node:crypto';
import { Name, Opcode, RRClass, Rcode, WireReader, makeQuery, parseHeader, parseMessage, serializeMessage, type Message, type Question } from '../wire/index.js';

/** EDNS(0) payload size advertised upstream (DNS flag day 2020). */
export const UPSTREAM_UDP_SIZE = 1232;

export interface UpstreamQuestion {
  readonly name: Name;
  readonly type: number;
  readonly class: number;
}

export function makeQuestion(name: Name, type: number, klass: number = RRClass.IN): UpstreamQuestion {
  return { name, type, class: klass };
}

/** Key for coalescing identical questions: lowercased name, type, class. */
export function questionKey(q: UpstreamQuestion): string {
  return `${q.name.key}|${q.type}|${q.class}`;
}

/** A random 16-bit message ID from the CSPRNG. */
export function randomId(): number {
  return randomInt(0, 0x10000);
}

export interface BuiltQuery {
  readonly id: number;
  readonly message: Message;
  readonly bytes: Uint8Array;
}

/** The upstream query: RD=1, CD=1, EDNS(0) with DO=1 and a 1232-octet payload size, fresh random ID. */
export function buildUpstreamQuery(q: UpstreamQuestion, id: number = randomId()): BuiltQuery {
  const message = makeQuery(q.name, q.type, {
    id,
    rd: true,
    cd: true,
    klass: q.class,
    edns: { udpSize: UPSTREAM_UDP_SIZE, version: 0, dnssecOk: true, z: 0, options: [] },
  });
  return { id, message, bytes: serializeMessage(message).bytes };
}

/** Why a received packet was not taken as the answer. */
export type IgnoreReason = 'unparsable' | 'not-response' | 'wrong-id' | 'wrong-question' | 'wrong-source';

export type IgnoredCounts = Record<IgnoreReason, number>;

export function noIgnored(): IgnoredCounts {
  return { 'unparsable': 0, 'not-response': 0, 'wrong-id': 0, 'wrong-question': 0, 'wrong-source': 0 };
}

/**
 * Whether an ignored packet carried our ID (and, over UDP, came from the upstream's address and port) but
 * is no usable answer: unparsable, or for another question. A blind spoofer knows neither the ID nor the
 * source port, so such a packet is almost always the upstream's own broken answer, and no better one is
 * coming: the exchange does not wait for its timeout (UDP asks again over TCP, TCP gives up). Returns what
 * is wrong with it, or undefined for a packet that is only noise.
 */
export function brokenAnswer(reason: IgnoreReason, bytes: Uint8Array): string | undefined {
  if (reason === 'wrong-question') return 'is for another question';
  if (reason === 'unparsable' && bytes.length >= 12) return 'does not parse';
  return undefined;
}

export function totalIgnored(c: IgnoredCounts): number {
  return c['unparsable'] + c['not-response'] + c['wrong-id'] + c['wrong-question'] + c['wrong-source'];
}

export type PacketVerdict =
  | { readonly kind: 'accept'; readonly message: Message }
  | { readonly kind: 'ignore'; readonly reason: IgnoreReason };

function sameQuestion(a: Question, q: UpstreamQuestion): boolean {
  return a.type === q.type && a.class === q.class && a.name.equals(q.name);
}

/**
 * Error rcodes that servers often send with an empty question section (Unbound's access-control
 * `refuse`, FORMERR from EDNS-less servers). Such a reply can only make the pool fail over, never
 * be taken as an answer, so it is accepted when its ID and source match.
 */
const QUESTIONLESS_ERRORS: ReadonlySet<number> = new Set([Rcode.FORMERR, Rcode.SERVFAIL, Rcode.NOTIMP, Rcode.REFUSED]);

/**
 * A response with TC set whose header and question (ours) parse, as a message with no records; undefined
 * otherwise. Nothing in it can be taken as data: it only sends the query to TCP.
 */
function truncatedHeader(bytes: Uint8Array, q: UpstreamQuestion): Message | undefined {
  try {
    const h = parseHeader(bytes);
    if (!h.flags.qr || !h.flags.tc || h.opcode !== Opcode.QUERY || h.counts[0] !== 1) return undefined;
    const r = new WireReader(bytes, 12);
    const question: Question = { name: Name.read(r), type: r.u16(), class: r.u16() };
    if (!sameQuestion(question, q)) return undefined;
    return { id: h.id, opcode: h.opcode, flags: h.flags, rcode: h.rcode, question: [question], answer: [], authority: [], additional: [] };
  } catch {
    return undefined;
  }
}

/**
 * Judge a received packet against the query sent: it must parse (header, question, answer and
 * authority strictly; a malformed additional section is dropped), be a response (QR=1, opcode
 * QUERY), carry our ID and echo exactly our question (name compared case-insensitively), except
 * for the question-less error replies above. The source address is checked by the caller.
 */
export function judgeResponse(bytes: Uint8Array, id: number, q: UpstreamQuestion): PacketVerdict {
  // Cheap header checks first: most spoofing attempts fail on the ID.
  if (bytes.length < 12) return { kind: 'ignore', reason: 'unparsable' };
  const rid = (bytes[0]! << 8) | bytes[1]!;
  if (rid !== id) return { kind: 'ignore', reason: 'wrong-id' };
  let message: Message;
  try {
    // A malformed additional section costs only that section (and the OPT, when even the framing
    // of the records before it is broken): nothing of ours reads additional records but the OPT,
    // and rejecting the packet would turn one bad glue record into a timeout and a failover.
    message = parseMessage(bytes, { additional: 'salvage' });
  } catch {
    // A truncated answer whose records no longer parse (a middlebox cut it short) still says TC: take it as
    // truncated, with no records, so the transport asks again over TCP at once instead of timing out.
    const cut = truncatedHeader(bytes, q);
    if (cut) return { kind: 'accept', message: cut };
    return { kind: 'ignore', reason: 'unparsable' };
  }
  if (!message.flags.qr || message.opcode !== Opcode.QUERY) return { kind: 'ignore', reason: 'not-response' };
  if (message.question.length === 0 && QUESTIONLESS_ERRORS.has(message.rcode)) return { kind: 'accept', message };
  if (message.question.length !== 1 || !sameQuestion(message.question[0]!, q)) return { kind: 'ignore', reason: 'wrong-question' };
  return { kind: 'accept', message };
}
