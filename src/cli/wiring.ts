/** Building the resolver from a configuration: crypto backend, trust anchors, upstream pool, chain of trust, answer cache. */
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import { readAnchorFile, mergeAnchors, AnchorFileError } from '../anchors/load.js';
import { ProofStore } from '../cache/proofs.js';
import { systemClock, type Clock } from '../clock.js';
import { ConfigError, type Config, type UpstreamConfig } from '../config/schema.js';
import { createVerifier, memoizingVerifier } from '../crypto/index.js';
import { CachingResolver } from '../resolver/cached.js';
import { poolFetcher } from '../resolver/fetcher.js';
import { Resolver } from '../resolver/resolve.js';
import type { UpstreamPool } from '../upstream/pool.js';
import type { UpstreamRouter } from '../upstream/router.js';
import { ChainOfTrust } from '../validator/chain.js';
import type { TrustAnchor } from '../validator/types.js';
import { buildUpstreams } from './upstreams.js';

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

export interface Wiring {
  /** The global pool (forward zones have their own: `router`). */
  pool: UpstreamPool;
  /** Every pool with its health monitor: per-upstream DNSSEC states and evidence (`router.snapshot()`), capability changes (`router.onChange`). */
  router: UpstreamRouter;
  /** Stop the health monitors' probe timers. */
  stop(): void;
  chain: ChainOfTrust;
  resolver: Resolver;
  /** The answer cache in front of `resolver` (what the daemon serves from). */
  cached: CachingResolver;
  /** The validated NSEC/NSEC3/wildcard store of RFC 8198 (absent when cache.aggressiveNsec is off). */
  aggressive: ProofStore | undefined;
  anchors: TrustAnchor[];
}

export function buildResolver(cfg: Config, upstreams: UpstreamConfig[], log: Logger, clock: Clock = systemClock): Wiring {
  const anchors = loadTrustAnchors(cfg, clock);
  const crypto = memoizingVerifier(createVerifier(cfg.crypto));
  // Pools per forward zone, DNSSEC-capability probes, negative trust anchors: see upstreams.ts.
  const { router, ntas } = buildUpstreams(cfg, upstreams, anchors, log, clock);
  const confirmations = cfg.upstream.bogusConfirmations;
  const chain = new ChainOfTrust(anchors, poolFetcher(router), { clock, logger: log, confirmations, negativeTrustAnchors: ntas });
  const { skew, ...limits } = cfg.validation;
  const policy = { bogusConfirmations: confirmations, insecureFallback: cfg.upstream.insecureFallback, negativeTrustAnchors: ntas };
  // Validated NSEC/NSEC3 and wildcards for RFC 8198, in 1/8 of the cache's memory bound.
  const aggressive = cfg.cache.aggressiveNsec ? new ProofStore(cfg.cache.maxBytes / 8) : undefined;
  const resolver = new Resolver({ pool: router, keys: chain, crypto, clock, limits, skew, policy, ...(aggressive ? { aggressive } : {}) });
  const cached = new CachingResolver({ resolver, keys: chain, ...(aggressive ? { proofs: aggressive } : {}), config: cfg.cache, clock, logger: log });
  // An upstream DNSSEC-capable again: what failed while none was deserves a new walk and a new answer.
  router.onChange((c) => {
    if (c.to.kind === 'capable' && c.from.kind !== 'capable') {
      chain.flushFailures();
      cached.flushFailures();
    }
  });
  void router.start();
  return { pool: router.global.pool, router, stop: () => router.stop(), chain, resolver, cached, anchors, aggressive };
}
