/**
 * A configuration reload (SIGHUP): the config file is read again with the same command-line flags over it,
 * and what can change while the daemon runs changes at once, without dropping the answer cache or the
 * listeners: the upstreams (and the resolv.conf nameservers when none is configured), forward zones, upstream
 * timeouts and probe interval, the allow list, negative trust anchors and the log level. A file that does not
 * load (syntax, an unknown key, a bad value, an unreadable trust anchor file) changes nothing: the error is
 * logged naming the field, and the running configuration stays. Settings that need a new process (listen
 * addresses, HTTP API, trust anchors and their management, state directory, crypto, cache, validation limits,
 * server limits, BOGUS confirmations, insecure fallback) are named in a warning and keep their running values.
 */
import { isDeepStrictEqual } from 'node:util';
import type { Logger } from 'pino';
import type { Clock } from '../clock.js';
import { addressCheckers } from '../config/fields.js';
import { loadConfig, type CliOverrides } from '../config/load.js';
import { ConfigError, type Config, type UpstreamConfig } from '../config/schema.js';
import { reportValidationCapability } from './notices.js';
import type { Stack } from './stack.js';
import { loadTrustAnchors } from './stack.js';
import { buildRoutes, resolveUpstreams } from './upstreams.js';

export type ReloadOutcome =
  | {
      readonly kind: 'applied';
      readonly changed: readonly string[];
      readonly restartNeeded: readonly string[];
      /** What is in effect now: the live settings from the file, the others as they ran. */
      readonly config: Config;
      readonly upstreams: UpstreamConfig[];
    }
  | { readonly kind: 'rejected'; readonly field: string; readonly message: string };

/** What a reload changes in the running daemon. */
export interface ReloadTarget {
  readonly log: Logger;
  readonly stack: Stack;
  readonly clock: Clock;
  /** The configuration and upstreams in effect (the outcome of an applied reload has the new ones). */
  readonly config: Config;
  readonly upstreams: UpstreamConfig[];
  /** The listeners' allow list. */
  setAllow(allow: readonly string[]): void;
  /** Drop cached answers at and below a name (negative trust anchors added or removed). */
  flush(name: string): number;
}

/** Settings that a reload applies, by config key. */
const LIVE = ['upstreams', 'forwardZones', 'upstream.timeoutMs', 'upstream.deadlineMs', 'upstream.probeIntervalMs', 'allow', 'negativeTrustAnchors', 'logLevel'] as const;

/** Settings that only a restart applies, with how to read them from a config. */
const RESTART: readonly [string, (c: Config) => unknown][] = [
  ['listen', (c) => c.listen],
  ['http', (c) => c.http],
  ['trustAnchors', (c) => [c.trustAnchors, c.anchorManagement]],
  ['stateDir', (c) => c.stateDir],
  ['crypto', (c) => c.crypto],
  ['cache', (c) => c.cache],
  ['prefetch', (c) => c.prefetch],
  ['validation', (c) => c.validation],
  ['server', (c) => c.server],
  ['upstream.bogusConfirmations', (c) => c.upstream.bogusConfirmations],
  ['upstream.insecureFallback', (c) => c.upstream.insecureFallback],
];

/** Read the configuration again and apply it; never throws for a bad file (the outcome says why). */
export async function reloadConfig(t: ReloadTarget, cli: CliOverrides, resolvConf?: string): Promise<ReloadOutcome> {
  const file = cli.config ?? '(no config file: flags and /etc/resolv.conf)';
  let next: Config;
  let upstreams: UpstreamConfig[];
  try {
    next = loadConfig(cli, addressCheckers);
    upstreams = await resolveUpstreams(next, t.log, resolvConf);
    // Trust anchor files change only at a restart, but one that would stop that restart is said now.
    loadTrustAnchors(next, t.clock);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    t.log.error({ file, field: err.field }, `configuration reload failed, the running configuration stays: ${err.message}`);
    return { kind: 'rejected', field: err.field, message: err.message };
  }
  const cur = t.config;
  const restartNeeded = RESTART.filter(([, get]) => !isDeepStrictEqual(get(cur), get(next))).map(([k]) => k);
  const routesChanged = !isDeepStrictEqual(upstreams, t.upstreams) || !isDeepStrictEqual(cur.forwardZones, next.forwardZones) ||
    cur.upstream.timeoutMs !== next.upstream.timeoutMs || cur.upstream.deadlineMs !== next.upstream.deadlineMs ||
    cur.upstream.probeIntervalMs !== next.upstream.probeIntervalMs;
  // What is in effect after the reload: the live settings from the new file, the others as they run.
  const applied: Config = {
    ...cur,
    upstreams: next.upstreams,
    forwardZones: next.forwardZones,
    upstream: { ...cur.upstream, timeoutMs: next.upstream.timeoutMs, deadlineMs: next.upstream.deadlineMs, probeIntervalMs: next.upstream.probeIntervalMs },
    allow: next.allow,
    negativeTrustAnchors: next.negativeTrustAnchors,
    logLevel: next.logLevel,
    notices: next.notices,
  };
  const changed = LIVE.filter((k) => !isDeepStrictEqual(pick(cur, k), pick(applied, k)));
  if (!isDeepStrictEqual(upstreams, t.upstreams) && !changed.includes('upstreams')) changed.unshift('upstreams');

  // The allow list first: it cannot fail after loadConfig checked every entry.
  if (!isDeepStrictEqual(cur.allow, next.allow)) t.setAllow(next.allow);
  if (cur.logLevel !== next.logLevel) t.log.level = next.logLevel;
  if (!isDeepStrictEqual(cur.negativeTrustAnchors, next.negativeTrustAnchors)) {
    t.stack.negativeTrustAnchors.replace(next.negativeTrustAnchors);
    // Answers at and below an NTA added or removed were cached with the other status.
    const before = new Set(cur.negativeTrustAnchors);
    const after = new Set(next.negativeTrustAnchors);
    for (const n of [...before, ...after]) if (before.has(n) !== after.has(n)) t.flush(n);
  }
  if (routesChanged && t.stack.router) {
    const router = t.stack.router;
    const routes = buildRoutes(applied, upstreams, t.stack.chain.trustAnchors(), t.log, t.clock, (suffix, c) => router.notify(suffix, c));
    // The new pools are probed before they take over: validated questions keep going to the old ones meanwhile.
    await Promise.all([routes.global, ...routes.zones].map((r) => r.monitor?.start()));
    router.replace(routes.global, routes.zones);
    // Failures cached under the old upstreams are not the new ones' to keep.
    t.stack.chain.flushFailures();
    t.stack.cached.flushFailures();
    reportValidationCapability(router.snapshot(), applied, t.log);
  }
  t.log.info(
    {
      file, changed,
      restartNeeded,
      upstreams: upstreams.map((u) => `${u.address}:${u.port} priority ${u.priority}`),
      forwardZones: applied.forwardZones.map((z) => z.suffix),
      allow: applied.allow, negativeTrustAnchors: applied.negativeTrustAnchors, logLevel: applied.logLevel,
    },
    changed.length ? `configuration reloaded: ${changed.join(', ')} changed` : 'configuration reloaded: nothing that a reload applies changed',
  );
  if (restartNeeded.length) {
    t.log.warn({ file, restartNeeded }, `configuration reload: ${restartNeeded.join(', ')} changed in the file; they take effect at the next restart (the running values stay)`);
  }
  for (const n of next.notices ?? []) if (!(cur.notices ?? []).includes(n)) t.log.warn({}, n);
  return { kind: 'applied', changed, restartNeeded, config: applied, upstreams };
}

function pick(c: Config, key: (typeof LIVE)[number]): unknown {
  switch (key) {
    case 'upstream.timeoutMs':
      return c.upstream.timeoutMs;
    case 'upstream.deadlineMs':
      return c.upstream.deadlineMs;
    case 'upstream.probeIntervalMs':
      return c.upstream.probeIntervalMs;
    default:
      return c[key];
  }
}
