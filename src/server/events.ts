/**
 * The query-event seam: one event per answered client query, built only while the sink is active.
 * The listener knows the transport, the client, the rcode and the time taken; the answerer (the caching
 * resolver) fills ClientInfo.trace with the path, the status, the EDE codes and the upstreams.
 */
import { Name, WireReader } from '../wire/index.js';
import type { ClientInfo, QueryEvent, QueryEventSink, QueryTrace } from './types.js';

/**
 * The QTYPE of a query packet, found by stepping over the question name's labels (no text is built):
 * 0 when there is no question or the name does not end within the packet (or is compressed).
 */
function qtypeOf(packet: Uint8Array): number {
  if (packet.length < 12 || ((packet[4]! << 8) | packet[5]!) === 0) return 0;
  let i = 12;
  while (i < packet.length) {
    const len = packet[i]!;
    if (len === 0) return i + 2 < packet.length ? (packet[i + 1]! << 8) | packet[i + 2]! : 0;
    if (len >= 0x40) return 0;
    i += len + 1;
  }
  return 0;
}

/** The question name in presentation form ('' when there is none or it does not parse). */
function qnameOf(packet: Uint8Array): string {
  try {
    if (packet.length < 12 || ((packet[4]! << 8) | packet[5]!) === 0) return '';
    return Name.read(new WireReader(packet, 12)).toText();
  } catch {
    return '';
  }
}

const NONE: readonly never[] = Object.freeze([]);

/**
 * One query's trace, which becomes its event: the answerer fills in what it knows (path, status, EDE codes,
 * upstreams: the QueryTrace fields, left at their defaults when it says nothing), then the listener adds the
 * transport, the client, the QTYPE, the rcode and the time taken, and hands this very object to the sink. One
 * object per query, not a trace and then an event copied from it (issue 15: the seam's cost on a cached answer).
 * A class, not an object literal: its qname is built only if a subscriber reads it (the metrics never do), and a
 * getter in an object literal costs more than that (V8 builds the accessor for every object: about 0.5 µs
 * measured), while a prototype getter costs nothing until it is called.
 */
class QueryRecord implements QueryTrace, QueryEvent {
  #packet: Uint8Array | undefined = undefined;
  path: QueryEvent['path'] = 'server';
  status = 'none';
  ede: readonly number[] = NONE;
  upstreams: readonly string[] = NONE;
  transport: QueryEvent['transport'] = 'udp';
  client = '';
  qtype = 0;
  rcode = 0;
  durationUs = 0;

  constructor(readonly started: bigint) {}

  /** A record with what a trace made some other way says (the listener's own traces are records already). */
  static of(t: QueryTrace): QueryRecord {
    if (t instanceof QueryRecord) return t;
    const r = new QueryRecord(t.started);
    if (t.path !== undefined) r.path = t.path;
    if (t.status !== undefined) r.status = t.status;
    if (t.ede !== undefined) r.ede = t.ede;
    if (t.upstreams !== undefined) r.upstreams = t.upstreams;
    return r;
  }

  get qname(): string {
    return this.#packet ? qnameOf(this.#packet) : '';
  }

  /**
   * The event as JSON shows it: the QueryEvent fields, qname included (a getter JSON would skip), not the
   * bigint start (which JSON.stringify cannot write: a subscriber that logs events as JSON would throw).
   */
  toJSON(): QueryEvent {
    const { transport, client, qname, qtype, rcode, status, ede, path, upstreams, durationUs } = this;
    return { transport, client, qname, qtype, rcode, status, ede, path, upstreams, durationUs };
  }

  /** The reply (`rcode`) to `packet` from `client` was just sent. */
  finish(client: ClientInfo, packet: Uint8Array, rcode: number): void {
    this.#packet = packet;
    this.transport = client.transport;
    this.client = client.address;
    this.qtype = qtypeOf(packet);
    this.rcode = rcode;
    this.durationUs = Number((process.hrtime.bigint() - this.started) / 1000n);
  }
}

/** A new trace for one query when someone listens, else undefined (the hot path then builds nothing). */
export function traceFor(sink: QueryEventSink | undefined): QueryTrace | undefined {
  return sink?.active ? new QueryRecord(process.hrtime.bigint()) : undefined;
}

/** Emit the event of a query whose reply (`rcode`) was just sent. */
export function emitQueryEvent(sink: QueryEventSink | undefined, client: ClientInfo, packet: Uint8Array, rcode: number): void {
  const t = client.trace;
  if (!t || !sink) return;
  try {
    const r = QueryRecord.of(t);
    r.finish(client, packet, rcode);
    sink.emit(r);
  } catch {
    // A subscriber's failure is its own; the listener goes on.
  }
}
