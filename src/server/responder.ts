/** Building replies: header echo, OPT with EDE (RFC 8914), size limits, and DNSSEC stripping of a whole answer. */
import {
  EdnsOptionCode, RRType, Rcode, encodeEde, serializeMessage, stripDnssec,
  type EdeEntry, type EdnsOption, type Header, type Message, type Question, type Serialized,
} from '../wire/index.js';
import type { Answer } from './types.js';

/** What a reply copies from its query. */
export interface QueryEcho {
  id: number;
  opcode: number;
  rd: boolean;
  cd: boolean;
  /** Questions exactly as received (names keep their case). */
  question: Question[];
  /** Set when the query had an OPT record: the reply then carries one too. */
  edns?: { dnssecOk: boolean } | undefined;
}

/** Echo of a parsed query; `withQuestion` false for FORMERR about the question section. */
export function echoQuery(q: Message, withQuestion = true): QueryEcho {
  return {
    id: q.id,
    opcode: q.opcode,
    rd: q.flags.rd,
    cd: q.flags.cd,
    question: withQuestion ? q.question : [],
    edns: q.edns ? { dnssecOk: q.edns.dnssecOk } : undefined,
  };
}

/** Echo of a query whose body did not parse: header fields only, no question, no OPT. */
export function echoHeader(h: Header): QueryEcho {
  return { id: h.id, opcode: h.opcode, rd: h.flags.rd, cd: h.flags.cd, question: [] };
}

/** An answer with no records: for the errors the server produces itself. */
export function errorAnswer(rcode: number, ede?: EdeEntry[]): Answer {
  return ede ? { rcode, answer: [], authority: [], additional: [], ede } : { rcode, answer: [], authority: [], additional: [] };
}

/** Largest UDP reply for a query: min(max(client EDNS size, 512), ours); 512 without EDNS. */
export function udpReplyLimit(query: Pick<Message, 'edns'> | undefined, udpMaxSize: number): number {
  const edns = query?.edns;
  if (!edns) return 512;
  return Math.min(Math.max(edns.udpSize, 512), udpMaxSize);
}

/**
 * The reply message: client's ID, opcode and question; QR=1; RD and CD copied; RA (default 1),
 * AA and AD as the handler says; OPT (version 0, our UDP size, DO echoed, EDE) iff the query had one.
 * An RCODE that cannot be expressed (over 15 without EDNS, over 4095) becomes SERVFAIL.
 */
export function replyMessage(echo: QueryEcho, ans: Answer, udpSize: number): Message {
  let rcode = ans.rcode;
  if (!Number.isInteger(rcode) || rcode < 0 || rcode > 0xfff || (rcode > 0xf && !echo.edns)) rcode = Rcode.SERVFAIL;
  const f = ans.flags ?? {};
  return {
    id: echo.id,
    opcode: echo.opcode,
    flags: { qr: true, aa: f.aa ?? false, tc: false, rd: echo.rd, ra: f.ra ?? true, z: false, ad: f.ad ?? false, cd: echo.cd },
    rcode,
    question: echo.question,
    answer: ans.answer,
    authority: ans.authority,
    additional: ans.additional.filter((rr) => rr.type !== RRType.OPT),
    edns: echo.edns
      ? { udpSize, version: 0, dnssecOk: echo.edns.dnssecOk, z: 0, options: encodeEde(ans.ede ?? []) }
      : undefined,
  };
}

function withoutEdeText(o: EdnsOption): EdnsOption {
  return o.code === EdnsOptionCode.EDE && o.data.length > 2 ? { code: o.code, data: o.data.subarray(0, 2) } : o;
}

/**
 * Serialize with a size limit (RRsets that do not fit are dropped, TC set for answer/authority).
 * The question and OPT are always kept, so if long EDE texts push the reply over the limit they
 * are dropped first, then the EDE options themselves.
 */
export function serializeReply(m: Message, maxSize: number): Serialized {
  const first = serializeMessage(m, { maxSize });
  if (first.bytes.length <= maxSize || !m.edns || m.edns.options.length === 0) return first;
  const noText: Message = { ...m, edns: { ...m.edns, options: m.edns.options.map(withoutEdeText) } };
  const second = serializeMessage(noText, { maxSize });
  if (second.bytes.length <= maxSize) return second;
  return serializeMessage({ ...m, edns: { ...m.edns, options: [] } }, { maxSize });
}

/** stripDnssec applied to every section of an answer. */
export function stripDnssecAnswer(ans: Answer, qtype: number): Answer {
  return {
    ...ans,
    answer: stripDnssec(ans.answer, qtype),
    authority: stripDnssec(ans.authority, qtype),
    additional: stripDnssec(ans.additional, qtype),
  };
}
