/** A dnssec-stubd daemon in this process, forwarding to the test world's upstream with the world's root anchor. */
import { after, before } from 'node:test';
import { startDaemon, type Daemon } from '../../src/daemon/index.js';
import type { CliOverrides } from '../../src/config/load.js';
import { getWorld, stopWorld, type WorldInfo } from '../world/index.js';
import { tempStateDir } from './state-dir.js';

export interface WorldDaemon {
  world: WorldInfo;
  daemon: Daemon;
  /** The daemon's UDP/TCP port on 127.0.0.1. */
  port: number;
}

/**
 * Registers before/after hooks that start the world and a daemon on 127.0.0.1:0; the returned object is
 * filled in by the time tests run. `extra` overrides or adds CLI options (e.g. a config file).
 */
export function useWorldDaemon(extra: CliOverrides = {}): WorldDaemon {
  const ctx = {} as WorldDaemon;
  before(async () => {
    ctx.world = await getWorld();
    ctx.daemon = await startDaemon({ stateDir: tempStateDir(), http: ['off'],
      listen: ['127.0.0.1:0'],
      upstream: [`${ctx.world.upstream.host}:${ctx.world.upstream.port}`],
      trustAnchor: [ctx.world.rootAnchorFile],
      logLevel: 'silent',
      ...extra,
    });
    ctx.port = ctx.daemon.addresses[0]!.port;
  });
  after(async () => {
    await ctx.daemon?.close();
    await stopWorld();
  });
  return ctx;
}
