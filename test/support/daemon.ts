/**
 * A dnssec-stubd daemon in this process (`startDaemon` of src/daemon), the one way the tests start one: the
 * defaults every test daemon shares, a config document written to a file of its own, the log kept when asked,
 * an injected clock. `useTestDaemon` starts and stops one in a suite's hooks, world-daemon.ts's `useWorldDaemon`
 * over the test world (apart: a unit test must not reach the world). The daemon as a child process
 * (`bin/dnssec-stubd.js`) is daemon-process.ts's.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before } from 'node:test';
import { pino } from 'pino';
import type { Clock } from '../../src/clock.js';
import type { CliOverrides } from '../../src/config/load.js';
import { startDaemon, type Daemon } from '../../src/daemon/index.js';
import type { UpstreamHealthView } from '../../src/upstream/health.js';
import { tempStateDir } from './state-dir.js';
import { waitFor } from './wait.js';

/** One line of the daemon's log (pino's JSON). */
export interface LogRecord {
  level: number;
  msg: string;
  [k: string]: unknown;
}

export interface TestDaemonOptions {
  /**
   * Command-line overrides, over the defaults: a fresh state directory, the HTTP API off, listening on
   * 127.0.0.1:0, and log level silent unless `logs` is set. A key given as undefined drops its default.
   */
  cli?: CliOverrides;
  /** A config document, written to a JSON file of its own (`--config`; removed by `stop()`). */
  config?: object;
  /** Keep the log lines at this level and above in `logs`. */
  logs?: 'debug' | 'info' | 'warn';
  clock?: Clock;
}

export interface TestDaemon {
  daemon: Daemon;
  /** The UDP/TCP port of its first listen address. */
  port: number;
  /** The log lines kept (`logs`); empty when not asked for. */
  logs: LogRecord[];
  /** Closes the daemon and removes its config file; once. */
  stop(): Promise<void>;
  /** The DNSSEC state of an upstream (`address:port`) in the pool for `suffix` (null: global). */
  health(upstream: string, suffix?: string | null): UpstreamHealthView;
  /** Resolves when every upstream of every pool has been probed once. */
  probed(): Promise<void>;
  /** Resolves when the first RFC 5011 refresh of the first managed anchor zone (the root) is done. */
  refreshed(): Promise<void>;
}

/** `--upstream` and `--trust-anchor` for a world: its upstream and its root's anchor. */
export function worldFlags(world: { upstream: { host: string; port: number }; rootAnchorFile: string }): CliOverrides {
  return { upstream: [`${world.upstream.host}:${world.upstream.port}`], trustAnchor: [world.rootAnchorFile] };
}

export async function startTestDaemon(o: TestDaemonOptions = {}): Promise<TestDaemon> {
  if (o.config && o.cli?.config) throw new Error('startTestDaemon: a config document and cli.config both given');
  const cli: CliOverrides = {
    stateDir: o.cli?.stateDir ?? tempStateDir(), http: ['off'], listen: ['127.0.0.1:0'], ...(o.logs ? {} : { logLevel: 'silent' }), ...o.cli,
  };
  const dir = o.config ? mkdtempSync(join(tmpdir(), 'stubd-test-cfg-')) : undefined;
  const logs: LogRecord[] = [];
  let daemon: Daemon;
  try {
    if (dir) {
      cli.config = join(dir, 'config.json');
      writeFileSync(cli.config, JSON.stringify(o.config));
    }
    daemon = await startDaemon(cli, { ...(o.logs ? { logger: pino({ level: o.logs }, keep(logs)) } : {}), ...(o.clock ? { clock: o.clock } : {}) });
  } catch (err) {
    if (dir) rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  let stopped: Promise<void> | undefined;
  const routes = () => daemon.stack.router!.snapshot();
  return {
    daemon,
    port: daemon.addresses[0]!.port,
    logs,
    stop() {
      stopped ??= daemon.close().finally(() => {
        if (dir) rmSync(dir, { recursive: true, force: true });
      });
      return stopped;
    },
    health(upstream, suffix = null) {
      const route = routes().find((r) => r.suffix === suffix)!;
      const h = route.health.find((x) => x.upstream === upstream);
      if (!h) throw new Error(`no upstream ${upstream} in ${suffix ?? 'the global pool'}: ${route.health.map((x) => x.upstream).join(', ')}`);
      return h;
    },
    async probed() {
      await waitFor('the first probes', () => routes().flatMap((r) => r.health).every((h) => h.state !== 'UNPROBED' && !h.probing), 10_000);
    },
    async refreshed() {
      await waitFor('the first RFC 5011 refresh of the root', () => daemon.stats().managedAnchors?.[0]?.lastRefresh !== undefined, 5_000);
    },
  };
}

/** A stream that parses each pino line into `logs`. */
function keep(logs: LogRecord[]): Writable {
  return new Writable({
    write(chunk: Buffer, _enc, cb): void {
      for (const line of chunk.toString('utf8').split('\n')) if (line) logs.push(JSON.parse(line) as LogRecord);
      cb();
    },
  });
}

/**
 * before/after hooks: a daemon started with what `options()` returns (called in the hook, so it can use what
 * earlier hooks set up), stopped after the suite. The returned object is filled in by the time tests run.
 */
export function useTestDaemon(options: () => TestDaemonOptions): TestDaemon {
  const ctx = {} as TestDaemon;
  before(async () => {
    Object.assign(ctx, await startTestDaemon(options()));
  });
  after(async () => {
    await ctx.stop?.();
  });
  return ctx;
}
