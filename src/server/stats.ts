/** Counters for the listener; read them through ServerHandle.stats(). */
import type { DropReason, ServerCounts, Transport } from './types.js';

export class ServerCounters {
  private readonly queries: Record<Transport, number> = { udp: 0, tcp: 0 };
  private readonly responses: Record<Transport, number> = { udp: 0, tcp: 0 };
  /** Replies by full RCODE (12 bits): an array slot each, no Map update per reply. */
  private readonly rcodes = new Float64Array(4096);
  private readonly dropped: Record<DropReason, number> = { short: 0, response: 0, overload: 0, closed: 0, ratelimited: 0 };
  private formerr = 0;
  private refused = 0;
  private handlerErrors = 0;
  private readonly tcp = { accepted: 0, rejected: 0, evicted: 0, idleClosed: 0, readTimeouts: 0, unreadClosed: 0, current: 0 };

  query(t: Transport): void {
    this.queries[t]++;
  }

  response(t: Transport, rcode: number): void {
    this.responses[t]++;
    // Replies carry 12 bits of RCODE (replyMessage turns anything else into SERVFAIL).
    this.rcodes[rcode & 0xfff]!++;
  }

  drop(reason: DropReason): void {
    this.dropped[reason]++;
  }

  malformed(): void {
    this.formerr++;
  }

  notAllowed(): void {
    this.refused++;
  }

  handlerError(): void {
    this.handlerErrors++;
  }

  tcpAccepted(): void {
    this.tcp.accepted++;
    this.tcp.current++;
  }

  tcpRejected(): void {
    this.tcp.rejected++;
  }

  tcpEvicted(): void {
    this.tcp.evicted++;
  }

  tcpIdleClosed(): void {
    this.tcp.idleClosed++;
  }

  tcpReadTimeout(): void {
    this.tcp.readTimeouts++;
  }

  tcpUnreadClosed(): void {
    this.tcp.unreadClosed++;
  }

  tcpClosed(): void {
    this.tcp.current--;
  }

  /** A copy: callers cannot change the counters. */
  snapshot(): ServerCounts {
    return {
      queries: { ...this.queries },
      responses: { ...this.responses },
      rcodes: rcodeCounts(this.rcodes),
      dropped: { ...this.dropped },
      formerr: this.formerr,
      refused: this.refused,
      handlerErrors: this.handlerErrors,
      tcp: { ...this.tcp },
    };
  }
}

/** The RCODEs seen, ascending, with their counts. */
function rcodeCounts(counts: Float64Array): ServerCounts['rcodes'] {
  const out: ServerCounts['rcodes'] = [];
  for (let rcode = 0; rcode < counts.length; rcode++) if (counts[rcode]! > 0) out.push({ rcode, count: counts[rcode]! });
  return out;
}
