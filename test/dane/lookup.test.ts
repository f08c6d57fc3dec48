/**
 * The status of a lookup from the reply a validating resolver gives (src/dane/lookup.ts): AD, NOERROR without
 * AD, NXDOMAIN with and without AD, SERVFAIL with a DNSSEC EDE, with EDE 22/23, without EDE, REFUSED; and the
 * EDE options of a received message decoded (code and text).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { classifyReply, daneQuery } from '../../src/dane/lookup.js';
import { Name, RRType, Rcode, decodeEde, encodeEde, parseMessage, parseRR, serializeMessage } from '../../src/wire/index.js';

const name = Name.fromText('_25._tcp.mx.example.');
const rr = parseRR('_25._tcp.mx.example. 300 IN TLSA 3 1 1 0000000000000000000000000000000000000000000000000000000000000000');

describe('lookup status', () => {
  const cases: [string, Parameters<typeof classifyReply>[2], string][] = [
    ['NOERROR with AD', { rcode: Rcode.NOERROR, ad: true, answer: [rr], ede: [] }, 'SECURE'],
    ['NOERROR without AD', { rcode: Rcode.NOERROR, ad: false, answer: [rr], ede: [] }, 'INSECURE'],
    ['NODATA with AD', { rcode: Rcode.NOERROR, ad: true, answer: [], ede: [] }, 'SECURE'],
    ['NXDOMAIN with AD', { rcode: Rcode.NXDOMAIN, ad: true, answer: [], ede: [] }, 'NXDOMAIN'],
    ['NXDOMAIN without AD', { rcode: Rcode.NXDOMAIN, ad: false, answer: [], ede: [] }, 'NXDOMAIN'],
    ['SERVFAIL with EDE 6', { rcode: Rcode.SERVFAIL, ad: false, answer: [], ede: [{ code: 6, text: 'bad signature' }] }, 'BOGUS'],
    ['SERVFAIL with EDE 7', { rcode: Rcode.SERVFAIL, ad: false, answer: [], ede: [{ code: 7 }] }, 'BOGUS'],
    ['SERVFAIL with EDE 10', { rcode: Rcode.SERVFAIL, ad: false, answer: [], ede: [{ code: 10 }] }, 'BOGUS'],
    ['SERVFAIL with EDE 22', { rcode: Rcode.SERVFAIL, ad: false, answer: [], ede: [{ code: 22, text: 'no upstream' }] }, 'NOANSWER'],
    ['SERVFAIL with EDE 23', { rcode: Rcode.SERVFAIL, ad: false, answer: [], ede: [{ code: 23 }] }, 'NOANSWER'],
    ['SERVFAIL without EDE', { rcode: Rcode.SERVFAIL, ad: false, answer: [], ede: [] }, 'NOANSWER'],
    ['REFUSED', { rcode: Rcode.REFUSED, ad: false, answer: [], ede: [] }, 'NOANSWER'],
  ];
  for (const [what, reply, status] of cases) {
    it(`${what}: ${status}`, () => {
      const r = classifyReply(name, RRType.TLSA, reply);
      assert.equal(r.status, status);
      assert.equal(r.name, '_25._tcp.mx.example.');
      assert.equal(r.type, 'TLSA');
      assert.equal(r.records.length, reply.answer.length);
      if (reply.ede.length) assert.match(r.reason ?? '', new RegExp(`EDE ${reply.ede[0]!.code}`));
    });
  }
  it('the AD bit is kept for NXDOMAIN (a secure denial)', () => {
    assert.equal(classifyReply(name, RRType.TLSA, { rcode: Rcode.NXDOMAIN, ad: true, answer: [], ede: [] }).ad, true);
  });
});

describe('the query and the EDEs of a reply', () => {
  it('asks with RD and AD, EDNS without DO, no CD', () => {
    const q = parseMessage(daneQuery(name, RRType.TLSA, 4711).bytes);
    assert.equal(q.id, 4711);
    assert.ok(q.flags.rd && q.flags.ad && !q.flags.cd);
    assert.equal(q.edns?.dnssecOk, false);
  });
  it('decodes EDE options (code and text)', () => {
    const m = daneQuery(name, RRType.TLSA, 1).message;
    m.flags.qr = true;
    m.rcode = Rcode.SERVFAIL;
    m.edns = { ...m.edns!, options: encodeEde([{ code: 6, text: 'RRSIG over TLSA does not verify' }, { code: 22 }]) };
    const back = parseMessage(serializeMessage(m).bytes);
    assert.deepEqual(decodeEde(back.edns?.options), [{ code: 6, text: 'RRSIG over TLSA does not verify' }, { code: 22 }]);
  });
});
