/**
 * The first run against real resolvers (issue 14): Debian's pdns-recursor with dnssec=off as the only upstream
 * is NOT-DNSSEC-CAPABLE with its evidence and the daemon says once, loudly, that nothing can serve validation;
 * with the world's DNSSEC-capable upstream the same daemon is ready, and `dnssec-stubd ready` says so (exit 0).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { getWorld, stopWorld, type WorldInfo } from '../world/index.js';
import { PdnsRecursorFixture } from '../upstream/pdns-fixture.js';
import { DaemonProcess, freePort, runCli } from '../support/daemon-process.js';
import { tempStateDir } from '../support/state-dir.js';
import { daemonAddr } from '../world/net.js';

let world: WorldInfo;
let pdns: PdnsRecursorFixture;

before(async () => {
  world = await getWorld();
  pdns = await PdnsRecursorFixture.start({ address: daemonAddr(14, 2), forwardTo: { address: world.upstream.host, port: world.upstream.port }, hintFile: world.rootHintsFile });
});
after(async () => {
  await pdns?.stop();
  await stopWorld();
});

describe('first run', () => {
  it('pdns-recursor with dnssec=off: NOT-DNSSEC-CAPABLE with evidence, said once at startup', async () => {
    const port = await freePort('127.0.0.1');
    const d = new DaemonProcess(['serve', '--listen', `127.0.0.1:${port}`, '--http', 'off', '--upstream', pdns.label,
      '--trust-anchor', world.rootAnchorFile, '--state-dir', tempStateDir()]);
    try {
      const line = await d.waitForLog((l) => /^NO CONFIGURED UPSTREAM CAN SERVE DNSSEC VALIDATION/.test(l.msg ?? ''), 30_000);
      assert.match(line.msg!, new RegExp(`${pdns.label.replace(/\./g, '\\.')} is NOT-DNSSEC-CAPABLE \\(not DNSSEC-capable: .*do-bit \\(DO bit not echoed\\)`));
      assert.deepEqual((line.upstreams as { state: string }[]).map((u) => u.state), ['NOT-DNSSEC-CAPABLE']);
      await new Promise((r) => setTimeout(r, 500));
      assert.equal(d.lines.filter((l) => /^NO CONFIGURED UPSTREAM/.test(l.msg ?? '')).length, 1);
    } finally {
      await d.kill();
    }
  });

  it('the world\'s DNSSEC-capable upstream: no such line, and `ready` exits 0', async () => {
    const port = await freePort('127.0.0.1');
    const http = await freePort('127.0.0.1');
    const d = new DaemonProcess(['serve', '--listen', `127.0.0.1:${port}`, '--http', `127.0.0.1:${http}`, '--upstream', `${world.upstream.host}:${world.upstream.port}`,
      '--trust-anchor', world.rootAnchorFile, '--state-dir', tempStateDir()]);
    try {
      await d.started(30_000);
      const r = await runCli(['ready', '--listen', `127.0.0.1:${port}`, '--http', `127.0.0.1:${http}`, '--wait', '20'], { timeoutMs: 30_000 });
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.match(r.stdout, /^dnssec-stubd is ready:\n  HTTP API 127\.0\.0\.1:\d+: \/readyz says ready\n  DNS 127\.0\.0\.1:\d+: \. DNSKEY answered with AD \(validated\)\n$/);
      assert.equal(d.lines.some((l) => /^NO CONFIGURED UPSTREAM/.test(l.msg ?? '')), false);
    } finally {
      await d.kill();
    }
  });
});
