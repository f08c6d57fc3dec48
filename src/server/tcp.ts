/**
 * DNS over TCP (RFC 7766): pipelined queries answered out of order as they finish, idle timeout,
 * a cap on connections and a bound on queries in flight per connection.
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
}

/** Open connections over every TCP listener (the cap is global). */
export class ConnectionRegistry {
  readonly open = new Set<TcpConnection>();
  constructor(readonly limits: TcpLimits) {}

  closeAll(): void {
    for (const c of this.open) c.destroy();
  }
}

/** How long to wait for a graceful close before destroying the socket. */
const CLOSE_GRACE_MS = 2000;

class TcpConnection {
  private readonly decoder = new FrameDecoder();
  /** Queries read and not yet answered (an answer counts until it is flushed to the kernel). */
  private inFlight = 0;
  private peerEnded = false;
  private closed = false;
  private paused = false;
  private closing = false;
  private readonly client: ClientInfo;

  constructor(
    private readonly socket: net.Socket,
    private readonly ctx: QueryContext,
    private readonly registry: ConnectionRegistry,
  ) {
    this.client = { address: normalizeAddress(socket.remoteAddress ?? ''), port: socket.remotePort ?? 0, transport: 'tcp', trace: undefined };
    socket.setNoDelay(true);
    socket.setTimeout(registry.limits.idleTimeoutMs);
    socket.on('data', (chunk: Buffer) => {
      this.decoder.push(chunk);
      this.pump();
    });
    socket.on('end', () => {
      this.peerEnded = true;
      this.pump();
    });
    socket.on('timeout', () => this.onIdle());
    socket.on('error', (err) => {
      ctx.logger?.debug({ err, client: `${this.client.address}:${this.client.port}` }, 'TCP connection error');
    });
    socket.on('close', () => {
      this.closed = true;
      registry.open.delete(this);
      ctx.stats.tcpClosed();
    });
  }

  destroy(): void {
    this.socket.destroy();
  }

  private onIdle(): void {
    // RFC 7766 §6.2.3: idle means no query outstanding; a slow answer keeps the connection.
    if (this.inFlight > 0 || this.closed) return;
    this.ctx.stats.tcpIdleClosed();
    this.ctx.logger?.debug({ client: `${this.client.address}:${this.client.port}` }, 'closing idle TCP connection');
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
        this.socket.write(frame(out.bytes), () => this.settle());
        if (trace) emitQueryEvent(this.ctx.events, client, msg, out.rcode);
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
    if (registry.open.size >= registry.limits.maxConnections) {
      ctx.stats.tcpRejected();
      ctx.logger?.debug({ client: socket.remoteAddress, cap: registry.limits.maxConnections }, 'TCP connection cap reached; closing new connection');
      socket.on('error', () => {});
      socket.destroy();
      return;
    }
    ctx.stats.tcpAccepted();
    registry.open.add(new TcpConnection(socket, ctx, registry));
  });
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => reject(err);
    server.once('error', onError);
    server.listen({ host: address, port, ipv6Only, exclusive: true }, () => {
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
