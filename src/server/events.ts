/**
 * The query-event seam: one event per answered client query, built only while the sink is active.
 * The listener knows the transport, the client, the rcode and the time taken; the answerer (the caching
 * resolver) fills ClientInfo.trace with the path, the status, the EDE codes and the upstreams.
 */
import { Name, WireReader } from '../wire/index.js';
import type { ClientInfo, QueryEventSink, QueryTrace } from './types.js';

/** A new trace for one query when someone listens, else undefined (the hot path then builds nothing). */
export function traceFor(sink: QueryEventSink | undefined): QueryTrace | undefined {
  return sink?.active ? { started: process.hrtime.bigint() } : undefined;
}

/** The question of a query packet (name in presentation form, type), or a placeholder when it has none. */
function questionOf(packet: Uint8Array): { qname: string; qtype: number } {
  try {
    if (packet.length < 12 || ((packet[4]! << 8) | packet[5]!) === 0) return { qname: '', qtype: 0 };
    const r = new WireReader(packet, 12);
    const name = Name.read(r);
    return { qname: name.toText(), qtype: r.u16() };
  } catch {
    return { qname: '', qtype: 0 };
  }
}

/** Emit the event of a query whose reply (`rcode`) was just sent. */
export function emitQueryEvent(sink: QueryEventSink | undefined, client: ClientInfo, packet: Uint8Array, rcode: number): void {
  const t = client.trace;
  if (!t || !sink) return;
  const { qname, qtype } = questionOf(packet);
  try {
    sink.emit({
      transport: client.transport,
      client: client.address,
      qname,
      qtype,
      rcode,
      status: t.status ?? 'none',
      ede: t.ede ?? [],
      path: t.path ?? 'server',
      upstreams: t.upstreams ?? [],
      durationUs: Number((process.hrtime.bigint() - t.started) / 1000n),
    });
  } catch {
    // A subscriber's failure is its own; the listener goes on.
  }
}
