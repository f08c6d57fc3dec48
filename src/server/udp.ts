/** DNS over UDP: one datagram in, at most one datagram out, sized to what the client can take. */
import * as dgram from 'node:dgram';
import { literalLookup } from '../net/lookup.js';
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


/** Bind a UDP socket; resolves once bound, rejects on bind errors. */
export function listenUdp(
  address: string,
  port: number,
  family: 4 | 6,
  ipv6Only: boolean,
  ctx: QueryContext,
  slots: UdpSlots,
): Promise<UdpListener> {
  const sock = dgram.createSocket({
    type: family === 6 ? 'udp6' : 'udp4',
    ipv6Only,
    lookup: literalLookup,
  });
  let closed = false;

  sock.on('message', (packet, rinfo) => {
    ctx.stats.query('udp');
    const client: ClientInfo = { address: normalizeAddress(rinfo.address), port: rinfo.port, transport: 'udp', trace: traceFor(ctx.events) };
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
      resolve({
        bound: { transport: 'udp', address: a.address, port: a.port, family: family },
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
