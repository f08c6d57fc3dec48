/**
 * Daemon-level cache tests: a daemon in this process whose only upstream is a throwaway Unbound
 * forwarder (iterator only, no cache of its own worth mentioning) in front of the world's upstream.
 * The forwarder logs every query it receives, so a test counts exactly what our daemon asked upstream,
 * and killing it makes every upstream unreachable. Loopback only.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { after, before } from 'node:test';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManualClock } from '../../src/clock.js';
import type { CacheConfig } from '../../src/config/schema.js';
import { dig, type DigResult } from '../support/dig.js';
import { freePort } from '../upstream/unbound-fixture.js';
import { getWorld, stopWorld, type WorldInfo } from '../world/index.js';
import { startTestDaemon, type TestDaemon } from '../support/daemon.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Unbound forwarding everything to the world's upstream, logging each query it gets. */
export class Forwarder {
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  private output = '';

  private constructor(readonly port: number, readonly dir: string) {}

  static async start(world: WorldInfo): Promise<Forwarder> {
    const port = await freePort('127.0.0.1');
    const dir = mkdtempSync(join(tmpdir(), 'stubd-cache-fwd-'));
    const f = new Forwarder(port, dir);
    writeFileSync(join(dir, 'unbound.conf'), [
      'server:',
      `  interface: 127.0.0.1@${port}`,
      `  port: ${port}`,
      '  do-ip6: no',
      '  access-control: 127.0.0.0/8 allow',
      '  username: ""', '  chroot: ""', '  use-syslog: no', '  logfile: ""', `  directory: "${dir}"`, '  pidfile: ""',
      '  do-not-query-localhost: no',
      '  module-config: "iterator"',
      '  local-zone: "test." nodefault',
      '  num-threads: 1', '  so-reuseport: no',
      '  outgoing-interface: 127.0.0.1',
      '  verbosity: 1', '  log-queries: yes',
      'forward-zone:', '  name: "."', `  forward-addr: ${world.upstream.host}@${world.upstream.port}`,
      '',
    ].join('\n'));
    f.launch();
    for (let i = 0; i < 100; i++) {
      const r = await dig(port, ['www.alg8.test.', 'A', '+time=1']).catch(() => undefined);
      if (r?.status === 'NOERROR') return f;
      await sleep(50);
    }
    await f.stop();
    throw new Error(`forwarder on 127.0.0.1:${port} did not answer:\n${f.output}`);
  }

  private launch(): void {
    const child = spawn('unbound', ['-d', '-c', join(this.dir, 'unbound.conf')], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    child.stdout!.setEncoding('utf8').on('data', (d: string) => { this.output += d; });
    child.stderr!.setEncoding('utf8').on('data', (d: string) => { this.output += d; });
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
  }

  /** Queries received for `name` (case-insensitive) and `type`, e.g. ("www.alg8.test.", "A"). */
  queriesFor(name: string, type: string): number {
    const want = ` ${name.toLowerCase()} ${type} IN`;
    return this.output.split('\n').filter((l) => l.includes(' info: ') && l.toLowerCase().includes(want.toLowerCase())).length;
  }

  /** Queries received in all. */
  get total(): number {
    return this.output.split('\n').filter((l) => / info: \S+ \S+ \S+ \S+$/.test(l)).length;
  }

  /** Wait until the forwarder's log has caught up (it is written asynchronously). */
  async settle(ms = 150): Promise<void> {
    await sleep(ms);
  }

  /** Crash it (SIGKILL): the daemon's upstream becomes unreachable. */
  async kill(): Promise<void> {
    if (this.child && this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
    await this.exited;
  }

  async stop(): Promise<void> {
    if (this.child && this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGTERM');
    await this.exited;
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export interface CacheDaemon extends TestDaemon {
  clock: ManualClock;
  dig(name: string, type: string, ...extra: string[]): Promise<DigResult>;
}

/**
 * A daemon on 127.0.0.1:0 asking `upstreamPort` on 127.0.0.1, with the world's anchor, a ManualClock at
 * real time, cache settings and other config sections (`extra`, e.g. shorter upstream timeouts).
 */
export async function cacheDaemon(
  world: WorldInfo, upstreamPort: number, cache: Partial<CacheConfig> = {}, clock = new ManualClock(Date.now()), extra: Record<string, unknown> = {},
): Promise<CacheDaemon> {
  const d = await startTestDaemon({
    config: { ...extra, cache }, cli: { upstream: [`127.0.0.1:${upstreamPort}`], trustAnchor: [world.rootAnchorFile] }, clock,
  });
  return { ...d, clock, dig: (name, type, ...extra) => dig(d.port, [name, type, '+time=5', ...extra]) };
}

/** TTL of the first answer line (or of the first authority line when there is no answer). */
export function firstTtl(r: DigResult): number {
  const line = r.answers[0] ?? r.authority[0];
  if (!line) throw new Error(`no records in:\n${r.text}`);
  return Number(line.split(/\s+/)[1]);
}

/** The world and one Forwarder for a test file (before/after hooks), and a daemon per test on top of them. */
export interface ForwarderWorld {
  readonly world: WorldInfo;
  readonly fwd: Forwarder;
  /** Run `f` with a fresh daemon asking the forwarder; the daemon is stopped afterwards. */
  withDaemon(cache: Partial<CacheConfig>, f: (d: CacheDaemon) => Promise<void>, clock?: ManualClock): Promise<void>;
}

export function useForwarderWorld(): ForwarderWorld {
  let world: WorldInfo | undefined;
  let fwd: Forwarder | undefined;
  before(async () => {
    world = await getWorld();
    fwd = await Forwarder.start(world);
  });
  after(async () => {
    await fwd?.stop();
    await stopWorld();
  });
  return {
    get world() {
      return world!;
    },
    get fwd() {
      return fwd!;
    },
    async withDaemon(cache, f, clock) {
      const d = await cacheDaemon(world!, fwd!.port, cache, clock);
      try {
        await f(d);
      } finally {
        await d.stop();
      }
    },
  };
}
