/**
 * The chain-of-trust driver: the KeySource behind the response validator. It builds trust from the
 * closest configured trust anchor down to a zone (keysForZone) or to the zone that holds a name
 * (zoneOf), asking the upstream pool for DNSKEY and DS RRsets, and caches what it learns.
 *
 * Strategy (parallel, and no more queries than Unbound as a validating forwarder sends):
 *
 *  1. Path. For a target T under the closest anchor A, the path is A, then every name between A and
 *     T one label at a time, T last. The cache is searched from T upwards for the deepest name
 *     already known (a validated zone, a "not a zone cut" fact, or the point where trust ended);
 *     only the names below it are walked. A name whose state another walk is computing right now is
 *     joined instead (in-flight dedupe: ten concurrent calls for one zone make one walk).
 *
 *  2. Fetch everything that is certainly needed at once, before validating anything:
 *       - DNSKEY(A) if A's keys are not cached;
 *       - DS(N) for every unknown name N on the path (below A);
 *       - DNSKEY(T) when T is asked as a zone (keysForZone: T is an RRSIG signer, so it must be a cut).
 *     Then, as each DS answer arrives (not after its validation), DNSKEY(N) is asked at once when the
 *     answer holds a usable DS RRset for N. A chain of k cuts therefore costs two round trips of
 *     wall time instead of 2k, and every DNSKEY asked is one a serial walk would ask as well.
 *
 *  3. Validate top-down as answers arrive: node(N) = step(node(parent N), answers for N):
 *       - a DS RRset signed by the parent's zone P: verify it with P's keys, then match DNSKEY(N)
 *         against it (dnskey.ts) -> N is a secure zone (or insecure: unsupported algorithms/digests,
 *         or bogus);
 *       - a NODATA/NXDOMAIN: verify P's NSEC/NSEC3 RRsets, then proveNoDs: a delegation without DS
 *         ends trust (insecure no-ds, or opt-out), "not a delegation" (empty non-terminal, no NS,
 *         name absent) keeps P as the zone for names below;
 *       - a CNAME at N signed by P: N is no cut;
 *       - anything signed by another zone (the child, nobody) is bogus, an upstream failure is
 *         indeterminate (never bogus), and trust that ended stays ended for every name below.
 *
 *  Query count: DS for each name on the path that is not yet known, DNSKEY for each cut with a usable
 *  DS (and for T) — the set Unbound's FINDKEY sends. The only extra queries possible are DS queries for
 *  names below a point where trust turns out to end (the walk does not wait to know that), and
 *  DNSKEY(T) when trust ends above T.
 *
 * The chain uses its own clock (the injected one) and a fresh work budget per walk, built from the
 * caller's limits: a walk is shared between callers and cached, so its outcome must not depend on
 * how much of one client query's budget was left.
 */
import type { Clock } from '../clock.js';
import type { Logger } from '../log.js';
import { RRType, keyTag, typeToText, type Name } from '../wire/index.js';
import { createBudget } from './budget.js';
import { BOGUS_TTL_MS, KeyCache, nodeTrail, type ChainNode } from './keycache.js';
import type { NegativeTrustAnchors } from './nta.js';
import { STRIP_REASONS, type KeySource, type StripEvidence, type TrailStep, type TrustAnchor, type ValidationContext, type ZoneKeys } from './types.js';
import { Walk, type Disagreement, type FetchResult } from './walk.js';

export type { FetchResult, Disagreement } from './walk.js';

/** How the chain asks the upstream (resolver/fetcher.ts `poolFetcher` over the pools, or a wrapper that counts or records). */
export interface Fetcher {
  /** Ask (name, type); `exclude`: upstreams not to ask (a re-check of a bogus step). */
  fetch(name: Name, type: number, opts?: { exclude?: ReadonlySet<string> }): Promise<FetchResult>;
  /** An answer of `upstream` for (name, type) lacked DNSSEC records another upstream supplied. */
  report?(name: Name, type: number, upstream: string, evidence: StripEvidence): void;
}

export interface ChainOptions {
  clock: Clock;
  logger?: Logger;
  /** Names remembered (zones, non-cuts, ends of trust). Default 10000. */
  maxCacheEntries?: number;
  /** DNSSEC-capable upstreams that must agree before a DS/DNSKEY step is bogus (default 1: no re-check). */
  confirmations?: number;
  /** Names at or below these are INSECURE (RFC 7646), without any fetch. */
  negativeTrustAnchors?: NegativeTrustAnchors;
}

export interface ChainStats {
  /** Names in the cache. */
  cached: number;
  /** The heap charged to them (keycache.ts nodeCharge), and the bound on it. */
  cachedBytes: number;
  maxCachedBytes: number;
  /** Lookups answered from the cache alone. */
  hits: number;
  /** Lookups that started a walk. */
  misses: number;
  /** Lookups that joined a walk already in flight. */
  joined: number;
  /** Questions sent to the fetcher. */
  fetches: number;
}

/** How long a "no trust anchor" answer may be used (nothing is fetched for it). */
const NO_ANCHOR_TTL_MS = 3_600_000;

export class ChainOfTrust implements KeySource {
  private anchors: TrustAnchor[];
  private readonly clock: Clock;
  private readonly logger: Logger | undefined;
  private readonly cache: KeyCache;
  private readonly inflight = new Map<string, Promise<ChainNode>>();
  /** Bumped by flush(): walks started before it do not fill the cache. */
  private generation = 0;
  private counters = { hits: 0, misses: 0, joined: 0, fetches: 0 };

  private readonly confirmations: number;
  private readonly ntas: NegativeTrustAnchors | undefined;

  constructor(anchors: TrustAnchor[], private readonly fetcher: Fetcher, opts: ChainOptions) {
    this.anchors = [...anchors];
    this.clock = opts.clock;
    this.logger = opts.logger;
    this.cache = new KeyCache(opts.clock, opts.maxCacheEntries ?? 10_000);
    this.confirmations = Math.max(1, opts.confirmations ?? 1);
    this.ntas = opts.negativeTrustAnchors;
  }

  async keysForZone(zone: Name, ctx: ValidationContext): Promise<ZoneKeys> {
    const nta = this.ntaKeys(zone);
    if (nta) return nta;
    const node = await this.resolve(zone, true, ctx);
    if (!node) return this.noAnchor(zone);
    switch (node.kind) {
      case 'zone':
        return node.keys;
      case 'end':
        return node.keys;
      case 'inside': {
        // An RRSIG signer must be a zone apex; the parent's denial proves there is no cut here.
        const reason = { kind: 'dnskey-missing', zone: zone.toText() } as const;
        const step: TrailStep = { step: 'bogus', reason };
        return { security: 'bogus', zone, reason, validUntil: Math.min(node.validUntil, this.clock.now() + BOGUS_TTL_MS), trail: [...node.trail, step] };
      }
    }
  }

  async zoneOf(name: Name, ctx: ValidationContext): Promise<ZoneKeys> {
    const nta = this.ntaKeys(name);
    if (nta) return nta;
    const node = await this.resolve(name, false, ctx);
    if (!node) return this.noAnchor(name);
    switch (node.kind) {
      case 'zone':
      case 'end':
        return node.keys;
      case 'inside':
        return { ...node.zone, trail: node.trail, validUntil: node.validUntil };
    }
  }

  /** The trust anchors in use. */
  trustAnchors(): readonly TrustAnchor[] {
    return this.anchors;
  }

  /**
   * Replace the trust anchors of the running chain (RFC 5011: a key became trusted, was revoked or
   * removed). What was validated under an anchor zone whose keys changed is forgotten at once; returns
   * those zones.
   */
  setAnchors(anchors: readonly TrustAnchor[]): Name[] {
    const before = new Map(this.anchors.map((a) => [a.zone.key, anchorKeyText(a)]));
    const after = new Map(anchors.map((a) => [a.zone.key, anchorKeyText(a)]));
    const changed = new Map<string, Name>();
    for (const a of [...this.anchors, ...anchors]) if (before.get(a.zone.key) !== after.get(a.zone.key)) changed.set(a.zone.key, a.zone);
    this.anchors = [...anchors];
    for (const zone of changed.values()) this.flush(zone);
    return [...changed.values()];
  }

  /** Forget everything, or what is known about `name` and the names below it. */
  flush(name?: Name): void {
    this.generation++;
    // Walks in flight finish for their callers but are not joined any more (nor cached).
    for (const k of [...this.inflight.keys()]) if (!name || k === name.key || k.endsWith(`.${name.key}`) || name.isRoot()) this.inflight.delete(k);
    const n = this.cache.flush(name);
    this.logger?.debug({ name: name?.toText() ?? '(all)', entries: n }, 'chain of trust cache flushed');
  }

  /**
   * Forget what ended in failure (bogus, indeterminate): an upstream became DNSSEC-capable again,
   * so what it could not fetch or what a stripping upstream made bogus deserves a new walk.
   */
  flushFailures(): number {
    this.generation++;
    this.inflight.clear();
    return this.cache.flushWhere((node) => node.kind === 'end' && (node.keys.security === 'bogus' || node.keys.security === 'indeterminate'));
  }

  stats(): ChainStats {
    return { cached: this.cache.size, cachedBytes: this.cache.bytes, maxCachedBytes: this.cache.maxBytes, ...this.counters };
  }

  /** INSECURE for names at or below a negative trust anchor (RFC 7646). */
  private ntaKeys(name: Name): ZoneKeys | undefined {
    const nta = this.ntas?.covering(name);
    if (!nta) return undefined;
    const reason = { kind: 'negative-trust-anchor', zone: nta.toText() } as const;
    return { security: 'insecure', zone: nta, reason, validUntil: this.clock.now() + 60_000, trail: [{ step: 'insecure', reason }] };
  }

  private disagreement(d: Disagreement): void {
    if (!STRIP_REASONS.has(d.reason.kind)) return;
    const what = d.reason as { name?: string; zone?: string; type?: string };
    const type = what.type ?? 'DS/DNSKEY';
    const qtype = type === 'DNSKEY' ? RRType.DNSKEY : RRType.DS;
    for (const upstream of d.upstreams) {
      this.fetcher.report?.(d.name, qtype, upstream, {
        at: this.clock.now(), name: what.name ?? what.zone ?? d.name.toText(), type, reason: d.reason.kind, confirmedBy: d.confirmedBy,
      });
    }
    this.logger?.debug({ name: d.name.toText(), reason: d.reason.kind, upstreams: d.upstreams, confirmedBy: d.confirmedBy, qtype: typeToText(qtype) }, 'chain step re-checked: other upstream validated');
  }

  private noAnchor(name: Name): ZoneKeys {
    const reason = { kind: 'no-anchor', name: name.toText() } as const;
    return { security: 'insecure', zone: name, reason, validUntil: this.clock.now() + NO_ANCHOR_TTL_MS, trail: [{ step: 'insecure', reason }] };
  }

  /** The closest trust anchor at or above `name`. */
  private anchorFor(name: Name): TrustAnchor | undefined {
    let best: TrustAnchor | undefined;
    for (const a of this.anchors) {
      if (name.isSubdomainOf(a.zone) && (!best || a.zone.labelCount > best.zone.labelCount)) best = a;
    }
    return best;
  }

  /** The state of `target`, from the cache, a walk in flight, or a new walk from the deepest known name. */
  private resolve(target: Name, asZone: boolean, ctx: ValidationContext): Promise<ChainNode | undefined> {
    const anchor = this.anchorFor(target);
    if (!anchor) return Promise.resolve(undefined);
    // path[0] = anchor zone ... path[last] = target
    const path: Name[] = [];
    for (let n = target; ; n = n.parent()) {
      path.unshift(n);
      if (n.labelCount <= anchor.zone.labelCount) break;
    }
    let start = -1;
    let known: Promise<ChainNode> | undefined;
    for (let i = path.length - 1; i >= 0; i--) {
      const cached = this.cache.get(path[i]!);
      if (cached) {
        if (cached.kind === 'end' || i === path.length - 1) {
          this.counters.hits++;
          return Promise.resolve(cached);
        }
        start = i;
        known = Promise.resolve(cached);
        break;
      }
      const pending = this.inflight.get(path[i]!.key);
      if (pending) {
        if (i === path.length - 1) {
          this.counters.joined++;
          return pending;
        }
        start = i;
        known = pending;
        break;
      }
    }
    this.counters.misses++;
    return this.walk(anchor, path, start, known, asZone, ctx);
  }

  /** Walk path[start+1 ..] (path[start] is `known`; start -1: from the anchor itself). */
  private walk(
    anchor: TrustAnchor, path: Name[], start: number, known: Promise<ChainNode> | undefined, asZone: boolean, ctx: ValidationContext,
  ): Promise<ChainNode> {
    const walkCtx: ValidationContext = { ...ctx, clock: this.clock, budget: createBudget(ctx.limits) };
    const w = new Walk((name, type, exclude) => this.fetch(name, type, exclude), walkCtx, {
      confirmations: this.confirmations, onDisagreement: (d) => this.disagreement(d),
    });
    const target = path[path.length - 1]!;
    // 1. Everything certainly needed, at once.
    if (start < 0) void w.fetch(anchor.zone, RRType.DNSKEY);
    for (let i = Math.max(start + 1, 1); i < path.length; i++) w.prefetchDs(path[i]!);
    if (asZone && path.length - 1 > Math.max(start, 0)) void w.fetch(target, RRType.DNSKEY);
    // 2. Validate top-down as the answers come in.
    const generation = this.generation;
    let prev = known;
    for (let i = start + 1; i < path.length; i++) {
      const name = path[i]!;
      const p = (i === 0 || !prev ? w.anchorNode(anchor) : prev.then((parent) => w.step(name, parent)))
        .catch((e: unknown) => this.failed(name, e))
        .then((node) => {
          if (this.generation === generation) this.cache.set(node);
          this.logNode(node);
          return node;
        });
      this.inflight.set(name.key, p);
      void p.finally(() => {
        if (this.inflight.get(name.key) === p) this.inflight.delete(name.key);
      });
      prev = p;
    }
    return prev!;
  }

  private async fetch(name: Name, type: number, exclude?: ReadonlySet<string>): Promise<FetchResult> {
    this.counters.fetches++;
    try {
      const r = await (exclude ? this.fetcher.fetch(name, type, { exclude }) : this.fetcher.fetch(name, type));
      if (this.debugOn()) this.logger!.debug({ qname: name.toText(), qtype: type, outcome: r.kind, ...(r.kind === 'failure' ? { reason: r.reason } : {}) }, 'chain fetch');
      return r;
    } catch (e) {
      return { kind: 'failure', reason: e instanceof Error ? e.message : String(e) };
    }
  }

  /** A step that threw is a failure to find out, not evidence of forgery. */
  private failed(name: Name, e: unknown): ChainNode {
    const detail = `chain of trust step for ${name.toText()} failed: ${e instanceof Error ? e.message : String(e)}`;
    this.logger?.debug({ name: name.toText(), err: detail }, 'chain step failed');
    const validUntil = this.clock.now();
    return { kind: 'end', name, keys: { security: 'indeterminate', zone: name, detail, validUntil, trail: [] }, validUntil };
  }

  private debugOn(): boolean {
    return this.logger !== undefined && (this.logger.isLevelEnabled?.('debug') ?? true);
  }

  private logNode(node: ChainNode): void {
    if (!this.logger || !this.debugOn()) return;
    const keys = node.kind === 'inside' ? node.zone : node.keys;
    this.logger.debug({
      name: node.name.toText(), kind: node.kind, security: keys.security, zone: keys.zone.toText(),
      ...(keys.security === 'secure' ? { keyTags: keys.keys.map((k) => keyTag(k.rdata)) } : {}),
      ...(keys.security === 'insecure' || keys.security === 'bogus' ? { reason: keys.reason.kind } : {}),
      steps: nodeTrail(node).length,
    }, 'chain node');
  }
}

/** An anchor's DS and DNSKEY records as one comparable text (RDATA bytes). */
function anchorKeyText(a: TrustAnchor): string {
  const hex = (r: { type: number; rdata: Uint8Array }): string => `${r.type}:${Buffer.from(r.rdata).toString('hex')}`;
  return [...a.ds, ...a.dnskeys].map(hex).sort().join(',');
}
