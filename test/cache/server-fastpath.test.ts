/**
 * The server's fast path hook with the caching resolver behind it, on real sockets: hits go out
 * without the handler over UDP and TCP; refused clients, malformed queries and replies that need
 * truncation take the normal path; a throwing fast path falls back to the handler.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CachingResolver } from '../../src/resolver/cached.js';
import type { ClientInfo, FastPath } from '../../src/server/types.js';
import { RRType, Rcode, parseMessage } from '../../src/wire/index.js';
import { startTest, udpExchange, TcpTestClient, edns, queryBytes } from '../server/helpers.js';
import { answerRes, cacheConfig, clockAt, positive, rrs, ScriptedResolver, secure } from './helpers.js';


/** 40 TXT records of 100 octets: over 512 (no EDNS) and over 1232 octets. */
const bigTxt = rrs(...Array.from({ length: 40 }, (_, i) => `big.example.test. 300 IN TXT "${String(i).padStart(3, '0')}${'x'.repeat(97)}"`));

describe('server fast path with the answer cache', () => {
  const resolver = new ScriptedResolver((q) => {
    const n = q.name.toText();
    if (n.startsWith('big')) return answerRes(secure(), bigTxt);
    // A small RRset first, then one over any limit: the normal path keeps the first and truncates there.
    if (n.startsWith('mixed')) return answerRes(secure(), [...rrs('mixed.example.test. 300 IN A 192.0.2.7'), ...bigTxt.map((r) => ({ ...r, name: q.name }))]);
    return answerRes(secure(), positive());
  });
  const cached = new CachingResolver({ resolver, config: cacheConfig(), clock: clockAt(Date.now()) });
  let handlerCalls = 0;
  let fastCalls = 0;
  let explode = false;
  const fastPath: FastPath = (p, c, u) => {
    fastCalls++;
    if (explode) throw new Error('boom');
    return cached.fastPath(p, c, u);
  };
  let server: Awaited<ReturnType<typeof startTest>>;
  let refusing: Awaited<ReturnType<typeof startTest>>;
  before(async () => {
    const handler = (q: Parameters<typeof cached.handler>[0], c: ClientInfo) => {
      handlerCalls++;
      return cached.handler(q, c);
    };
    server = await startTest({ handler, fastPath });
    refusing = await startTest({ handler, fastPath, allow: ['10.0.0.0/8'] });
  });
  after(async () => {
    await server?.close();
    await refusing?.close();
  });

  it('a hit over UDP and TCP does not reach the handler', async () => {
    const q = queryBytes('www.example.test.', RRType.A, { id: 7, edns: edns(1232, true) });
    const first = parseMessage((await udpExchange(server.port, q))!);
    assert.equal(first.answer.length, 2);
    assert.equal(handlerCalls, 1);
    const again = parseMessage((await udpExchange(server.port, q))!);
    assert.equal(again.id, 7);
    assert.ok(again.flags.ad);
    assert.equal(again.answer.length, 2);
    assert.equal(handlerCalls, 1);
    const tcp = await TcpTestClient.connect(server.port);
    tcp.socket.write(Buffer.concat([Buffer.from([0, q.length]), Buffer.from(q)]));
    const [viaTcp] = await tcp.waitFor(1);
    assert.equal(viaTcp?.answer.length, 2);
    tcp.socket.destroy();
    assert.equal(handlerCalls, 1);
    assert.equal(server.stats().responses.udp, 2);
  });

  it('a reply over the client UDP size that keeps some RRsets goes the normal way (truncated there), whole over TCP', async () => {
    const q = queryBytes('mixed.example.test.', RRType.TXT, { id: 9 });
    const udp = parseMessage((await udpExchange(server.port, q))!);
    assert.ok(udp.flags.tc);
    assert.equal(udp.answer.length, 1, 'the RRset that fits is kept');
    const calls = handlerCalls;
    const again = parseMessage((await udpExchange(server.port, q))!);
    assert.ok(again.flags.tc);
    assert.equal(again.answer.length, 1);
    assert.equal(handlerCalls, calls + 1, 'the normal path, which answers from the cache');
    assert.equal(resolver.calls.filter((c) => c.startsWith('mixed')).length, 1);
    const tcp = await TcpTestClient.connect(server.port);
    tcp.socket.write(Buffer.concat([Buffer.from([0, q.length]), Buffer.from(q)]));
    const [viaTcp] = await tcp.waitFor(1);
    tcp.socket.destroy();
    assert.equal(viaTcp?.answer.length, 41);
    assert.ok(!viaTcp?.flags.tc);
  });

  it('a reply whose first RRset alone is over the client UDP size: the truncated reply (no records, TC) from the fast path', async () => {
    const q = queryBytes('big.example.test.', RRType.TXT, { id: 10 });
    const udp = parseMessage((await udpExchange(server.port, q))!);
    assert.ok(udp.flags.tc);
    assert.equal(udp.answer.length, 0);
    const calls = handlerCalls;
    const again = parseMessage((await udpExchange(server.port, q))!);
    assert.deepEqual(again, udp);
    assert.equal(handlerCalls, calls, 'answered from bytes (test/cache/render.test.ts: what the normal path sends)');
    assert.equal(resolver.calls.filter((c) => c.startsWith('big')).length, 1);
  });

  it('refused clients are refused: the fast path is not even asked', async () => {
    const before = fastCalls;
    const r = parseMessage((await udpExchange(refusing.port, queryBytes('www.example.test.', RRType.A)))!);
    assert.equal(r.rcode, Rcode.REFUSED);
    assert.equal(fastCalls, before);
  });

  it('malformed queries still get FORMERR; a throwing fast path falls back to the handler', async () => {
    const bad = Buffer.from(queryBytes('www.example.test.', RRType.A, { id: 11 }));
    const r = parseMessage((await udpExchange(server.port, Buffer.concat([bad, Buffer.from([1, 2, 3])])))!);
    assert.equal(r.rcode, Rcode.FORMERR);
    explode = true;
    const calls = handlerCalls;
    const ok = parseMessage((await udpExchange(server.port, queryBytes('www.example.test.', RRType.A, { id: 12 })))!);
    explode = false;
    assert.equal(ok.rcode, Rcode.NOERROR);
    assert.equal(handlerCalls, calls + 1);
  });
});
