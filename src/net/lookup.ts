/**
 * The address lookup given to every node:dgram socket of the daemon (listeners, upstream queries, the
 * start-up self-test). All their addresses are IP literals (the configuration checks them), so the
 * answer is immediate: node's default `dns.lookup` would add a tick, closures and an async-hook scope
 * to every send, a large share of the cost of a cached answer.
 */
import type { SocketOptions } from 'node:dgram';
import { isIP } from 'node:net';

function lookup(address: string, _family: unknown, cb: (err: Error | null, address: string, family: number) => void): void {
  const f = isIP(address);
  if (f === 0) cb(Object.assign(new Error(`not an IP address: ${address}`), { code: 'EINVAL' }), address, 0);
  else cb(null, address, f);
}

export const literalLookup = lookup as unknown as NonNullable<SocketOptions['lookup']>;
