/** The `dnssec-stubd` command as an operator runs it: startup errors name the field, SIGTERM stops it cleanly. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { resolveUpstreams } from '../../src/daemon/index.js';
import { defaultConfig } from '../../src/config/schema.js';
import { ConfigError } from '../../src/config/schema.js';
import { DaemonProcess, freePort, runCli } from '../support/daemon-process.js';
import { startTestDaemon } from '../support/daemon.js';
import { dig } from '../support/dig.js';
import { tempStateDir } from '../support/state-dir.js';

describe('dnssec-stubd serve', () => {
  const dir = mkdtempSync(join(tmpdir(), 'stubd-cli-'));

  it('a bad config file stops startup with a message naming the field', async () => {
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, 'upstreams:\n  - { address: 127.0.0.1 }\n  - { address: 127.0.0.2, priority: high }\n');
    const r = await runCli(['serve', '--config', file]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /configuration error: upstreams\[1\]\.priority: expected an integer/);
  });

  it('an unknown key and a bad flag are named too', async () => {
    const file = join(dir, 'unknown.json');
    writeFileSync(file, '{"listen": [{"address": "127.0.0.1", "port": 5353}], "upstraems": []}');
    const r = await runCli(['serve', '--config', file]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /upstraems: unknown key/);
    const f = await runCli(['serve', '--upstream', 'resolver.example.net']);
    assert.equal(f.code, 2);
    assert.match(f.stderr, /--upstream: .*not an IPv4 or IPv6 address/);
    const g = await runCli(['serve', '--allow', '10.1.2.3/8']);
    assert.equal(g.code, 2);
    assert.match(g.stderr, /--allow: /);
    const u = await runCli(['serve', '--bogus-flag']);
    assert.equal(u.code, 2);
    assert.match(u.stderr, /Unknown option '--bogus-flag'/);
  });

  it('a state directory that cannot be used stops startup naming stateDir', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'stubd-cli-')), 'not-a-dir');
    writeFileSync(file, 'x');
    const r = await runCli(['serve', '--listen', '127.0.0.1:0', '--upstream', '127.0.0.1:9', '--http', 'off', '--state-dir', join(file, 'state')]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /configuration error: stateDir: cannot use .*not-a-dir\/state for the RFC 5011 state/);
  });
  it('a listen address in use is a clear startup error, not a configuration error (exit 1, naming the holder)', async () => {
    const port = await freePort('127.0.0.1');
    const first = await startTestDaemon({ cli: { listen: [`127.0.0.1:${port}`], upstream: ['127.0.0.1:9'] } });
    try {
      const r = await runCli(['serve', '--listen', `127.0.0.1:${port}`, '--upstream', '127.0.0.1:9', '--state-dir', tempStateDir(), '--http', 'off']);
      assert.equal(r.code, 1);
      assert.doesNotMatch(r.stderr, /configuration error/);
      assert.match(r.stderr, new RegExp(`^dnssec-stubd: cannot listen on 127\\.0\\.0\\.1:${port} \\(TCP\\): the address is already in use by process ${process.pid} \\(`));
    } finally {
      await first.stop();
    }
  });

  it('serves, then stops cleanly on SIGTERM and on SIGINT', async () => {
    for (const signal of ['SIGTERM', 'SIGINT'] as const) {
      const port = await freePort('127.0.0.1');
      // Upstream on a closed loopback port: queries fail fast with SERVFAIL + EDE, the listener still answers.
      const d = new DaemonProcess(['serve', '--listen', `127.0.0.1:${port}`, '--upstream', '127.0.0.1:9', '--log-level', 'info', '--state-dir', tempStateDir(), '--http', 'off']);
      try {
        // Wait for the listener, query it, then signal.
        let answered = false;
        for (let i = 0; i < 50 && !answered; i++) {
          await new Promise((r) => setTimeout(r, 100));
          const res = await dig(port, ['example.test', 'A', '+time=1']).catch(() => undefined);
          if (res?.status) {
            answered = true;
            assert.equal(res.status, 'SERVFAIL');
            assert.ok(res.ede.some((l) => /EDE: 2[23] /.test(l)), res.ede.join('\n'));
          }
        }
        assert.ok(answered, 'daemon never answered');
        d.signal(signal);
        const r = await d.exitWithin(10_000);
        assert.equal(r.code, 0, d.stderr);
        assert.match(d.stdout, /dnssec-stubd stopped/);
      } finally {
        await d.kill();
      }
    }
  });
});

describe('upstreams from /etc/resolv.conf', () => {
  it('uses the nameservers, skipping our own listen address', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'stubd-rc-'));
    const rc = join(dir, 'resolv.conf');
    writeFileSync(rc, '# test\nnameserver 127.0.0.1\nnameserver 127.0.0.53\nnameserver 127.0.0.54\nsearch example\n');
    const cfg = { ...defaultConfig(), listen: [{ address: '127.0.0.1', port: 53 }] };
    const ups = await resolveUpstreams(cfg, pino({ level: 'silent' }), rc);
    assert.deepEqual(ups.map((u) => [u.address, u.port, u.priority]), [['127.0.0.53', 53, 1], ['127.0.0.54', 53, 2]]);
  });

  it('fails with a clear message when there is no usable nameserver', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'stubd-rc-'));
    const rc = join(dir, 'resolv.conf');
    writeFileSync(rc, 'nameserver 127.0.0.1\n');
    const cfg = { ...defaultConfig(), listen: [{ address: '127.0.0.1', port: 53 }] };
    await assert.rejects(resolveUpstreams(cfg, pino({ level: 'silent' }), rc), (e: unknown) => e instanceof ConfigError && e.field === 'upstreams');
    await assert.rejects(resolveUpstreams(cfg, pino({ level: 'silent' }), join(dir, 'missing')), /cannot be read/);
  });
});
