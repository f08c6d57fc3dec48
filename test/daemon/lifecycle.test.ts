/**
 * The daemon's life as an operator drives it (issue 14), with the real command (`bin/dnssec-stubd.js serve`) and
 * signals: SIGHUP reloads the config file without dropping the cache or the listeners, a bad file is logged and
 * changes nothing; SIGTERM answers the queries in flight, takes no new work, removes the pid file and exits 0.
 * Upstreams: plain non-DNSSEC resolvers on loopback (test/support/plain-upstream.ts); no test world.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DaemonProcess, freePort, type LogLine } from '../support/daemon-process.js';
import { dig } from '../support/dig.js';
import { PlainUpstream } from '../support/plain-upstream.js';
import { Name, RRType, frame, makeQuery, parseMessage, serializeMessage } from '../../src/wire/index.js';

interface Setup {
  dir: string;
  file: string;
  port: number;
  http: number;
  pidFile: string;
}

async function setup(): Promise<Setup> {
  const dir = mkdtempSync(join(tmpdir(), 'stubd-life-'));
  return { dir, file: join(dir, 'config.yaml'), port: await freePort('127.0.0.1'), http: await freePort('127.0.0.1'), pidFile: join(dir, 'dnssec-stubd.pid') };
}

function yaml(s: Setup, o: { upstream: PlainUpstream; allow?: string; ntas?: string[]; forward?: PlainUpstream; logLevel?: string; maxTtl?: number; extra?: string; warmup?: number }): string {
  return [
    `listen: [{ address: 127.0.0.1, port: ${s.port} }]`,
    `http: { listen: [{ address: 127.0.0.1, port: ${s.http} }] }`,
    `upstreams: [{ address: ${o.upstream.address}, port: ${o.upstream.port} }]`,
    o.forward ? `forwardZones: [{ suffix: fz.example., upstreams: [{ address: ${o.forward.address}, port: ${o.forward.port} }] }]` : '',
    `allow: [${o.allow ?? '127.0.0.0/8'}]`,
    `negativeTrustAnchors: [${(o.ntas ?? ['nta.example.']).join(', ')}]`,
    `logLevel: ${o.logLevel ?? 'info'}`,
    `server: { warmupQueries: ${o.warmup ?? 0} }`,
    `cache: { maxTtl: ${o.maxTtl ?? 86400} }`,
    o.extra ?? '',
    '',
  ].join('\n');
}

async function getJson(port: number, path: string): Promise<Record<string, unknown>> {
  const r = await fetch(`http://127.0.0.1:${port}${path}`);
  return (await r.json()) as Record<string, unknown>;
}

/** One query over an open TCP connection (RFC 7766 framing); resolves to the reply's rcode and answer count. */
function tcpQuery(sock: Socket, name: string, id: number): Promise<{ rcode: number; answers: number }> {
  return new Promise((resolve, reject) => {
    let buf = Buffer.alloc(0);
    const onData = (d: Buffer): void => {
      buf = Buffer.concat([buf, d]);
      if (buf.length < 2 || buf.length < 2 + buf.readUInt16BE(0)) return;
      sock.off('data', onData);
      const m = parseMessage(buf.subarray(2, 2 + buf.readUInt16BE(0)));
      resolve({ rcode: m.rcode, answers: m.answer.length });
    };
    sock.on('data', onData);
    sock.once('error', reject);
    sock.write(frame(serializeMessage(makeQuery(Name.fromText(name), RRType.A, { id, rd: true })).bytes));
  });
}

const reloaded = (l: LogLine): boolean => typeof l.msg === 'string' && /^configuration reload/.test(l.msg) && l.level! >= 30;

describe('SIGHUP reloads the configuration file', () => {
  let s: Setup;
  let a: PlainUpstream;
  let b: PlainUpstream;
  let d: DaemonProcess;

  before(async () => {
    s = await setup();
    [a, b] = await Promise.all([PlainUpstream.start(), PlainUpstream.start()]);
    writeFileSync(s.file, yaml(s, { upstream: a }));
    d = new DaemonProcess(['serve', '--config', s.file, '--state-dir', join(s.dir, 'state'), '--pid-file', s.pidFile]);
    await d.started();
  });
  after(async () => {
    await d?.kill();
    await Promise.all([a?.close(), b?.close()]);
  });

  it('changes upstreams, forward zones, negative trust anchors and the log level, keeping the cache and the listeners', async () => {
    assert.equal(await d.pidFromFile(s.pidFile), d.daemonPid);
    // Cached before the reload: an answer under the negative trust anchor (INSECURE, TTL 300, from upstream a).
    const first = await dig(s.port, ['www.nta.example.', 'A']);
    assert.equal(first.status, 'NOERROR', first.text);
    assert.equal(a.count('www.nta.example.'), 1);
    // Not under an NTA, no DNSSEC-capable upstream, no fallback: SERVFAIL.
    assert.equal((await dig(s.port, ['www.corp.example.', 'A'])).status, 'SERVFAIL');
    const entries = ((await getJson(s.http, '/status')).cache as { entries: number }).entries;
    assert.ok(entries >= 1);
    // A TCP connection opened before the reload.
    const sock = connect(s.port, '127.0.0.1');
    await new Promise<void>((resolve) => sock.once('connect', () => resolve()));
    assert.equal((await tcpQuery(sock, 'tcp1.nta.example.', 1)).rcode, 0);

    writeFileSync(s.file, yaml(s, { upstream: b, forward: b, ntas: ['nta.example.', 'corp.example.'], logLevel: 'debug', maxTtl: 3600 }));
    const mark = d.lines.length;
    d.signal('SIGHUP');
    const done = await d.waitForLog(reloaded, 15_000, mark);
    assert.match(done.msg!, /configuration reloaded: upstreams, forwardZones, negativeTrustAnchors, logLevel changed/);
    const warn = await d.waitForLog((l) => typeof l.msg === 'string' && l.msg.includes('take effect at the next restart'), 5000, mark);
    assert.deepEqual(warn.restartNeeded, ['cache']);

    // The cache stayed: the answer comes from it, neither upstream is asked again.
    const again = await dig(s.port, ['www.nta.example.', 'A']);
    assert.equal(again.status, 'NOERROR');
    assert.equal(a.count('www.nta.example.') + b.count('www.nta.example.'), 1, 'answered from the cache');
    const status = await getJson(s.http, '/status');
    assert.ok((status.cache as { entries: number }).entries >= entries, 'the cache was not dropped');
    assert.deepEqual(status.negativeTrustAnchors, ['nta.example.', 'corp.example.']);
    assert.deepEqual(status.forwardZones, ['fz.example.']);
    // New questions go to the new upstream; the new negative trust anchor applies.
    assert.equal((await dig(s.port, ['new.nta.example.', 'A'])).status, 'NOERROR');
    assert.equal(b.count('new.nta.example.'), 1);
    assert.equal(a.count('new.nta.example.'), 0);
    assert.equal((await dig(s.port, ['www.corp.example.', 'A'])).status, 'NOERROR');
    const routes = ((await getJson(s.http, '/upstreams')).routes as { suffix: string | null; upstreams: { label: string }[] }[]);
    assert.deepEqual(routes.map((r) => [r.suffix, r.upstreams.map((u) => u.label)]), [[null, [b.label]], ['fz.example.', [b.label]]]);
    // The log level: debug lines now.
    await d.waitForLog((l) => l.level === 20, 5000, mark);
    // The TCP connection and the listeners survived.
    assert.equal((await tcpQuery(sock, 'tcp2.nta.example.', 2)).rcode, 0);
    sock.destroy();
    assert.equal(d.running, true);
  });

  it('changes the allow list; a bad file is logged naming the field and the running configuration stays', async () => {
    writeFileSync(s.file, yaml(s, { upstream: b, allow: '10.0.0.0/8' }));
    let mark = d.lines.length;
    d.signal('SIGHUP');
    await d.waitForLog(reloaded, 15_000, mark);
    assert.equal((await dig(s.port, ['www.nta.example.', 'A'])).status, 'REFUSED');

    // Loopback allowed again, but a typo elsewhere: nothing of it applies.
    writeFileSync(s.file, yaml(s, { upstream: b, allow: '127.0.0.0/8', extra: 'upstream: { timeoutMs: fast }' }));
    mark = d.lines.length;
    d.signal('SIGHUP');
    const err = await d.waitForLog((l) => l.level === 50, 15_000, mark);
    assert.equal(err.field, 'upstream.timeoutMs');
    assert.match(err.msg!, /^configuration reload failed, the running configuration stays: upstream\.timeoutMs: expected an integer/);
    assert.equal(err.file, s.file);
    assert.equal((await dig(s.port, ['www.nta.example.', 'A'])).status, 'REFUSED', 'the old allow list stays');

    // An unreadable file is named too; fixing it applies.
    writeFileSync(s.file, 'allow: [127.0.0.0/8\n');
    mark = d.lines.length;
    d.signal('SIGHUP');
    const syntax = await d.waitForLog((l) => l.level === 50, 15_000, mark);
    assert.match(syntax.msg!, /--config: .*config\.yaml is not valid YAML/);
    writeFileSync(s.file, yaml(s, { upstream: b }));
    mark = d.lines.length;
    d.signal('SIGHUP');
    await d.waitForLog(reloaded, 15_000, mark);
    assert.equal((await dig(s.port, ['www.nta.example.', 'A'])).status, 'NOERROR');
  });

  it('SIGTERM: exit 0, the pid file removed', async () => {
    d.signal('SIGTERM');
    const r = await d.exited;
    assert.equal(r.code, 0, d.stderr);
    assert.equal(existsSync(s.pidFile), false);
    assert.ok(d.lines.some((l) => l.msg === 'dnssec-stubd stopped'));
  });
});

describe('SIGTERM stops cleanly', () => {
  it('answers the query in flight, refuses new work with SERVFAIL and EDE 14, then exits 0 without its pid file', async () => {
    const s = await setup();
    const slow = await PlainUpstream.start({ delayMs: 1500 });
    const d = new DaemonProcess(['serve', '--config', s.file, '--state-dir', join(s.dir, 'state'), '--pid-file', s.pidFile]);
    try {
      writeFileSync(s.file, yaml(s, { upstream: slow, ntas: ['example.'] }));
      await d.started();
      // The upstream takes 1.5 s for this one: it is in flight when the signal comes.
      const inFlight = dig(s.port, ['slow.example.', 'A', '+time=5']);
      await new Promise((r) => setTimeout(r, 300));
      d.signal('SIGTERM');
      await d.waitForLog((l) => l.msg === 'stop signal: answering the queries in flight, then stopping');
      const late = await dig(s.port, ['other.example.', 'A', '+time=5']);
      assert.equal(late.status, 'SERVFAIL', late.text);
      assert.ok(late.ede.some((l) => /EDE: 14 \(Not Ready\).*shutting down/.test(l)), late.ede.join('\n'));
      const answered = await inFlight;
      assert.equal(answered.status, 'NOERROR', answered.text);
      assert.match(answered.answers.join('\n'), /192\.0\.2\.1/);
      const r = await d.exited;
      assert.equal(r.code, 0, d.stderr);
      assert.ok(d.lines.some((l) => l.msg === 'stopping: 1 queries in flight answered'), d.stdout);
      assert.equal(existsSync(s.pidFile), false);
    } finally {
      await d.kill();
      await slow.close();
    }
  });

  it('a SIGHUP during startup does not kill it: it is applied once the daemon runs', async () => {
    const s = await setup();
    const up = await PlainUpstream.start();
    writeFileSync(s.file, yaml(s, { upstream: up, warmup: 3000 }));
    // The self-test runs (about a second): the first probes finish during it, and the signal is sent then.
    const d = new DaemonProcess(['serve', '--config', s.file, '--state-dir', join(s.dir, 'state'), '--log-level', 'info']);
    const started = (l: LogLine): boolean => l.msg === 'dnssec-stubd started';
    try {
      await d.waitForLog((l) => l.msg === 'upstream DNSSEC state changed' || started(l), 15_000);
      assert.equal(d.lines.some(started), false, 'the signal must come before the listeners open');
      d.signal('SIGHUP');
      await d.waitForLog(started);
      await d.waitForLog(reloaded);
      assert.equal(d.running, true);
    } finally {
      await d.kill();
      await up.close();
    }
  });
});
