/**
 * The upstream side of the stack: which upstreams (the configured ones, or the nameservers of
 * /etc/resolv.conf), one pool for them and one per forward zone, each with its health monitor
 * (DNSSEC-capability probes of the trust anchor zone), routed by the longest suffix.
 */
import type { Logger } from 'pino';
import type { Clock } from '../clock.js';
import { ConfigError, type Config, type UpstreamConfig } from '../config/schema.js';
import { loadResolvConf } from '../upstream/resolv-conf.js';
import { HealthMonitor, type CapabilityChange } from '../upstream/health.js';
import { UpstreamPool } from '../upstream/pool.js';
import { UpstreamRouter, type Route } from '../upstream/router.js';
import { NegativeTrustAnchors } from '../validator/nta.js';
import type { TrustAnchor } from '../validator/types.js';
import { Name } from '../wire/index.js';

/** Upstreams from the config, or else the nameservers of /etc/resolv.conf other than our own listeners. */
export async function resolveUpstreams(cfg: Config, log: Logger, resolvConf?: string): Promise<UpstreamConfig[]> {
  if (cfg.upstreams.length > 0) return cfg.upstreams;
  const rc = await loadResolvConf({ path: resolvConf, listen: cfg.listen });
  if (rc.kind === 'unreadable') {
    throw new ConfigError('upstreams', `none configured and ${rc.path} cannot be read (${rc.error.message})`);
  }
  for (const s of rc.skipped) log.info({ line: s.line, address: s.address, why: s.kind }, `${rc.path}: nameserver skipped`);
  if (rc.upstreams.length === 0) {
    throw new ConfigError('upstreams', `none configured and ${rc.path} lists no usable nameserver (our own listen addresses are skipped)`);
  }
  return rc.upstreams;
}

/** The negative trust anchors of the config (RFC 7646). */
export function negativeTrustAnchors(cfg: Config): NegativeTrustAnchors {
  return new NegativeTrustAnchors(cfg.negativeTrustAnchors);
}

/** The zone the probes ask about: the highest trust anchor (the root for the shipped anchors). */
export function probeZone(anchors: readonly TrustAnchor[]): Name {
  const sorted = [...anchors].sort((a, b) => a.zone.labelCount - b.zone.labelCount);
  return sorted[0]?.zone ?? Name.root;
}

/** Build the pools and monitors (not started: call `router.start()`). */
export function buildRouter(cfg: Config, upstreams: UpstreamConfig[], anchors: readonly TrustAnchor[], log: Logger, clock: Clock): UpstreamRouter {
  let router: UpstreamRouter | undefined;
  const routes = buildRoutes(cfg, upstreams, anchors, log, clock, (suffix, c) => router?.notify(suffix, c));
  router = new UpstreamRouter(routes.global, routes.zones);
  return router;
}

/**
 * The routes of a config: one pool with its health monitor for the global upstreams and one per forward zone
 * (not started). `notify` hears every capability change (the router's). A configuration reload builds new ones
 * for `UpstreamRouter.replace`.
 */
export function buildRoutes(
  cfg: Config, upstreams: UpstreamConfig[], anchors: readonly TrustAnchor[], log: Logger, clock: Clock,
  notify: (suffix: Name | null, c: CapabilityChange) => void,
): { global: Route; zones: Route[] } {
  const zone = probeZone(anchors);
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
      onChange: (c) => notify(suffix, c),
    });
    return { suffix, pool, monitor };
  };
  return { global: route(null, upstreams), zones: cfg.forwardZones.map((z) => route(Name.fromText(z.suffix), z.upstreams)) };
}
