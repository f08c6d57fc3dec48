/**
 * Fixtures of the hostile-client world tests (issue 14): a daemon in this process on the test world with
 * `server` settings of its own (a config file), clients bound to loopback addresses of their own.
 */
import { after, before } from 'node:test';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDaemon, type Daemon } from '../../src/daemon/index.js';
import { getWorld, stopWorld, type WorldInfo } from '../world/index.js';
import { tempStateDir } from '../support/state-dir.js';

export interface HostileDaemon {
  world: WorldInfo;
  daemon: Daemon;
  port: number;
}

/**
 * before/after hooks: a daemon on 127.0.0.1:0 with the world's upstream and anchor, no self-test, and
 * `server` (merged over the defaults) and other top-level keys from a config file.
 */
export function useHostileDaemon(server: Record<string, unknown> = {}, extra: Record<string, unknown> = {}): HostileDaemon {
  const ctx = {} as HostileDaemon;
  before(async () => {
    ctx.world = await getWorld();
    const file = join(mkdtempSync(join(tmpdir(), 'stubd-hostile-')), 'config.json');
    writeFileSync(file, JSON.stringify({ server: { warmupQueries: 0, ...server }, ...extra }));
    ctx.daemon = await startDaemon({
      config: file,
      stateDir: tempStateDir(),
      http: ['off'],
      listen: ['127.0.0.1:0'],
      upstream: [`${ctx.world.upstream.host}:${ctx.world.upstream.port}`],
      trustAnchor: [ctx.world.rootAnchorFile],
      logLevel: 'silent',
    });
    ctx.port = ctx.daemon.addresses[0]!.port;
  });
  after(async () => {
    await ctx.daemon?.close();
    await stopWorld();
  });
  return ctx;
}

/** The world's secure canary (ns1.nsd.test A worldAddr(0, 3)), shared with the benches. */
export { CANARY, canaryOk, canaryProblem } from '../../bench/live-daemon.js';
