/**
 * What the failover tests share: their daemon (test/support/daemon.ts with a config document naming the
 * upstreams, the world's root anchor, the log kept at debug level) and readings of answers and logs.
 */
import type { CliOverrides } from '../../src/config/load.js';
import type { WorldInfo } from '../world/index.js';
import type { DigResult } from '../support/dig.js';
import { startTestDaemon, type LogRecord, type TestDaemon } from '../support/daemon.js';

/** A daemon in this process: `config` (its upstreams among it), the world's root anchor, `cli` over them; debug log kept. */
export function startFailoverDaemon(world: WorldInfo, config: object, cli: CliOverrides = {}): Promise<TestDaemon> {
  return startTestDaemon({ config, logs: 'debug', cli: { trustAnchor: [world.rootAnchorFile], ...cli } });
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
export function bogusLogs(logs: readonly LogRecord[]): LogRecord[] {
  return logs.filter((l) => typeof l['status'] === 'string' && (l['status'] as string).startsWith('bogus'));
}
