/**
 * bench/hostile: hostile clients against a daemon started as `serve` in its own process (world upstream and
 * anchor, default limits: 256 TCP connections, 10 s TCP idle timeout, 32 queries in flight per connection),
 * its counters read from GET /status of its HTTP API.
 *
 *   node dist/bench/hostile.js [--connections 10000] [--slowloris 200] [--reps 15] [--out bench/out/hostile.json]
 *
 * 1. Connection flood: `--connections` TCP connects from this process (from 127.0.0.23), 500 at a time, each held
 *    open until the daemon closes it; meanwhile the canary (from 127.0.0.1) (a secure A) over a new TCP connection (up to 3 attempts) and over
 *    UDP every 50 ms. Reported: attempts/s, the most connections the daemon held (sampled every 20 ms), accepted,
 *    evicted and rejected, the canary's latency.
 * 2. Pipelining: 1,000 queries written at once on one connection, `--reps` times each: cached names; new
 *    NXDOMAIN names in a signed zone (RFC 8198 answers most after the first); new names in an unsigned zone (one
 *    resolution each). Reported: time to the last answer, queries/s.
 * 3. Slowloris: `--slowloris` connections trickling a query a byte a second; when the daemon closed each, and
 *    the canary meanwhile.
 * 4. Outside the allow list: 10,000 queries (ANY, DO) from daemonAddr(20, 9) as fast as they go (a second daemon with
 *    allow 127.0.0.1/32): replies, octets out per octet in.
 * 5. ANY: the daemon's reply size against the full answer from the world's upstream.
 */
import * as dgram from 'node:dgram';
import { mkdirSync, writeFileSync } from 'node:fs';
import * as net from 'node:net';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { freePort } from '../test/upstream/unbound-fixture.js';
import { getWorld, stopWorld, type WorldInfo } from '../test/world/index.js';
import { Name, RRType, makeQuery, parseMessage, serializeMessage, type Message } from '../src/wire/index.js';
import { prng } from './fuzz-core.js';
import { CANARY, ROOT, UdpClient, canaryOk, floodConnections, quantile, randomLabel, startLiveDaemon, type LiveDaemon } from './live-daemon.js';
import { daemonAddr } from '../test/world/net.js';

const { values: args } = parseArgs({
  options: {
    connections: { type: 'string', default: '10000' },
    slowloris: { type: 'string', default: '200' },
    reps: { type: 'string', default: '15' },
    out: { type: 'string', default: join(ROOT, 'bench', 'out', 'hostile.json') },
  },
});

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const round = (x: number, d = 1): number => +x.toFixed(d);

function query(name: string, type: number, id: number): Uint8Array {
  return serializeMessage(makeQuery(Name.fromText(name), type, { id, edns: { udpSize: 1232, version: 0, dnssecOk: true, z: 0, options: [] } })).bytes;
}

function frame(msgs: Uint8Array[]): Buffer {
  return Buffer.concat(msgs.flatMap((m) => {
    const l = Buffer.alloc(2);
    l.writeUInt16BE(m.length);
    return [l, Buffer.from(m)];
  }));
}

/** Send `msgs` on one new connection; the replies by ID when `n` have come (or `timeoutMs`), and the time taken (parsed after). */
function tcpExchange(port: number, msgs: Uint8Array[], n: number, timeoutMs = 30_000): Promise<{ replies: Map<number, Message>; ms: number }> {
  return new Promise((resolve) => {
    const raw = new Map<number, Buffer>();
    let buf = Buffer.alloc(0);
    const t0 = performance.now();
    const s = net.connect({ port, host: '127.0.0.1' });
    const done = (): void => {
      clearTimeout(timer);
      s.destroy();
      const ms = performance.now() - t0;
      const replies = new Map<number, Message>();
      for (const [id, b] of raw) replies.set(id, parseMessage(b));
      resolve({ replies, ms });
    };
    const timer = setTimeout(done, timeoutMs);
    s.on('connect', () => s.write(frame(msgs)));
    s.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        const b = buf.subarray(2, 2 + buf.readUInt16BE(0));
        raw.set(b.readUInt16BE(0), b);
        buf = buf.subarray(2 + buf.readUInt16BE(0));
      }
      if (raw.size >= n) done();
    });
    s.on('error', done);
    s.on('close', done);
  });
}

async function tcpCanary(port: number, id: number): Promise<boolean> {
  const r = await tcpExchange(port, [query(CANARY.name, RRType.A, id)], 1, 3000);
  return canaryOk(r.replies.get(id));
}

interface Status { server: { tcp: { current: number; accepted: number; evicted: number; rejected: number; readTimeouts: number; idleClosed: number }; dropped: Record<string, number>; refused: number } }

async function status(httpPort: number): Promise<Status> {
  const r = await fetch(`http://127.0.0.1:${httpPort}/status`);
  return (await r.json()) as Status;
}

async function connectionFlood(d: LiveDaemon, httpPort: number, total: number): Promise<unknown> {
  const before = (await status(httpPort)).server.tcp;
  let maxOpen = 0;
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      maxOpen = Math.max(maxOpen, (await status(httpPort)).server.tcp.current);
      await sleep(20);
    }
  })();
  const t0 = performance.now();
  const { open, counts, done: flood } = floodConnections(d.port, total, '127.0.0.23');
  const udp = new UdpClient('127.0.0.34');
  await udp.open();
  const tcpMs: number[] = [];
  const udpMs: number[] = [];
  let tcpMissed = 0;
  let attemptsOver1 = 0;
  let id = 1;
  let floodMs = 0;
  void flood.then(() => { floodMs = performance.now() - t0; });
  while (counts.connected + counts.failed < total) {
    const s0 = performance.now();
    let ok = false;
    let attempts = 0;
    for (; attempts < 3 && !ok; attempts++) ok = await tcpCanary(d.port, id++);
    if (ok) tcpMs.push(performance.now() - s0);
    else tcpMissed++;
    if (attempts > 1) attemptsOver1++;
    const u = await udp.ask(d.port, CANARY.name, 'A', { timeoutMs: 2000 });
    if (canaryOk(u.message)) udpMs.push(u.ms);
    await sleep(50);
  }
  await flood;
  sampling = false;
  await sampler;
  udp.close();
  for (const s of open) s.destroy();
  const st = (await status(httpPort)).server.tcp;
  return {
    attempts: counts.connected + counts.failed, ...counts, seconds: round(floodMs / 1000, 2), attemptsPerSecond: Math.round((counts.connected + counts.failed) / (floodMs / 1000)),
    maxOpenSampled: maxOpen, accepted: st.accepted - before.accepted, evicted: st.evicted - before.evicted, rejected: st.rejected - before.rejected,
    tcpCanary: { n: tcpMs.length, missed: tcpMissed, neededRetry: attemptsOver1, p50: round(quantile(tcpMs, 0.5), 2), p99: round(quantile(tcpMs, 0.99), 2) },
    udpCanary: { n: udpMs.length, p50: round(quantile(udpMs, 0.5), 2), p99: round(quantile(udpMs, 0.99), 2) },
  };
}

async function pipelining(d: LiveDaemon, reps: number): Promise<unknown> {
  const cached = [CANARY.name, 'alg13.test.', 'alg8.test.', 'alg15.test.', 'nsec3-salt.test.', 'test.'];
  await tcpExchange(d.port, cached.map((n, i) => query(n, RRType.SOA, i)), cached.length);
  const rand = prng(77);
  const kinds: Record<string, (i: number) => [string, number]> = {
    cached: (i) => [cached[i % cached.length]!, RRType.SOA],
    'new, signed zone': (i) => [`p${i}-${randomLabel(rand, 8)}.alg13.test.`, RRType.A],
    'new, unsigned zone': (i) => [`p${i}-${randomLabel(rand, 8)}.unsigned.test.`, RRType.A],
  };
  const out: Record<string, unknown> = {};
  for (const [kind, make] of Object.entries(kinds)) {
    const runs: { ms: number; answered: number; rcodes: Record<number, number> }[] = [];
    for (let r = 0; r < reps; r++) {
      const msgs = Array.from({ length: 1000 }, (_, i) => { const [n, t] = make(i); return query(n, t, i); });
      const { replies, ms } = await tcpExchange(d.port, msgs, 1000, 60_000);
      const rcodes: Record<number, number> = {};
      for (const m of replies.values()) rcodes[m.rcode] = (rcodes[m.rcode] ?? 0) + 1;
      runs.push({ ms: round(ms), answered: replies.size, rcodes });
    }
    const med = [...runs].sort((a, b) => a.ms - b.ms)[Math.floor(runs.length / 2)]!;
    out[kind] = { medianMs: med.ms, queriesPerSecond: Math.round(1000 / (med.ms / 1000)), runs };
  }
  return out;
}

async function slowloris(d: LiveDaemon, httpPort: number, n: number): Promise<unknown> {
  const before = (await status(httpPort)).server.tcp;
  const q = frame([query(CANARY.name, RRType.A, 9)]);
  const socks = await Promise.all(Array.from({ length: n }, () => new Promise<net.Socket>((res) => {
    const s = net.connect({ port: d.port, host: '127.0.0.1' }, () => res(s));
    s.on('error', () => undefined);
  })));
  const t0 = performance.now();
  const closedAfter: number[] = [];
  for (const s of socks) s.once('close', () => closedAfter.push(performance.now() - t0));
  const canaryMs: number[] = [];
  let sent = 0;
  let missed = 0;
  while (closedAfter.length < n && performance.now() - t0 < 30_000) {
    if (sent < q.length) for (const s of socks) if (!s.destroyed) s.write(q.subarray(sent, sent + 1));
    sent++;
    const c0 = performance.now();
    if (await tcpCanary(d.port, 1000 + sent)) canaryMs.push(performance.now() - c0);
    else missed++;
    await sleep(Math.max(0, 1000 - (performance.now() - c0)));
  }
  for (const s of socks) s.destroy();
  const st = (await status(httpPort)).server.tcp;
  return {
    connections: n, bytesSentEach: Math.min(sent, q.length), queryBytes: q.length,
    closedAfterSeconds: { min: round(Math.min(...closedAfter) / 1000, 2), max: round(Math.max(...closedAfter) / 1000, 2), count: closedAfter.length },
    readTimeouts: st.readTimeouts - before.readTimeouts,
    tcpCanary: { n: canaryMs.length, missed, p50: round(quantile(canaryMs, 0.5), 2), p99: round(quantile(canaryMs, 0.99), 2) },
  };
}

async function outsideAllow(world: WorldInfo): Promise<unknown> {
  const httpPort = await freePort('127.0.0.1');
  const d = await startLiveDaemon(world, { extra: { allow: ['127.0.0.1/32'], http: { listen: [{ address: '127.0.0.1', port: httpPort }] } } });
  try {
    const sock = dgram.createSocket({ type: 'udp4', recvBufferSize: 8 << 20 });
    await new Promise<void>((r) => sock.bind(0, daemonAddr(20, 9), r));
    let replies = 0;
    let bytesOut = 0;
    sock.on('message', (b) => { replies++; bytesOut += b.length; });
    const q = query('victim.example.', RRType.ANY, 1);
    const t0 = performance.now();
    for (let i = 0; i < 10_000; i++) {
      await new Promise<void>((r) => sock.send(q, d.port, '127.0.0.1', () => r()));
      if (i % 500 === 0) await sleep(1);
    }
    const seconds = (performance.now() - t0) / 1000;
    await sleep(1000);
    sock.close();
    const st = (await status(httpPort)).server;
    return {
      queries: 10_000, seconds: round(seconds, 2), replies, dropped: st.dropped['ratelimited'], refusedCounted: st.refused,
      octetsIn: 10_000 * q.length, octetsOut: bytesOut, ratio: round(bytesOut / (10_000 * q.length), 4),
    };
  } finally {
    await d.stop();
  }
}

async function anyQueries(world: WorldInfo, d: LiveDaemon): Promise<unknown> {
  const c = new UdpClient('127.0.0.1');
  await c.open();
  try {
    const out: Record<string, unknown> = {};
    for (const name of ['alg13.test.', 'alg8.test.', 'test.']) {
      const full = await c.ask(world.upstream.port, name, 'ANY', { host: world.upstream.host });
      const ours = await c.ask(d.port, name, 'ANY');
      const size = (m: Message | undefined): number => (m ? serializeMessage(m).bytes.length : 0);
      out[name] = {
        upstream: { records: full.message?.answer.length, octets: size(full.message), tc: full.message?.flags.tc },
        daemon: { records: ours.message?.answer.length, types: ours.message?.answer.map((r) => r.type), octets: size(ours.message) },
      };
    }
    return out;
  } finally {
    c.close();
  }
}

async function main(): Promise<void> {
  const world = await getWorld();
  const httpPort = await freePort('127.0.0.1');
  const d = await startLiveDaemon(world, { extra: { http: { listen: [{ address: '127.0.0.1', port: httpPort }] } } });
  const results: Record<string, unknown> = { when: new Date().toISOString() };
  try {
    results['any'] = await anyQueries(world, d);
    console.log('ANY', JSON.stringify(results['any']));
    results['pipelining'] = await pipelining(d, Number(args.reps));
    console.log('pipelining', JSON.stringify(results['pipelining']));
    results['connectionFlood'] = await connectionFlood(d, httpPort, Number(args.connections));
    console.log('connection flood', JSON.stringify(results['connectionFlood']));
    results['slowloris'] = await slowloris(d, httpPort, Number(args.slowloris));
    console.log('slowloris', JSON.stringify(results['slowloris']));
    if (!d.alive()) throw new Error(`the daemon died:\n${d.output()}`);
    results['daemonRssMiB'] = round(d.rssKb() / 1024, 0);
  } finally {
    await d.stop();
  }
  results['outsideAllow'] = await outsideAllow(world);
  console.log('outside the allow list', JSON.stringify(results['outsideAllow']));
  mkdirSync(dirname(args.out!), { recursive: true });
  writeFileSync(args.out!, JSON.stringify(results, null, 2));
  console.log(`written to ${args.out}`);
  await stopWorld();
}

await main();
