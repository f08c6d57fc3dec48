/**
 * The container image, built from the Dockerfile with buildah (no Docker daemon needed) and run as a container
 * runtime would run it: the image's own user, entrypoint and configuration.
 *
 * - The image: a non-root user, ports 53/udp, 53/tcp and 8053 exposed, the state volume, a HEALTHCHECK on /readyz,
 *   production dependencies only (no TypeScript, no tests).
 * - As with `--network host`: the documented high-port mode (`--listen` daemonAddr(13, 1)`:5353`), forwarding to the test
 *   world; it becomes ready, the image's HEALTHCHECK command passes, answers carry AD, and the process is not root.
 * - As Docker runs it: in a network namespace of its own with net.ipv4.ip_unprivileged_port_start=0 (what Docker
 *   and Podman set), the image's unchanged configuration binds port 53 as the unprivileged user and answers; with
 *   no DNSSEC-capable upstream reachable there, /readyz says why and the HEALTHCHECK command fails.
 *
 * The Dockerfile's base image comes from Docker Hub, which the test machines cannot reach:
 * scripts/container-base.sh makes a stand-in with the same parts (Debian 12, this machine's Node.js 20) once.
 * Needs buildah, debootstrap, util-linux (scripts/install-test-deps.sh) and root.
 */
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { dig } from '../support/dig.js';
import { getWorld, stopWorld, type WorldInfo } from '../world/index.js';
import { daemonAddr } from '../world/net.js';

const execFileP = promisify(execFile);
const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const IMAGE = 'localhost/dnssec-stubd:test';
const BUILDAH = ['buildah', '--storage-driver', 'vfs'];
/** Host-network mode: the daemon's DNS and HTTP address (not used elsewhere in test/). */
const HOST_MODE = daemonAddr(13, 1);

interface ImageConfig {
  User: string;
  ExposedPorts: Record<string, unknown>;
  Volumes: Record<string, unknown>;
  Entrypoint: string[];
  Cmd: string[] | null;
  Healthcheck: { Test: string[] };
}

async function buildah(args: string[], timeoutMs = 120_000): Promise<string> {
  const { stdout } = await execFileP(BUILDAH[0]!, [...BUILDAH.slice(1), ...args], { timeout: timeoutMs, maxBuffer: 64 << 20 });
  return stdout.trim();
}

let world: WorldInfo;
let config: ImageConfig;
let ctr: string;
const running: ChildProcess[] = [];

/** Starts `argv` in its own process group (so the daemon under `buildah run` is stopped with it); output kept. */
function start(argv: string[]): { child: ChildProcess; output: () => string } {
  const child = spawn(argv[0]!, argv.slice(1), { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (b: Buffer) => { out += b.toString(); });
  child.stderr!.on('data', (b: Buffer) => { out += b.toString(); });
  running.push(child);
  return { child, output: () => out.slice(-3000) };
}

function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const t = setTimeout(() => { try { process.kill(-child.pid!, 'SIGKILL'); } catch { /* gone */ } }, 5_000);
    child.once('exit', () => { clearTimeout(t); resolve(); });
    try { process.kill(-child.pid!, 'SIGTERM'); } catch { resolve(); }
  });
}

/** The image's HEALTHCHECK command, run in the container (optionally against another address). */
async function healthcheck(opts: { address?: string; netnsOf?: number } = {}): Promise<number> {
  const test = config.Healthcheck.Test;
  assert.equal(test[0], 'CMD');
  const cmd = test.slice(1).map((a) => (opts.address ? a.replace('127.0.0.1:8053', `${opts.address}:8053`) : a));
  const argv = [...BUILDAH, 'run', '--isolation', 'chroot', '--user', config.User, ctr, '--', ...cmd];
  const full = opts.netnsOf ? ['nsenter', '-t', String(opts.netnsOf), '-n', ...argv] : argv;
  return execFileP(full[0]!, full.slice(1), { timeout: 30_000 }).then(() => 0, (e: { code?: number }) => e.code ?? -1);
}

async function until<T>(what: string, deadlineMs: number, fn: () => Promise<T | undefined>, log: () => string): Promise<T> {
  const end = Date.now() + deadlineMs;
  for (;;) {
    const v = await fn().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > end) assert.fail(`${what} within ${deadlineMs / 1000} s; container output:\n${log()}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

before(async () => {
  world = await getWorld();
  await execFileP('bash', [path.join(REPO, 'scripts/container-base.sh')], { timeout: 900_000 });
  await buildah(['bud', '--isolation', 'chroot', '--pull=never', '--layers=false', '--format', 'docker', '-q', '-t', IMAGE, REPO], 900_000);
  const inspected = JSON.parse(await buildah(['inspect', '--type', 'image', IMAGE])) as { Docker: { config: ImageConfig } };
  config = inspected.Docker.config;
  ctr = await buildah(['from', '--pull=never', IMAGE]);
  await buildah(['copy', ctr, world.rootAnchorFile, '/etc/dnssec-stubd/world-root.zone']);
}, { timeout: 1_800_000 });

after(async () => {
  await Promise.all(running.map(stop));
  if (ctr) await buildah(['rm', ctr]).catch(() => undefined);
  await stopWorld();
});

describe('the container image', () => {
  it('runs as a non-root user, exposes DNS and the HTTP API, keeps state on a volume, checks /readyz', async () => {
    assert.equal(config.User, 'node');
    assert.deepEqual(Object.keys(config.ExposedPorts).sort(), ['53/tcp', '53/udp', '8053/tcp']);
    assert.deepEqual(Object.keys(config.Volumes), ['/var/lib/dnssec-stubd']);
    assert.match(config.Healthcheck.Test.join(' '), /127\.0\.0\.1:8053\/readyz/);
    assert.deepEqual(config.Entrypoint.slice(0, 3), ['node', 'bin/dnssec-stubd.js', 'serve']);
    const uid = await buildah(['run', '--isolation', 'chroot', '--user', config.User, ctr, '--', 'id', '-u']);
    assert.notEqual(uid, '0');
  });

  it('holds the production dependencies only, and no tests', async () => {
    const ls = await buildah(['run', '--isolation', 'chroot', ctr, '--', 'sh', '-c',
      'for f in node_modules/*/package.json node_modules/@*/*/package.json; do [ -f "$f" ] && dirname "${f#node_modules/}"; done; ' +
      'echo ---; ls dist; echo ---; ls -ld /var/lib/dnssec-stubd']);
    const [modules, distDirs, state] = ls.split('---\n').map((s) => s.trim());
    const deps = Object.keys((JSON.parse(readFileSync(path.join(REPO, 'package.json'), 'utf8')) as { dependencies: Record<string, string> }).dependencies);
    const installed = modules!.split('\n');
    for (const d of deps) assert.ok(installed.includes(d), `${d} missing from the image`);
    for (const dev of ['typescript', 'dependency-cruiser', 'dns2', '@types/node']) {
      assert.ok(!installed.includes(dev), `dev dependency ${dev} in the image`);
    }
    assert.deepEqual(distDirs!.split('\n'), ['src']);
    assert.match(state!, /^drwx------ .* node node /);
  });

  it('with the host network and a high port: ready, AD answers, the HEALTHCHECK passes, not root', async () => {
    const d = start([...BUILDAH, 'run', '--isolation', 'chroot', '--user', config.User, ctr, '--', ...config.Entrypoint,
      ...(config.Cmd ?? []), '--listen', `${HOST_MODE}:5353`, '--http', `${HOST_MODE}:8053`,
      '--upstream', `${world.upstream.host}:${world.upstream.port}`,
      '--trust-anchor', '/etc/dnssec-stubd/world-root.zone', '--log-level', 'warn']);
    await until('/readyz 200', 120_000, async () => {
      const r = await fetch(`http://${HOST_MODE}:8053/readyz`);
      return r.status === 200 ? true : undefined;
    }, d.output);
    const r = await dig(5353, ['+dnssec', 'www.alg13.test.', 'A'], HOST_MODE);
    assert.equal(r.status, 'NOERROR', r.text);
    assert.ok(r.flags.has('ad'), r.text);
    assert.equal(await healthcheck({ address: HOST_MODE }), 0);
    const ss = (await execFileP('ss', ['-Hlnup', `src ${HOST_MODE}:5353`])).stdout;
    const pid = /pid=(\d+)/.exec(ss)?.[1];
    assert.ok(pid, ss);
    const uid = /^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    assert.notEqual(uid, '0', 'the daemon runs as root');
    await stop(d.child);
  });

  it('in its own network namespace, as Docker runs it: binds port 53 unprivileged; not ready without an upstream', async () => {
    // The namespace's only upstream is a loopback address nothing answers on: no packet leaves it.
    const script = 'ip link set lo up && sysctl -q -w net.ipv4.ip_unprivileged_port_start=0 && exec "$@"';
    const d = start(['unshare', '-n', 'sh', '-c', script, 'sh', ...BUILDAH, 'run', '--isolation', 'chroot', '--user', config.User,
      ctr, '--', ...config.Entrypoint, ...(config.Cmd ?? []), '--upstream', '127.0.0.53']);
    const ns = d.child.pid!;
    const inNs = (argv: string[]) => execFileP('nsenter', ['-t', String(ns), '-n', ...argv], { timeout: 30_000 });
    const readyz = await until('/healthz 200 in the namespace', 120_000, async () => {
      const { stdout } = await inNs(['node', '-e', `fetch('http://127.0.0.1:8053/healthz').then(async (h) => {
        const r = await fetch('http://127.0.0.1:8053/readyz'); console.log(h.status, r.status, await r.text()); })`]);
      return stdout.startsWith('200 ') ? stdout : undefined;
    }, d.output);
    assert.match(readyz, /^200 503 .*no DNSSEC-capable upstream/);
    assert.equal(await healthcheck({ netnsOf: ns }), 1, 'the HEALTHCHECK must fail while not ready');
    const ss = (await inNs(['ss', '-Hlnup', 'sport = :53'])).stdout;
    assert.match(ss, /0\.0\.0\.0:53 /, ss);
    const pid = /pid=(\d+)/.exec(ss)?.[1];
    const uid = /^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    assert.notEqual(uid, '0', 'port 53 must be bound without root');
    const answer = (await inNs(['dig', '@127.0.0.1', '-p', '53', '+tries=1', '+time=10', 'example.org', 'A'])).stdout;
    assert.match(answer, /status: SERVFAIL/, answer);
    await stop(d.child);
  });
});
