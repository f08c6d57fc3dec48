/**
 * DNS over TCP (RFC 7766): pipelined queries answered out of order as they finish, a bound on queries in
 * flight per connection, and a cap on connections.
 *
 * Deadlines. The idle timeout counts from the last progress of a connection (accepted, a whole query read, a
 * reply flushed to the kernel), not from the last byte: a client that trickles a query a byte a second
 * (slowloris) is closed when the timeout runs out just like a silent one. A connection with queries being
 * answered stays open, unless its replies have not been flushed for a whole timeout (a client that does not
 * read): then it is destroyed.
 *
 * The cap. At `maxConnections`, a new connection takes the place of an idle one (nothing in flight or unsent:
 * RFC 7766 §6.2.3 lets a server close idle connections under load): the one idle the longest of the client
 * address holding the most connections, else of any address; only when every connection is busy is the new
 * one closed at once. So a flood of connections that send nothing, or send slowly, cannot lock other clients
 * out, and displaces its own connections before anyone else's (a client that has just connected and whose
 * query is not read yet looks idle too: the flooder's address holds more).
 *
 * Unsent replies. Reply octets the kernel has not taken yet (its socket buffers full: a client that asks and does
 * not read) are Buffers outside the V8 heap, up to `maxInFlight` replies of 64 KiB per connection. Over all
 * connections they are bounded by `maxUnsentBytes`: past it, the connection holding the most is closed at once.
 */
import * as net from 'node:net';
import { normalizeAddress } from '../net/address.js';
import { FrameDecoder, frame } from '../wire/framing.js';
import { emitQueryEvent, traceFor } from './events.js';
import { fastReply, processQuery, type QueryContext } from './process.js';
import type { BoundAddress, ClientInfo } from './types.js';

export interface TcpLimits {
  idleTimeoutMs: number;
  maxConnections: number;
  maxInFlight: number;
  /** Reply octets not yet taken by the kernel, over all connections, at most. */
  maxUnsentBytes: number;
}

/** Open connections over every TCP listener (the cap is global), and by client address. */
export class ConnectionRegistry {
  private readonly open = new Set<TcpConnection>();
  private readonly byAddress = new Map<string, Set<TcpConnection>>();
  /** Progress made by any connection, counted: orders the connections by their last progress (no clock read). */
  private progressCount = 0;
  /** Reply octets written and whose write has not called back yet, over all connections (holdUnsent, releaseUnsent). */
  private unsentOctets = 0;
  constructor(readonly limits: TcpLimits) {}

  /** The next progress mark (larger is later). */
  progressMark(): number {
    return ++this.progressCount;
  }

  get size(): number {
    return this.open.size;
  }

  add(c: TcpConnection): void {
    this.open.add(c);
    const mine = this.byAddress.get(c.address);
    if (mine) mine.add(c);
    else this.byAddress.set(c.address, new Set([c]));
  }

  /** Whether it was still registered. */
  remove(c: TcpConnection): boolean {
    if (!this.open.delete(c)) return false;
    const mine = this.byAddress.get(c.address);
    mine?.delete(c);
    if (mine?.size === 0) this.byAddress.delete(c.address);
    return true;
  }

  closeAll(): void {
    for (const c of this.open) c.destroy();
  }

  get unsent(): number {
    return this.unsentOctets;
  }

  /** `n` reply octets written to a connection, counted until released; past maxUnsentBytes, connections are shed. */
  holdUnsent(n: number): void {
    this.unsentOctets += n;
    if (this.unsentOctets > this.limits.maxUnsentBytes) this.shedUnsent();
  }

  releaseUnsent(n: number): void {
    this.unsentOctets -= n;
  }

  /**
   * Over the budget: close the connection whose socket buffers the most octets, until the budget holds. A socket
   * whose buffer is empty is skipped: the kernel took its octets and only their write callbacks are still to run.
   */
  private shedUnsent(): void {
    while (this.unsentOctets > this.limits.maxUnsentBytes) {
      let hog: TcpConnection | undefined;
      for (const c of this.open) if (c.stuck > 0 && (!hog || c.stuck > hog.stuck)) hog = c;
      if (!hog) return;
      hog.closeUnread();
    }
  }

  /**
   * The connection a new one replaces at the cap: the one idle the longest (nothing in flight, nothing unsent) of
   * the address holding the most connections, so that a flood from one address displaces its own connections
   * first; else the one idle the longest of any address; undefined when every connection is busy.
   */
  victim(): TcpConnection | undefined {
    let biggest: Set<TcpConnection> | undefined;
    for (const set of this.byAddress.values()) if (!biggest || set.size > biggest.size) biggest = set;
    return (biggest && longestIdle(biggest)) ?? longestIdle(this.open);
  }
}

function longestIdle(conns: Iterable<TcpConnection>): TcpConnection | undefined {
  let best: TcpConnection | undefined;
  for (const c of conns) if (c.idle && (!best || c.lastProgress < best.lastProgress)) best = c;
  return best;
}

/**
 * Connections the kernel may hold for us to accept (capped by net.core.somaxconn). Node's default, 511, overflows
 * under a connection flood and then the kernel drops SYNs: a client's retry comes a second later.
 */
const LISTEN_BACKLOG = 4096;

/** How long to wait for a graceful close before destroying the socket. */
const CLOSE_GRACE_MS = 2000;

class TcpConnection {
  private readonly decoder = new FrameDecoder();
  /** Queries read and not yet answered (an answer counts until it is flushed to the kernel). */
  private inFlight = 0;
  private peerEnded = false;
  /** Octets of replies written whose write has not called back yet (held in the registry's count while open). */
  private unsent = 0;
  private closed = false;
  private paused = false;
  private closing = false;
  private readonly client: ClientInfo;
  /** The client's address (the registry counts connections per address). */
  readonly address: string;
  /** The idle/read deadline, pushed back at each progress. */
  private readonly deadline: NodeJS.Timeout;
  /** When the connection last made progress (accepted, a whole query read, a reply flushed): the registry's mark. */
  lastProgress: number;

  constructor(
    private readonly socket: net.Socket,
    private readonly ctx: QueryContext,
    private readonly registry: ConnectionRegistry,
  ) {
    this.address = normalizeAddress(socket.remoteAddress ?? '');
    this.lastProgress = registry.progressMark();
    this.client = { address: this.address, port: socket.remotePort ?? 0, transport: 'tcp', trace: undefined };
    socket.setNoDelay(true);
    this.deadline = setTimeout(() => this.onDeadline(), registry.limits.idleTimeoutMs);
    socket.on('data', (chunk: Buffer) => {
      // Once our side is closing nothing more is read (a slow client's late bytes are not kept).
      if (this.closing) return;
      this.decoder.push(chunk);
      this.pump();
    });
    socket.on('end', () => {
      this.peerEnded = true;
      this.pump();
    });
    socket.on('error', (err) => {
      ctx.logger?.debug({ err, client: `${this.client.address}:${this.client.port}` }, 'TCP connection error');
    });
    socket.on('close', () => {
      this.closed = true;
      this.releaseUnsent();
      clearTimeout(this.deadline);
      // An evicted connection was counted closed when it left the registry.
      if (registry.remove(this)) ctx.stats.tcpClosed();
    });
  }

  /** Nothing being answered or sent: the connection may be closed for a new one (and its deadline closes it). */
  get idle(): boolean {
    return this.inFlight === 0 && !this.closed && this.socket.writableLength === 0;
  }

  destroy(): void {
    this.socket.destroy();
  }

  /** Octets its socket still buffers (the kernel has not taken them): what closing it frees. */
  get stuck(): number {
    return this.closed ? 0 : this.socket.writableLength;
  }

  /** Over the unsent budget and holding the most: out of the registry, its octets let go, the socket closed. */
  closeUnread(): void {
    if (this.registry.remove(this)) this.ctx.stats.tcpClosed();
    this.ctx.stats.tcpUnreadClosed();
    this.ctx.logger?.debug({ client: `${this.client.address}:${this.client.port}`, unsent: this.unsent, budget: this.registry.limits.maxUnsentBytes },
      'closing a TCP connection: the replies its client does not read took the most of the unsent budget');
    this.releaseUnsent();
    this.closing = true;
    this.socket.destroy();
  }

  /** Its unsent octets no longer count (the socket closed: its buffers are gone). */
  private releaseUnsent(): void {
    this.registry.releaseUnsent(this.unsent);
    this.unsent = 0;
  }

  /** Make room for a new connection at the cap: out of the registry now, the socket closed. */
  evict(): void {
    if (this.registry.remove(this)) this.ctx.stats.tcpClosed();
    this.ctx.logger?.debug({ client: `${this.client.address}:${this.client.port}` }, 'TCP connection cap reached; closing an idle connection of the address holding the most');
    this.closing = true;
    this.socket.destroy();
  }

  private progress(): void {
    this.lastProgress = this.registry.progressMark();
    this.deadline.refresh();
  }

  private onDeadline(): void {
    if (this.closed) return;
    const who = `${this.client.address}:${this.client.port}`;
    if (this.inFlight > 0) {
      // RFC 7766 §6.2.3: idle means no query outstanding; a slow answer keeps the connection...
      if (this.socket.writableLength === 0) {
        this.deadline.refresh();
        return;
      }
      // ...but replies not flushed for a whole timeout mean a client that does not read.
      this.ctx.stats.tcpIdleClosed();
      this.ctx.logger?.debug({ client: who, unflushed: this.socket.writableLength }, 'closing a TCP connection whose client does not read its replies');
      this.closing = true;
      this.socket.destroy();
      return;
    }
    // A message begun and not finished within the timeout: a slow (or slowloris) client.
    const partial = this.decoder.buffered > 0;
    if (partial) this.ctx.stats.tcpReadTimeout();
    else this.ctx.stats.tcpIdleClosed();
    this.ctx.logger?.debug({ client: who, buffered: this.decoder.buffered }, partial ? 'closing a TCP connection: query not complete within the idle timeout' : 'closing idle TCP connection');
    this.shutdown();
  }

  private shutdown(): void {
    if (this.closed || this.closing) return;
    this.closing = true;
    this.socket.end();
    setTimeout(() => this.socket.destroy(), CLOSE_GRACE_MS).unref();
  }

  /** Start as many queries as the in-flight bound allows; pause reading at the bound. */
  private pump(): void {
    // Once we have closed our side (idle, or the client finished), nothing more is read.
    if (this.closed || this.closing) return;
    const max = this.registry.limits.maxInFlight;
    while (this.inFlight < max) {
      const msg = this.decoder.next();
      if (!msg) break;
      this.dispatch(msg);
    }
    if (this.inFlight >= max && !this.paused) {
      this.paused = true;
      this.socket.pause();
    } else if (this.inFlight < max && this.paused) {
      this.paused = false;
      this.socket.resume();
    }
    // The client finished sending: close once everything it asked is answered (the loop above left no
    // complete message behind when nothing is in flight; a partial one is discarded).
    if (this.peerEnded && this.inFlight === 0) this.shutdown();
  }

  private dispatch(msg: Buffer): void {
    this.inFlight++;
    this.progress();
    this.ctx.stats.query('tcp');
    // One ClientInfo per connection; a query of its own only while query events are listened to.
    const trace = traceFor(this.ctx.events);
    const client = trace ? { ...this.client, trace } : this.client;
    const fast = fastReply(this.ctx, msg, client);
    (fast ? Promise.resolve({ kind: 'reply' as const, bytes: fast.bytes, rcode: fast.rcode }) : processQuery(this.ctx, msg, client))
      .then((out) => {
        if (out.kind === 'drop') return this.settle();
        if (this.closed || this.socket.destroyed || this.socket.writableEnded) {
          this.ctx.stats.drop('closed');
          return this.settle();
        }
        this.ctx.stats.response('tcp', out.rcode);
        const framed = frame(out.bytes);
        const n = framed.length;
        this.unsent += n;
        this.socket.write(framed, () => {
          // Taken by the kernel (or failed: the socket is closing). After releaseUnsent (closed) there is none left.
          if (this.unsent >= n) {
            this.unsent -= n;
            this.registry.releaseUnsent(n);
          }
          this.progress();
          this.settle();
        });
        if (trace) emitQueryEvent(this.ctx.events, client, msg, out.rcode);
        // Last: shedding may close this very connection.
        this.registry.holdUnsent(n);
      })
      .catch((err: unknown) => {
        this.ctx.logger?.error({ err }, 'unexpected error answering a TCP query');
        this.settle();
      });
  }

  private settle(): void {
    this.inFlight--;
    this.pump();
  }
}

export interface TcpListener {
  readonly bound: BoundAddress;
  close(): Promise<void>;
}

/** Bind a TCP listener; resolves once listening, rejects on bind errors (EADDRINUSE, EADDRNOTAVAIL, ...). */
export function listenTcp(
  address: string,
  port: number,
  ipv6Only: boolean,
  ctx: QueryContext,
  registry: ConnectionRegistry,
): Promise<TcpListener> {
  const server = net.createServer({ allowHalfOpen: true, pauseOnConnect: false });
  server.on('connection', (socket) => {
    if (registry.size >= registry.limits.maxConnections) {
      const idle = registry.victim();
      if (idle) {
        ctx.stats.tcpEvicted();
        idle.evict();
      } else {
        ctx.stats.tcpRejected();
        ctx.logger?.debug({ client: socket.remoteAddress, cap: registry.limits.maxConnections }, 'TCP connection cap reached, every connection busy; closing new connection');
        socket.on('error', () => {});
        socket.destroy();
        return;
      }
    }
    ctx.stats.tcpAccepted();
    registry.add(new TcpConnection(socket, ctx, registry));
  });
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => reject(err);
    server.once('error', onError);
    server.listen({ host: address, port, ipv6Only, exclusive: true, backlog: LISTEN_BACKLOG }, () => {
      server.off('error', onError);
      server.on('error', (err) => ctx.logger?.error({ err }, 'TCP listener error'));
      const a = server.address() as net.AddressInfo;
      resolve({
        bound: { transport: 'tcp', address: a.address, port: a.port, family: a.family === 'IPv6' ? 6 : 4 },
        close: () => new Promise<void>((res) => server.close(() => res())),
      });
    });
  });
}
