/**
 * `bin/dnssec-stubd.js serve` runs the daemon in a child node started with the heap limits derived from the
 * config file (src/cli/relaunch.ts, src/config/heap.ts): the pid file names that child, its command line carries
 * the flags, signals to the launcher reach it, and it stops when the launcher is killed. With
 * DNSSEC_STUBD_HEAP=off the launched process is the daemon, as before. Upstream: a plain resolver on loopback.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DaemonProcess, freePort } from '../support/daemon-process.js';
import { PlainUpstream } from '../support/plain-upstream.js';

const MiB = 1024 * 1024;

const cmdline = (pid: number): string[] => readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
const ppid = (pid: number): number => Number(/^PPid:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]);

async function gone(pid: number, ms: number): Promise<boolean> {
  for (const end = Date.now() + ms; Date.now() < end; await new Promise((r) => setTimeout(r, 100))) {
    if (!existsSync(`/proc/${pid}`)) return true;
  }
  return false;
}

describe('serve runs with heap limits derived from its config', () => {
  let up: PlainUpstream;
  let dir: string;
  let file: string;
  const started: DaemonProcess[] = [];

  before(async () => {
    up = await PlainUpstream.start();
    dir = mkdtempSync(join(tmpdir(), 'stubd-heap-launch-'));
    file = join(dir, 'config.yaml');
  });
  after(async () => {
    await Promise.all(started.map((d) => d.kill()));
    await up?.close();
  });

  async function start(name: string, env: NodeJS.ProcessEnv = process.env): Promise<{ d: DaemonProcess; pidFile: string }> {
    const port = await freePort('127.0.0.1');
    writeFileSync(file, [
      `listen: [{ address: 127.0.0.1, port: ${port} }]`, 'http: { listen: off }',
      `upstreams: [{ address: ${up.address}, port: ${up.port} }]`, 'server: { warmupQueries: 0 }', `cache: { maxBytes: ${16 * MiB} }`, '',
    ].join('\n'));
    const pidFile = join(dir, `${name}.pid`);
    const d = new DaemonProcess(['serve', '--config', file, '--state-dir', join(dir, `state-${name}`), '--pid-file', pidFile], env);
    started.push(d);
    return { d, pidFile };
  }

  it('the daemon is the launcher\'s child, started with --max-old-space-size from cache.maxBytes; signals pass through', async () => {
    const { d, pidFile } = await start('derived');
    const pid = await d.pidFromFile(pidFile);
    assert.notEqual(pid, d.pid);
    assert.equal(ppid(pid), d.pid);
    const args = cmdline(pid);
    assert.ok(args.includes('--max-old-space-size=132'), args.join(' '));
    assert.ok(args.includes('--max-semi-space-size=4'), args.join(' '));
    // SIGHUP to the launcher: the daemon reloads.
    const from = d.lines.length;
    d.signal('SIGHUP');
    await d.waitForLog((l) => typeof l.msg === 'string' && l.msg.startsWith('configuration reload'), 15_000, from);
    // SIGTERM to the launcher: the daemon stops cleanly, the launcher leaves with its status.
    d.signal('SIGTERM');
    assert.deepEqual(await d.exited, { code: 0, signal: null });
    assert.ok(await gone(pid, 5_000));
    assert.equal(existsSync(pidFile), false);
  });

  it('when the launcher is killed outright, the daemon stops by itself', async () => {
    const { d, pidFile } = await start('orphan');
    const pid = await d.pidFromFile(pidFile);
    d.signal('SIGKILL');
    await d.exited;
    assert.ok(await gone(pid, 15_000), 'the daemon outlived its launcher');
    assert.equal(existsSync(pidFile), false);
  });

  it('DNSSEC_STUBD_HEAP=off: no child, no flags', async () => {
    const { d, pidFile } = await start('off', { ...process.env, DNSSEC_STUBD_HEAP: 'off' });
    const pid = await d.pidFromFile(pidFile);
    assert.equal(pid, d.pid);
    assert.ok(!cmdline(pid).some((a) => a.startsWith('--max-old-space-size')));
    await d.kill();
  });
});
