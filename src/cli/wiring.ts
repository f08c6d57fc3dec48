/** Building the resolver from a configuration: crypto backend, trust anchors, upstream pool, chain of trust. */
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import { readAnchorFile, mergeAnchors, AnchorFileError } from '../anchors/load.js';
import { systemClock, type Clock } from '../clock.js';
import { ConfigError, type Config } from '../config/schema.js';
import { createVerifier, memoizingVerifier } from '../crypto/index.js';
import { Resolver } from '../resolver/resolve.js';
import type { UpstreamConfig } from '../upstream/config.js';
import { UpstreamPool } from '../upstream/pool.js';
import { ChainOfTrust, poolFetcher } from '../validator/chain.js';
import type { TrustAnchor } from '../validator/types.js';

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
  pool: UpstreamPool;
  chain: ChainOfTrust;
  resolver: Resolver;
  anchors: TrustAnchor[];
}

export function buildResolver(cfg: Config, upstreams: UpstreamConfig[], log: Logger, clock: Clock = systemClock): Wiring {
  const anchors = loadTrustAnchors(cfg, clock);
  const crypto = memoizingVerifier(createVerifier(cfg.crypto));
  const pool = new UpstreamPool(upstreams, {
    logger: log,
    clock,
    attemptTimeoutsMs: [cfg.upstream.timeoutMs, cfg.upstream.timeoutMs * 2],
    totalTimeoutMs: cfg.upstream.deadlineMs,
  });
  const chain = new ChainOfTrust(anchors, poolFetcher(pool), { clock, logger: log });
  const { skew, ...limits } = cfg.validation;
  const resolver = new Resolver({ pool, keys: chain, crypto, clock, limits, skew });
  return { pool, chain, resolver, anchors };
}
