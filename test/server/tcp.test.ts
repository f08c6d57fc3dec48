/** DNS over TCP (RFC 7766) with a raw loopback client: framing, pipelining, ordering, limits. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { RRType, Rcode, type Message } from '../../src/wire/index.js';
import type { Answer } from '../../src/server/index.js';
import { TcpTestClient, fixedHandler, framed, queryBytes, sleep, startTest, txt } from './helpers.js';

type TestServer = Awaited<ReturnType<typeof startTest>>;

const ids = (ms: Message[]): number[] => ms.map((m) => m.id);

describe('TCP framing and pipelining', () => {
  let s: TestServer;
  before(async () => {
    s = await startTest();
  });
  after(() => s.close());

  it('answers several queries sent in one write', async () => {
    const c = await TcpTestClient.connect(s.port);
    await c.write(framed(...[1, 2, 3, 4].map((id) => queryBytes(`q${id}.example`, RRType.A, { id }))));
    const got = await c.waitFor(4);
    assert.deepEqual(ids(got).sort(), [1, 2, 3, 4]);
    for (const m of got) {
      assert.equal(m.rcode, Rcode.NOERROR);
      assert.equal(m.question[0]!.name.toText(), `q${m.id}.example.`);
    }
    c.destroy();
  });

  it('reassembles queries written one byte at a time', async () => {
    const c = await TcpTestClient.connect(s.port);
    const bytes = framed(queryBytes('one.example', RRType.A, { id: 77 }), queryBytes('two.example', RRType.AAAA, { id: 78 }));
    for (const b of bytes) {
      await c.write(Buffer.from([b]));
      await sleep(1);
    }
    const got = await c.waitFor(2);
    assert.deepEqual(ids(got), [77, 78]);
    assert.equal(got[1]!.answer[0]!.type, RRType.AAAA);
    c.destroy();
  });

  it('answers out of order as queries finish', async () => {
    const c = await TcpTestClient.connect(s.port);
    await c.write(framed(queryBytes('slow.example', RRType.TXT, { id: 1 }), queryBytes('fast.example', RRType.TXT, { id: 2 })));
    const got = await c.waitFor(2);
    assert.deepEqual(ids(got), [2, 1], 'the fast answer overtakes the slow one');
    c.destroy();
  });

  it('answers a client that half-closes after sending, then closes', async () => {
    const c = await TcpTestClient.connect(s.port);
    await c.write(framed(queryBytes('slow.example', RRType.TXT, { id: 5 })));
    c.socket.end();
    const got = await c.waitFor(1);
    assert.deepEqual(ids(got), [5]);
    await c.closedAt;
  });

  it('survives a client that closes with a query in flight (answer sent into the half-closed connection)', async () => {
    const c = await TcpTestClient.connect(s.port);
    await c.write(framed(queryBytes('slow.example', RRType.TXT, { id: 6 })));
    c.destroy();
    const d = await TcpTestClient.connect(s.port);
    await d.write(framed(queryBytes('fast.example', RRType.TXT, { id: 7 })));
    assert.deepEqual(ids(await d.waitFor(1)), [7]);
    await sleep(500);
    assert.equal(s.stats().tcp.current, 1, 'the closed client is gone once its answer was written');
    d.destroy();
  });

  it('survives a client that resets with a query in flight (answer discarded)', async () => {
    const before = s.stats();
    const c = await TcpTestClient.connect(s.port);
    await c.write(framed(queryBytes('slow.example', RRType.TXT, { id: 6 })));
    await sleep(50);
    c.socket.resetAndDestroy();
    const d = await TcpTestClient.connect(s.port);
    await d.write(framed(queryBytes('fast.example', RRType.TXT, { id: 7 })));
    assert.deepEqual(ids(await d.waitFor(1)), [7]);
    await sleep(400);
    assert.equal(s.stats().dropped.closed - before.dropped.closed, 1);
    d.destroy();
  });

  it('ignores short messages and responses but keeps the connection', async () => {
    const c = await TcpTestClient.connect(s.port);
    const resp = Buffer.from(queryBytes('a.example', RRType.A, { id: 8 }));
    resp[2]! |= 0x80;
    await c.write(framed(Buffer.from([1, 2, 3]), resp, queryBytes('a.example', RRType.A, { id: 9 })));
    assert.deepEqual(ids(await c.waitFor(1)), [9]);
    await sleep(100);
    assert.equal(c.messages.length, 1);
    c.destroy();
  });

  it('answers FORMERR over TCP and keeps the connection', async () => {
    const c = await TcpTestClient.connect(s.port);
    const bad = Buffer.from([0, 42, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xff]);
    await c.write(framed(bad, queryBytes('a.example', RRType.A, { id: 43 })));
    const got = await c.waitFor(2);
    assert.deepEqual(got.map((m) => [m.id, m.rcode]), [[42, Rcode.FORMERR], [43, Rcode.NOERROR]]);
    c.destroy();
  });

  it('sends large answers whole (well over any UDP limit)', async () => {
    const c = await TcpTestClient.connect(s.port);
    await c.write(framed(queryBytes('big.example', RRType.TXT, { id: 10 })));
    const [m] = await c.waitFor(1);
    assert.equal(m!.answer.length, 60);
    assert.ok(!m!.flags.tc);
    c.destroy();
  });
});

describe('TCP limits', () => {
  it('closes an idle connection after tcpIdleTimeoutMs', async () => {
    const s = await startTest({ tcpIdleTimeoutMs: 200 });
    try {
      const c = await TcpTestClient.connect(s.port);
      await c.write(framed(queryBytes('a.example', RRType.A, { id: 1 })));
      await c.waitFor(1);
      const t0 = Date.now();
      const closedAt = await Promise.race([c.closedAt, sleep(3000).then(() => -1)]);
      assert.notEqual(closedAt, -1, 'the server closed the connection');
      assert.ok(closedAt - t0 >= 150, `closed after ${closedAt - t0} ms`);
      assert.equal(s.stats().tcp.idleClosed, 1);
    } finally {
      await s.close();
    }
  });

  it('does not count a connection as idle while a query is outstanding', async () => {
    const s = await startTest({ tcpIdleTimeoutMs: 100 });
    try {
      const c = await TcpTestClient.connect(s.port);
      await c.write(framed(queryBytes('slow.example', RRType.TXT, { id: 1 })));
      assert.deepEqual(ids(await c.waitFor(1)), [1], 'the 300 ms answer arrives despite the 100 ms idle timeout');
      await c.closedAt;
    } finally {
      await s.close();
    }
  });

  it('at tcpMaxConnections, a new connection replaces the one idle the longest', async () => {
    const s = await startTest({ tcpMaxConnections: 2 });
    try {
      const a = await TcpTestClient.connect(s.port);
      await a.write(framed(queryBytes('a.example', RRType.A, { id: 1 })));
      await a.waitFor(1);
      await sleep(20);
      const b = await TcpTestClient.connect(s.port);
      await b.write(framed(queryBytes('a.example', RRType.A, { id: 2 })));
      await b.waitFor(1);
      assert.equal(s.stats().tcp.current, 2);
      const c = await TcpTestClient.connect(s.port);
      await c.write(framed(queryBytes('a.example', RRType.A, { id: 3 })));
      assert.deepEqual(ids(await c.waitFor(1)), [3], 'the new connection is served');
      await Promise.race([a.closedAt, sleep(2000)]);
      assert.ok(a.closed, 'the connection idle the longest was closed for it');
      assert.ok(!b.closed);
      assert.equal(s.stats().tcp.evicted, 1);
      assert.equal(s.stats().tcp.rejected, 0);
      b.destroy();
      c.destroy();
    } finally {
      await s.close();
    }
  });

  it('closes a new connection at tcpMaxConnections when every connection has a query in flight', async () => {
    const s = await startTest({ tcpMaxConnections: 2 });
    try {
      const a = await TcpTestClient.connect(s.port);
      const b = await TcpTestClient.connect(s.port);
      await a.write(framed(queryBytes('slow.example', RRType.TXT, { id: 1 })));
      await b.write(framed(queryBytes('slow.example', RRType.TXT, { id: 2 })));
      await sleep(50);
      const c = await TcpTestClient.connect(s.port);
      c.write(framed(queryBytes('a.example', RRType.A, { id: 3 }))).catch(() => {});
      await Promise.race([c.closedAt, sleep(2000)]);
      assert.ok(c.closed, 'the third connection was closed');
      assert.equal(c.messages.length, 0);
      assert.equal(s.stats().tcp.rejected, 1);
      // The busy ones get their answers.
      assert.deepEqual(ids(await a.waitFor(1)), [1]);
      assert.deepEqual(ids(await b.waitFor(1)), [2]);
      // Room again once one closes.
      a.destroy();
      await a.closedAt;
      await sleep(50);
      const d = await TcpTestClient.connect(s.port);
      await d.write(framed(queryBytes('a.example', RRType.A, { id: 4 })));
      assert.deepEqual(ids(await d.waitFor(1)), [4]);
      b.destroy();
      d.destroy();
    } finally {
      await s.close();
    }
  });

  it('bounds the queries in flight per connection and still answers them all', async () => {
    let running = 0;
    let peak = 0;
    const handler = async (q: Message): Promise<Answer> => {
      running++;
      peak = Math.max(peak, running);
      await sleep(20);
      running--;
      return { rcode: 0, answer: [txt(q.question[0]!.name, 'ok')], authority: [], additional: [] };
    };
    const s = await startTest({ handler, maxTcpQueriesInFlight: 3 });
    try {
      const c = await TcpTestClient.connect(s.port);
      const qs = Array.from({ length: 20 }, (_, i) => queryBytes(`n${i}.example`, RRType.TXT, { id: 100 + i }));
      await c.write(framed(...qs));
      const got = await c.waitFor(20, 5000);
      assert.equal(got.length, 20);
      assert.deepEqual(ids(got).sort((x, y) => x - y), qs.map((_, i) => 100 + i));
      assert.equal(peak, 3);
      c.destroy();
    } finally {
      await s.close();
    }
  });

  it('keeps other clients served when one handler call fails', async () => {
    const s = await startTest({ handler: fixedHandler });
    try {
      const c = await TcpTestClient.connect(s.port);
      await c.write(framed(queryBytes('fail.example', RRType.A, { id: 1 }), queryBytes('a.example', RRType.A, { id: 2 })));
      const got = await c.waitFor(2);
      assert.deepEqual(got.map((m) => [m.id, m.rcode]).sort(), [[1, Rcode.SERVFAIL], [2, Rcode.NOERROR]]);
      c.destroy();
    } finally {
      await s.close();
    }
  });

  it('close() ends open connections and answers nothing more', async () => {
    const s = await startTest();
    const c = await TcpTestClient.connect(s.port);
    await c.write(framed(queryBytes('slow.example', RRType.TXT, { id: 1 })));
    await s.close();
    await c.closedAt;
    assert.equal(c.messages.length, 0);
  });
});
