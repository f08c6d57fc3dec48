/** Daemons for the failover tests: a config document, a log that is kept, and the world's root anchor. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { startDaemon, type Daemon } from '../../src/daemon/index.js';
import type { CliOverrides } from '../../src/config/load.js';
import type { UpstreamHealthView } from '../../src/upstream/health.js';
import type { WorldInfo } from '../world/index.js';
import type { DigResult } from '../support/dig.js';
import { tempStateDir } from '../support/state-dir.js';

export interface TestDaemon {
  daemon: Daemon;
  port: number;
  /** Every log line (JSON objects), debug level. */
  logs: Record<string, unknown>[];
  stop(): Promise<void>;
  /** The DNSSEC state of an upstream (`address:port`) in the pool for `suffix` (null: global). */
  health(upstream: string, suffix?: string | null): UpstreamHealthView;
  /** Resolves when every upstream of every pool has been probed once. */
  probed(): Promise<void>;
}

export async function startTestDaemon(world: WorldInfo, config: object, cli: CliOverrides = {}): Promise<TestDaemon> {
  const dir = mkdtempSync(join(tmpdir(), 'stubd-failover-'));
  const file = join(dir, 'config.json');
  writeFileSync(file, JSON.stringify(config));
  const logs: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb): void {
      for (const line of chunk.toString('utf8').split('\n')) if (line) logs.push(JSON.parse(line) as Record<string, unknown>);
      cb();
    },
  });
  const logger = pino({ level: 'debug' }, sink);
  const daemon = await startDaemon({ stateDir: tempStateDir(), http: ['off'],
    config: file, listen: ['127.0.0.1:0'], trustAnchor: [world.rootAnchorFile], ...cli,
  }, { logger });
  return {
    daemon,
    port: daemon.addresses[0]!.port,
    logs,
    async stop() {
      await daemon.close();
      rmSync(dir, { recursive: true, force: true });
    },
    async probed() {
      const all = (): UpstreamHealthView[] => daemon.stack.router!.snapshot().flatMap((r) => r.health);
      await waitFor('the first probes', () => all().every((h) => h.state !== 'UNPROBED' && !h.probing), 10_000);
    },
    health(upstream, suffix = null) {
      const route = daemon.stack.router!.snapshot().find((r) => r.suffix === suffix)!;
      const h = route.health.find((x) => x.upstream === upstream);
      if (!h) throw new Error(`no upstream ${upstream} in ${suffix ?? 'the global pool'}: ${route.health.map((x) => x.upstream).join(', ')}`);
      return h;
    },
  };
}

/** EDE codes that mean BOGUS (RFC 8914: 6-12). */
const BOGUS_EDE = new Set([6, 7, 8, 9, 10, 11, 12]);

export function edeCodes(r: DigResult): number[] {
  return r.ede.map((l) => Number(/^; EDE: (\d+)/.exec(l)?.[1] ?? NaN));
}

export function isBogus(r: DigResult): boolean {
  return edeCodes(r).some((c) => BOGUS_EDE.has(c));
}

/** Log lines that report a BOGUS verdict. */
export function bogusLogs(logs: readonly Record<string, unknown>[]): Record<string, unknown>[] {
  return logs.filter((l) => typeof l['status'] === 'string' && (l['status'] as string).startsWith('bogus'));
}

export async function waitFor(what: string, cond: () => boolean | Promise<boolean>, timeoutMs: number, stepMs = 25): Promise<number> {
  const t0 = Date.now();
  while (!(await cond())) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, stepMs));
  }
  return Date.now() - t0;
}
