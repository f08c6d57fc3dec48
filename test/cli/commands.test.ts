/**
 * The commands as a new user meets them (issue 14): every command has its own help (exit 0); `check-config`
 * (exit 0, or 2 with the message); an unknown record type and a port in use are said for what they are, not as
 * configuration errors; `--listen ADDR` without a port takes 5353 and says so; a second instance fails at once,
 * before the probes and the self-test.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { COMMAND_FLAGS, COMMAND_HELP, USAGE } from '../../src/cli/help.js';
import { loadConfig } from '../../src/config/load.js';
import { addressCheckers } from '../../src/config/fields.js';
import { validateConfig } from '../../src/config/validate.js';
import { DaemonProcess, freePort, runCli, type CliRun } from '../support/daemon-process.js';
import { tempStateDir } from '../support/state-dir.js';

const cli = (args: string[], timeoutMs = 20_000): Promise<CliRun> => runCli(args, { timeoutMs });

const COMMANDS = ['serve', 'query', 'anchors', 'daneverify', 'check-config', 'ready', 'version'];

describe('help', () => {
  it('every command has its own help: COMMAND --help, COMMAND -h and help COMMAND exit 0', async () => {
    assert.deepEqual(Object.keys(COMMAND_HELP).sort(), [...COMMANDS].sort());
    for (const c of COMMANDS) {
      for (const args of [[c, '--help'], [c, '-h'], ['help', c]]) {
        const r = await cli(args);
        assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
        assert.ok(r.stdout.startsWith(`Usage: dnssec-stubd ${c}`), `${args.join(' ')}: ${r.stdout.slice(0, 80)}`);
        assert.equal(r.stderr, '');
      }
      assert.match(USAGE, new RegExp(`^  ${c}\\b`, 'm'), `the overview lists ${c}`);
    }
    // Help wins over other flags; a bad flag gets the command's help, not the overview.
    assert.equal((await cli(['query', 'example.org', 'MX', '--help'])).code, 0);
    const bad = await cli(['query', '--frobnicate']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /Unknown option '--frobnicate'[\s\S]*Usage: dnssec-stubd query NAME/);
    assert.equal((await cli(['help'])).code, 0);
    assert.equal((await cli(['help', 'nosuch'])).code, 2);
  });
});

describe('flags', () => {
  it('each command\'s help names every flag it accepts, and accepts every flag its help names', () => {
    assert.deepEqual(Object.keys(COMMAND_FLAGS).sort(), COMMANDS.filter((c) => c !== 'version').sort());
    for (const [c, options] of Object.entries(COMMAND_FLAGS)) {
      const help = COMMAND_HELP[c]!;
      const accepted = Object.keys(options).sort();
      const named = [...new Set([...help.matchAll(/--([a-z][a-z-]*)/g)].map((m) => m[1]!))].filter((f) => f !== 'help').sort();
      assert.deepEqual(named, accepted, c);
    }
  });
});

describe('check-config', () => {
  const dir = mkdtempSync(join(tmpdir(), 'stubd-check-'));

  it('a good file: exit 0 and what a daemon would use', async () => {
    const f = join(dir, 'good.yaml');
    writeFileSync(f, 'listen: [{ address: 127.0.0.1, port: 5300 }]\nupstreams: [{ address: 192.0.2.53 }]\nnegativeTrustAnchors: [corp.example]\n');
    const r = await cli(['check-config', '--config', f]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`^configuration OK: ${f}\n`));
    assert.match(r.stdout, /listen: +127\.0\.0\.1:5300 \(UDP, TCP\)/);
    assert.match(r.stdout, /upstreams: +192\.0\.2\.53:53 priority 1\n/);
    assert.match(r.stdout, /trust anchors: \. \(2 DS, 2 DNSKEY\)/);
    assert.match(r.stdout, /negative trust anchors: corp\.example\./);
    assert.match(r.stdout, /\n  UDP receive buffer: 4194304 bytes \(server\.udpReceiveBuffer\)\n/);
    // Flags override the file as serve's do.
    const o = await cli(['check-config', '--config', f, '--listen', '127.0.0.1:5301']);
    assert.match(o.stdout, /listen: +127\.0\.0\.1:5301/);
  });

  it('a bad file: exit 2 naming the file and the field; a bad anchor file and a missing token file too', async () => {
    const f = join(dir, 'bad.yaml');
    writeFileSync(f, 'upstreams:\n  - { address: 127.0.0.1, priority: high }\n');
    const r = await cli(['check-config', '--config', f]);
    assert.equal(r.code, 2);
    assert.equal(r.stdout, '');
    assert.equal(r.stderr, `dnssec-stubd check-config: ${f}: upstreams[0].priority: expected an integer from 0 to 65535, got "high"\n`);
    const anchors = join(dir, 'anchors.zone');
    writeFileSync(anchors, '. IN DS 20326 8 2 E06D44\n');
    const a = await cli(['check-config', '--upstream', '192.0.2.53', '--trust-anchor', anchors]);
    assert.equal(a.code, 2);
    assert.match(a.stderr, new RegExp(`trustAnchors: ${anchors}:1: DS 20326 8 2 has a 3-byte digest`));
    const t = join(dir, 'token.yaml');
    writeFileSync(t, `http: { tokenFile: ${join(dir, 'no-such-token')} }\nupstreams: [{ address: 192.0.2.53 }]\n`);
    const tr = await cli(['check-config', '--config', t]);
    assert.equal(tr.code, 2);
    assert.match(tr.stderr, /http\.tokenFile: cannot read/);
    const missing = await cli(['check-config', '--config', join(dir, 'nope.yaml')]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /--config: cannot read .*nope\.yaml/);
  });
});

describe('what failed is said as it is', () => {
  it('an unknown query type is a usage error naming the type, not a configuration error', async () => {
    const r = await cli(['query', 'example.org', 'FOO', '--upstream', '127.0.0.1:9']);
    assert.equal(r.code, 2);
    assert.equal(r.stderr, 'dnssec-stubd query: unknown record type "FOO": use a type name (A, AAAA, MX, TLSA, DS, DNSKEY, ...) or TYPEnnn\n');
    const n = await cli(['query', 'exa..mple.org', 'A', '--upstream', '127.0.0.1:9']);
    assert.equal(n.code, 2);
    assert.match(n.stderr, /^dnssec-stubd query: "exa\.\.mple\.org" is not a domain name/);
  });
});

describe('--listen without a port', () => {
  it('takes the default port 5353 and says so (flag and config file)', () => {
    const cfg = loadConfig({ listen: ['127.0.0.1', '[::1]:5400', '::1'] }, addressCheckers);
    assert.deepEqual(cfg.listen, [{ address: '127.0.0.1', port: 5353 }, { address: '::1', port: 5400 }, { address: '::1', port: 5353 }]);
    assert.deepEqual(cfg.notices, [
      '--listen 127.0.0.1 has no port: listening on 127.0.0.1:5353, the default port; clients of /etc/resolv.conf ask port 53 only (write 127.0.0.1:53 for that)',
      '--listen ::1 has no port: listening on [::1]:5353, the default port; clients of /etc/resolv.conf ask port 53 only (write [::1]:53 for that)',
    ]);
    const file = validateConfig({ listen: [{ address: '127.0.0.1' }] }, addressCheckers);
    assert.deepEqual(file.listen, [{ address: '127.0.0.1', port: 5353 }]);
    assert.match(file.notices![0]!, /^listen\[0\] \(127\.0\.0\.1\) has no port: listening on 127\.0\.0\.1:5353/);
    assert.equal(loadConfig({ listen: ['127.0.0.1:53'] }, addressCheckers).notices, undefined);
  });

  it('the daemon logs the notice at start, and check-config prints it', async () => {
    const r = await cli(['check-config', '--listen', '127.0.0.1', '--upstream', '192.0.2.53']);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /note: --listen 127\.0\.0\.1 has no port: listening on 127\.0\.0\.1:5353, the default port/);
    // A daemon asked for 127.0.0.2 (no port): the notice, then it listens on 5353 there.
    const d = new DaemonProcess(['serve', '--listen', '127.0.0.2', '--upstream', '127.0.0.1:9', '--http', 'off', '--state-dir', tempStateDir()]);
    try {
      const notice = await d.waitForLog((l) => typeof l.msg === 'string' && l.msg.startsWith('--listen 127.0.0.2 has no port'));
      assert.equal(notice.level, 40);
      const started = await d.started();
      assert.deepEqual(started.listen, ['udp/127.0.0.2:5353', 'tcp/127.0.0.2:5353']);
    } finally {
      await d.kill();
    }
  });
});

describe('a second instance', () => {
  it('fails at once on a listen address in use: before the probes, the anchors and the self-test', async () => {
    const port = await freePort('127.0.0.1');
    const http = await freePort('127.0.0.1');
    const args = ['serve', '--listen', `127.0.0.1:${port}`, '--upstream', '127.0.0.1:9', '--http', `127.0.0.1:${http}`, '--log-level', 'debug'];
    const first = new DaemonProcess([...args, '--state-dir', tempStateDir()]);
    try {
      await first.started();
      const second = await cli([...args, '--state-dir', tempStateDir()]);
      assert.equal(second.code, 1, second.stderr);
      assert.match(second.stderr, new RegExp(`cannot listen on 127\\.0\\.0\\.1:${port} \\(TCP\\): the address is already in use by process ${first.daemonPid} \\(\\S*node .*dnssec-stubd\\.js serve`));
      // Nothing of the start-up ran: no probe, no anchor state, no self-test (each logs at debug or info).
      assert.doesNotMatch(second.stdout, /probe|self-test|RFC 5011|anchor/i, second.stdout);
      // The HTTP port alone in use: named as the HTTP API's.
      const other = await freePort('127.0.0.1');
      const h = await cli(['serve', '--listen', `127.0.0.1:${other}`, '--upstream', '127.0.0.1:9', '--http', `127.0.0.1:${http}`, '--state-dir', tempStateDir()]);
      assert.equal(h.code, 1);
      assert.match(h.stderr, new RegExp(`cannot listen on 127\\.0\\.0\\.1:${http} \\(TCP, the HTTP API\\): the address is already in use by process ${first.daemonPid}`));
      assert.match(h.stderr, /pick another port with --http \(http\.listen:\)/);
    } finally {
      await first.kill();
    }
  });
});
