/**
 * A UDP relay on loopback that adds a fixed round-trip time between a resolver and its upstream, for
 * bench/cold: in the test world the upstream answers in a few microseconds, which no real network does.
 * Half the RTT is added on the way out, half on the way back. Each client address:port (a resolver uses
 * one socket, with a random port, per query) gets its own socket towards the upstream, so answers go
 * back to the port that asked, from the relay's address. TCP connections (truncated answers, and
 * dnssec-stubd's capability probe, which checks that the upstream answers over TCP) are relayed on
 * the same port, each chunk held for half the RTT. Loopback only.
 *
 *   node dist/bench/delay-proxy.js --listen 127.0.0.1:PORT --upstream 127.X.1.1:53 --rtt 10   (the world's upstream; 127.X: its block, test/world/net.ts)
 *
 * Prints "ready" once listening; runs until killed.
 */
import { createSocket, type Socket } from 'node:dgram';
import { connect, createServer, type Socket as TcpSocket } from 'node:net';
import { parseArgs } from 'node:util';

function hostPort(s: string, what: string): { host: string; port: number } {
  const i = s.lastIndexOf(':');
  const host = s.slice(0, i);
  const port = Number(s.slice(i + 1));
  if (i <= 0 || !Number.isInteger(port) || port <= 0 || port > 65535) throw new Error(`--${what}: expected ADDR:PORT, got ${JSON.stringify(s)}`);
  if (!host.startsWith('127.')) throw new Error(`--${what}: loopback (127.0.0.0/8) only, got ${host}`);
  return { host, port };
}

/** Relay datagrams between clients on `listen` and `upstream`, `rttMs` added per exchange. */
export async function startDelayProxy(listen: { host: string; port: number }, upstream: { host: string; port: number }, rttMs: number): Promise<() => void> {
  const half = Math.max(0, rttMs / 2);
  const front = createSocket('udp4');
  const backs = new Map<string, Socket>();
  const lastUse = new Map<Socket, number>();
  const later = (fn: () => void): void => {
    if (half === 0) fn();
    else setTimeout(fn, half);
  };
  front.on('message', (msg, rinfo) => {
    const key = `${rinfo.address}:${rinfo.port}`;
    let back = backs.get(key);
    if (!back) {
      const b = createSocket('udp4');
      b.on('message', (reply, from) => {
        if (from.port !== upstream.port || from.address !== upstream.host) return;
        later(() => {
          try {
            front.send(reply, rinfo.port, rinfo.address);
          } catch {
            /* the relay is closing */
          }
        });
      });
      b.on('error', () => undefined);
      b.bind(0, '127.0.0.1');
      backs.set(key, b);
      // A resolver's query socket lives for one exchange (and its retries): forget it once idle for 30 s
      // (idle: the kernel may give the same port to a later query, whose exchange must not lose its socket).
      const forget = (): void => {
        const idle = Date.now() - (lastUse.get(b) ?? 0);
        if (idle < 30_000) {
          setTimeout(forget, 30_000 - idle).unref();
          return;
        }
        backs.delete(key);
        lastUse.delete(b);
        b.close();
      };
      setTimeout(forget, 30_000).unref();
      back = b;
    }
    lastUse.set(back, Date.now());
    const out = back;
    later(() => {
      // the socket may have been forgotten (closed) meanwhile: the datagram is lost, as on a network
      try {
        out.send(msg, upstream.port, upstream.host);
      } catch {
        /* closed */
      }
    });
  });
  await new Promise<void>((resolve, reject) => {
    front.once('error', reject);
    front.bind(listen.port, listen.host, () => resolve());
  });
  const conns = new Set<TcpSocket>();
  const tcp = createServer((client) => {
    const server = connect(upstream.port, upstream.host);
    for (const s of [client, server]) {
      conns.add(s);
      s.on('error', () => undefined);
      s.on('close', () => {
        conns.delete(s);
        client.destroy();
        server.destroy();
      });
    }
    client.on('data', (d) => later(() => server.write(d)));
    server.on('data', (d) => later(() => client.write(d)));
  });
  await new Promise<void>((resolve, reject) => {
    tcp.once('error', reject);
    tcp.listen(listen.port, listen.host, () => resolve());
  });
  return () => {
    front.close();
    tcp.close();
    for (const b of backs.values()) b.close();
    for (const c of conns) c.destroy();
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { listen: { type: 'string' }, upstream: { type: 'string' }, rtt: { type: 'string', default: '10' } } });
  const rtt = Number(values.rtt);
  if (!Number.isFinite(rtt) || rtt < 0) throw new Error(`--rtt: expected milliseconds, got ${values.rtt}`);
  await startDelayProxy(hostPort(values.listen ?? '', 'listen'), hostPort(values.upstream ?? '', 'upstream'), rtt);
  console.log('ready');
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop()!)) {
  main().catch((e: unknown) => {
    console.error(String(e instanceof Error ? e.message : e));
    process.exit(2);
  });
}
