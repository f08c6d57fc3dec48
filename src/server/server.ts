/** startServer: UDP and TCP listeners on every configured address, sharing one handler and one set of limits. */
import { isIP } from 'node:net';
import { endpointLabel, type ListenAddress } from '../net/address.js';
import { AccessList, DEFAULT_ALLOW } from './acl.js';
import type { QueryContext } from './process.js';
import { RefusalLimiter } from './ratelimit.js';
import { ServerCounters } from './stats.js';
import { ConnectionRegistry, listenTcp, type TcpListener } from './tcp.js';
import type { BoundAddress, ServerHandle, ServerOptions } from './types.js';
import { UdpSlots, listenUdp, type UdpListener } from './udp.js';

export const SERVER_DEFAULTS = {
  udpMaxSize: 1232,
  udpReceiveBuffer: 4 * 1024 * 1024,
  tcpIdleTimeoutMs: 10_000,
  tcpMaxConnections: 256,
  maxTcpQueriesInFlight: 32,
  maxUdpQueriesInFlight: 2048,
  refusedRatePerSource: 5,
  refusedRateTotal: 100,
  tcpMaxUnsentBytes: 16 * 1024 * 1024,
} as const;

/** The largest UDP payload over IPv4 (65535 - 20 - 8): a larger udpMaxSize is clamped to it. */
const MAX_UDP_PAYLOAD = 65507;

/** Attempts at finding a port free for both UDP and TCP when asked for port 0. */
const PORT_ATTEMPTS = 20;

export class ServerConfigError extends Error {
  constructor(readonly field: string, message: string) {
    super(`${field}: ${message}`);
    this.name = 'ServerConfigError';
  }
}

function intOption(field: string, value: number | undefined, dflt: number, min: number, max: number): number {
  if (value === undefined) return dflt;
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ServerConfigError(field, `must be an integer from ${min} to ${max}, got ${String(value)}`);
  }
  return value;
}

type Closable = UdpListener | TcpListener;

function isAddrInUse(err: unknown): boolean {
  return (err as NodeJS.ErrnoException | undefined)?.code === 'EADDRINUSE';
}

/**
 * Bind UDP and TCP on one address. With port 0 both get the same (free) port, so a client can
 * retry over TCP after a truncated UDP answer.
 */
async function bindPair(
  la: ListenAddress,
  ipv6Only: boolean,
  ctx: QueryContext,
  slots: UdpSlots,
  registry: ConnectionRegistry,
  receiveBuffer: number,
): Promise<[UdpListener, TcpListener]> {
  const family = isIP(la.address);
  if (family !== 4 && family !== 6) throw new ServerConfigError('listen', `"${la.address}" is not an IP address`);
  for (let attempt = 1; ; attempt++) {
    const tcp = await listenTcp(la.address, la.port, ipv6Only, ctx, registry);
    try {
      const udp = await listenUdp(la.address, tcp.bound.port, family, ipv6Only, ctx, slots, receiveBuffer);
      return [udp, tcp];
    } catch (err) {
      await tcp.close();
      if (la.port !== 0 || !isAddrInUse(err) || attempt >= PORT_ATTEMPTS) throw err;
    }
  }
}

/** An IPv6 wildcard that shares its port with an IPv4 listener must not also take IPv4 (dual-stack). */
function needsV6Only(la: ListenAddress, all: readonly ListenAddress[]): boolean {
  return isIP(la.address) === 6 && la.port !== 0 && all.some((o) => isIP(o.address) === 4 && o.port === la.port);
}

export async function startServer(opts: ServerOptions): Promise<ServerHandle> {
  if (!Array.isArray(opts.listen) || opts.listen.length === 0) throw new ServerConfigError('listen', 'at least one address is required');
  for (const la of opts.listen) intOption('listen.port', la.port, 0, 0, 65535);
  const udpMaxSize = intOption('udpMaxSize', opts.udpMaxSize, SERVER_DEFAULTS.udpMaxSize, 512, 65535);
  const receiveBuffer = intOption('udpReceiveBuffer', opts.udpReceiveBuffer, SERVER_DEFAULTS.udpReceiveBuffer, 0, 1 << 30);
  const idleTimeoutMs = intOption('tcpIdleTimeoutMs', opts.tcpIdleTimeoutMs, SERVER_DEFAULTS.tcpIdleTimeoutMs, 1, 2 ** 31 - 1);
  const maxConnections = intOption('tcpMaxConnections', opts.tcpMaxConnections, SERVER_DEFAULTS.tcpMaxConnections, 1, 1_000_000);
  const maxInFlight = intOption('maxTcpQueriesInFlight', opts.maxTcpQueriesInFlight, SERVER_DEFAULTS.maxTcpQueriesInFlight, 1, 65535);
  const maxUnsentBytes = intOption('tcpMaxUnsentBytes', opts.tcpMaxUnsentBytes, SERVER_DEFAULTS.tcpMaxUnsentBytes, 64 * 1024, 2 ** 31 - 1);
  const maxUdp = intOption('maxUdpQueriesInFlight', opts.maxUdpQueriesInFlight, SERVER_DEFAULTS.maxUdpQueriesInFlight, 1, 1_000_000);
  const perSource = intOption('refusedRatePerSource', opts.refusedRatePerSource, SERVER_DEFAULTS.refusedRatePerSource, 0, 1_000_000);
  const total = intOption('refusedRateTotal', opts.refusedRateTotal, SERVER_DEFAULTS.refusedRateTotal, 0, 1_000_000);
  const refusals = new RefusalLimiter({ perSource, total }, opts.now ?? Date.now);
  // Throws CidrError naming the bad entry; the config layer adds the field name.
  const acl = new AccessList(opts.allow ?? DEFAULT_ALLOW);

  const stats = new ServerCounters();
  const ctx: QueryContext = { handler: opts.handler, fastPath: opts.fastPath, acl, refusals, udpMaxSize: Math.min(udpMaxSize, MAX_UDP_PAYLOAD), stats, logger: opts.logger, events: opts.events };
  const slots = new UdpSlots(maxUdp);
  const registry = new ConnectionRegistry({ idleTimeoutMs, maxConnections, maxInFlight, maxUnsentBytes });
  const listeners: Closable[] = [];
  const closeAll = async (): Promise<void> => {
    const closing = listeners.map((l) => l.close());
    registry.closeAll();
    await Promise.all(closing);
  };

  try {
    for (const la of opts.listen) {
      listeners.push(...(await bindPair(la, needsV6Only(la, opts.listen), ctx, slots, registry, receiveBuffer)));
    }
  } catch (err) {
    await closeAll();
    throw err;
  }

  const addresses: readonly BoundAddress[] = Object.freeze(listeners.map((l) => Object.freeze({ ...l.bound })));
  opts.logger?.info({ addresses: addresses.map((a) => `${a.transport}/${a.family === 6 ? `[${a.address}]` : a.address}:${a.port}`) }, 'DNS listener started');
  // Fixed once listening, shown beside the counters: a buffer the kernel capped is where bursts are lost.
  const granted = addresses.filter((a) => a.transport === 'udp').map((a) => ({ listen: endpointLabel(a), bytes: a.receiveBuffer ?? 0 }));
  let closing: Promise<void> | undefined;
  return {
    addresses,
    stats: () => ({
      ...stats.snapshot(),
      tcpMaxConnections: maxConnections,
      tcpUnsent: { bytes: registry.unsent, max: maxUnsentBytes },
      udpReceiveBuffer: { requested: receiveBuffer, granted: granted.map((g) => ({ ...g })) },
    }),
    setAllow: (allow) => acl.replace(allow),
    close: () => (closing ??= closeAll().then(() => opts.logger?.info({}, 'DNS listener stopped'))),
  };
}
