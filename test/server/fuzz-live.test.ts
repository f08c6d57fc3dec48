/**
 * The live fuzz's oracle (bench/fuzz-live-core.ts) on the listener with the fixed-answer handler: 5,000 UDP and
 * 500 TCP cases keep it, and the oracle itself catches replies that break the listener's promises (a reply to a
 * response, a wrong ID, an unechoed question, an ANY answered in full, an oversized UDP reply).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkReply, expectFor, makeCase, queryCorpus, runLiveFuzz } from '../../bench/fuzz-live-core.js';
import { prng } from '../../bench/fuzz-core.js';
import { Name, RRType, Rcode, makeQuery, makeRR, parseMessage, serializeMessage } from '../../src/wire/index.js';
import { edns, queryBytes, startTest, txt, udpExchange } from './helpers.js';

describe('live fuzz oracle', () => {
  it('5,000 UDP and 500 TCP cases against the listener keep it, the canary answered throughout', async () => {
    const s = await startTest();
    try {
      const canary = async (): Promise<string | undefined> => {
        const r = await udpExchange(s.port, queryBytes('secure.example', RRType.A, { id: 1, edns: edns(1232, true) }));
        const m = r && parseMessage(r);
        return m && m.rcode === Rcode.NOERROR && m.flags.ad ? undefined : 'wrong canary answer';
      };
      const st = await runLiveFuzz({ port: s.port, seed: 5, cases: 5000, canary, canaryEvery: 1000, replyTimeoutMs: 2000 });
      assert.deepEqual(st.findings, []);
      assert.deepEqual(st.canaryFailures, []);
      assert.equal(st.silent, 0);
      assert.ok(st.replies > 4000 && st.silentOk > 100, JSON.stringify(st.byRcode));
    } finally {
      await s.close();
    }
  });

  it('the cases are reproducible', () => {
    const corpus = queryCorpus();
    const [a, b] = [prng(9), prng(9)];
    for (let i = 0; i < 100; i++) assert.deepEqual(makeCase(a, corpus, i), makeCase(b, corpus, i));
  });

  it('flags replies that break the promises', () => {
    const q = queryBytes('www.example', RRType.A, { id: 77, edns: edns(1232) });
    const e = expectFor(q);
    assert.equal(e.kind, 'reply');
    if (e.kind !== 'reply') return;
    const reply = (over: Partial<ReturnType<typeof parseMessage>>): Uint8Array => {
      const m = { ...parseMessage(q), flags: { ...parseMessage(q).flags, qr: true }, ...over };
      return serializeMessage(m).bytes;
    };
    assert.equal(checkReply(q, reply({}), e, 'udp'), undefined);
    assert.match(checkReply(q, reply({ id: 78 }), e, 'udp')!, /ID 78/);
    assert.match(checkReply(q, reply({ rcode: Rcode.REFUSED }), e, 'udp')!, /rcode 5/);
    assert.match(checkReply(q, reply({ question: [] }), e, 'udp')!, /question/);
    const many = Array.from({ length: 12 }, (_, i) => txt(Name.fromText('www.example'), `${i}`.padEnd(200, 'x')));
    assert.match(checkReply(q, reply({ answer: many }), e, 'udp')!, /over the limit/);
    assert.equal(checkReply(q, reply({ answer: many }), e, 'tcp'), undefined);
    // A response must get no reply; ANY only the HINFO.
    const resp = Uint8Array.from(q);
    resp[2]! |= 0x80;
    assert.equal(expectFor(resp).kind, 'silence');
    const any = serializeMessage(makeQuery(Name.fromText('www.example'), RRType.ANY, { id: 5 })).bytes;
    const ea = expectFor(any);
    assert.ok(ea.kind === 'reply' && ea.any);
    const full = serializeMessage({ ...parseMessage(any), flags: { ...parseMessage(any).flags, qr: true }, answer: [makeRR(Name.fromText('www.example'), RRType.A, 60, { address: '192.0.2.1' })] }).bytes;
    assert.match(checkReply(any, full, ea as Extract<typeof ea, { kind: 'reply' }>, 'udp')!, /RFC 8482/);
    assert.equal(expectFor(Uint8Array.from([1, 2, 3])).kind, 'silence');
  });
});
