/**
 * The test world and a daemon in this process over its upstream and root anchor, started and stopped by a
 * suite's hooks (daemon.ts's `startTestDaemon`; apart from it because only world tests may reach the world).
 */
import { after, before } from 'node:test';
import { getWorld, stopWorld, type WorldInfo } from '../world/index.js';
import { startTestDaemon, worldFlags, type TestDaemon, type TestDaemonOptions } from './daemon.js';

export interface WorldDaemon extends TestDaemon {
  world: WorldInfo;
}

/**
 * before/after hooks: the test world, and a daemon over its upstream and root anchor (`worldFlags`, which
 * `options.cli` may override); the returned object is filled in by the time tests run.
 */
export function useWorldDaemon(options: TestDaemonOptions = {}): WorldDaemon {
  const ctx = {} as WorldDaemon;
  before(async () => {
    ctx.world = await getWorld();
    Object.assign(ctx, await startTestDaemon({ ...options, cli: { ...worldFlags(ctx.world), ...options.cli } }));
  });
  after(async () => {
    await ctx.stop?.();
    await stopWorld();
  });
  return ctx;
}
