/** Messages: round trips, EDNS options byte-exact, extended RCODE, truncation, compression rules. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  Name, RRType, Rcode, emptyFlags, parseMessage, parseZoneText, serializeMessage, type Edns, type Message, type RR,
} from '../../src/wire/index.js';
import { corpusMessageObjects, corpusPackets } from '../../bench/corpus.js';
import { fromHex, throwsWire, toHex } from './helpers.js';

function response(answer: RR[], opts: Partial<Message> = {}): Message {
  return {
    id: 0x1234, opcode: 0, flags: { ...emptyFlags(), qr: true, rd: true, ra: true }, rcode: 0,
    question: [{ name: Name.fromText('example.'), type: RRType.A, class: 1 }], answer, authority: [], additional: [], ...opts,
  };
}

/** A comparable summary of a parsed message. */
function summary(m: Message): unknown {
  const rrs = (l: RR[]) => l.map((r) => [r.name.toText(), r.type, r.class, r.ttl, toHex(r.rdata)]);
  return {
    id: m.id, opcode: m.opcode, flags: m.flags, rcode: m.rcode, q: m.question.map((q) => [q.name.toText(), q.type, q.class]),
    an: rrs(m.answer), ns: rrs(m.authority), ar: rrs(m.additional),
    edns: m.edns && { ...m.edns, options: m.edns.options.map((o) => [o.code, toHex(o.data)]) },
  };
}

describe('message round trips', () => {
  it('every corpus message parses back equal, and re-serializes to the same octets', () => {
    for (const m of corpusMessageObjects()) {
      for (const compress of [true, false]) {
        const bytes = serializeMessage(m, { compress }).bytes;
        const p = parseMessage(bytes);
        assert.deepEqual(summary(p), summary(m));
        assert.equal(toHex(serializeMessage(p, { compress }).bytes), toHex(bytes));
      }
    }
  });

  it('every prefix of every corpus packet throws WireError', () => {
    for (const pkt of corpusPackets()) {
      parseMessage(pkt);
      for (let n = 0; n < pkt.length; n++) throwsWire(() => parseMessage(pkt.subarray(0, n)));
    }
  });

  it('trailing octets are refused', () => {
    const pkt = serializeMessage(response([])).bytes;
    throwsWire(() => parseMessage(Uint8Array.from([...pkt, 0])), 'trailing-data');
  });
});

describe('parsing a Buffer (as node:dgram and node:net deliver packets)', () => {
  it('gives plain Uint8Array labels and RDATA that are copies: nothing pins or aliases the packet', () => {
    for (const bytes of corpusPackets().slice(0, 50)) {
      const packet = Buffer.from(bytes);
      const m = parseMessage(packet);
      const before = summary(m);
      const rrs = [...m.answer, ...m.authority, ...m.additional];
      for (const rr of rrs) {
        assert.equal(Object.getPrototypeOf(rr.rdata), Uint8Array.prototype, 'RDATA is a plain Uint8Array');
        assert.notEqual(rr.rdata.buffer, packet.buffer, 'RDATA does not share the packet memory');
        for (const l of rr.name.labels) {
          assert.equal(Object.getPrototypeOf(l), Uint8Array.prototype, 'labels are plain Uint8Arrays');
          assert.notEqual(l.buffer, packet.buffer, 'labels do not share the packet memory');
        }
      }
      packet.fill(0xff);
      assert.deepEqual(summary(m), before, 'the parsed message does not change with the packet');
    }
  });
});

describe('EDNS(0)', () => {
  const options: Edns['options'] = [
    { code: 15, data: Uint8Array.from([0, 15, ...Buffer.from('blocked: policy')]) }, // EDE 15 Blocked + EXTRA-TEXT
    { code: 10, data: fromHex('0102030405060708' + '1112131415161718191a1b1c1d1e1f20') }, // COOKIE client + server
    { code: 3, data: Buffer.from('ns1.example') }, // NSID
    { code: 12, data: new Uint8Array(7) }, // padding
    { code: 65001, data: fromHex('deadbeef') }, // unknown option
    { code: 3, data: new Uint8Array(0) }, // empty NSID, as a query sends it
  ];
  const edns: Edns = { udpSize: 1232, version: 0, dnssecOk: true, z: 0x1234 & 0x7fff, options };

  it('options survive byte-exact, in order, with the OPT record last', () => {
    const bytes = serializeMessage(response([], { edns })).bytes;
    const optHex = '00' + '0029' + '04d0' + '00' + '00' + (0x8000 | 0x1234).toString(16) + '0057' +
      '000f0011' + '000f' + Buffer.from('blocked: policy').toString('hex') +
      '000a0018' + '0102030405060708' + '1112131415161718191a1b1c1d1e1f20' +
      '0003000b' + Buffer.from('ns1.example').toString('hex') +
      '000c0007' + '00'.repeat(7) + 'fde90004deadbeef' + '00030000';
    assert.ok(toHex(bytes).endsWith(optHex));
    const p = parseMessage(bytes);
    assert.deepEqual(summary(p), summary(response([], { edns })));
    assert.equal(toHex(serializeMessage(p).bytes), toHex(bytes));
  });

  it('extended RCODE: BADVERS (16) spreads over the header and OPT TTL', () => {
    const m = response([], { rcode: Rcode.BADVERS, edns: { udpSize: 512, version: 0, dnssecOk: false, z: 0, options: [] } });
    const bytes = serializeMessage(m).bytes;
    assert.equal(bytes[3]! & 0xf, 0);
    assert.equal(toHex(bytes.subarray(bytes.length - 11)), '0000290200' + '01000000' + '0000');
    assert.equal(parseMessage(bytes).rcode, 16);
    throwsWire(() => serializeMessage({ ...m, edns: undefined }), 'bad-opt');
  });

  it('the EDNS version, DO bit and Z bits are read as sent', () => {
    const bytes = serializeMessage(response([], { edns: { udpSize: 4096, version: 1, dnssecOk: false, z: 0x7fff, options: [] } })).bytes;
    const e = parseMessage(bytes).edns!;
    assert.deepEqual([e.udpSize, e.version, e.dnssecOk, e.z], [4096, 1, false, 0x7fff]);
  });

  it('refuses two OPT records, OPT outside the additional section or not at the root, and bad options', () => {
    const base = toHex(serializeMessage(response([])).bytes).slice(0, 16);
    const q = '076578616d706c650000010001';
    const opt = '0000291000000000000000';
    throwsWire(() => parseMessage(fromHex(base + '0000' + '0002' + q + opt + opt)), 'bad-opt');
    throwsWire(() => parseMessage(fromHex(base + '0001' + '0000' + q + opt)), 'bad-opt');
    throwsWire(() => parseMessage(fromHex(base + '0000' + '0001' + q + '01610000291000000000000000')), 'bad-opt');
    throwsWire(() => parseMessage(fromHex(base + '0000' + '0001' + q + '0000291000000000000003000100')), 'bad-opt');
    throwsWire(() => parseMessage(fromHex(base + '0000' + '0001' + q + '00002910000000000000050001000500')), 'bad-opt');
  });
});

describe('truncation at RRset boundaries', () => {
  const zone = parseZoneText(Array.from({ length: 30 }, (_, i) =>
    `n${i % 10}.example. 60 IN TXT "${'x'.repeat(40)}${i}"\nn${i % 10}.example. 60 IN RRSIG TXT 8 2 60 20300101000000 20200101000000 1 example. ${'A'.repeat(64)}`,
  ).join('\n'));
  // Group by owner so each RRset (with its RRSIGs) is contiguous.
  const answer = [...zone].sort((a, b) => a.name.compare(b.name) || a.type - b.type);

  it('drops whole RRsets with their RRSIGs, sets TC, keeps the OPT record', () => {
    const m = response(answer, { edns: { udpSize: 512, version: 0, dnssecOk: true, z: 0, options: [] } });
    const s = serializeMessage(m, { maxSize: 512 });
    assert.ok(s.truncated);
    assert.ok(s.bytes.length <= 512);
    const p = parseMessage(s.bytes);
    assert.ok(p.flags.tc);
    assert.ok(p.edns);
    assert.ok(p.answer.length > 0 && p.answer.length < answer.length);
    const owners = new Set(p.answer.map((r) => r.name.key));
    for (const o of owners) {
      assert.equal(p.answer.filter((r) => r.name.key === o).length, answer.filter((r) => r.name.key === o).length, `RRset at ${o} kept whole`);
    }
  });

  it('dropping only additional records does not set TC', () => {
    const m = response(answer.slice(0, 2), { additional: answer.slice(2) });
    const s = serializeMessage(m, { maxSize: 512 });
    assert.equal(s.truncated, false);
    assert.equal(parseMessage(s.bytes).flags.tc, false);
    assert.equal(parseMessage(s.bytes).answer.length, 2);
  });

  it('a message that fits is not truncated', () => {
    const s = serializeMessage(response(answer.slice(0, 2)), { maxSize: 512 });
    assert.equal(s.truncated, false);
  });
});

describe('compression in messages', () => {
  const rrs = parseZoneText(`example. 60 IN MX 10 mail.example.
example. 60 IN RRSIG MX 8 1 60 20300101000000 20200101000000 1 example. AQID
example. 60 IN NSEC mail.example. MX RRSIG NSEC
_x._tcp.example. 60 IN SRV 0 0 25 mail.example.`);
  const bytes = serializeMessage(response(rrs)).bytes;
  const hex = toHex(bytes);

  it('compresses MX exchanges but never RRSIG signers, NSEC next names or SRV targets', () => {
    const p = parseMessage(bytes);
    assert.deepEqual(p.answer.map((r) => toHex(r.rdata)), rrs.map((r) => toHex(r.rdata)));
    const mailPtr = '000a046d61696cc00c';
    assert.ok(hex.includes(mailPtr), 'MX exchange compressed');
    assert.ok(hex.includes('076578616d706c6500' + '010203'), 'RRSIG signer written in full');
    assert.ok(hex.includes('046d61696c076578616d706c6500' + '0006'), 'NSEC next name in full');
    assert.ok(hex.includes('00000000' + '0019' + '046d61696c076578616d706c6500'), 'SRV target in full');
  });

  it('a compressed name inside RRSIG (a non-compliant sender) is accepted and stored uncompressed', () => {
    const sig = rrs[1]!;
    const rdHead = toHex(sig.rdata).slice(0, 36);
    // question name at offset 12 is "example."; signer as a pointer to it.
    const pkt = fromHex(hex.slice(0, 8) + '0001' + '0001' + '0000' + '0000' + '076578616d706c650000010001' +
      'c00c002e00010000003c' + (18 + 2 + 3).toString(16).padStart(4, '0') + rdHead + 'c00c' + '010203');
    const p = parseMessage(pkt);
    assert.equal(toHex(p.answer[0]!.rdata), toHex(sig.rdata));
  });
});
