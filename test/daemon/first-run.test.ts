/**
 * The first run of a new user whose resolv.conf names a resolver that answers but is not DNSSEC-capable
 * (issue 14), with a plain resolver on loopback that answers the probe's ". DNSKEY" with NXDOMAIN, as the
 * reported one did: NOT-DNSSEC-CAPABLE with that evidence (an error rcode is an answer, not unreachability),
 * one loud line at startup saying that no upstream can serve validation, what that does, and what to do; the
 * SERVFAIL answers say "not DNSSEC-capable"; `dnssec-stubd ready` says the same and exits 1.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { systemClock } from '../../src/clock.js';
import { probeUpstream } from '../../src/upstream/probe.js';
import { exchange } from '../../src/upstream/transport.js';
import { Name } from '../../src/wire/index.js';
import { DaemonProcess, freePort, runCli } from '../support/daemon-process.js';
import { dig } from '../support/dig.js';
import { PlainUpstream } from '../support/plain-upstream.js';
import { tempStateDir } from '../support/state-dir.js';

const NOTICE = /^NO CONFIGURED UPSTREAM CAN SERVE DNSSEC VALIDATION: /;

describe('a reachable resolver that is not DNSSEC-capable', () => {
  let up: PlainUpstream;
  before(async () => {
    up = await PlainUpstream.start();
  });
  after(async () => {
    await up?.close();
  });

  it('the probe: NOT-DNSSEC-CAPABLE with the NXDOMAIN as evidence, not UNREACHABLE', async () => {
    const v = await probeUpstream({ address: up.address, port: up.port }, exchange, { zone: Name.root, timeoutMs: 1000, clock: systemClock });
    assert.equal(v.kind, 'not-capable');
    const byCheck = Object.fromEntries(v.evidence.checks.map((c) => [c.check, c]));
    assert.equal(byCheck['reachable']!.result, 'pass');
    assert.match(byCheck['reachable']!.detail, /^\. DNSKEY answered with NXDOMAIN over UDP in \d+ ms$/);
    assert.equal(byCheck['dnskey-rrsig']!.detail, '. DNSKEY: NXDOMAIN without a DNSKEY RRset');
    assert.equal(byCheck['do-bit']!.result, 'fail');
  });

  it('the daemon: one loud line after the first probes, SERVFAIL that says why, `ready` exit 1 with what to do', async () => {
    const port = await freePort('127.0.0.1');
    const http = await freePort('127.0.0.1');
    const d = new DaemonProcess(['serve', '--listen', `127.0.0.1:${port}`, '--http', `127.0.0.1:${http}`, '--upstream', up.label, '--state-dir', tempStateDir()]);
    try {
      const line = await d.waitForLog((l) => NOTICE.test(l.msg ?? ''), 30_000);
      assert.equal(line.level, 50);
      assert.match(line.msg!, new RegExp(`${up.label.replace(/\./g, '\\.')} is NOT-DNSSEC-CAPABLE \\(not DNSSEC-capable: .*dnskey-rrsig \\(\\. DNSKEY: NXDOMAIN without a DNSKEY RRset\\)`));
      assert.match(line.msg!, /Every answer will be SERVFAIL \(EDE 22, "no DNSSEC-capable upstream reachable"\) until one can\./);
      assert.match(line.msg!, /To fix it: name a DNSSEC-capable resolver \(`upstreams:` in the config file, or --upstream ADDR\[:PORT\].*or accept answers without validation with --insecure-fallback/);
      assert.doesNotMatch(line.msg!, /UNREACHABLE|unreachable:/);
      const started = d.lines.findIndex((l) => l.msg === 'dnssec-stubd started');
      assert.ok(started >= 0 && d.lines.indexOf(line) > started, 'said after the startup line, where it is seen');

      const r = await dig(port, ['www.example.org.', 'A', '+time=5']);
      assert.equal(r.status, 'SERVFAIL');
      const ede = r.ede.join('\n');
      assert.match(ede, /EDE: 22 \(No Reachable Authority\).*is not DNSSEC-capable/);
      assert.doesNotMatch(ede, /unreachable/);

      const ready = await runCli(['ready', '--listen', `127.0.0.1:${port}`, '--http', `127.0.0.1:${http}`, '--wait', '10'], { timeoutMs: 20_000 });
      assert.equal(ready.code, 1, ready.stdout + ready.stderr);
      assert.match(ready.stderr, /^dnssec-stubd is running but NOT READY:\n/);
      assert.match(ready.stderr, /no DNSSEC-capable upstream is known/);
      assert.match(ready.stderr, /NO CONFIGURED UPSTREAM CAN SERVE DNSSEC VALIDATION: .* is NOT-DNSSEC-CAPABLE/);
      assert.match(ready.stderr, /DNS 127\.0\.0\.1:\d+: \. DNSKEY answered SERVFAIL: EDE 22/);
      // Said once: a later probe round does not repeat it.
      assert.equal(d.lines.filter((l) => NOTICE.test(l.msg ?? '')).length, 1);
    } finally {
      await d.kill();
    }
  });

  it('with --insecure-fallback the line says answers will be INSECURE', async () => {
    const port = await freePort('127.0.0.1');
    const d = new DaemonProcess(['serve', '--listen', `127.0.0.1:${port}`, '--http', 'off', '--upstream', up.label, '--insecure-fallback', '--state-dir', tempStateDir()]);
    try {
      const line = await d.waitForLog((l) => NOTICE.test(l.msg ?? ''), 30_000);
      assert.match(line.msg!, /Every answer will be INSECURE \(no AD bit, so an MTA does no DANE\) until one can/);
      assert.doesNotMatch(line.msg!, /--insecure-fallback/);
      const r = await dig(port, ['www.example.org.', 'A']);
      assert.equal(r.status, 'NOERROR');
      assert.equal(r.flags.has('ad'), false);
    } finally {
      await d.kill();
    }
  });

  it('`ready` against nothing: exit 3, saying the daemon does not answer', async () => {
    const port = await freePort('127.0.0.1');
    const r = await runCli(['ready', '--listen', `127.0.0.1:${port}`, '--http', 'off']);
    assert.equal(r.code, 3);
    assert.match(r.stderr, /^dnssec-stubd does not answer:\n/);
    assert.match(r.stderr, /is it running\?/);
  });
});
