/** DNS over UDP: one datagram in, at most one datagram out, sized to what the client can take. */
import * as dgram from 'node:dgram';
import { normalizeAddress } from '../net/address.js';
import { emitQueryEvent, traceFor } from './events.js';
import { fastReply, processQuery, type QueryContext } from './process.js';
import type { BoundAddress, ClientInfo } from './types.js';

/** UDP queries being answered, over every UDP listener. */
export class UdpSlots {
  inFlight = 0;
  constructor(readonly max: number) {}
}

export interface UdpListener {
  readonly bound: BoundAddress;
  close(): Promise<void>;
}

/**
 * Ask the kernel for a receive buffer of `bytes` (0: leave its default) and return what it granted. A burst of
 * queries waits there while the event loop is busy; with the kernel's default (about 200 KiB) a few hundred
 * datagrams overflow it. Linux caps SO_RCVBUF at net.core.rmem_max (and reports twice the value it keeps, for
 * its bookkeeping): a cap is logged once per socket with the sysctl that lifts it.
 */
function sizeReceiveBuffer(sock: dgram.Socket, bytes: number, label: string, ctx: QueryContext): number {
  if (bytes > 0) {
    try {
      sock.setRecvBufferSize(bytes);
    } catch (err) {
      ctx.logger?.warn({ err, listen: label, udpReceiveBuffer: bytes }, 'could not size the UDP receive buffer; the kernel default stays');
    }
  }
  // Linux reports twice a size it was given (the rest is its bookkeeping), its default as is; other kernels as is.
  const reported = sock.getRecvBufferSize();
  const granted = bytes > 0 && process.platform === 'linux' ? Math.floor(reported / 2) : reported;
  if (bytes > 0 && granted < bytes) {
    ctx.logger?.warn(
      { listen: label, udpReceiveBuffer: bytes, granted },
      `the kernel capped the UDP receive buffer at ${granted} bytes (asked for ${bytes}): query bursts may be dropped; ` +
        `raise the cap with: sysctl -w net.core.rmem_max=${bytes}`,
    );
  }
  return granted;
}

/**
 * The listener's address lookup. It is asked only for the address it binds (an IP literal: bindPair checked
 * it) and for the addresses it replies to (a datagram's source, an IP literal from the kernel): the answer is
 * the address itself, without even the literal check that src/net/lookup.ts makes for the other sockets (it
 * took a regular expression per reply).
 */
function listenerLookup(family: 4 | 6): NonNullable<dgram.SocketOptions['lookup']> {
  return ((address: string, _family: unknown, cb: (err: Error | null, address: string, family: number) => void): void => {
    cb(null, address, family);
  }) as unknown as NonNullable<dgram.SocketOptions['lookup']>;
}

/** Bind a UDP socket; resolves once bound, rejects on bind errors. */
export function listenUdp(
  address: string,
  port: number,
  family: 4 | 6,
  ipv6Only: boolean,
  ctx: QueryContext,
  slots: UdpSlots,
  /** SO_RCVBUF to ask for (0: the kernel's default). */
  receiveBuffer: number,
): Promise<UdpListener> {
  const sock = dgram.createSocket({
    type: family === 6 ? 'udp6' : 'udp4',
    ipv6Only,
    lookup: listenerLookup(family),
  });
  let closed = false;

  sock.on('message', (packet, rinfo) => {
    ctx.stats.query('udp');
    // An IPv4 socket never sees an IPv4-mapped IPv6 address: only a dual-stack one needs the mapping undone.
    const address = family === 4 ? rinfo.address : normalizeAddress(rinfo.address);
    const client: ClientInfo = { address, port: rinfo.port, transport: 'udp', trace: traceFor(ctx.events) };
    // Answers that need no waiting (cache hits) go out at once, outside the in-flight accounting.
    const fast = fastReply(ctx, packet, client);
    if (fast) {
      if (closed) return;
      ctx.stats.response('udp', fast.rcode);
      // No callback: a send error is emitted as a socket 'error' (logged below) instead of costing a tick per reply.
      sock.send(fast.bytes, rinfo.port, rinfo.address);
      if (client.trace) emitQueryEvent(ctx.events, client, packet, fast.rcode);
      return;
    }
    if (slots.inFlight >= slots.max) {
      ctx.stats.drop('overload');
      ctx.logger?.debug({ client: rinfo.address, inFlight: slots.inFlight }, 'dropped: too many UDP queries in flight');
      return;
    }
    slots.inFlight++;
    processQuery(ctx, packet, client)
      .then((out) => {
        if (out.kind === 'drop') return;
        if (closed) {
          ctx.stats.drop('closed');
          return;
        }
        ctx.stats.response('udp', out.rcode);
        sock.send(out.bytes, rinfo.port, rinfo.address, (err) => {
          if (err) ctx.logger?.debug({ err, client: rinfo.address }, 'UDP send failed');
        });
        if (client.trace) emitQueryEvent(ctx.events, client, packet, out.rcode);
      })
      .catch((err: unknown) => ctx.logger?.error({ err }, 'unexpected error answering a UDP query'))
      .finally(() => {
        slots.inFlight--;
      });
  });

  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => {
      closed = true;
      try {
        sock.close();
      } catch {
        // not bound: nothing to close
      }
      reject(err);
    };
    sock.once('error', onError);
    sock.bind({ address, port, exclusive: true }, () => {
      sock.off('error', onError);
      // After binding, errors (ICMP-induced and the like) are logged, never fatal.
      sock.on('error', (err) => ctx.logger?.warn({ err }, 'UDP socket error'));
      const a = sock.address();
      const granted = sizeReceiveBuffer(sock, receiveBuffer, `${a.address}:${a.port}`, ctx);
      resolve({
        bound: { transport: 'udp', address: a.address, port: a.port, family: family, receiveBuffer: granted },
        close: () =>
          new Promise<void>((res) => {
            if (closed) return res();
            closed = true;
            sock.close(() => res());
          }),
      });
    });
  });
}
