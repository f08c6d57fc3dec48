/** The transport against a real Unbound on loopback: UDP, truncation to TCP, errors, timeouts. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Name, RRType, Rcode, type AData, type TXTData } from '../../src/wire/index.js';
import { exchange } from '../../src/upstream/transport.js';
import { makeQuestion } from '../../src/upstream/query.js';
import { UnboundFixture, bigTxt } from './unbound-fixture.js';
import { daemonAddr } from '../world/net.js';

const ADDR = daemonAddr(1, 1);
const DEAD_ADDR = daemonAddr(1, 2);

describe('transport against Unbound', () => {
  let ub: UnboundFixture;
  before(async () => {
    ub = await UnboundFixture.start({
      address: ADDR,
      localData: ['a.test. 300 IN A 192.0.2.1', ...bigTxt('big.test.', 12, 200)],
    });
  });
  after(async () => {
    await ub?.stop();
  });

  it('gets an answer over UDP', async () => {
    const out = await exchange(ub, makeQuestion(Name.fromText('a.test.'), RRType.A), { timeoutMs: 2000 });
    assert.equal(out.kind, 'response');
    if (out.kind !== 'response') return;
    assert.equal(out.transport, 'udp');
    assert.equal(out.tcpFallback, false);
    assert.equal(out.message.rcode, Rcode.NOERROR);
    assert.equal(out.message.answer.length, 1);
    assert.equal((out.message.answer[0]!.data as AData).address, '192.0.2.1');
    assert.ok(out.message.edns, 'the answer carries EDNS because the query did');
    assert.ok(out.rttMs >= 0 && out.rttMs < 2000);
  });

  it('matches the question name case-insensitively', async () => {
    const out = await exchange(ub, makeQuestion(Name.fromText('A.TeSt.'), RRType.A), { timeoutMs: 2000 });
    assert.equal(out.kind, 'response');
  });

  it('gets NXDOMAIN for a name outside the local data', async () => {
    const out = await exchange(ub, makeQuestion(Name.fromText('nothing.test.'), RRType.A), { timeoutMs: 2000 });
    assert.equal(out.kind === 'response' && out.message.rcode, Rcode.NXDOMAIN);
  });

  it('repeats a truncated UDP answer over TCP', async () => {
    const out = await exchange(ub, makeQuestion(Name.fromText('big.test.'), RRType.TXT), { timeoutMs: 2000 });
    assert.equal(out.kind, 'response');
    if (out.kind !== 'response') return;
    assert.equal(out.tcpFallback, true);
    assert.equal(out.transport, 'tcp');
    assert.equal(out.message.flags.tc, false);
    assert.equal(out.message.answer.length, 12);
    const total = out.message.answer.reduce((n, rr) => n + rr.rdata.length, 0);
    assert.ok(total > 1232, `answer of ${total} octets should not fit 1232`);
    const texts = out.message.answer.map((rr) => Buffer.from((rr.data as TXTData).strings[0]!).toString().slice(0, 3)).sort();
    assert.deepEqual(texts, Array.from({ length: 12 }, (_, i) => String(i).padStart(3, '0')));
  });

  it('asks over TCP directly when told to', async () => {
    const out = await exchange(ub, makeQuestion(Name.fromText('a.test.'), RRType.A), { timeoutMs: 2000, tcpOnly: true });
    assert.equal(out.kind === 'response' && out.transport, 'tcp');
  });

  it('times out when the server does not answer (process stopped)', async () => {
    ub.pause();
    try {
      const t0 = Date.now();
      const out = await exchange(ub, makeQuestion(Name.fromText('a.test.'), RRType.A), { timeoutMs: 300 });
      assert.equal(out.kind, 'timeout');
      const took = Date.now() - t0;
      assert.ok(took >= 280 && took < 1500, `took ${took} ms`);
    } finally {
      ub.resume();
    }
  });

  it('honours an absolute deadline shorter than the per-leg timeout', async () => {
    ub.pause();
    try {
      const t0 = Date.now();
      const out = await exchange(ub, makeQuestion(Name.fromText('a.test.'), RRType.A), {
        timeoutMs: 5000, deadline: performance.now() + 200,
      });
      assert.equal(out.kind, 'timeout');
      assert.ok(Date.now() - t0 < 1500);
    } finally {
      ub.resume();
    }
  });
});

describe('transport to a server that is gone', () => {
  let ub: UnboundFixture;
  before(async () => {
    ub = await UnboundFixture.start({ address: DEAD_ADDR, localData: ['a.test. 300 IN A 192.0.2.1'] });
    await ub.kill();
  });
  after(async () => {
    await ub?.stop();
  });

  it('reports a UDP network error quickly (ICMP port unreachable)', async () => {
    const t0 = Date.now();
    const out = await exchange(ub, makeQuestion(Name.fromText('a.test.'), RRType.A), { timeoutMs: 3000 });
    assert.equal(out.kind, 'network-error');
    if (out.kind !== 'network-error') return;
    assert.equal(out.transport, 'udp');
    assert.equal(out.error.code, 'ECONNREFUSED');
    assert.ok(Date.now() - t0 < 1000);
  });

  it('reports a TCP connection refusal', async () => {
    const out = await exchange(ub, makeQuestion(Name.fromText('a.test.'), RRType.A), { timeoutMs: 3000, tcpOnly: true });
    assert.equal(out.kind, 'network-error');
    if (out.kind !== 'network-error') return;
    assert.equal(out.transport, 'tcp');
    assert.equal(out.error.code, 'ECONNREFUSED');
    assert.equal(out.error.phase, 'connect');
  });
});
