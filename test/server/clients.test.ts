/** The listener against dns2 (an independent Node DNS client), over IPv6 loopback, dual-stack, with pino. */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import dns2 from 'dns2';
import { pino } from 'pino';
import { RRType, Rcode, parseMessage } from '../../src/wire/index.js';
import type { Logger } from '../../src/log.js';
import { CidrError } from '../../src/net/address.js';
import { ServerConfigError, startServer } from '../../src/server/index.js';
import {
  LOOPBACK4, LOOPBACK6, TcpTestClient, dig, fixedHandler, framed, hasIPv6Loopback, queryBytes, startTest, udpExchange,
} from './helpers.js';

type TestServer = Awaited<ReturnType<typeof startTest>>;

describe('dns2 client', () => {
  let s: TestServer;
  before(async () => {
    s = await startTest();
  });
  after(() => s.close());

  it('resolves A over UDP', async () => {
    const res = await dns2.UDPClient({ dns: LOOPBACK4, port: s.port, timeout: 2000 })('host.example', 'A');
    assert.equal(res.header.rcode, Rcode.NOERROR);
    assert.equal(res.header.qr, 1);
    assert.equal(res.header.ra, 1);
    assert.equal(res.answers.length, 1);
    assert.equal((res.answers[0] as unknown as { address: string }).address, '192.0.2.1');
  });

  it('resolves A over TCP', async () => {
    const res = await dns2.TCPClient({ dns: LOOPBACK4, port: s.port })('host.example', 'AAAA');
    assert.equal(res.answers.length, 1);
    assert.equal((res.answers[0] as unknown as { address: string }).address, '2001:db8::1');
  });

  it('gets a truncated answer over UDP and retries over TCP on the same port', async () => {
    const noRetry = await dns2.UDPClient({ dns: LOOPBACK4, port: s.port, timeout: 2000, retryOverTCP: false })('big.example', 'TXT');
    assert.equal(noRetry.header.tc, 1);
    assert.equal(noRetry.answers.length, 0);
    const res = await dns2.UDPClient({ dns: LOOPBACK4, port: s.port, timeout: 2000 })('big.example', 'TXT');
    assert.equal(res.header.tc, 0);
    assert.equal(res.answers.length, 60);
  });

  it('sees SERVFAIL from a throwing handler and NXDOMAIN passed through', async () => {
    const udp = dns2.UDPClient({ dns: LOOPBACK4, port: s.port, timeout: 2000 });
    assert.equal((await udp('fail.example', 'A')).header.rcode, Rcode.SERVFAIL);
    assert.equal((await udp('nx.example', 'A')).header.rcode, Rcode.NXDOMAIN);
    assert.equal((await udp('ok.example', 'A')).header.rcode, Rcode.NOERROR);
  });
});

describe('IPv6 and dual-stack', () => {
  it('serves ::1 over UDP and TCP', async (t) => {
    if (!(await hasIPv6Loopback())) {
      t.skip('this machine has no IPv6 loopback (::1): IPv6 test skipped');
      return;
    }
    const s = await startServer({ listen: [{ address: LOOPBACK6, port: 0 }], handler: fixedHandler });
    try {
      const port = s.addresses[0]!.port;
      assert.deepEqual(s.addresses.map((a) => a.family), [6, 6]);
      const r = await dig(port, ['whoami.example', 'TXT'], LOOPBACK6);
      assert.equal(r.status, 'NOERROR');
      assert.match(r.answers[0]!, /"udp ::1"$/);
      const rt = await dig(port, ['whoami.example', 'TXT', '+tcp'], LOOPBACK6);
      assert.match(rt.answers[0]!, /"tcp ::1"$/);
      const res = await dns2.UDPClient({ dns: LOOPBACK6, port, socketType: 'udp6', timeout: 2000 })('v6.example', 'A');
      assert.equal(res.answers.length, 1);
    } finally {
      await s.close();
    }
  });

  it('treats IPv4 clients of an IPv6 socket (::ffff:127.0.0.1) as IPv4 for the allow list', async (t) => {
    if (!(await hasIPv6Loopback())) {
      t.skip('this machine has no IPv6 loopback (::1): dual-stack test skipped');
      return;
    }
    // Bound to the IPv4-mapped loopback address: an IPv6 socket that only IPv4 loopback clients reach.
    const s = await startServer({ listen: [{ address: '::ffff:127.0.0.1', port: 0 }], handler: fixedHandler, allow: ['127.0.0.0/8'] });
    try {
      const port = s.addresses[0]!.port;
      const r = await dig(port, ['whoami.example', 'TXT']);
      assert.equal(r.status, 'NOERROR');
      assert.match(r.answers[0]!, /"udp 127\.0\.0\.1"$/);
      const rt = await dig(port, ['whoami.example', 'TXT', '+tcp']);
      assert.match(rt.answers[0]!, /"tcp 127\.0\.0\.1"$/);
    } finally {
      await s.close();
    }
  });
});

describe('startServer options', () => {
  it('rejects bad CIDRs and bad limits with clear errors', async () => {
    const base = { listen: [{ address: LOOPBACK4, port: 0 }], handler: fixedHandler };
    await assert.rejects(startServer({ ...base, allow: ['127.0.0.1/8'] }), (e: unknown) => e instanceof CidrError && /127\.0\.0\.1\/8/.test(e.message));
    await assert.rejects(startServer({ ...base, udpMaxSize: 100 }), (e: unknown) => e instanceof ServerConfigError && e.field === 'udpMaxSize');
    await assert.rejects(startServer({ ...base, listen: [] }), ServerConfigError);
    await assert.rejects(startServer({ ...base, listen: [{ address: 'localhost', port: 0 }] }), /not an IP address/);
  });

  it('fails cleanly when the port is taken, releasing what it bound', async () => {
    const s = await startTest();
    try {
      await assert.rejects(startServer({ listen: [{ address: LOOPBACK4, port: s.port }], handler: fixedHandler }), /EADDRINUSE/);
      // The first server is unaffected.
      assert.equal(parseMessage((await udpExchange(s.port, queryBytes('a.example', RRType.A)))!).rcode, Rcode.NOERROR);
    } finally {
      await s.close();
    }
  });

  it('binds several addresses at once', async () => {
    const s = await startServer({ listen: [{ address: LOOPBACK4, port: 0 }, { address: '127.0.0.2', port: 0 }], handler: fixedHandler });
    try {
      assert.equal(s.addresses.length, 4);
      const second = s.addresses.find((a) => a.address === '127.0.0.2')!;
      const r = await udpExchange(second.port, queryBytes('a.example', RRType.A), { server: '127.0.0.2' });
      assert.equal(parseMessage(r!).rcode, Rcode.NOERROR);
    } finally {
      await s.close();
    }
  });
});

describe('logging', () => {
  it('logs each query at debug through a pino logger', async () => {
    const lines: Record<string, unknown>[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, cb) {
        for (const l of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(l) as Record<string, unknown>);
        cb();
      },
    });
    const logger: Logger = pino({ level: 'debug' }, sink);
    const s = await startTest({ logger });
    try {
      await udpExchange(s.port, queryBytes('LoG.example', RRType.MX));
      const c = await TcpTestClient.connect(s.port);
      await c.write(framed(queryBytes('fail.example', RRType.A, { id: 3 })));
      await c.waitFor(1);
      c.destroy();
    } finally {
      await s.close();
    }
    const q = lines.find((l) => l.msg === 'query' && l.qname === 'LoG.example.');
    assert.ok(q, JSON.stringify(lines));
    assert.equal(q.level, 20);
    assert.equal(q.qtype, 'MX');
    assert.equal(q.rcode, 'NOERROR');
    assert.equal(q.answers, 1);
    assert.equal(q.transport, 'udp');
    assert.match(String(q.client), /^127\.0\.0\.1:\d+$/);
    const err = lines.find((l) => l.msg === 'query handler failed');
    assert.ok(err);
    assert.equal(err.level, 50);
    assert.equal(err.qname, 'fail.example.');
    assert.ok(lines.some((l) => l.msg === 'DNS listener started'));
  });
});
