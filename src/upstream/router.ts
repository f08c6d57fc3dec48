/**
 * Domain-specific upstreams (forward zones): the pool for a name is the one of the longest matching
 * suffix, else the global pool. Each pool has its own health monitor (same probes, strikes, failover).
 * DS records live on the parent side of a cut, so DS(N) is routed by N's parent (as Unbound does for
 * its forward zones): the DS of a forward zone's apex comes from the parent's pool.
 */
import type { Name } from '../wire/index.js';
import { RRType } from '../wire/index.js';
import type { CapabilityChange, HealthMonitor, UpstreamHealthView } from './health.js';
import type { PoolRoutes, UpstreamPool } from './pool.js';
import type { UpstreamSnapshot } from './state.js';

export interface Route {
  /** null for the global pool. */
  readonly suffix: Name | null;
  readonly pool: UpstreamPool;
  readonly monitor?: HealthMonitor;
}

export interface RouteSnapshot {
  /** "." style text of the suffix, or null for the global pool. */
  readonly suffix: string | null;
  readonly upstreams: readonly UpstreamSnapshot[];
  readonly health: readonly UpstreamHealthView[];
}

/** A capability change in one of the pools (`suffix` null: the global pool). */
export type RouteChange = CapabilityChange & { readonly suffix: string | null };

export class UpstreamRouter implements PoolRoutes {
  private globalRoute: Route;
  private zones: Route[];
  private readonly listeners: ((c: RouteChange) => void)[] = [];

  constructor(global: Route, zones: readonly Route[] = []) {
    this.globalRoute = global;
    this.zones = UpstreamRouter.bySuffix(zones);
  }

  /** Longest suffix first: the first match wins. */
  private static bySuffix(zones: readonly Route[]): Route[] {
    return [...zones].sort((a, b) => b.suffix!.labelCount - a.suffix!.labelCount);
  }

  get global(): Route {
    return this.globalRoute;
  }

  /**
   * Put new routes in place of the current ones (a configuration reload): questions asked from now on go to
   * them; exchanges under way finish with the old pools, whose monitors are stopped. Start the new monitors
   * first (their first probes decide where validated questions may go).
   */
  replace(global: Route, zones: readonly Route[]): void {
    const old = this.routes();
    this.globalRoute = global;
    this.zones = UpstreamRouter.bySuffix(zones);
    for (const r of old) r.monitor?.stop();
  }

  routeFor(name: Name, type: number): Route {
    const n = type === RRType.DS && !name.isRoot() ? name.parent() : name;
    return this.zones.find((z) => n.isSubdomainOf(z.suffix!)) ?? this.global;
  }

  poolFor(name: Name, type: number): UpstreamPool {
    return this.routeFor(name, type).pool;
  }

  isDefaultRoute(name: Name, type: number): boolean {
    return this.routeFor(name, type) === this.global;
  }

  routes(): readonly Route[] {
    return [this.global, ...this.zones];
  }

  /** Be told of every capability change (e.g. to drop cached failures when an upstream is DNSSEC-capable again). */
  onChange(listener: (c: RouteChange) => void): void {
    this.listeners.push(listener);
  }

  /** For the monitors' onChange. */
  notify(suffix: Name | null, change: CapabilityChange): void {
    for (const l of this.listeners) l({ ...change, suffix: suffix?.toText() ?? null });
  }

  /** Start every monitor; resolves when every first probe is done. */
  start(): Promise<void> {
    return Promise.all(this.routes().map((r) => r.monitor?.start())).then(() => undefined);
  }

  stop(): void {
    for (const r of this.routes()) r.monitor?.stop();
  }

  /** Probe every upstream of every pool now. */
  probeNow(): Promise<void> {
    return Promise.all(this.routes().map((r) => r.monitor?.probeNow())).then(() => undefined);
  }

  /** Read-only state of every pool and upstream (for the status API). */
  snapshot(): RouteSnapshot[] {
    return this.routes().map((r) => ({
      suffix: r.suffix?.toText() ?? null,
      upstreams: r.pool.snapshot(),
      health: r.monitor?.snapshot() ?? [],
    }));
  }
}
