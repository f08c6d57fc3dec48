/**
 * Before the probes, the anchors and the self-test: can the daemon have its listen addresses? Each DNS
 * address (UDP and TCP) and each HTTP address with a fixed port is bound once and let go, so a second instance,
 * or a port another resolver holds, fails in milliseconds with a message that says what failed and, when
 * /proc tells, which process holds the port. The real bind later can still fail (a race): the same message.
 */
import * as dgram from 'node:dgram';
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import * as net from 'node:net';
import type { ListenAddress } from '../config/schema.js';
import { endpointLabel } from '../net/address.js';

export type ListenPurpose = 'DNS' | 'HTTP API';

/** A listen address the daemon cannot have: not a configuration error, something on this host. */
export class ListenError extends Error {
  constructor(
    readonly purpose: ListenPurpose,
    readonly address: string,
    readonly port: number,
    readonly transport: 'udp' | 'tcp',
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ListenError';
  }
}

/** The message for a failed bind: what, why, and what to do. */
export function listenFailure(purpose: ListenPurpose, address: string, port: number, transport: 'udp' | 'tcp', err: NodeJS.ErrnoException): ListenError {
  const at = `${endpointLabel({ address, port })} (${transport.toUpperCase()}${purpose === 'HTTP API' ? ', the HTTP API' : ''})`;
  const code = err.code ?? 'EUNKNOWN';
  const flag = purpose === 'DNS' ? '--listen (listen:)' : '--http (http.listen:)';
  let why: string;
  switch (code) {
    case 'EADDRINUSE': {
      const owner = portOwner(address, port, transport);
      const sp = sourcePorts();
      // Not a server: the source port of an outgoing connection or socket, which the kernel picks from its range.
      const outgoing = owner === undefined && sp && takeable(port, sp.range, sp.reserved)
        ? `; port ${port} is ${inSourceRange(sp.range)}, where any outgoing connection can take it: pick a port outside it, or ` +
          `reserve it (net.ipv4.ip_local_reserved_ports=${port})`
        : '';
      why = `the address is already in use by ${owner ?? 'another process'} (another dnssec-stubd, or a resolver such as ` +
        `systemd-resolved, dnsmasq or unbound; \`ss -lntup 'sport = :${port}'\` shows it): stop it, or pick another port with ${flag}${outgoing}`;
      break;
    }
    case 'EACCES':
      why = `permission denied: ports below 1024 need root or CAP_NET_BIND_SERVICE (the systemd unit has it), or pick a port above 1023 with ${flag}`;
      break;
    case 'EADDRNOTAVAIL':
      why = `${address} is not an address of this host: pick one it has with ${flag}`;
      break;
    default:
      why = `${err.message}`;
  }
  return new ListenError(purpose, address, port, transport, code, `cannot listen on ${at}: ${why}`);
}

/** The kernel's range of source ports for outgoing connections (Linux: ip_local_port_range), or undefined. */
export function ephemeralRange(file = '/proc/sys/net/ipv4/ip_local_port_range'): [number, number] | undefined {
  try {
    const [lo, hi] = readFileSync(file, 'utf8').trim().split(/\s+/).map(Number);
    return Number.isInteger(lo) && Number.isInteger(hi) && lo! > 0 && hi! >= lo! ? [lo!, hi!] : undefined;
  } catch {
    return undefined;
  }
}

/** Ports the kernel reserves from that range (ip_local_reserved_ports: "1000,2000-2010"). */
function reservedPorts(file = '/proc/sys/net/ipv4/ip_local_reserved_ports'): (port: number) => boolean {
  let text = '';
  try {
    text = readFileSync(file, 'utf8').trim();
  } catch {
    // not Linux
  }
  const spans = text === '' ? [] : text.split(',').map((p) => p.split('-').map(Number) as [number, number?]);
  return (port) => spans.some(([a, b]) => port >= a && port <= (b ?? a));
}

const inRange = (port: number, [lo, hi]: [number, number]): boolean => port >= lo && port <= hi;

/** A fixed port an outgoing connection can take: inside the source-port range and not reserved from it. */
const takeable = (port: number, range: [number, number], reserved: (port: number) => boolean): boolean =>
  port !== 0 && inRange(port, range) && !reserved(port);

/** The kernel's source-port range and the ports reserved from it, read once; undefined where there is none. */
export function sourcePorts(): { range: [number, number]; reserved: (port: number) => boolean } | undefined {
  const range = ephemeralRange();
  return range && { range, reserved: reservedPorts() };
}

const inSourceRange = ([lo, hi]: [number, number]): string => `in the kernel's range for source ports (net.ipv4.ip_local_port_range ${lo}-${hi})`;

/** The start-up warning for the listen ports an outgoing connection can take (portsAtRisk), or undefined. */
export function sourcePortWarning(dns: readonly ListenAddress[], http: readonly ListenAddress[]): { ports: number[]; range: [number, number]; message: string } | undefined {
  const sp = sourcePorts();
  const ports = sp ? portsAtRisk(dns, http, sp.range, sp.reserved) : [];
  if (!sp || ports.length === 0) return undefined;
  const many = ports.length > 1;
  return {
    ports,
    range: sp.range,
    message: `listen port${many ? 's' : ''} ${ports.join(', ')} ${many ? 'are' : 'is'} ${inSourceRange(sp.range)}: an outgoing connection, ` +
      `this daemon's own upstream queries included, can take ${many ? 'one' : 'it'} before the listeners bind or while the daemon restarts; ` +
      `pick a port below ${sp.range[0]}, or reserve it (sysctl -w net.ipv4.ip_local_reserved_ports=${ports.join(',')})`,
  };
}

/**
 * The fixed listen ports (DNS and HTTP) inside the kernel's source-port range and not reserved from it: an
 * outgoing connection or socket on this host (the daemon's own upstream queries included) can take one between
 * the daemon's start-up check and its bind, or while it restarts. For a warning at start.
 */
export function portsAtRisk(
  dns: readonly ListenAddress[], http: readonly ListenAddress[], range: [number, number] | null, reserved: (port: number) => boolean,
): number[] {
  if (!range) return [];
  const ports = new Set([...dns, ...http].map((la) => la.port).filter((p) => takeable(p, range, reserved)));
  return [...ports].sort((a, b) => a - b);
}

function tryTcp(address: string, port: number, ipv6Only: boolean): Promise<NodeJS.ErrnoException | undefined> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', (err) => resolve(err as NodeJS.ErrnoException));
    s.listen({ host: address, port, ipv6Only, exclusive: true }, () => s.close(() => resolve(undefined)));
  });
}

function tryUdp(address: string, port: number, ipv6Only: boolean): Promise<NodeJS.ErrnoException | undefined> {
  return new Promise((resolve) => {
    const s = dgram.createSocket({ type: net.isIP(address) === 6 ? 'udp6' : 'udp4', ipv6Only });
    s.once('error', (err) => {
      s.close();
      resolve(err as NodeJS.ErrnoException);
    });
    s.bind({ address, port, exclusive: true }, () => s.close(() => resolve(undefined)));
  });
}

/** Bind each fixed-port DNS address (UDP and TCP) and HTTP address once; throws the first ListenError. */
export async function checkListenAddresses(dns: readonly ListenAddress[], http: readonly ListenAddress[]): Promise<void> {
  for (const la of dns) {
    if (la.port === 0) continue;
    // As the listener binds: an IPv6 address sharing its port with an IPv4 one takes IPv6 only.
    const v6Only = net.isIP(la.address) === 6 && dns.some((o) => net.isIP(o.address) === 4 && o.port === la.port);
    const tcp = await tryTcp(la.address, la.port, v6Only);
    if (tcp) throw listenFailure('DNS', la.address, la.port, 'tcp', tcp);
    const udp = await tryUdp(la.address, la.port, v6Only);
    if (udp) throw listenFailure('DNS', la.address, la.port, 'udp', udp);
  }
  for (const la of http) {
    if (la.port === 0) continue;
    const tcp = await tryTcp(la.address, la.port, false);
    if (tcp) throw listenFailure('HTTP API', la.address, la.port, 'tcp', tcp);
  }
}

/**
 * Which process holds a port, from /proc (Linux): the socket's inode in /proc/net/{tcp,udp}{,6}, then the
 * process with a descriptor on it. Undefined when it cannot be told (another user's process seen by a non-root
 * daemon, another network namespace, not Linux).
 */
export function portOwner(address: string, port: number, transport: 'udp' | 'tcp'): string | undefined {
  const pid = portOwnerPid(address, port, transport);
  if (pid === undefined) return undefined;
  try {
    const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ');
    return `process ${pid} (${cmd.length > 120 ? `${cmd.slice(0, 117)}...` : cmd})`;
  } catch {
    return `process ${pid}`;
  }
}

/** The id of the process holding `address:port` (see portOwner), or undefined. */
export function portOwnerPid(address: string, port: number, transport: 'udp' | 'tcp'): number | undefined {
  try {
    const inodes = new Set<string>();
    const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
    const wanted = procAddresses(address);
    for (const file of [`/proc/net/${transport}`, `/proc/net/${transport}6`]) {
      let text: string;
      try {
        text = readFileSync(file, 'utf8');
      } catch {
        continue;
      }
      for (const line of text.split('\n').slice(1)) {
        const f = line.trim().split(/\s+/);
        // local_address is ADDR:PORT in hex; st 0A is LISTEN for TCP (UDP sockets have 07).
        if (f.length < 10 || !f[1]!.endsWith(`:${hexPort}`) || !wanted.has(f[1]!.slice(0, -5))) continue;
        if (transport === 'tcp' && f[3] !== '0A') continue;
        inodes.add(f[9]!);
      }
    }
    if (inodes.size === 0) return undefined;
    for (const pid of readdirSync('/proc')) {
      if (!/^\d+$/.test(pid) || Number(pid) === process.pid) continue;
      let fds: string[];
      try {
        fds = readdirSync(`/proc/${pid}/fd`);
      } catch {
        continue;
      }
      for (const fd of fds) {
        let target: string;
        try {
          target = readlinkSync(`/proc/${pid}/fd/${fd}`);
        } catch {
          continue;
        }
        const m = /^socket:\[(\d+)\]$/.exec(target);
        if (m && inodes.has(m[1]!)) return Number(pid);
      }
    }
  } catch {
    return undefined;
  }
  return undefined;
}

/** How /proc/net/* writes an address that clashes with `address`: itself, its IPv4-mapped form, the wildcards. */
function procAddresses(address: string): Set<string> {
  const out = new Set(['00000000', '0'.repeat(32)]);
  // Each 32-bit word in host (little-endian) byte order.
  const words = (bytes: number[]): string => {
    let hex = '';
    for (let i = 0; i < bytes.length; i += 4) {
      for (let j = 3; j >= 0; j--) hex += bytes[i + j]!.toString(16).toUpperCase().padStart(2, '0');
    }
    return hex;
  };
  if (net.isIP(address) === 4) {
    const b = address.split('.').map(Number);
    out.add(words(b));
    out.add(words([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, ...b]));
  } else if (net.isIP(address) === 6) {
    const sl = new net.SocketAddress({ address, family: 'ipv6' }).address;
    const [head, tail = ''] = sl.split('::');
    const groups = (x: string): number[] => (x ? x.split(':').map((g) => parseInt(g, 16)) : []);
    const h = groups(head!);
    const t = groups(tail);
    const all = sl.includes('::') ? [...h, ...new Array<number>(8 - h.length - t.length).fill(0), ...t] : h;
    out.add(words(all.flatMap((g) => [g >> 8, g & 0xff])));
  }
  return out;
}
