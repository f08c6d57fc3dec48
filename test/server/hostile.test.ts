/**
 * Hostile clients against the listener with the fixed-answer handler (issue 14): a slowloris TCP client is
 * closed by the read deadline while others are served; a client that does not read its replies is closed; a
 * flood of connections at the cap replaces idle ones and never exceeds it; 1,000 pipelined queries on one
 * connection are all answered within the in-flight bound; ANY gets the RFC 8482 HINFO; clients outside the
 * allow list get REFUSED within a token bucket, then silence. Loopback only (daemonAddr(20, x) as the outside).
 */
import assert from 'node:assert/strict';
import * as dgram from 'node:dgram';
import * as net from 'node:net';
import { describe, it } from 'node:test';
import { RefusalLimiter } from '../../src/server/ratelimit.js';
import type { Answer, ClientInfo } from '../../src/server/index.js';
import { EdeCode, EdnsOptionCode, RRType, Rcode, parseMessage, type Message } from '../../src/wire/index.js';
import { TcpTestClient, edns, fixedHandler, framed, queryBytes, sleep, startTest, txt, udpExchange } from './helpers.js';
import { daemonAddr } from '../world/net.js';

const ids = (ms: Message[]): number[] => ms.map((m) => m.id);

/** A UDP client bound to `from` that sends `bytes` `n` times and counts the replies within `waitMs`. */
async function udpFrom(from: string, port: number, bytes: Uint8Array, n: number, waitMs = 300): Promise<Buffer[]> {
  const sock = dgram.createSocket('udp4');
  await new Promise<void>((r) => sock.bind(0, from, r));
  const got: Buffer[] = [];
  sock.on('message', (m) => got.push(m));
  for (let i = 0; i < n; i++) await new Promise<void>((r, j) => sock.send(bytes, port, '127.0.0.1', (e) => (e ? j(e) : r())));
  await sleep(waitMs);
  sock.close();
  return got;
}

describe('slow and stalled TCP clients', () => {
  it('closes a slowloris connection (a byte a second) at the idle deadline; other clients are served meanwhile', async () => {
    const s = await startTest({ tcpIdleTimeoutMs: 2500 });
    try {
      const q = framed(queryBytes('trickle.example', RRType.A, { id: 9 }));
      const slow = await TcpTestClient.connect(s.port);
      const opened = Date.now();
      let sent = 0;
      const trickle = (async () => {
        while (!slow.closed && sent < q.length) {
          slow.socket.write(q.subarray(sent, sent + 1));
          sent++;
          await sleep(1000);
        }
      })();
      // Meanwhile, others over TCP and UDP.
      for (let i = 0; i < 3; i++) {
        await sleep(500);
        const c = await TcpTestClient.connect(s.port);
        await c.write(framed(queryBytes('fast.example', RRType.TXT, { id: 100 + i })));
        assert.deepEqual(ids(await c.waitFor(1)), [100 + i]);
        c.destroy();
        const u = await udpExchange(s.port, queryBytes('fast.example', RRType.TXT, { id: 200 + i }));
        assert.equal(parseMessage(u!).id, 200 + i);
      }
      const closedAt = await Promise.race([slow.closedAt, sleep(6000).then(() => -1)]);
      await trickle;
      assert.notEqual(closedAt, -1, 'the slowloris connection was closed');
      const after = closedAt - opened;
      assert.ok(after >= 2300 && after < 4500, `closed ${after} ms after it opened (deadline 2500 ms)`);
      assert.ok(sent < q.length, `only ${sent} of ${q.length} bytes of its query were sent`);
      assert.equal(slow.messages.length, 0);
      assert.equal(s.stats().tcp.readTimeouts, 1);
    } finally {
      await s.close();
    }
  });

  it('closes a connection whose client sends queries but never reads the replies', async () => {
    const s = await startTest({ tcpIdleTimeoutMs: 500 });
    try {
      const c = await TcpTestClient.connect(s.port);
      c.socket.pause(); // never read: the ~13 kB replies fill the socket buffers
      const qs = Array.from({ length: 2000 }, (_, i) => queryBytes('big.example', RRType.TXT, { id: i }));
      c.socket.write(framed(...qs));
      const t0 = Date.now();
      while (s.stats().tcp.current > 0 && Date.now() - t0 < 8000) await sleep(50);
      assert.equal(s.stats().tcp.current, 0, 'the server closed the stalled connection');
      assert.equal(s.stats().tcp.idleClosed, 1);
      assert.ok(s.stats().responses.tcp < qs.length, `it stopped answering (${s.stats().responses.tcp} replies)`);
      c.socket.resume(); // the client, reading at last, finds the connection closed
      const closedAt = await Promise.race([c.closedAt, sleep(5000).then(() => -1)]);
      assert.notEqual(closedAt, -1);
    } finally {
      await s.close();
    }
  });
});

describe('replies not read, over many connections', () => {
  it('the unsent reply octets stay within tcpMaxUnsentBytes: the connection holding the most is closed, a reading client is served', async () => {
    const budget = 2 * 1024 * 1024;
    const s = await startTest({ tcpMaxUnsentBytes: budget, tcpIdleTimeoutMs: 30_000 });
    const stalled: net.Socket[] = [];
    let peak = 0;
    const sampler = setInterval(() => { peak = Math.max(peak, s.stats().tcpUnsent.bytes); }, 2);
    try {
      assert.deepEqual(s.stats().tcpUnsent, { bytes: 0, max: budget });
      // Six clients ask for ~60 kB answers, 400 each, and never read: the kernel's buffers fill, then each
      // connection holds up to 32 replies (about 1.9 MB) in the process.
      const qs = framed(...Array.from({ length: 400 }, (_, i) => queryBytes('huge.example', RRType.TXT, { id: i })));
      for (let k = 0; k < 6; k++) {
        const x = await new Promise<net.Socket>((res) => {
          const sock = net.connect({ port: s.port, host: '127.0.0.1', localAddress: '127.0.0.23' }, () => res(sock));
          sock.on('error', () => undefined);
        });
        x.pause();
        x.write(qs);
        stalled.push(x);
      }
      const t0 = Date.now();
      while (s.stats().tcp.unreadClosed < 3 && Date.now() - t0 < 20_000) await sleep(50);
      // A client that reads is served its ~60 kB answer meanwhile.
      const c = await TcpTestClient.connect(s.port);
      await c.write(framed(queryBytes('huge.example', RRType.TXT, { id: 7777 })));
      assert.deepEqual(ids(await c.waitFor(1, 10_000)), [7777]);
      c.destroy();
      const st = s.stats();
      assert.ok(st.tcp.unreadClosed >= 3, `connections closed for the budget: ${JSON.stringify(st.tcp)}`);
      assert.ok(peak > budget / 2, `the stalled clients did fill the budget (peak ${peak})`);
      assert.ok(peak <= budget + 65_537, `unsent octets at most the budget and one reply: peak ${peak}, budget ${budget}`);
      assert.ok(st.tcpUnsent.bytes <= budget);
      assert.equal(st.tcp.idleClosed, 0, 'not closed by the idle timeout');
    } finally {
      clearInterval(sampler);
      for (const x of stalled) x.destroy();
      await s.close();
    }
  });
});

describe('a flood of TCP connections at the cap', () => {
  it('2,000 silent connections against a cap of 50: never more than 50 open, and a client asking is served', async () => {
    const cap = 50;
    const s = await startTest({ tcpMaxConnections: cap, tcpIdleTimeoutMs: 5000 });
    const sockets: net.Socket[] = [];
    let maxOpen = 0;
    const sampler = setInterval(() => { maxOpen = Math.max(maxOpen, s.stats().tcp.current); }, 5);
    try {
      const served: number[] = [];
      const flood = (async () => {
        for (let wave = 0; wave < 20; wave++) {
          await Promise.all(Array.from({ length: 100 }, () => new Promise<void>((res) => {
            const sock = net.connect({ port: s.port, host: '127.0.0.1', localAddress: '127.0.0.23' }, () => res());
            sock.on('error', () => res());
            sock.on('close', () => res());
            sockets.push(sock);
          })));
        }
      })();
      for (let i = 0; i < 10; i++) {
        await sleep(20);
        const t0 = Date.now();
        const c = await TcpTestClient.connect(s.port);
        await c.write(framed(queryBytes('fast.example', RRType.TXT, { id: i })));
        const got = await c.waitFor(1, 5000);
        if (got.length === 1 && got[0]!.id === i) served.push(Date.now() - t0);
        c.destroy();
      }
      await flood;
      maxOpen = Math.max(maxOpen, s.stats().tcp.current);
      const st = s.stats().tcp;
      assert.ok(maxOpen <= cap, `at most ${cap} open, saw ${maxOpen}`);
      assert.equal(served.length, 10, `every asking client was served (${served.length}/10)`);
      // Every silent connection accepted past the cap took the place of an older one (the asking clients close their own).
      assert.ok(st.accepted >= 1000, JSON.stringify(st));
      assert.ok(st.evicted >= st.accepted - cap - 10, `silent connections were replaced: ${JSON.stringify(st)}`);
      assert.equal(st.rejected, 0, 'never all busy');
    } finally {
      clearInterval(sampler);
      for (const x of sockets) x.destroy();
      await s.close();
    }
  });
});

describe('the connection cap, shared by address', () => {
  it('a flood from one address displaces its own idle connections, not a quiet client of another address', async () => {
    const s = await startTest({ tcpMaxConnections: 10 });
    const flood: net.Socket[] = [];
    try {
      const quiet = await TcpTestClient.connect(s.port); // from 127.0.0.1, sends nothing yet
      await sleep(20);
      for (let i = 0; i < 100; i++) {
        await new Promise<void>((res) => {
          const x = net.connect({ port: s.port, host: '127.0.0.1', localAddress: '127.0.0.23' }, () => res());
          x.on('error', () => res());
          flood.push(x);
        });
      }
      await sleep(50);
      assert.ok(!quiet.closed, 'the quiet client, idle the longest, kept its connection');
      assert.equal(s.stats().tcp.current, 10);
      assert.ok(s.stats().tcp.evicted >= 90);
      await quiet.write(framed(queryBytes('fast.example', RRType.TXT, { id: 5 })));
      assert.deepEqual(ids(await quiet.waitFor(1)), [5]);
      quiet.destroy();
    } finally {
      for (const x of flood) x.destroy();
      await s.close();
    }
  });
});

describe('pipelining', () => {
  it('answers 1,000 pipelined queries on one connection, at most maxTcpQueriesInFlight at a time, in any order', async () => {
    let current = 0;
    let peak = 0;
    const handler = async (q: Message, c: ClientInfo): Promise<Answer> => {
      current++;
      peak = Math.max(peak, current);
      await sleep(q.id % 7);
      current--;
      return fixedHandler(q, c);
    };
    const s = await startTest({ handler, maxTcpQueriesInFlight: 16 });
    try {
      const c = await TcpTestClient.connect(s.port);
      const n = 1000;
      await c.write(framed(...Array.from({ length: n }, (_, i) => queryBytes(`p${i}.example`, RRType.A, { id: i }))));
      const got = await c.waitFor(n, 20_000);
      assert.equal(got.length, n);
      assert.deepEqual([...new Set(ids(got))].sort((a, b) => a - b), Array.from({ length: n }, (_, i) => i), 'every ID once');
      for (const m of got) assert.equal(m.question[0]!.name.toText(), `p${m.id}.example.`);
      assert.ok(peak <= 16, `at most 16 in flight, saw ${peak}`);
      assert.ok(peak >= 8, `the queries overlapped (peak ${peak})`);
      assert.notDeepEqual(ids(got), Array.from({ length: n }, (_, i) => i), 'answered as they finished, not in order');
      c.destroy();
    } finally {
      await s.close();
    }
  });
});

describe('ANY (RFC 8482)', () => {
  it('answers one synthesized HINFO "RFC8482" without asking the handler, over UDP and TCP, never with AD or RRSIG', async () => {
    let asked = 0;
    const handler = async (q: Message): Promise<Answer> => {
      asked++;
      return { rcode: Rcode.NOERROR, answer: [txt(q.question[0]!.name, 'x'.repeat(200)), txt(q.question[0]!.name, 'y')], authority: [], additional: [], flags: { ad: true } };
    };
    const s = await startTest({ handler });
    try {
      const q = queryBytes('Www.Example.ORG', RRType.ANY, { id: 31, edns: edns(1232, true) });
      const u = parseMessage((await udpExchange(s.port, q))!);
      const c = await TcpTestClient.connect(s.port);
      await c.write(framed(q));
      const [t] = await c.waitFor(1);
      c.destroy();
      for (const m of [u, t!]) {
        assert.equal(m.rcode, Rcode.NOERROR);
        assert.equal(m.id, 31);
        assert.equal(m.answer.length, 1);
        const rr = m.answer[0]!;
        assert.equal(rr.type, RRType.HINFO);
        assert.equal(rr.name.toText(), 'Www.Example.ORG.');
        const d = rr.data as { cpu: Uint8Array; os: Uint8Array };
        assert.equal(Buffer.from(d.cpu).toString(), 'RFC8482');
        assert.equal(d.os.length, 0);
        assert.ok(!m.flags.ad);
        assert.equal(m.authority.length + m.additional.length, 0);
      }
      assert.equal(asked, 0, 'the handler (and so no upstream) was never asked');
      assert.ok(u.edns?.dnssecOk, 'DO echoed');
    } finally {
      await s.close();
    }
  });
});

describe('clients outside the allow list', () => {
  it('get REFUSED (EDE 18) within a per-source token bucket (burst of 2 s), then nothing; allowed clients are unaffected', async () => {
    let now = 1_000_000;
    const s = await startTest({ allow: ['127.0.0.1/32'], refusedRatePerSource: 5, refusedRateTotal: 1000, now: () => now });
    try {
      const q = queryBytes('victim.example', RRType.A, { id: 7, edns: edns(4096) });
      const got = await udpFrom(daemonAddr(20, 9), s.port, q, 40);
      assert.equal(got.length, 10, 'a burst of 2 x 5');
      for (const r of got) {
        const m = parseMessage(r);
        assert.equal(m.rcode, Rcode.REFUSED);
        assert.equal(m.edns?.options.find((o) => o.code === EdnsOptionCode.EDE)?.data[1], EdeCode.PROHIBITED);
        assert.ok(r.length <= q.length + 6, `no amplification: ${r.length} octets for a ${q.length}-octet query`);
      }
      assert.equal(s.stats().dropped.ratelimited, 30);
      assert.equal(s.stats().refused, 10);
      // The allowed client meanwhile.
      assert.equal(parseMessage((await udpExchange(s.port, queryBytes('fine.example', RRType.A, { id: 8 })))!).rcode, Rcode.NOERROR);
      // One second later: five more tokens.
      now += 1000;
      assert.equal((await udpFrom(daemonAddr(20, 9), s.port, q, 20)).length, 5);
      // Another source has its own bucket.
      assert.equal((await udpFrom(daemonAddr(20, 10), s.port, q, 20)).length, 10);
      // Over TCP too.
      const c = await new Promise<net.Socket>((res, rej) => {
        const x = net.connect({ port: s.port, host: '127.0.0.1', localAddress: daemonAddr(20, 11) }, () => res(x));
        x.once('error', rej);
      });
      let replies = 0;
      let buf = Buffer.alloc(0);
      c.on('data', (d: Buffer) => {
        buf = Buffer.concat([buf, d]);
        while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
          replies++;
          buf = buf.subarray(2 + buf.readUInt16BE(0));
        }
      });
      c.write(framed(...Array.from({ length: 20 }, () => q)));
      await sleep(300);
      c.destroy();
      assert.equal(replies, 10);
    } finally {
      await s.close();
    }
  });

  it('a total bucket bounds the replies over all sources (spoofed sources each appear once)', async () => {
    const now = 5_000;
    const s = await startTest({ allow: ['127.0.0.1/32'], refusedRatePerSource: 100, refusedRateTotal: 3, now: () => now });
    try {
      const q = queryBytes('victim.example', RRType.A, { id: 7 });
      let replies = 0;
      for (let i = 1; i <= 20; i++) replies += (await udpFrom(daemonAddr(21, i), s.port, q, 1, 20)).length;
      assert.equal(replies, 6, 'a burst of 2 x 3 in all');
    } finally {
      await s.close();
    }
  });

  it('refusedRatePerSource 0: never a reply outside the allow list', async () => {
    const s = await startTest({ allow: ['127.0.0.1/32'], refusedRatePerSource: 0 });
    try {
      assert.equal((await udpFrom(daemonAddr(20, 12), s.port, queryBytes('x.example', RRType.A), 5)).length, 0);
    } finally {
      await s.close();
    }
  });
});

describe('RefusalLimiter', () => {
  it('refills continuously up to a burst of two seconds, and keeps a bounded number of sources', () => {
    let now = 0;
    const l = new RefusalLimiter({ perSource: 2, total: 1_000_000 }, () => now);
    const take = (n: number, who = 'a'): number => Array.from({ length: n }, () => l.allow(who)).filter(Boolean).length;
    assert.equal(take(10), 4);
    now += 500;
    assert.equal(take(10), 1);
    now += 60_000;
    assert.equal(take(10), 4, 'never more than the burst');
    for (let i = 0; i < 20_000; i++) l.allow(`10.0.${i >> 8}.${i & 255}`);
    assert.ok(l.size <= 16_384, `${l.size} sources held`);
    assert.throws(() => new RefusalLimiter({ perSource: -1, total: 1 }, () => 0), /perSource/);
  });

  it('refills again at once after the clock is stepped back (not once it is back where it was)', () => {
    let now = 365 * 86_400_000;
    const l = new RefusalLimiter({ perSource: 2, total: 3 }, () => now);
    const take = (n: number, who: string): number => Array.from({ length: n }, () => l.allow(who)).filter(Boolean).length;
    assert.equal(take(10, 'a'), 4);
    assert.equal(take(10, 'b'), 2, 'the shared bucket (6) is spent');
    now = 0;
    assert.equal(take(10, 'a'), 0);
    assert.equal(take(10, 'c'), 0, 'a new source: its own bucket is full, the shared one empty');
    now += 1000;
    assert.equal(take(10, 'a'), 2, "a second's refill of the source's bucket");
    assert.equal(take(10, 'b'), 1, "and of the shared one (3 a second)");
  });
});
