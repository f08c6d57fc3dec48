/**
 * Fixtures of the hostile-client world tests (issue 14): a daemon in this process on the test world with
 * `server` settings of its own (a config file), clients bound to loopback addresses of their own.
 */
import { useWorldDaemon, type WorldDaemon } from '../support/world-daemon.js';

/**
 * before/after hooks: a daemon on 127.0.0.1:0 with the world's upstream and anchor, no self-test, and
 * `server` (merged over the defaults) and other top-level keys from a config file.
 */
export function useHostileDaemon(server: Record<string, unknown> = {}, extra: Record<string, unknown> = {}): WorldDaemon {
  return useWorldDaemon({ config: { server: { warmupQueries: 0, ...server }, ...extra } });
}

/** The world's secure canary (ns1.nsd.test A worldAddr(0, 3)), shared with the benches. */
export { CANARY, canaryOk, canaryProblem } from '../../bench/live-daemon.js';
