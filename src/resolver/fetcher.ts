/** The chain of trust's Fetcher (validator/chain.ts) on the upstream pools: how DS and DNSKEY questions go out. */
import type { PoolRoutes, RoutedPool } from '../upstream/pool.js';
import type { FetchResult, Fetcher } from '../validator/chain.js';
import { RRClass, type Name } from '../wire/index.js';

/**
 * A Fetcher on the upstream pool, or on the pools of a router (per-domain upstreams): validated
 * queries (DO+CD) to DNSSEC-capable upstreams only. Never rejects.
 */
export function poolFetcher(pool: PoolRoutes | Pick<RoutedPool, 'query'>): Fetcher {
  const route = (name: Name, type: number): Pick<RoutedPool, 'query' | 'reportStripped'> =>
    ('poolFor' in pool ? pool.poolFor(name, type) : pool);
  return {
    async fetch(name, type, opts = {}): Promise<FetchResult> {
      const r = await route(name, type).query(name, type, RRClass.IN, { need: 'dnssec', ...(opts.exclude ? { exclude: opts.exclude } : {}) });
      return r.kind === 'answer' ? { kind: 'answer', message: r.message, upstream: r.upstream } : { kind: 'failure', reason: r.reason };
    },
    report(name, type, upstream, evidence): void {
      route(name, type).reportStripped?.(upstream, evidence);
    },
  };
}
