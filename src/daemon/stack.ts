/**
 * The resolving stack, built from a validated configuration in one place: crypto backend, trust
 * anchors, upstream router (one pool per forward zone, each with its DNSSEC-capability monitor),
 * chain of trust, RFC 8198 proof store, resolver and the answer cache in front of it. The daemon, the
 * `query` command and the start-up self-test all build theirs here (the self-test with its private
 * anchors and upstream), so a component added later is wired once.
 */
import { fileURLToPath } from 'node:url';
import { readAnchorFile, mergeAnchors, AnchorFileError } from '../anchors/load.js';
import { ProofStore } from '../cache/proofs.js';
import { systemClock, type Clock } from '../clock.js';
import { ConfigError, type Config, type UpstreamConfig } from '../config/schema.js';
import { KNOWN_ALGORITHMS, createVerifier, memoizingVerifier, type BackendChoice, type MemoVerifier, type SignatureVerifier } from '../crypto/index.js';
import { pino, type Logger } from 'pino';
import { CachingResolver } from '../resolver/cached.js';
import { ClockSanity, roughDuration } from '../resolver/clock-sanity.js';
import { poolFetcher } from '../resolver/fetcher.js';
import { Resolver } from '../resolver/resolve.js';
import type { RoutedPool } from '../upstream/pool.js';
import type { UpstreamRouter } from '../upstream/router.js';
import { ChainOfTrust } from '../validator/chain.js';
import type { NegativeTrustAnchors } from '../validator/nta.js';
import type { TrustAnchor } from '../validator/types.js';
import { ClockStepWatch } from './clock-step.js';
import { buildRouter, negativeTrustAnchors } from './upstreams.js';

/** The root anchors shipped with the package (KSK-2017 and KSK-2024). */
export const DEFAULT_ANCHOR_FILE = fileURLToPath(new URL('../../../trust-anchors/root.zone', import.meta.url));

export function loadTrustAnchors(cfg: Config, clock: Clock): TrustAnchor[] {
  const files = cfg.trustAnchors.length ? cfg.trustAnchors : [DEFAULT_ANCHOR_FILE];
  try {
    return mergeAnchors(files.map((f) => readAnchorFile(f, clock)));
  } catch (err) {
    if (err instanceof AnchorFileError) throw new ConfigError('trustAnchors', err.message);
    throw err;
  }
}

export interface Stack {
  /** Every pool with its health monitor (absent in a private stack given one pool): DNSSEC states and evidence, capability changes. */
  router: UpstreamRouter | undefined;
  chain: ChainOfTrust;
  resolver: Resolver;
  /** Watches the resolver's verdicts for a wrong system clock (its status goes to Daemon.stats()). */
  clockSanity: ClockSanity;
  /** The answer cache in front of `resolver` (what the daemon serves from). */
  cached: CachingResolver;
  /** The validated NSEC/NSEC3/wildcard store of RFC 8198 (absent when cache.aggressiveNsec is off). */
  proofs: ProofStore | undefined;
  anchors: TrustAnchor[];
  /** The verifier every validation of the stack uses (memo of good signatures; counts by algorithm and result). */
  crypto: MemoVerifier;
  /** The signature backend each known DNSSEC algorithm uses (OpenSSL, pure JS, or unsupported). */
  backends(): Record<number, BackendChoice>;
  /** The negative trust anchors every validation consults (a configuration reload replaces their list). */
  negativeTrustAnchors: NegativeTrustAnchors;
  /** Start the health monitors' probes (a no-op for a private stack); resolves when every first probe is done. */
  start(): Promise<void>;
  /** Stop the health monitors' probe timers. */
  stop(): void;
}

export interface StackOptions {
  clock?: Clock;
  logger?: Logger;
  /** The trust anchors; default: the configured anchor files. */
  anchors?: TrustAnchor[];
  /** One pool to ask instead of the configured upstreams and forward zones (no probes): the self-test's private upstream. */
  pool?: Pick<RoutedPool, 'query'>;
}

/** Build the stack. The upstreams are the configured ones (`resolveUpstreams`) unless `opts.pool` replaces them. */
export function buildStack(cfg: Config, upstreams: UpstreamConfig[], opts: StackOptions = {}): Stack {
  const clock = opts.clock ?? systemClock;
  const log = opts.logger;
  const anchors = opts.anchors ?? loadTrustAnchors(cfg, clock);
  const verifier = createVerifier(cfg.crypto);
  const crypto = memoizingVerifier(verifier);
  const backends = (): Record<number, BackendChoice> => backendsOf(verifier);
  // Pools per forward zone with their DNSSEC-capability probes: see upstreams.ts.
  const router = opts.pool ? undefined : buildRouter(cfg, upstreams, anchors, log ?? pino({ level: 'silent' }), clock);
  const route = opts.pool ?? router!;
  const ntas = negativeTrustAnchors(cfg);
  const confirmations = cfg.upstream.bogusConfirmations;
  const chain = new ChainOfTrust(anchors, poolFetcher(route), { clock, ...(log ? { logger: log } : {}), confirmations, negativeTrustAnchors: ntas });
  const { skew, ...limits } = cfg.validation;
  const policy = { bogusConfirmations: confirmations, insecureFallback: cfg.upstream.insecureFallback, negativeTrustAnchors: ntas };
  // Validated NSEC/NSEC3 and wildcards for RFC 8198, in 1/8 of the cache's memory bound.
  const proofs = cfg.cache.aggressiveNsec ? new ProofStore(cfg.cache.maxBytes / 8) : undefined;
  const clockSanity = new ClockSanity({ clock, skew, anchors: () => chain.trustAnchors().map((a) => a.zone.toText()), ...(log ? { logger: log } : {}) });
  const resolver = new Resolver({ pool: route, keys: chain, crypto, clock, limits, skew, policy, clockSanity, ...(proofs ? { aggressive: proofs } : {}) });
  const { maxResolutions, maxResolutionsPerClient } = cfg.server;
  const admission = maxResolutions || maxResolutionsPerClient
    ? { maxResolutions: maxResolutions || Number.MAX_SAFE_INTEGER, maxPerClient: maxResolutionsPerClient || Number.MAX_SAFE_INTEGER }
    : undefined;
  const cached = new CachingResolver({
    resolver, keys: chain, ...(proofs ? { proofs } : {}), config: cfg.cache, prefetch: cfg.prefetch, clock, ...(admission ? { admission } : {}), ...(log ? { logger: log } : {}),
  });
  if (!router) return { router, chain, resolver, clockSanity, cached, proofs, anchors, crypto, backends, negativeTrustAnchors: ntas, start: async () => undefined, stop: () => undefined };
  // An upstream DNSSEC-capable again: what failed while none was deserves a new walk and a new answer.
  router.onChange((c) => {
    if (c.to.kind === 'capable' && c.from.kind !== 'capable') {
      chain.flushFailures();
      cached.flushFailures();
    }
  });
  // The clock stepped (NTP correcting a wrong one): what was kept by the old time goes, the upstreams are probed again.
  const monotonic = clock.monotonic?.bind(clock);
  const steps = monotonic && new ClockStepWatch({
    clock: { now: () => clock.now(), monotonic },
    onStep: (stepMs) => {
      const flushed = cached.flush();
      log?.warn({ stepMs, flushed }, `system clock stepped ${stepMs > 0 ? 'forward' : 'back'} by ${roughDuration(stepMs / 1000)}: cached answers, keys and proofs flushed, upstreams probed again`);
      clockSanity.status();
      void router.probeNow();
    },
  });
  const start = (): Promise<void> => {
    steps?.start();
    return router.start();
  };
  const stop = (): void => {
    steps?.stop();
    router.stop();
  };
  return { router, chain, resolver, clockSanity, cached, proofs, anchors, crypto, backends, negativeTrustAnchors: ntas, start, stop };
}

/** Which engine verifies each known algorithm: the auto backend says; a fixed one is itself or unsupported. */
function backendsOf(v: SignatureVerifier | (SignatureVerifier & { describe(): Record<number, BackendChoice> })): Record<number, BackendChoice> {
  if ('describe' in v) return v.describe();
  const out: Record<number, BackendChoice> = {};
  for (const alg of KNOWN_ALGORITHMS) out[alg] = v.supports(alg) && v.name !== 'auto' ? v.name : 'unsupported';
  return out;
}
