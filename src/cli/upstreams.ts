/**
 * The upstream side of the wiring: one pool for the global upstreams and one per forward zone, each
 * with its health monitor (DNSSEC-capability probes of the trust anchor zone), routed by the longest
 * suffix; and the negative trust anchors.
 */
import type { Logger } from 'pino';
import type { Clock } from '../clock.js';
import type { Config, UpstreamConfig } from '../config/schema.js';
import { HealthMonitor } from '../upstream/health.js';
import { UpstreamPool } from '../upstream/pool.js';
import { UpstreamRouter, type Route } from '../upstream/router.js';
import { NegativeTrustAnchors } from '../validator/nta.js';
import type { TrustAnchor } from '../validator/types.js';
import { Name } from '../wire/index.js';

export interface Upstreams {
  router: UpstreamRouter;
  ntas: NegativeTrustAnchors;
}

/** The zone the probes ask about: the highest trust anchor (the root for the shipped anchors). */
export function probeZone(anchors: readonly TrustAnchor[]): Name {
  const sorted = [...anchors].sort((a, b) => a.zone.labelCount - b.zone.labelCount);
  return sorted[0]?.zone ?? Name.root;
}

/** Build the pools and monitors (not started: call `router.start()`). */
export function buildUpstreams(cfg: Config, upstreams: UpstreamConfig[], anchors: readonly TrustAnchor[], log: Logger, clock: Clock): Upstreams {
  const zone = probeZone(anchors);
  let router: UpstreamRouter | undefined;
  const route = (suffix: Name | null, list: UpstreamConfig[]): Route => {
    const pool = new UpstreamPool(list, {
      logger: log,
      clock,
      attemptTimeoutsMs: [cfg.upstream.timeoutMs, cfg.upstream.timeoutMs * 2],
      totalTimeoutMs: cfg.upstream.deadlineMs,
    });
    const monitor = new HealthMonitor(pool, {
      zone,
      probeIntervalMs: cfg.upstream.probeIntervalMs,
      probeTimeoutMs: cfg.upstream.timeoutMs,
      clock,
      logger: suffix ? log.child({ forwardZone: suffix.toText() }) : log,
      onChange: (c) => router?.notify(suffix, c),
    });
    return { suffix, pool, monitor };
  };
  router = new UpstreamRouter(route(null, upstreams), cfg.forwardZones.map((z) => route(Name.fromText(z.suffix), z.upstreams)));
  return { router, ntas: new NegativeTrustAnchors(cfg.negativeTrustAnchors) };
}
