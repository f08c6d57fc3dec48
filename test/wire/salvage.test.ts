/**
 * Salvaging parse (`parseMessage(buf, { additional: 'salvage' })`, what the upstream transport uses):
 * a malformed additional section is dropped, the OPT kept when the section's framing still leads to it;
 * everything before the additional section stays strict. Strict parsing (the default) is unchanged.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { judgeResponse, makeQuestion } from '../../src/upstream/query.js';
import {
  Name, RRType, Rcode, emptyFlags, makeRR, parseMessage, parseRR, serializeMessage, type Edns, type Message, type RR,
} from '../../src/wire/index.js';
import { prng } from '../../bench/fuzz-core.js';
import { BAD_ADDITIONAL, OPT_REACHABLE, messageWithBadAdditional } from '../support/bad-additional.js';
import { throwsWire, toHex } from './helpers.js';
import { worldAddr } from '../world/net.js';

const EDNS: Edns = { udpSize: 1232, version: 0, dnssecOk: true, z: 0, options: [{ code: 10, data: new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]) }] };

/** A signed DS answer as an upstream sends it (the RRSIG need not verify here), with a glue-like A record. */
function dsAnswer(opts: Partial<Message> = {}): Message {
  const name = Name.fromText('alg8.test.');
  return {
    id: 0x4242, opcode: 0, flags: { ...emptyFlags(), qr: true, rd: true, ra: true, cd: true }, rcode: Rcode.NOERROR,
    question: [{ name, type: RRType.DS, class: 1 }],
    answer: [
      parseRR('alg8.test. 3600 IN DS 12345 8 2 0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF'),
      parseRR('alg8.test. 3600 IN RRSIG DS 8 2 3600 20300101000000 20200101000000 4242 test. AAECAwQFBgcICQ=='),
    ],
    authority: [parseRR('test. 3600 IN NS ns1.nic.test.')],
    additional: [makeRR(Name.fromText('ns1.nic.test.'), RRType.A, 3600, { address: worldAddr(0, 2) })],
    edns: EDNS,
    ...opts,
  };
}

const rrs = (l: readonly RR[]): string[] => l.map((r) => `${r.name.toText()} ${r.type} ${r.class} ${r.ttl} ${toHex(r.rdata)}`);

describe('salvaging parse of a malformed additional section', () => {
  for (const kind of BAD_ADDITIONAL) {
    it(`${kind}: strict parsing rejects it; salvage keeps header, question, answer and authority exactly`, () => {
      const m = dsAnswer();
      const bytes = messageWithBadAdditional(m, kind);
      throwsWire(() => parseMessage(bytes));
      const s = parseMessage(bytes, { additional: 'salvage' });
      assert.equal(s.id, m.id);
      assert.deepEqual(s.flags, m.flags);
      assert.equal(s.rcode, Rcode.NOERROR);
      assert.equal(s.question.length, 1);
      assert.ok(s.question[0]!.name.equals(m.question[0]!.name));
      assert.deepEqual(rrs(s.answer), rrs(m.answer));
      assert.deepEqual(rrs(s.authority), rrs(m.authority));
      assert.deepEqual(s.additional, [], 'the whole additional section is dropped, its good records too');
      assert.equal(typeof s.additionalDropped, 'string');
      if (OPT_REACHABLE.has(kind)) {
        assert.ok(s.edns, `${kind}: the OPT after the bad record is found by framing`);
        assert.equal(s.edns.dnssecOk, true);
        assert.equal(s.edns.udpSize, 1232);
        assert.deepEqual(s.edns.options.map((o) => [o.code, toHex(o.data)]), [[10, '0102030405060708']]);
      } else {
        assert.equal(s.edns, undefined, `${kind}: no OPT can be trusted`);
      }
    });
  }

  it('a well-formed message parses the same in both modes, without additionalDropped', () => {
    const bytes = serializeMessage(dsAnswer()).bytes;
    const strict = parseMessage(bytes);
    const salvage = parseMessage(bytes, { additional: 'salvage' });
    assert.deepEqual(salvage, strict);
    assert.equal('additionalDropped' in salvage, false);
    assert.equal(salvage.additional.length, 1);
  });

  it('the extended RCODE comes back with a recovered OPT; without the OPT only the header bits are left', () => {
    const m = dsAnswer({ rcode: 0x13, answer: [] }); // extended bits 1, header bits 3
    assert.equal(parseMessage(messageWithBadAdditional(m, 'rdata'), { additional: 'salvage' }).rcode, 0x13);
    assert.equal(parseMessage(messageWithBadAdditional(m, 'framing'), { additional: 'salvage' }).rcode, 0x3);
  });

  it('without an OPT in the answer, EDNS stays absent', () => {
    const s = parseMessage(messageWithBadAdditional(dsAnswer({ edns: undefined }), 'rdata'), { additional: 'salvage' });
    assert.equal(s.edns, undefined);
    assert.deepEqual(rrs(s.answer), rrs(dsAnswer().answer));
  });

  it('two OPT records (one after a bad record): EDNS is not guessed', () => {
    const bytes = messageWithBadAdditional(dsAnswer({ additional: [] }), 'rdata');
    // Put a second copy of the OPT (the last 23 octets) at the end and count it.
    const opt = bytes.slice(bytes.length - 23);
    assert.equal((opt[1]! << 8) | opt[2]!, RRType.OPT);
    const two = new Uint8Array(bytes.length + opt.length);
    two.set(bytes);
    two.set(opt, bytes.length);
    two[11] = two[11]! + 1;
    const s = parseMessage(two, { additional: 'salvage' });
    assert.equal(s.edns, undefined);
    assert.equal(typeof s.additionalDropped, 'string');
  });

  it('trailing octets after the last record: the additional section is dropped, its OPT kept', () => {
    const bytes = serializeMessage(dsAnswer()).bytes;
    const longer = new Uint8Array(bytes.length + 3);
    longer.set(bytes);
    throwsWire(() => parseMessage(longer), 'trailing-data');
    const s = parseMessage(longer, { additional: 'salvage' });
    assert.equal(s.additional.length, 0);
    assert.equal(s.edns?.dnssecOk, true);
  });

  it('malformed answer or authority records, and an OPT outside the additional section, still reject the message', () => {
    const m = dsAnswer({ additional: [], edns: undefined });
    const bytes = serializeMessage(m).bytes;
    // The DS record's RDLENGTH (the first answer record) runs past the end of the message.
    const bad = bytes.slice();
    const ds = serializeMessage({ ...m, answer: [], authority: [] }).bytes.length; // where the answer starts
    const rdlenAt = ds + 2 + 2 + 2 + 4; // compressed owner (2), type, class, TTL
    bad[rdlenAt] = 0xff;
    bad[rdlenAt + 1] = 0xff;
    throwsWire(() => parseMessage(bad, { additional: 'salvage' }));
    const withOpt: Message = { ...m, authority: [{ name: Name.root, type: RRType.OPT, class: 1232, ttl: 0, data: { raw: new Uint8Array(0) }, rdata: new Uint8Array(0) }] };
    throwsWire(() => parseMessage(serializeMessage(withOpt).bytes, { additional: 'salvage' }), 'bad-opt');
  });

  it('fuzz: any damage after the authority section never costs the answer (2,000 seeded cases)', () => {
    const rand = prng(20261202);
    const m = dsAnswer();
    const clean = serializeMessage(m).bytes;
    const start = serializeMessage({ ...m, additional: [], edns: undefined }).bytes.length;
    let dropped = 0;
    let keptOpt = 0;
    for (let i = 0; i < 2000; i++) {
      const b = (rand() < 0.3 ? messageWithBadAdditional(m, BAD_ADDITIONAL[Math.floor(rand() * BAD_ADDITIONAL.length)]!) : clean).slice();
      const flips = 1 + Math.floor(rand() * 4);
      for (let f = 0; f < flips; f++) b[start + Math.floor(rand() * (b.length - start))] = Math.floor(rand() * 256);
      const cut = rand() < 0.2 ? b.slice(0, start + Math.floor(rand() * (b.length - start))) : b;
      let s: Message;
      try {
        s = parseMessage(cut, { additional: 'salvage' });
      } catch (e) {
        assert.fail(`case ${i}: ${String(e)}\n  ${toHex(cut)}`);
      }
      assert.deepEqual(rrs(s.answer), rrs(m.answer), `case ${i}`);
      assert.deepEqual(rrs(s.authority), rrs(m.authority), `case ${i}`);
      if (s.additionalDropped !== undefined) dropped++;
      if (s.additionalDropped !== undefined && s.edns) keptOpt++;
    }
    assert.ok(dropped > 500, `only ${dropped} cases damaged the section`);
    assert.ok(keptOpt > 50, `the OPT was recovered in only ${keptOpt} damaged cases`);
  });
});

describe('the upstream transport takes such answers', () => {
  it('judgeResponse accepts a DS answer with a bad additional record (it was "unparsable" before)', () => {
    const m = dsAnswer();
    const q = makeQuestion(Name.fromText('alg8.test.'), RRType.DS);
    for (const kind of BAD_ADDITIONAL) {
      const v = judgeResponse(messageWithBadAdditional(m, kind), m.id, q);
      assert.equal(v.kind, 'accept', kind);
      if (v.kind === 'accept') assert.deepEqual(rrs(v.message.answer), rrs(m.answer));
    }
  });

  it('but not one whose answer section is cut short', () => {
    const bytes = serializeMessage(dsAnswer()).bytes;
    const start = serializeMessage({ ...dsAnswer(), answer: [], authority: [], additional: [], edns: undefined }).bytes.length;
    const v = judgeResponse(bytes.slice(0, start + 20), 0x4242, makeQuestion(Name.fromText('alg8.test.'), RRType.DS));
    assert.deepEqual(v, { kind: 'ignore', reason: 'unparsable' });
  });

  it('one cut short with TC set is taken as truncated, without records (the transport goes to TCP at once)', () => {
    const m = dsAnswer({ flags: { ...emptyFlags(), qr: true, rd: true, ra: true, cd: true, tc: true } });
    const bytes = serializeMessage(m).bytes;
    const start = serializeMessage({ ...m, answer: [], authority: [], additional: [], edns: undefined }).bytes.length;
    const q = makeQuestion(Name.fromText('alg8.test.'), RRType.DS);
    const v = judgeResponse(bytes.slice(0, start + 20), 0x4242, q);
    assert.equal(v.kind, 'accept');
    if (v.kind === 'accept') {
      assert.equal(v.message.flags.tc, true);
      assert.deepEqual([v.message.answer.length, v.message.authority.length, v.message.additional.length], [0, 0, 0]);
    }
    // Not for another question, another ID, or a cut query (QR clear).
    assert.equal(judgeResponse(bytes.slice(0, start + 20), 0x4242, makeQuestion(Name.fromText('alg9.test.'), RRType.DS)).kind, 'ignore');
    assert.equal(judgeResponse(bytes.slice(0, start + 20), 0x4243, q).kind, 'ignore');
    const query = bytes.slice(0, start + 20);
    query[2] = query[2]! & 0x7f;
    assert.equal(judgeResponse(query, 0x4242, q).kind, 'ignore');
  });
});
