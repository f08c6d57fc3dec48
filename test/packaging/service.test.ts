/**
 * The background mode of scripts/install.sh, as it runs on a machine without systemd (issue 14), through
 * scripts/dnssec-stubdctl (what install.sh runs last): with this checkout as the installed package and every path
 * in a temporary directory. It must not claim success when its daemon died on a port another process holds, nor
 * when no upstream can serve validation; it says what is wrong and what to do. The daemon runs as an unprivileged
 * user (here `nobody`) with CAP_NET_BIND_SERVICE alone; restart and reload check the config first, so a typo
 * never stops a working daemon; stop leaves no pid file; logrotate's snippet rotates the log under a running
 * daemon. Loopback only, no world.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import path from 'node:path';
import { freePort } from '../support/daemon-process.js';
import { dig } from '../support/dig.js';
import { PlainUpstream } from '../support/plain-upstream.js';
import { backgroundCtl, REPO, type BackgroundCtl, type CtlRun } from './stubdctl.js';

let c: BackgroundCtl;
let port: number;
let http: number;
let up: PlainUpstream;
const file = (): string => c.config;
const pidFile = (): string => c.pidFile;
const ctl = (...args: string[]): Promise<CtlRun> => c.run(...args);

function config(extra = ''): void {
  writeFileSync(file(), [
    `listen: [{ address: 127.0.0.1, port: ${port} }]`,
    `http: { listen: [{ address: 127.0.0.1, port: ${http} }] }`,
    `upstreams: [{ address: ${up.address}, port: ${up.port} }]`,
    'server: { warmupQueries: 0 }',
    extra,
    '',
  ].join('\n'));
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

before(async () => {
  c = backgroundCtl({ waitSeconds: 30 });
  port = await freePort('127.0.0.1');
  http = await freePort('127.0.0.1');
  up = await PlainUpstream.start();
});
after(async () => {
  await ctl('stop');
  await up?.close();
  c?.remove();
});

describe('dnssec-stubdctl (what install.sh runs) in background mode', () => {
  it('a port another process holds: exit 1, the daemon\'s own words, no pid file left', async () => {
    config();
    const holder: Server = createServer();
    await new Promise<void>((resolve) => holder.listen(port, '127.0.0.1', () => resolve()));
    try {
      const r = await ctl('start');
      assert.equal(r.code, 1, r.stdout + r.stderr);
      assert.doesNotMatch(r.stdout, /ready/);
      assert.match(r.stderr, /dnssec-stubd did not start\. It said:\n {2}dnssec-stubd: cannot listen on 127\.0\.0\.1:\d+ \(TCP\): the address is already in use by another process/);
      assert.match(r.stderr, /stop it, or pick another port with --listen \(listen:\)/);
      assert.equal(existsSync(pidFile()), false);
    } finally {
      holder.close();
    }
  });

  it('no upstream can serve validation: exit 1, running but not ready, with what to do', async () => {
    config();
    const r = await ctl('start');
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stderr, /dnssec-stubd is running but NOT READY:/);
    assert.match(r.stderr, /NO CONFIGURED UPSTREAM CAN SERVE DNSSEC VALIDATION: 127\.0\.0\.1:\d+ is NOT-DNSSEC-CAPABLE/);
    assert.match(r.stderr, /To fix it: name a DNSSEC-capable resolver/);
    assert.match(r.stderr, /dnssec-stubd is running \(pid \d+\) but cannot serve validated answers yet \(above\): fix that, then: dnssec-stubdctl reload/);
    const pid = Number(readFileSync(pidFile(), 'utf8'));
    assert.ok(alive(pid));
    // Not root: nobody's ids, and of root's capabilities only CAP_NET_BIND_SERVICE (bit 10).
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    assert.match(status, /^Uid:\s+65534\s+65534\s+65534\s+65534$/m);
    assert.match(status, /^CapEff:\s+0000000000000400$/m);
    assert.match(status, /^CapBnd:\s+0000000000000400$/m);
    assert.equal(statSync(path.join(c.dir, 'state')).uid, 65534, 'the state directory belongs to the service user');
  });

  it('restart and reload check the config first: a typo leaves the working daemon alone (exit 2)', async () => {
    const pid = Number(readFileSync(pidFile(), 'utf8'));
    config('allow: [127.0.0.0/8, 10.0.0.0/33]');
    for (const cmd of ['restart', 'reload']) {
      const r = await ctl(cmd);
      assert.equal(r.code, 2, `${cmd}: ${r.stdout}${r.stderr}`);
      assert.match(r.stderr, /allow\[1\]: .*nothing was changed/s);
      assert.ok(alive(pid), `${cmd} with a bad config stopped the daemon`);
      assert.equal(Number(readFileSync(pidFile(), 'utf8')), pid);
    }
    // A good change: reload applies it (SIGHUP) and prints the outcome.
    config('allow: [10.0.0.0/8]');
    const r = await ctl('reload');
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, new RegExp(`^dnssec-stubd \\(pid ${pid}\\): configuration reloaded: allow changed\\n$`));
    assert.equal((await dig(port, ['www.example.', 'A'])).status, 'REFUSED');
    config();
    assert.equal((await ctl('reload')).code, 0);
  });

  it('logrotate with the installed snippet rotates the log under the running daemon', async () => {
    const log = c.log;
    const conf = path.join(c.dir, 'logrotate.conf');
    writeFileSync(conf, readFileSync(path.join(REPO, 'examples/logrotate/dnssec-stubd'), 'utf8').replace(/^\/var\/log\/dnssec-stubd\.log /m, `${log} `));
    const before = statSync(log).size;
    assert.ok(before > 0);
    const r = await new Promise<CtlRun>((resolve) => execFile('logrotate', ['-f', '-s', path.join(c.dir, 'logrotate.state'), conf], (err, stdout, stderr) =>
      resolve({ code: err ? 1 : 0, stdout, stderr })));
    assert.equal(r.code, 0, r.stderr);
    assert.equal(statSync(`${log}.1`).size, before, 'the old lines are in dnssec-stubd.log.1');
    // The daemon goes on writing to the emptied file, from its start (append mode: no hole of zeros).
    const reload = await ctl('reload');
    assert.equal(reload.code, 0, reload.stderr);
    const text = readFileSync(log, 'utf8');
    assert.ok(text.startsWith('{'), JSON.stringify(text.slice(0, 40)));
    assert.match(text, /configuration reloaded/);
    assert.ok(text.length < before);
  });

  it('status, then stop: exit 0, the process gone, no pid file', async () => {
    const pid = Number(readFileSync(pidFile(), 'utf8'));
    const s = await ctl('status');
    assert.equal(s.code, 1, 'running but not ready');
    assert.match(s.stdout, new RegExp(`dnssec-stubd is running \\(pid ${pid}\\)`));
    const r = await ctl('stop');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, `dnssec-stubd stopped (pid ${pid})\n`);
    assert.equal(alive(pid), false);
    assert.equal(existsSync(pidFile()), false);
    assert.match(readFileSync(c.log, 'utf8'), /"msg":"dnssec-stubd stopped"/);
    assert.equal((await ctl('status')).code, 3);
  });
});
