import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  EdeCode, EdnsOptionCode, Name, RRType, Rcode, makeQuery, makeRR, parseMessage, type RR,
} from '../../src/wire/index.js';
import { encodeEde, stripDnssec } from '../../src/wire/index.js';
import { errorAnswer, stripDnssecAnswer, udpReplyLimit } from '../../src/server/index.js';
import { echoHeader, echoQuery, replyMessage, serializeReply } from '../../src/server/responder.js';
import { FrameDecoder, frame } from '../../src/wire/framing.js';
import { edns, txt } from './helpers.js';

const n = Name.fromText('WwW.Example.');

function raw(type: number): RR {
  const rdata = Uint8Array.from([1, 2, 3]);
  return { name: n, type, class: 1, ttl: 60, data: { raw: rdata }, rdata };
}

describe('encodeEde', () => {
  it('encodes INFO-CODE and UTF-8 EXTRA-TEXT (RFC 8914)', () => {
    const [o] = encodeEde([{ code: EdeCode.DNSSEC_BOGUS, text: 'bad ✓' }]);
    assert.equal(o!.code, EdnsOptionCode.EDE);
    assert.deepEqual([...o!.data], [0, 6, ...new TextEncoder().encode('bad ✓')]);
    assert.deepEqual([...encodeEde([{ code: 0x1234 }])[0]!.data], [0x12, 0x34]);
  });
});

describe('udpReplyLimit', () => {
  it('is 512 without EDNS, else min(max(size, 512), ours)', () => {
    assert.equal(udpReplyLimit({ edns: undefined }, 1232), 512);
    assert.equal(udpReplyLimit(undefined, 1232), 512);
    assert.equal(udpReplyLimit({ edns: edns(100) }, 1232), 512);
    assert.equal(udpReplyLimit({ edns: edns(900) }, 1232), 900);
    assert.equal(udpReplyLimit({ edns: edns(4096) }, 1232), 1232);
    assert.equal(udpReplyLimit({ edns: edns(4096) }, 4000), 4000);
  });
});

describe('replyMessage', () => {
  const q = makeQuery(n, RRType.A, { id: 0xbeef, rd: true, cd: true, edns: edns(4096, true) });

  it('echoes ID, opcode, question, RD, CD; sets QR and RA; OPT with our size and DO', () => {
    const m = replyMessage(echoQuery(q), { rcode: 0, flags: { ad: true }, answer: [], authority: [], additional: [] }, 1232);
    assert.equal(m.id, 0xbeef);
    assert.deepEqual(m.flags, { qr: true, aa: false, tc: false, rd: true, ra: true, z: false, ad: true, cd: true });
    assert.equal(m.question[0]!.name, n);
    assert.deepEqual(m.edns, { udpSize: 1232, version: 0, dnssecOk: true, z: 0, options: [] });
  });

  it('no OPT when the query had none; RCODE over 15 then becomes SERVFAIL; EDE dropped', () => {
    const plain = makeQuery(n, RRType.A, { id: 1, rd: false });
    const m = replyMessage(echoQuery(plain), errorAnswer(Rcode.BADVERS, [{ code: 6 }]), 1232);
    assert.equal(m.edns, undefined);
    assert.equal(m.rcode, Rcode.SERVFAIL);
    assert.equal(m.flags.rd, false);
  });

  it('carries the extended RCODE in OPT', () => {
    const bytes = serializeReply(replyMessage(echoQuery(q), errorAnswer(Rcode.BADVERS), 1232), 512).bytes;
    assert.equal(bytes[3]! & 0xf, 0);
    const back = parseMessage(bytes);
    assert.equal(back.rcode, Rcode.BADVERS);
    assert.equal(back.edns?.version, 0);
  });

  it('removes an OPT the handler put in additional', () => {
    const m = replyMessage(echoQuery(q), { rcode: 0, answer: [], authority: [], additional: [raw(RRType.OPT), raw(RRType.A)] }, 1232);
    assert.deepEqual(m.additional.map((r) => r.type), [RRType.A]);
  });

  it('echoHeader gives neither question nor OPT', () => {
    const e = echoHeader({ id: 7, opcode: 0, rcode: 0, counts: [1, 0, 0, 0], flags: { ...q.flags } });
    assert.deepEqual(e, { id: 7, opcode: 0, rd: true, cd: true, question: [] });
  });
});

describe('serializeReply', () => {
  const q = makeQuery(n, RRType.TXT, { id: 1, edns: edns(512) });
  it('truncates at RRset boundaries and sets TC', () => {
    const rrs = Array.from({ length: 10 }, (_, i) => txt(Name.fromText(`r${i}.example.`), 'x'.repeat(100)));
    const out = serializeReply(replyMessage(echoQuery(q), { rcode: 0, answer: rrs, authority: [], additional: [] }, 1232), 512);
    assert.ok(out.truncated);
    assert.ok(out.bytes.length <= 512);
    const back = parseMessage(out.bytes);
    assert.ok(back.flags.tc);
    assert.ok(back.answer.length > 0 && back.answer.length < 10);
  });

  it('drops EDE text, then EDE, rather than exceed the limit', () => {
    const long = 'y'.repeat(600);
    const m = replyMessage(echoQuery(q), errorAnswer(Rcode.SERVFAIL, [{ code: 6, text: long }]), 1232);
    const out = serializeReply(m, 512);
    assert.ok(out.bytes.length <= 512);
    const ede = parseMessage(out.bytes).edns!.options.filter((o) => o.code === EdnsOptionCode.EDE);
    assert.deepEqual(ede.map((o) => [...o.data]), [[0, 6]]);
    const many = replyMessage(echoQuery(q), errorAnswer(Rcode.SERVFAIL, Array.from({ length: 200 }, () => ({ code: 6 }))), 1232);
    const out2 = serializeReply(many, 512);
    assert.ok(out2.bytes.length <= 512);
    assert.equal(parseMessage(out2.bytes).edns!.options.length, 0);
  });
});

describe('stripDnssec', () => {
  const a = makeRR(n, RRType.A, 60, { address: '192.0.2.1' });
  const rrs = [a, raw(RRType.RRSIG), raw(RRType.NSEC), raw(RRType.NSEC3), raw(RRType.DNSKEY), raw(RRType.DS)];
  it('removes RRSIG, NSEC, NSEC3 unless asked for', () => {
    assert.deepEqual(stripDnssec(rrs, RRType.A).map((r) => r.type), [RRType.A, RRType.DNSKEY, RRType.DS]);
    assert.deepEqual(stripDnssec(rrs, RRType.RRSIG).map((r) => r.type), [RRType.A, RRType.RRSIG, RRType.DNSKEY, RRType.DS]);
    assert.deepEqual(stripDnssec(rrs, RRType.NSEC3).map((r) => r.type), [RRType.A, RRType.NSEC3, RRType.DNSKEY, RRType.DS]);
  });
  it('applies to every section of an answer', () => {
    const out = stripDnssecAnswer({ rcode: 3, answer: rrs, authority: rrs, additional: rrs, ede: [{ code: 1 }] }, RRType.A);
    assert.equal(out.rcode, 3);
    assert.deepEqual(out.ede, [{ code: 1 }]);
    for (const s of [out.answer, out.authority, out.additional]) assert.equal(s.length, 3);
  });
});

describe('FrameDecoder', () => {
  const msgs = [Buffer.from('hello'), Buffer.alloc(0), Buffer.alloc(300, 7), Buffer.from([1])];
  const stream = Buffer.concat(msgs.map((m) => frame(m)));

  function decodeIn(pieces: Buffer[]): Buffer[] {
    const d = new FrameDecoder();
    const out: Buffer[] = [];
    for (const p of pieces) {
      d.push(p);
      for (let m = d.next(); m; m = d.next()) out.push(Buffer.from(m));
    }
    assert.equal(d.buffered, 0);
    return out;
  }

  it('handles everything in one chunk', () => {
    assert.deepEqual(decodeIn([stream]), msgs);
  });
  it('handles one byte at a time', () => {
    assert.deepEqual(decodeIn([...stream].map((b) => Buffer.from([b]))), msgs);
  });
  it('handles random splits', () => {
    for (let trial = 0; trial < 50; trial++) {
      const pieces: Buffer[] = [];
      for (let i = 0; i < stream.length; ) {
        const len = 1 + Math.floor(Math.random() * 40);
        pieces.push(stream.subarray(i, i + len));
        i += len;
      }
      assert.deepEqual(decodeIn(pieces), msgs);
    }
  });
  it('waits for the rest of a message', () => {
    const d = new FrameDecoder();
    d.push(stream.subarray(0, 6));
    assert.equal(d.next(), undefined);
    d.push(stream.subarray(6, 7));
    assert.deepEqual(d.next(), Buffer.from('hello'));
  });
});
