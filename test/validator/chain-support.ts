/**
 * Shared setup of the chain-of-trust tests: the real test world, a real UpstreamPool on its upstream
 * Unbound, and a Fetcher wrapper that only records what the chain asks (names, types, timing,
 * concurrency) and passes every question on to the pool unchanged.
 */
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { systemClock, type Clock } from '../../src/clock.js';
import { createVerifier } from '../../src/crypto/index.js';
import { UpstreamPool } from '../../src/upstream/pool.js';
import { createBudget } from '../../src/validator/budget.js';
import { anchorsFromZoneText } from '../../src/anchors/load.js';
import { ChainOfTrust, type FetchResult, type Fetcher } from '../../src/validator/chain.js';
import { poolFetcher } from '../../src/resolver/fetcher.js';
import { DEFAULT_LIMITS, DEFAULT_SKEW, type TrustAnchor, type ValidationContext, type ZoneKeys } from '../../src/validator/types.js';
import { Name, typeToText } from '../../src/wire/index.js';
import type { WorldInfo } from '../world/index.js';

export const n = (s: string): Name => Name.fromText(s);

const crypto = createVerifier('auto');

export function context(clock: Clock = systemClock): ValidationContext {
  return { clock, crypto, limits: DEFAULT_LIMITS, skew: DEFAULT_SKEW, budget: createBudget(DEFAULT_LIMITS) };
}

export interface FetchRecord {
  q: string;
  start: number;
  end: number;
  /** Fetches in flight when this one started (itself included). */
  concurrent: number;
  /** 1 + the round of the latest fetch that had completed before this one started. */
  round: number;
  outcome: FetchResult['kind'];
}

/** Records every question on its way to the real pool. `fail` makes chosen questions fail (upstream down for them). */
export class RecordingFetcher implements Fetcher {
  readonly log: FetchRecord[] = [];
  private inFlight = 0;
  maxInFlight = 0;
  fail: ((q: string) => boolean) | undefined;
  /** Added to every answer, like a round trip to a distant upstream (the answer itself is the pool's). */
  delayMs = 0;

  constructor(private readonly inner: Fetcher) {}

  async fetch(name: Name, type: number): Promise<FetchResult> {
    const q = `${name.toText()} ${typeToText(type)}`;
    const start = performance.now();
    const done = this.log.filter((r) => r.end <= start && r.end > 0);
    const rec: FetchRecord = { q, start, end: 0, concurrent: ++this.inFlight, round: 1 + Math.max(0, ...done.map((r) => r.round)), outcome: 'answer' };
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    this.log.push(rec);
    try {
      const r: FetchResult = this.fail?.(q) ? { kind: 'failure', reason: 'timeout' } : await this.inner.fetch(name, type);
      if (this.delayMs > 0) await new Promise((resolve) => setTimeout(resolve, this.delayMs));
      rec.outcome = r.kind;
      return r;
    } finally {
      this.inFlight--;
      rec.end = performance.now();
    }
  }

  questions(): string[] {
    return this.log.map((r) => r.q).sort();
  }

  rounds(): number {
    return Math.max(0, ...this.log.map((r) => r.round));
  }

  reset(): void {
    this.log.length = 0;
    this.maxInFlight = 0;
  }
}

export interface ChainEnv {
  pool: UpstreamPool;
  anchors: TrustAnchor[];
  /** A fresh chain (empty cache) on the world's upstream, with its recorder. */
  chain(opts?: { clock?: Clock; maxCacheEntries?: number }): { chain: ChainOfTrust; rec: RecordingFetcher };
}

export function chainEnv(world: WorldInfo): ChainEnv {
  const pool = new UpstreamPool([{ address: world.upstream.host, port: world.upstream.port, priority: 1 }]);
  const anchors = anchorsFromZoneText(readFileSync(world.rootAnchorFile, 'utf8'));
  return {
    pool,
    anchors,
    chain(opts = {}) {
      const rec = new RecordingFetcher(poolFetcher(pool));
      const chain = new ChainOfTrust(anchors, rec, {
        clock: opts.clock ?? systemClock, ...(opts.maxCacheEntries ? { maxCacheEntries: opts.maxCacheEntries } : {}),
      });
      return { chain, rec };
    },
  };
}

/** A one-line description for assertion messages. */
export function describeKeys(k: ZoneKeys): string {
  const base = `${k.security} @${k.zone.toText()}`;
  if (k.security === 'insecure' || k.security === 'bogus') return `${base} ${JSON.stringify(k.reason)}`;
  if (k.security === 'indeterminate') return `${base} ${k.detail}`;
  return base;
}
