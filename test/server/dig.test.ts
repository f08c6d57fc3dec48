/** The listener against dig (BIND's client), over loopback. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { LOOPBACK4, dig, startTest } from './helpers.js';

type TestServer = Awaited<ReturnType<typeof startTest>>;

describe('dig over UDP and TCP', () => {
  let s: TestServer;
  before(async () => {
    s = await startTest();
  });
  after(() => s.close());

  it('answers over UDP with RA, RD echoed and the question in its original case', async () => {
    const r = await dig(s.port, ['WwW.ExAmPlE.CoM', 'A']);
    assert.equal(r.status, 'NOERROR');
    assert.equal(r.via, 'UDP');
    assert.deepEqual([...r.flags].sort(), ['qr', 'ra', 'rd']);
    assert.equal(r.question[0], ';WwW.ExAmPlE.CoM.\t\tIN\tA');
    assert.match(r.answers[0]!, /^WwW\.ExAmPlE\.CoM\.\s+300\s+IN\s+A\s+192\.0\.2\.1$/);
    assert.ok(r.opt, 'dig sends EDNS by default, so the reply has OPT');
    assert.match(r.ednsLine!, /version: 0, flags:; udp: 1232/);
  });

  it('copies RD=0 and CD=1, and sets AD when the handler says so', async () => {
    const r = await dig(s.port, ['secure.example', '+nord', '+cd']);
    assert.deepEqual([...r.flags].sort(), ['ad', 'cd', 'qr', 'ra']);
  });

  it('echoes DO', async () => {
    const r = await dig(s.port, ['a.example', '+dnssec']);
    assert.match(r.ednsLine!, /flags: do;/);
  });

  it('has no OPT in the reply when the query had none', async () => {
    const r = await dig(s.port, ['a.example', '+noedns']);
    assert.equal(r.status, 'NOERROR');
    assert.ok(!r.opt);
    assert.equal(r.counts?.additional, 0);
  });

  it('sends EDE (RFC 8914) with its text', async () => {
    const r = await dig(s.port, ['bogus.example']);
    assert.equal(r.status, 'SERVFAIL');
    assert.deepEqual(r.ede, ['; EDE: 6 (DNSSEC Bogus): (signature expired on example.)']);
  });

  it('passes NXDOMAIN through', async () => {
    assert.equal((await dig(s.port, ['nx.example'])).status, 'NXDOMAIN');
  });

  it('truncates a large answer over UDP with TC, at RRset boundaries', async () => {
    const r = await dig(s.port, ['big.example', 'TXT', '+ignore']);
    assert.equal(r.via, 'UDP');
    assert.ok(r.flags.has('tc'));
    assert.ok(r.msgSize! <= 1232, `reply of ${r.msgSize} octets`);
    // 60 TXT records form one RRset: it does not fit, so none is sent.
    assert.equal(r.counts?.answer, 0);
  });

  it('sends the large answer whole over TCP', async () => {
    const r = await dig(s.port, ['big.example', 'TXT', '+tcp']);
    assert.equal(r.via, 'TCP');
    assert.ok(!r.flags.has('tc'));
    assert.equal(r.counts?.answer, 60);
    assert.equal(r.answers.length, 60);
  });

  it('lets dig retry over TCP on the same port after TC', async () => {
    const r = await dig(s.port, ['big.example', 'TXT']);
    assert.equal(r.via, 'TCP');
    assert.equal(r.counts?.answer, 60);
  });

  it('respects +bufsize and 512 without EDNS', async () => {
    const small = await dig(s.port, ['mid.example', 'TXT', '+ignore', '+bufsize=512']);
    assert.ok(small.flags.has('tc'));
    const tiny = await dig(s.port, ['mid.example', 'TXT', '+ignore', '+bufsize=100']);
    assert.ok(tiny.flags.has('tc'), 'sizes under 512 count as 512');
    const noedns = await dig(s.port, ['mid.example', 'TXT', '+ignore', '+noedns']);
    assert.ok(noedns.flags.has('tc'));
    assert.ok(noedns.msgSize! <= 512);
    const enough = await dig(s.port, ['mid.example', 'TXT', '+ignore', '+bufsize=1232']);
    assert.ok(!enough.flags.has('tc'));
    assert.equal(enough.counts?.answer, 5);
    assert.ok(enough.msgSize! > 512 && enough.msgSize! <= 1232);
  });

  it('caps the UDP reply at udpMaxSize whatever the client offers', async () => {
    const r = await dig(s.port, ['large.example', 'TXT', '+ignore', '+bufsize=4096']);
    assert.ok(r.flags.has('tc'));
    assert.ok(r.msgSize! <= 1232);
  });

  it('answers BADVERS (extended RCODE 16) with OPT version 0 to EDNS version 1', async () => {
    const r = await dig(s.port, ['a.example', '+edns=1', '+noednsnegotiation']);
    assert.equal(r.status, 'BADVERS');
    assert.match(r.ednsLine!, /version: 0,/);
    assert.equal(r.counts?.answer, 0);
  });

  it('answers NOTIMP to opcodes other than QUERY', async () => {
    for (const op of ['status', 'notify', 'update', 'iquery']) {
      const r = await dig(s.port, ['a.example', `+opcode=${op}`]);
      assert.equal(r.status, 'NOTIMP', op);
      assert.equal(r.opcode, op.toUpperCase());
    }
  });

  it('answers NOTIMP to zone transfers', async () => {
    // dig prints no header for transfers; the reply itself is checked in errors.test.ts.
    const r = await dig(s.port, ['example', 'AXFR']);
    assert.match(r.text, /Transfer failed/);
    const st = s.stats();
    assert.ok(st.responses.tcp >= 1);
  });

  it('answers SERVFAIL when the handler throws, and keeps serving', async () => {
    const r = await dig(s.port, ['fail.example']);
    assert.equal(r.status, 'SERVFAIL');
    const g = await dig(s.port, ['garbage.example', '+tcp']);
    assert.equal(g.status, 'SERVFAIL');
    assert.equal((await dig(s.port, ['a.example'])).status, 'NOERROR');
    assert.equal((await dig(s.port, ['a.example', '+tcp'])).status, 'NOERROR');
    assert.ok(s.stats().handlerErrors >= 2);
  });
});

describe('dig and the allow list', () => {
  it('refuses clients outside the allow list over UDP and TCP', async () => {
    const s = await startTest({ allow: ['127.0.0.3/32', '::1/128'] });
    try {
      const udp = await dig(s.port, ['a.example']);
      assert.equal(udp.status, 'REFUSED');
      assert.equal(udp.counts?.answer, 0);
      assert.equal(udp.question[0], ';a.example.\t\t\tIN\tA');
      const tcp = await dig(s.port, ['a.example', '+tcp']);
      assert.equal(tcp.status, 'REFUSED');
      // From an allowed loopback source address the same server answers.
      const ok = await dig(s.port, ['-b', '127.0.0.3', 'a.example']);
      assert.equal(ok.status, 'NOERROR');
      const okTcp = await dig(s.port, ['-b', '127.0.0.3', 'a.example', '+tcp']);
      assert.equal(okTcp.status, 'NOERROR');
      assert.equal(s.stats().refused, 2);
    } finally {
      await s.close();
    }
  });

  it('honours a configured udpMaxSize', async () => {
    const s = await startTest({ udpMaxSize: 4096 });
    try {
      const r = await dig(s.port, ['large.example', 'TXT', '+ignore', '+bufsize=4096']);
      assert.ok(!r.flags.has('tc'));
      assert.equal(r.counts?.answer, 8);
      assert.match(r.ednsLine!, /udp: 4096/);
      const capped = await dig(s.port, ['large.example', 'TXT', '+ignore', '+bufsize=1400']);
      assert.ok(capped.flags.has('tc'));
    } finally {
      await s.close();
    }
  });

  it('binds the server where asked (sanity: 127.0.0.1)', async () => {
    const s = await startTest();
    try {
      assert.ok(s.addresses.every((a) => a.address === LOOPBACK4 && a.port === s.port));
      assert.deepEqual(s.addresses.map((a) => a.transport).sort(), ['tcp', 'udp']);
    } finally {
      await s.close();
    }
  });
});
