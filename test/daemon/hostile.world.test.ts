/**
 * Hostile clients against a running daemon on the test world (issue 14): ANY gets the RFC 8482 HINFO, never the
 * name's RRsets; clients outside the allow list get REFUSED within a token bucket, then silence; a slowloris TCP
 * client is closed at the deadline while others are served; 10,000 TCP connection attempts never take the
 * connections past the cap and the canary is answered throughout; 1,000 pipelined queries on one connection,
 * cached and new names, are all answered. The figures are printed as test diagnostics (bench/hostile.ts
 * measures them against a daemon in its own process for RESULTS.md).
 */
import assert from 'node:assert/strict';
import * as dgram from 'node:dgram';
import { describe, it } from 'node:test';
import { UdpClient, canaryOk, floodConnections, quantile, randomLabel } from '../../bench/live-daemon.js';
import { prng } from '../../bench/fuzz-core.js';
import { EdeCode, EdnsOptionCode, Name, RRType, Rcode, makeQuery, parseMessage, serializeMessage, type Message } from '../../src/wire/index.js';
import { TcpTestClient, framed } from '../server/helpers.js';
import { CANARY, useHostileDaemon } from './hostile-support.js';
import { daemonAddr } from '../world/net.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function query(name: string, type: number, id: number, dnssecOk = true): Uint8Array {
  return serializeMessage(makeQuery(Name.fromText(name), type, { id, edns: { udpSize: 1232, version: 0, dnssecOk, z: 0, options: [] } })).bytes;
}

/** Ask the canary over a new TCP connection; undefined when the connection is refused or closed first. */
async function tcpCanary(port: number, id: number): Promise<Message | undefined> {
  let c: TcpTestClient;
  try {
    c = await TcpTestClient.connect(port);
  } catch {
    return undefined;
  }
  try {
    await c.write(framed(query(CANARY.name, RRType.A, id))).catch(() => undefined);
    const got = await c.waitFor(1, 3000);
    return got.find((m) => m.id === id);
  } finally {
    c.destroy();
  }
}

describe('hostile clients', () => {
  const d = useHostileDaemon({ tcpIdleTimeoutMs: 1500 });

  it('ANY gets one synthesized HINFO "RFC8482" (RFC 8482), not the RRsets the name has', async () => {
    const client = new UdpClient('127.0.0.1');
    await client.open();
    try {
      // What the full answer would be: the world's upstream lists every RRset at the name.
      const full = await client.ask(d.world.upstream.port, 'alg13.test.', 'ANY', { host: d.world.upstream.host });
      assert.ok(full.message && full.message.answer.length > 5, 'the name has many RRsets');
      for (const transport of ['udp', 'tcp'] as const) {
        let m: Message | undefined;
        if (transport === 'udp') m = (await client.ask(d.port, 'alg13.test.', 'ANY')).message;
        else {
          const c = await TcpTestClient.connect(d.port);
          await c.write(framed(query('alg13.test.', RRType.ANY, 4242)));
          m = (await c.waitFor(1))[0];
          c.destroy();
        }
        assert.ok(m, transport);
        assert.equal(m.rcode, Rcode.NOERROR);
        assert.deepEqual(m.answer.map((r) => r.type), [RRType.HINFO], transport);
        assert.equal(Buffer.from((m.answer[0]!.data as { cpu: Uint8Array }).cpu).toString(), 'RFC8482');
        assert.ok(!m.flags.ad);
        assert.equal(m.authority.length, 0);
      }
    } finally {
      client.close();
    }
  });

  it('closes a slowloris TCP connection (a byte a second) at the 1.5 s deadline while others are served', async (t) => {
    const before = d.daemon.stats().server!.tcp.readTimeouts;
    const q = framed(query(CANARY.name, RRType.A, 7));
    const slow = await Promise.all(Array.from({ length: 20 }, () => TcpTestClient.connect(d.port)));
    const opened = Date.now();
    let sent = 0;
    const trickle = (async () => {
      for (; sent < q.length && !slow.every((s) => s.closed); sent++) {
        for (const s of slow) if (!s.closed) s.socket.write(q.subarray(sent, sent + 1));
        await sleep(1000);
      }
    })();
    const served: number[] = [];
    for (let i = 0; i < 4; i++) {
      await sleep(400);
      const t0 = Date.now();
      if (canaryOk(await tcpCanary(d.port, 100 + i))) served.push(Date.now() - t0);
    }
    const closed = await Promise.all(slow.map((s) => Promise.race([s.closedAt, sleep(5000).then(() => -1)])));
    await trickle;
    t.diagnostic(`slowloris closed after ${closed.map((c) => c - opened).join(', ')} ms; ${sent} bytes sent; canary over TCP meanwhile in ${served.join(', ')} ms`);
    assert.equal(served.length, 4, 'the canary was answered over TCP each time');
    for (const c of closed) {
      assert.notEqual(c, -1, 'every slowloris connection was closed');
      assert.ok(c - opened >= 1300 && c - opened < 4000, `closed ${c - opened} ms after opening`);
    }
    assert.ok(sent < q.length);
    assert.equal(d.daemon.stats().server!.tcp.readTimeouts - before, 20);
  });

  it('10,000 TCP connection attempts from one address: never more than tcpMaxConnections open, the canary (another address) answered throughout', async (t) => {
    const cap = d.daemon.config.server.tcpMaxConnections;
    const before = d.daemon.stats().server!.tcp;
    let maxOpen = 0;
    const sampler = setInterval(() => { maxOpen = Math.max(maxOpen, d.daemon.stats().server!.tcp.current); }, 2);
    const t0 = Date.now();
    const { open, counts, done: flood } = floodConnections(d.port, 10_000, '127.0.0.23');
    const udp = new UdpClient('127.0.0.34');
    await udp.open();
    const tcpMs: number[] = [];
    const udpMs: number[] = [];
    let tcpMissed = 0;
    let tcpRetried = 0;
    try {
      let i = 0;
      while (Date.now() - t0 < 1000 || counts.connected + counts.failed < 10_000) {
        const s0 = Date.now();
        let ok = false;
        let attempt = 0;
        for (; attempt < 3 && !ok; attempt++) ok = canaryOk(await tcpCanary(d.port, 200 + (i++ % 1000)));
        if (attempt > 1) tcpRetried++;
        if (ok) tcpMs.push(Date.now() - s0);
        else tcpMissed++;
        const u = await udp.ask(d.port, CANARY.name, 'A', { timeoutMs: 2000 });
        if (canaryOk(u.message)) udpMs.push(u.ms);
        await sleep(50);
        if (Date.now() - t0 > 60_000) break;
      }
      await flood;
    } finally {
      clearInterval(sampler);
      udp.close();
      for (const s of open) s.destroy();
    }
    const st = d.daemon.stats().server!.tcp;
    const figures = {
      attempts: counts.connected + counts.failed, ...counts, seconds: (Date.now() - t0) / 1000, maxOpen, cap,
      accepted: st.accepted - before.accepted, evicted: st.evicted - before.evicted, rejected: st.rejected - before.rejected,
      tcpCanary: { n: tcpMs.length, missed: tcpMissed, retried: tcpRetried, p50: quantile(tcpMs, 0.5), p99: quantile(tcpMs, 0.99) },
      udpCanary: { n: udpMs.length, p50: +quantile(udpMs, 0.5).toFixed(2), p99: +quantile(udpMs, 0.99).toFixed(2) },
    };
    t.diagnostic(JSON.stringify(figures));
    assert.equal(counts.connected + counts.failed, 10_000);
    assert.ok(maxOpen <= cap, `at most ${cap} open, saw ${maxOpen}`);
    assert.ok(figures.accepted > cap, 'the flood went past the cap');
    assert.equal(tcpMissed, 0, 'the TCP canary was answered each time (within 3 attempts)');
    assert.ok(tcpRetried <= tcpMs.length / 10, `the TCP canary needed a second attempt ${tcpRetried} times of ${tcpMs.length}`);
    assert.ok(tcpMs.length >= 5 && udpMs.length === tcpMs.length, 'and over UDP');
  });

  it('answers 1,000 pipelined queries on one TCP connection, cached and new names alike', async (t) => {
    const cached = [CANARY.name, 'alg13.test.', 'alg8.test.', 'alg15.test.', 'nsec3-salt.test.'];
    const c = await TcpTestClient.connect(d.port);
    try {
      // Warm the cached ones.
      await c.write(framed(...cached.map((n, i) => query(n, RRType.SOA, 60_000 + i))));
      await c.waitFor(cached.length);
      c.messages.length = 0;
      const rand = prng(1000);
      const asked = new Map<number, { name: string; type: number }>();
      for (let id = 0; id < 1000; id++) {
        const q = id % 2 === 0 ? { name: cached[id % cached.length]!, type: RRType.SOA } : { name: `p${id}-${randomLabel(rand, 6)}.alg13.test.`, type: RRType.A };
        asked.set(id, q);
      }
      const t0 = performance.now();
      await c.write(framed(...[...asked].map(([id, q]) => query(q.name, q.type, id))));
      const got = await c.waitFor(1000, 60_000);
      const ms = performance.now() - t0;
      t.diagnostic(`1,000 pipelined queries (500 cached, 500 new names) answered in ${ms.toFixed(0)} ms`);
      assert.equal(got.length, 1000);
      assert.deepEqual(new Set(got.map((m) => m.id)).size, 1000, 'each ID once');
      for (const m of got) {
        const q = asked.get(m.id)!;
        assert.equal(m.question[0]!.name.toText().toLowerCase(), q.name, `question echoed for ID ${m.id}`);
        assert.equal(m.rcode, q.type === RRType.SOA ? Rcode.NOERROR : Rcode.NXDOMAIN, `${q.name}: rcode ${m.rcode}`);
        assert.ok(m.flags.ad, `${q.name}: AD`);
      }
    } finally {
      c.destroy();
    }
  });
});

describe('clients outside the allow list', () => {
  const d = useHostileDaemon({}, { allow: ['127.0.0.1/32'] });

  /** Send `n` copies of `q` from `from`, collect the replies for half a second. */
  async function from(address: string, q: Uint8Array, n: number): Promise<Buffer[]> {
    const sock = dgram.createSocket('udp4');
    await new Promise<void>((r) => sock.bind(0, address, r));
    const got: Buffer[] = [];
    sock.on('message', (b) => got.push(b));
    for (let i = 0; i < n; i++) sock.send(q, d.port, '127.0.0.1');
    await sleep(500);
    sock.close();
    return got;
  }

  it('get REFUSED with EDE 18 within the per-source bucket (5/s, burst 10), then nothing: no reflection', async (t) => {
    const before = d.daemon.stats().server!;
    const q = query('victim.example.', RRType.ANY, 99);
    const got = await from(daemonAddr(20, 9), q, 100);
    const after = d.daemon.stats().server!;
    t.diagnostic(`100 queries from ${daemonAddr(20, 9)}: ${got.length} REFUSED, ${after.dropped.ratelimited - before.dropped.ratelimited} dropped`);
    assert.ok(got.length >= 10 && got.length <= 13, `${got.length} replies`);
    for (const b of got) {
      const m = parseMessage(b);
      assert.equal(m.rcode, Rcode.REFUSED);
      assert.equal(m.edns!.options.find((o) => o.code === EdnsOptionCode.EDE)!.data[1], EdeCode.PROHIBITED);
      assert.ok(b.length <= q.length + 6, 'no amplification');
    }
    assert.equal(after.dropped.ratelimited - before.dropped.ratelimited, 100 - got.length);
    // The allowed client is served as ever.
    const ok = new UdpClient('127.0.0.1');
    await ok.open();
    try {
      assert.ok(canaryOk((await ok.ask(d.port, CANARY.name, 'A')).message));
    } finally {
      ok.close();
    }
  });
});
