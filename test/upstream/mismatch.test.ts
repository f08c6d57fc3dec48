/**
 * Packets that do not answer our query must be ignored. A tiny UDP responder (test scaffolding)
 * sends a wrong ID, a query instead of a response, garbage and a reply from another port before the
 * right answer; it also records the query bytes so we can check the flags we send. A packet with our
 * ID that is unusable (unparsable, another question) or larger than the payload size we advertised
 * sends the query to TCP at once (a TCP responder on the same port answers there). Another TCP
 * responder dribbles its frames to exercise reassembly, and sends broken or truncated answers.
 */
import assert from 'node:assert/strict';
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { createServer, type Server, type Socket as TcpSocket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import {
  Name, RRType, makeRR, parseMessage, serializeMessage, type AData, type Message,
} from '../../src/wire/index.js';
import { exchange } from '../../src/upstream/transport.js';
import { makeQuestion, UPSTREAM_UDP_SIZE } from '../../src/upstream/query.js';
import { frame } from '../../src/wire/framing.js';
import { freePort } from './unbound-fixture.js';
import { daemonAddr } from '../world/net.js';

const ADDR = daemonAddr(3, 1);

function answerTo(query: Message, opts: { id?: number; qname?: string; qr?: boolean; address?: string } = {}): Uint8Array {
  const q = query.question[0]!;
  const name = opts.qname ? Name.fromText(opts.qname) : q.name;
  const m: Message = {
    ...query,
    id: opts.id ?? query.id,
    flags: { ...query.flags, qr: opts.qr ?? true, ra: true },
    question: [{ name, type: q.type, class: q.class }],
    answer: [makeRR(name, RRType.A, 60, { address: opts.address ?? '192.0.2.53' })],
  };
  return serializeMessage(m).bytes;
}

type Script = (query: Message, rinfo: RemoteInfo, send: (b: Uint8Array, from?: Socket) => void) => void;

describe('UDP answers that do not match', () => {
  let server: Socket;
  let other: Socket;
  let port: number;
  const seen: { bytes: Uint8Array; rinfo: RemoteInfo }[] = [];
  let script: Script = () => {};
  /** Answers over TCP on the same port (192.0.2.99), for the exchanges sent there at once. */
  let tcp: Server;
  let tcpQueries = 0;

  before(async () => {
    port = await freePort(ADDR);
    tcp = createServer((sock: TcpSocket) => {
      sock.on('error', () => {});
      sock.once('data', (d) => {
        tcpQueries++;
        sock.write(frame(answerTo(parseMessage(d.subarray(2)), { address: '192.0.2.99' })));
      });
    });
    await new Promise<void>((r) => tcp.listen(port, ADDR, () => r()));
    server = createSocket('udp4');
    other = createSocket('udp4');
    await new Promise<void>((r) => server.bind(port, ADDR, () => r()));
    await new Promise<void>((r) => other.bind(0, ADDR, () => r()));
    server.on('message', (msg, rinfo) => {
      seen.push({ bytes: new Uint8Array(msg), rinfo });
      const send = (b: Uint8Array, from: Socket = server): void => {
        from.send(b, rinfo.port, rinfo.address);
      };
      script(parseMessage(msg), rinfo, send);
    });
  });
  after(() => {
    server.close();
    other.close();
    tcp.close();
  });

  it('accepts only the matching answer and counts what it ignored', async () => {
    script = (query, _rinfo, send) => {
      send(answerTo(query, { id: (query.id + 1) & 0xffff, address: '192.0.2.1' })); // wrong ID
      send(answerTo(query, { qname: 'a.test.', address: '192.0.2.2' }).slice(0, 0)); // empty datagram
      send(answerTo(query, { qr: false, address: '192.0.2.3' })); // a query, not a response
      send(answerTo(query, { id: (query.id + 2) & 0xffff, address: '192.0.2.4' }).slice(0, 20)); // garbage with another ID
      send(answerTo(query, { address: '192.0.2.5' }), other); // right content, wrong source port
      setTimeout(() => send(answerTo(query, { address: '192.0.2.53' })), 50);
    };
    const out = await exchange({ address: ADDR, port }, makeQuestion(Name.fromText('a.test.'), RRType.A), { timeoutMs: 2000 });
    assert.equal(out.kind, 'response');
    if (out.kind !== 'response') return;
    assert.equal(out.transport, 'udp');
    assert.equal((out.message.answer[0]!.data as AData).address, '192.0.2.53');
    assert.equal(out.ignored['wrong-id'], 2);
    assert.equal(out.ignored['not-response'], 1);
    assert.equal(out.ignored['unparsable'], 1);
    // The socket is connected to the upstream: the kernel drops the other port's packet before we see it.
    assert.ok(out.ignored['wrong-source'] <= 1);
  });

  it('times out when nothing with our ID ever comes', async () => {
    script = (query, _rinfo, send) => {
      send(answerTo(query, { id: (query.id + 7) & 0xffff }));
      send(answerTo(query, { id: (query.id + 9) & 0xffff, qname: 'b.test.' }));
    };
    const out = await exchange({ address: ADDR, port }, makeQuestion(Name.fromText('a.test.'), RRType.A), { timeoutMs: 300 });
    assert.equal(out.kind, 'timeout');
    assert.equal(out.ignored['wrong-id'], 2);
  });

  const broken: [string, (query: Message) => Uint8Array, 'unparsable' | 'wrong-question'][] = [
    ['an answer with our ID cut short', (query) => answerTo(query).slice(0, 20), 'unparsable'],
    ['an answer with our ID and a garbled body', (query) => Uint8Array.from(answerTo(query), (b, i) => (i < 12 ? b : 0xff)), 'unparsable'],
    ['an answer with our ID for another question', (query) => answerTo(query, { qname: 'other.test.' }), 'wrong-question'],
  ];
  for (const [what, make, reason] of broken) {
    it(`${what} sends the query to TCP at once, not after the timeout`, async () => {
      script = (query, _rinfo, send) => send(make(query));
      const before = tcpQueries;
      const t0 = Date.now();
      const out = await exchange({ address: ADDR, port }, makeQuestion(Name.fromText('a.test.'), RRType.A), { timeoutMs: 3000 });
      const took = Date.now() - t0;
      assert.equal(out.kind, 'response');
      if (out.kind !== 'response') return;
      assert.equal(out.transport, 'tcp');
      assert.equal(out.tcpFallback, true);
      assert.equal((out.message.answer[0]!.data as AData).address, '192.0.2.99');
      assert.equal(out.ignoredTotal[reason], 1);
      assert.equal(tcpQueries, before + 1);
      assert.ok(took < 1000, `took ${took} ms: waited for the UDP timeout`);
    });
  }

  it('an answer larger than the advertised payload size is asked again over TCP', async () => {
    script = (query, _rinfo, send) => {
      const q = query.question[0]!;
      const big: Message = {
        ...query, flags: { ...query.flags, qr: true, ra: true },
        answer: Array.from({ length: 120 }, (_, i) => makeRR(q.name, RRType.A, 60, { address: `192.0.2.${i}` })),
      };
      const bytes = serializeMessage(big).bytes;
      assert.ok(bytes.length > UPSTREAM_UDP_SIZE, `${bytes.length} octets`);
      send(bytes);
    };
    const out = await exchange({ address: ADDR, port }, makeQuestion(Name.fromText('a.test.'), RRType.A), { timeoutMs: 3000 });
    assert.equal(out.kind, 'response');
    if (out.kind !== 'response') return;
    assert.equal(out.transport, 'tcp');
    assert.equal(out.tcpFallback, true);
    assert.equal(out.message.answer.length, 1);
  });

  it('sends RD, CD, EDNS(0) with DO and a 1232 payload, random IDs and fresh source ports', async () => {
    seen.length = 0;
    script = (query, _rinfo, send) => send(answerTo(query));
    for (let i = 0; i < 8; i++) {
      const out = await exchange({ address: ADDR, port }, makeQuestion(Name.fromText(`q${i}.test.`), RRType.A), { timeoutMs: 1000 });
      assert.equal(out.kind, 'response');
    }
    assert.equal(seen.length, 8);
    for (const { bytes } of seen) {
      const q = parseMessage(bytes);
      assert.equal(q.flags.qr, false);
      assert.equal(q.flags.rd, true, 'RD');
      assert.equal(q.flags.cd, true, 'CD');
      assert.equal(q.flags.ad, false);
      assert.ok(q.edns, 'EDNS present');
      assert.equal(q.edns.version, 0);
      assert.equal(q.edns.dnssecOk, true, 'DO');
      assert.equal(q.edns.udpSize, UPSTREAM_UDP_SIZE);
      assert.equal(q.question.length, 1);
    }
    const ids = new Set(seen.map(({ bytes }) => (bytes[0]! << 8) | bytes[1]!));
    const ports = new Set(seen.map(({ rinfo }) => rinfo.port));
    assert.ok(ids.size >= 7, `IDs should be random, got ${[...ids].join(',')}`);
    assert.ok(ports.size >= 7, `source ports should differ, got ${[...ports].join(',')}`);
  });
});

describe('TCP answers arriving in pieces', () => {
  let server: Server;
  let port: number;
  let respond: (query: Message, write: (b: Uint8Array) => Promise<void>) => Promise<void> = async () => {};

  before(async () => {
    port = await freePort(ADDR);
    server = createServer((sock) => {
      let buf = Buffer.alloc(0);
      sock.on('error', () => {});
      sock.on('data', (d) => {
        buf = Buffer.concat([buf, d]);
        if (buf.length < 2 || buf.length < 2 + buf.readUInt16BE(0)) return;
        const query = parseMessage(buf.subarray(2, 2 + buf.readUInt16BE(0)));
        const write = (b: Uint8Array): Promise<void> => new Promise((r) => sock.write(b, () => setTimeout(r, 2)));
        void respond(query, write);
      });
    });
    await new Promise<void>((r) => server.listen(port, ADDR, () => r()));
  });
  after(() => {
    server.close();
  });

  it('reassembles a wrong-ID frame and the answer sent in one- to three-octet chunks', async () => {
    respond = async (query, write) => {
      const stream = Buffer.concat([frame(answerTo(query, { id: (query.id + 1) & 0xffff })), frame(answerTo(query))]);
      for (let i = 0; i < stream.length; ) {
        const n = 1 + (i % 3);
        await write(stream.subarray(i, i + n));
        i += n;
      }
    };
    const out = await exchange({ address: ADDR, port }, makeQuestion(Name.fromText('a.test.'), RRType.A), { timeoutMs: 5000, tcpOnly: true });
    assert.equal(out.kind, 'response');
    if (out.kind !== 'response') return;
    assert.equal(out.transport, 'tcp');
    assert.equal(out.ignored['wrong-id'], 1);
    assert.equal((out.message.answer[0]!.data as AData).address, '192.0.2.53');
  });

  it('an answer with our ID that does not parse ends the exchange at once (EBADMSG), without waiting for the timeout', async () => {
    respond = async (query, write) => {
      await write(frame(Uint8Array.from(answerTo(query), (b, i) => (i < 12 ? b : 0xff))));
    };
    const t0 = Date.now();
    const out = await exchange({ address: ADDR, port }, makeQuestion(Name.fromText('a.test.'), RRType.A), { timeoutMs: 3000, tcpOnly: true });
    assert.equal(out.kind, 'network-error');
    if (out.kind !== 'network-error') return;
    assert.equal(out.error.code, 'EBADMSG');
    assert.equal(out.ignored['unparsable'], 1);
    assert.ok(Date.now() - t0 < 1000);
  });

  it('a TC=1 answer over TCP is an error (EPROTO), not an answer', async () => {
    respond = async (query, write) => {
      const m = parseMessage(answerTo(query));
      await write(frame(serializeMessage({ ...m, flags: { ...m.flags, tc: true }, answer: [] }).bytes));
    };
    const out = await exchange({ address: ADDR, port }, makeQuestion(Name.fromText('a.test.'), RRType.A), { timeoutMs: 3000, tcpOnly: true });
    assert.equal(out.kind, 'network-error');
    if (out.kind !== 'network-error') return;
    assert.equal(out.error.code, 'EPROTO');
  });

  it('reports a connection closed before a complete answer', async () => {
    // A server that sends 5 octets of a 40-octet message, then closes.
    const closing = createServer((sock) => {
      sock.once('data', () => sock.end(Buffer.from([0, 40, 1, 2, 3])));
    });
    const p2 = await freePort(ADDR);
    await new Promise<void>((r) => closing.listen(p2, ADDR, () => r()));
    try {
      const out = await exchange({ address: ADDR, port: p2 }, makeQuestion(Name.fromText('a.test.'), RRType.A), { timeoutMs: 2000, tcpOnly: true });
      assert.equal(out.kind, 'network-error');
      if (out.kind !== 'network-error') return;
      assert.equal(out.error.phase, 'closed');
    } finally {
      closing.close();
    }
  });
});
