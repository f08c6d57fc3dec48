/** Malformed and unusual queries, sent as raw bytes over loopback UDP. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { EdeCode, EdnsOptionCode, RRType, Rcode, parseMessage } from '../../src/wire/index.js';
import { edns, queryBytes, startTest, udpExchange } from './helpers.js';

type TestServer = Awaited<ReturnType<typeof startTest>>;

function header(id: number, flags: number, qd: number, an = 0, ns = 0, ar = 0): Buffer {
  const b = Buffer.alloc(12);
  [id, flags, qd, an, ns, ar].forEach((v, i) => b.writeUInt16BE(v, 2 * i));
  return b;
}

describe('malformed and unusual queries', () => {
  let s: TestServer;
  before(async () => {
    s = await startTest();
  });
  after(() => s.close());

  it('echoes the ID and the question bytes exactly', async () => {
    const q = queryBytes('MiXeD.CaSe.ExAmple', RRType.A, { id: 0xbeef });
    const r = (await udpExchange(s.port, q))!;
    assert.equal(r.readUInt16BE(0), 0xbeef);
    assert.deepEqual(r.subarray(12, q.length), Buffer.from(q.subarray(12)), 'question section byte for byte');
    const m = parseMessage(r);
    assert.equal(m.rcode, Rcode.NOERROR);
    assert.equal(m.edns, undefined, 'no OPT: the query had none');
  });

  it('answers FORMERR (ID echoed, no question) when the header parses but the body does not', async () => {
    const pkt = Buffer.concat([header(0x4242, 0x0100, 1), Buffer.from([0x07, 0x65, 0x78])]);
    const r = (await udpExchange(s.port, pkt))!;
    assert.ok(r, 'a reply');
    const m = parseMessage(r);
    assert.equal(m.id, 0x4242);
    assert.equal(m.rcode, Rcode.FORMERR);
    assert.ok(m.flags.qr && m.flags.rd);
    assert.equal(m.question.length, 0);
    assert.equal(m.edns, undefined);
  });

  it('answers FORMERR to trailing garbage and to a compression loop', async () => {
    const q = Buffer.from(queryBytes('a.example', RRType.A, { id: 9 }));
    const r1 = parseMessage((await udpExchange(s.port, Buffer.concat([q, Buffer.from([1, 2, 3])])))!);
    assert.equal(r1.rcode, Rcode.FORMERR);
    const loop = Buffer.concat([header(10, 0, 1), Buffer.from([0xc0, 12, 0, 1, 0, 1])]);
    assert.equal(parseMessage((await udpExchange(s.port, loop))!).rcode, Rcode.FORMERR);
  });

  it('answers FORMERR when QDCOUNT is not 1', async () => {
    const zero = parseMessage((await udpExchange(s.port, header(11, 0x0100, 0)))!);
    assert.equal(zero.rcode, Rcode.FORMERR);
    assert.equal(zero.id, 11);
    const one = Buffer.from(queryBytes('a.example', RRType.A, { id: 12 }));
    const q = one.subarray(12);
    const two = Buffer.concat([header(12, 0x0100, 2), q, q]);
    const r = parseMessage((await udpExchange(s.port, two))!);
    assert.equal(r.rcode, Rcode.FORMERR);
    assert.equal(r.question.length, 0);
  });

  it('keeps OPT in a FORMERR reply for QDCOUNT 0 with EDNS', async () => {
    const q = Buffer.from(queryBytes('a.example', RRType.A, { id: 13, edns: edns(1232, true) }));
    // Drop the question: header with QDCOUNT=0 then the OPT record (after the 15-octet question).
    const noQ = Buffer.concat([header(13, 0x0100, 0, 0, 0, 1), q.subarray(12 + 15)]);
    const r = parseMessage((await udpExchange(s.port, noQ))!);
    assert.equal(r.rcode, Rcode.FORMERR);
    assert.equal(r.edns?.dnssecOk, true);
  });

  it('drops packets shorter than 12 octets and responses (QR=1), then keeps serving', async () => {
    const before = s.stats();
    assert.equal(await udpExchange(s.port, Buffer.alloc(0), { waitMs: 150 }), undefined);
    assert.equal(await udpExchange(s.port, Buffer.from([1, 2, 3, 4, 5]), { waitMs: 150 }), undefined);
    assert.equal(await udpExchange(s.port, Buffer.alloc(11, 0xff), { waitMs: 150 }), undefined);
    const resp = Buffer.from(queryBytes('a.example', RRType.A));
    resp[2]! |= 0x80;
    assert.equal(await udpExchange(s.port, resp, { waitMs: 150 }), undefined);
    const ok = parseMessage((await udpExchange(s.port, queryBytes('a.example', RRType.A)))!);
    assert.equal(ok.rcode, Rcode.NOERROR);
    const after = s.stats();
    assert.equal(after.dropped.short - before.dropped.short, 3);
    assert.equal(after.dropped.response - before.dropped.response, 1);
  });

  it('answers NOTIMP to another opcode even when the body is unparseable', async () => {
    const pkt = Buffer.concat([header(14, 5 << 11, 1), Buffer.from([0xff])]);
    const r = parseMessage((await udpExchange(s.port, pkt))!);
    assert.equal(r.rcode, Rcode.NOTIMP);
    assert.equal(r.opcode, 5);
  });

  it('answers NOTIMP to AXFR over UDP and FORMERR to QTYPE OPT', async () => {
    const axfr = parseMessage((await udpExchange(s.port, queryBytes('example', RRType.AXFR, { edns: edns() })))!);
    assert.equal(axfr.rcode, Rcode.NOTIMP);
    assert.equal(axfr.question[0]?.type, RRType.AXFR);
    const ixfr = parseMessage((await udpExchange(s.port, queryBytes('example', RRType.IXFR, { edns: edns() })))!);
    assert.equal(ixfr.rcode, Rcode.NOTIMP);
    const ede = ixfr.edns!.options.find((o) => o.code === EdnsOptionCode.EDE)!;
    assert.equal(Buffer.from(ede.data).readUInt16BE(0), EdeCode.NOT_SUPPORTED);
    assert.equal(Buffer.from(ede.data.subarray(2)).toString(), 'QTYPE IXFR is not supported');
    const opt = parseMessage((await udpExchange(s.port, queryBytes('example', RRType.OPT)))!);
    assert.equal(opt.rcode, Rcode.FORMERR);
  });

  it('answers BADVERS to EDNS version 1 (header RCODE 0, extended 1)', async () => {
    const q = queryBytes('a.example', RRType.A, { id: 15, edns: { ...edns(), version: 1 } });
    const r = (await udpExchange(s.port, q))!;
    assert.equal(r[3]! & 0x0f, 0);
    const m = parseMessage(r);
    assert.equal(m.rcode, Rcode.BADVERS);
    assert.equal(m.edns?.version, 0);
    assert.equal(m.question.length, 1);
  });

  it('answers FORMERR without OPT to a query with two OPT records', async () => {
    const q = Buffer.from(queryBytes('a.example', RRType.A, { id: 16, edns: edns() }));
    const opt = q.subarray(12 + 15);
    const pkt = Buffer.concat([header(16, 0x0100, 1, 0, 0, 2), q.subarray(12, 12 + 15), opt, opt]);
    const r = parseMessage((await udpExchange(s.port, pkt))!);
    assert.equal(r.rcode, Rcode.FORMERR);
    assert.equal(r.edns, undefined);
  });

  it('counts replies by RCODE', () => {
    const st = s.stats();
    const get = (rc: number): number => st.rcodes.find((x) => x.rcode === rc)?.count ?? 0;
    assert.ok(get(Rcode.FORMERR) >= 6);
    assert.ok(get(Rcode.NOTIMP) >= 2);
    assert.ok(get(Rcode.BADVERS) >= 1);
    assert.ok(st.formerr >= 6);
    assert.ok(st.queries.udp >= st.responses.udp + 4);
  });
});

describe('fuzzing', () => {
  it('survives random and mutated packets, answering or dropping each, and keeps serving', async () => {
    const s = await startTest();
    try {
      const base = Buffer.from(queryBytes('fuzz.example', RRType.A, { id: 1, edns: edns(1232, true) }));
      let seed = 12345;
      const rand = (n: number): number => {
        seed = (seed * 1103515245 + 12345) & 0x7fffffff;
        return seed % n;
      };
      const packets: Buffer[] = [];
      for (let i = 0; i < 300; i++) {
        const p = Buffer.from(base);
        for (let k = 0, flips = 1 + rand(4); k < flips; k++) p[rand(p.length)] = rand(256);
        p[2]! &= 0x7f; // keep QR=0 so that most are answered
        packets.push(rand(5) === 0 ? p.subarray(0, rand(p.length)) : p);
      }
      for (let i = 0; i < 100; i++) packets.push(Buffer.from(Array.from({ length: 12 + rand(60) }, () => rand(256))));
      // In batches: hundreds of datagrams at once would overflow the socket's receive buffer.
      for (let i = 0; i < packets.length; i += 25) {
        await Promise.all(packets.slice(i, i + 25).map((p) => udpExchange(s.port, p, { waitMs: 150 })));
      }
      const ok = parseMessage((await udpExchange(s.port, queryBytes('after.example', RRType.A)))!);
      assert.equal(ok.rcode, Rcode.NOERROR);
      const st = s.stats();
      assert.equal(st.queries.udp, packets.length + 1);
      const dropped = Object.values(st.dropped).reduce((a, b) => a + b, 0);
      assert.equal(st.responses.udp + dropped, st.queries.udp, 'every packet was answered or counted as dropped');
    } finally {
      await s.close();
    }
  });
});
