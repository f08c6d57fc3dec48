/**
 * The caching resolver: the answer cache in front of the validating resolver.
 *
 * - A hit (fresh entry) is answered from the entry alone: never re-validated, never asked upstream.
 *   `fastPath` does that from the raw query bytes before the server parses anything; `handler` does
 *   it for what the fast path leaves (truncation, unusual queries) and resolves misses.
 * - Misses for one key are resolved once (concurrent ones join), then stored with their status.
 * - When the resolution fails (no upstream answered, or INDETERMINATE: any resolution that is neither
 *   'answer' nor 'unchecked' counts as an upstream failure) and the key holds validated data that
 *   expired less than `staleWindow` ago, that data is served with TTL `staleTtl` and EDE 3 (RFC 8767),
 *   and for the next `failureTtl` seconds without trying again. BOGUS data is never served stale.
 * - Prefetch: a hit in the last 10% of an entry's TTL starts one background refresh, when admission allows
 *   background work (below the global bound, no client miss waiting for its turn); else a later hit tries again.
 * - Mail prefetch (mail-prefetch.ts): an MX answer served to a CD=0 client starts the background fetch of what
 *   an MTA asks next (its hosts' A, AAAA and TLSA), through `resolveShared` as a client's miss.
 * - flush(): the whole cache or one subtree, with the chain of trust's key cache.
 */
import type { Clock } from '../clock.js';
import type { CacheConfig, PrefetchConfig } from '../config/schema.js';
import type { ProofStoreStats } from '../cache/proofs.js';
import { encodeEntry, entryOutcome, questionWire, type CacheEntry } from '../cache/entry.js';
import { keyNameText, keyUnder, nameKeyPart, questionKey } from '../cache/key.js';
import { renderReply, udpLimit, viewQuery, type QueryView } from '../cache/render.js';
import { AnswerCache } from '../cache/store.js';
import { outcomeTtl } from '../cache/ttl.js';
import type { Logger } from '../log.js';
import type { Answer, CachedAnswer, ClientInfo, FastPath, FastReply, QueryHandler, QueryPath } from '../server/types.js';
import { EdeCode, Name, RRType, Rcode, WireReader, rcodeToText, typeToText, type EdeEntry, type Message, type Question } from '../wire/index.js';
import { AdmissionControl, refusalEde, type AdmissionLimits, type AdmissionStats, type RefusalScope } from './admission.js';
import { answerTtl, outcomeOf, questionText, shapeOutcome, verdictSummary } from './answer.js';
import { MailPrefetch, type MailPeek, type MailPrefetchStats } from './mail-prefetch.js';
import type { Resolution, ResolveOptions } from './resolve.js';

export interface CachingDeps {
  resolver: {
    resolve(q: Question, opts: ResolveOptions): Promise<Resolution>;
    /** A validated answer available at once (RFC 8198 synthesis), for the fast path; optional. */
    synthesizeNow?(q: Question): Resolution | undefined;
  };
  /** The chain of trust (its key cache is flushed with the answers). */
  keys?: { flush(name?: Name): void };
  /** The validated NSEC/NSEC3/wildcard store (RFC 8198), flushed with the answers. */
  proofs?: { flush(name?: Name): void; stats(): ProofStoreStats };
  config: CacheConfig;
  clock: Clock;
  logger?: Logger;
  /** Bounds on the misses resolved at once, globally and per client (admission.ts); none: unbounded. */
  admission?: AdmissionLimits;
  /** The MTA-aware prefetch (mail-prefetch.ts); none, or `mail: false`: off. */
  prefetch?: PrefetchConfig;
}

/** What a client is served: an entry, fresh (TTL counting down) or stale (RFC 8767). */
type Served =
  | { mode: 'fresh'; entry: CacheEntry; ttl: number; /** For a resolution: the upstreams that answered. */ upstreams?: readonly string[] }
  | { mode: 'stale'; entry: CacheEntry };

/**
 * How a handler-path query was answered. A resolution carries its upstreams: none means RFC 8198 synthesis
 * (a failure has none either, but it asked); a miss served an entry another resolution stored has none.
 */
function pathOf(how: 'hit' | 'stale' | 'miss', e: CacheEntry, upstreams: readonly string[] | undefined): QueryPath {
  if (how !== 'miss') return how === 'hit' ? 'cache' : 'stale';
  if (upstreams === undefined) return 'cache';
  return upstreams.length > 0 || e.status === 'failure' ? 'upstream' : 'synthesized';
}

const NO_CODES: readonly number[] = Object.freeze([]);

/** The EDE codes of an entry's EDE list (never changed once stored), listed once, not on every hit. */
const edeCodes = new WeakMap<readonly EdeEntry[], readonly number[]>();

function codesOf(ede: readonly EdeEntry[] | undefined): readonly number[] {
  if (!ede) return NO_CODES;
  let codes = edeCodes.get(ede);
  if (!codes) {
    codes = Object.freeze(ede.map((x) => x.code));
    edeCodes.set(ede, codes);
  }
  return codes;
}

/** Fill a query's trace (only present while query events are listened to). */
function note(client: ClientInfo, path: QueryPath, e: CacheEntry, upstreams?: readonly string[]): void {
  const t = client.trace;
  if (!t) return;
  t.path = path;
  t.status = e.status;
  const codes = codesOf(e.ede);
  t.ede = path === 'stale' ? [...codes, STALE_EDE.code] : codes;
  if (upstreams) t.upstreams = upstreams;
}

export interface CacheStats {
  entries: number;
  /** Bytes charged against maxBytes. */
  bytes: number;
  maxBytes: number;
  /** Fresh hits (fast path included). */
  hits: number;
  /** Hits answered by the fast path (from bytes). */
  fastHits: number;
  /** Lookups that needed a resolution. */
  misses: number;
  /** Misses that joined a resolution already running for the same key. */
  coalesced: number;
  /** Stale answers served (RFC 8767). */
  stale: number;
  /** Background refreshes started. */
  prefetches: number;
  /** The RFC 8198 store of validated NSEC/NSEC3, wildcards and SOAs (absent when cache.aggressiveNsec is off). */
  aggressive?: ProofStoreStats;
  /** Misses in flight and refused (admission.ts; absent without limits). */
  admission?: AdmissionStats;
  /** The MTA-aware prefetch (mail-prefetch.ts; absent when prefetch.mail is off). */
  mailPrefetch?: MailPrefetchStats;
}

export const STALE_EDE: EdeEntry = { code: EdeCode.STALE_ANSWER, text: 'stale answer: no upstream answered' };

export class CachingResolver {
  readonly cache: AnswerCache;
  private readonly cfg: CacheConfig;
  private readonly clock: Clock;
  private readonly logger: Logger | undefined;
  private readonly inflight = new Map<string, Promise<Served>>();
  /** The key the fast path last failed to synthesize; the normal path, which follows at once, then skips the attempt. */
  private synthDeclined: string | undefined;
  /** Bumped by flush(): resolutions started before it do not fill the cache. */
  private generation = 0;
  private readonly counters = { hits: 0, fastHits: 0, misses: 0, coalesced: 0, stale: 0, prefetches: 0 };
  /** Fairness bounds on misses (admission.ts). */
  private readonly admission: AdmissionControl | undefined;
  /** When a refusal was last logged at warn level (at most one line a minute). */
  private refusalLoggedAt = -Infinity;
  /** The MTA-aware prefetch (absent when off). */
  readonly mail: MailPrefetch | undefined;

  constructor(private readonly deps: CachingDeps) {
    this.cfg = deps.config;
    this.clock = deps.clock;
    this.logger = deps.logger;
    this.admission = deps.admission ? new AdmissionControl(deps.admission) : undefined;
    const mail = deps.prefetch?.mail ? new MailPrefetch(deps.prefetch, this.mailCache(), deps.logger) : undefined;
    this.mail = mail;
    this.cache = new AnswerCache(deps.config, deps.clock, mail ? () => mail.noteUnused() : undefined);
  }

  stats(): CacheStats {
    const out: CacheStats = { entries: this.cache.size, bytes: this.cache.bytes, maxBytes: this.cfg.maxBytes, ...this.counters };
    if (this.deps.proofs) out.aggressive = this.deps.proofs.stats();
    if (this.admission) out.admission = this.admission.stats();
    if (this.mail) out.mailPrefetch = this.mail.stats();
    return out;
  }

  /** Forget every answer, or those for `name` and below (and the key cache's knowledge of them); returns the answers dropped. */
  flush(name?: Name): number {
    this.generation++;
    const suffix = name && !name.isRoot() ? nameKeyPart(name) : undefined;
    for (const k of [...this.inflight.keys()]) if (!suffix || keyUnder(k, suffix)) this.inflight.delete(k);
    const n = this.cache.flush(name);
    this.deps.keys?.flush(name);
    this.deps.proofs?.flush(name);
    this.logger?.info({ name: name?.toText() ?? '(all)', entries: n }, 'answer cache flushed');
    return n;
  }

  /** Drop cached failures (an upstream recovered); returns the count. */
  flushFailures(): number {
    return this.cache.flushFailures();
  }

  /**
   * The server's fast path: fresh and stale hits straight from the entry's bytes, and misses that held
   * validated proofs answer at once (RFC 8198), stored and rendered the same way.
   */
  readonly fastPath: FastPath = (packet: Uint8Array, client: ClientInfo, udpMaxSize: number): FastReply | undefined => {
    const view = viewQuery(packet);
    if (!view) return undefined;
    const e = this.cache.get(view.key);
    const now = this.clock.now();
    const state = e ? this.cache.state(view.key, e, now) : 'gone';
    if (!e || (state !== 'fresh' && state !== 'stale')) return this.synthesizedReply(packet, view, client, udpMaxSize, now);
    const fresh = state === 'fresh';
    const bytes = renderFor(packet, view, client, udpMaxSize, e, fresh ? e.ttlLeft(now) : undefined, this.cfg.staleTtl);
    if (!bytes) return undefined;
    if (fresh) {
      this.counters.hits++;
      this.counters.fastHits++;
      // The mail prefetch: an entry it stored is hit, or an MX answer names hosts to fetch (mail-prefetch.ts).
      if (this.mail && (e.mail !== undefined || view.qtype === RRType.MX)) this.mail.served(e, view.qtype, (packet[3]! & 0x10) !== 0, () => packetQuestion(packet, view).name);
      if (this.prefetchDue(e, now)) this.prefetch(view.key, e, now, packetQuestion(packet, view), (packet[3]! & 0x10) !== 0);
    } else this.counters.stale++;
    if (client.trace) note(client, fresh ? 'cache' : 'stale', e);
    return { bytes, rcode: e.rcode };
  };

  /**
   * A miss the resolver can answer at once from held proofs (not CD=1; not while debug logging, which
   * the normal path does in full): stored like any resolution, then rendered from the entry.
   */
  private synthesizedReply(packet: Uint8Array, view: QueryView, client: ClientInfo, udpMaxSize: number, now: number): FastReply | undefined {
    const synth = this.deps.resolver.synthesizeNow;
    if (!synth || (packet[3]! & 0x10) !== 0 || (this.logger && (this.logger.isLevelEnabled?.('debug') ?? true))) return undefined;
    const q = packetQuestion(packet, view);
    const res = synth.call(this.deps.resolver, q);
    if (!res) {
      this.synthDeclined = view.key;
      return undefined;
    }
    const o = outcomeOf(res, `${q.name.toText()} ${typeToText(q.type)}`);
    const ttl = outcomeTtl(o, this.cfg);
    const entry = encodeEntry(q.name, o, ttl, now);
    this.cache.set(view.key, entry);
    this.counters.misses++;
    const bytes = renderFor(packet, view, client, udpMaxSize, entry, ttl, this.cfg.staleTtl);
    if (client.trace) note(client, 'synthesized', entry);
    return bytes ? { bytes, rcode: entry.rcode } : undefined;
  }

  /** The query handler: hits from the cache, misses resolved (once per key), stored and answered. */
  readonly handler: QueryHandler = async (query: Message, client: ClientInfo): Promise<Answer | CachedAnswer> => {
    const q = query.question[0]!;
    const cd = query.flags.cd;
    const key = questionKey(q, cd);
    const now = this.clock.now();
    const l = this.cache.lookup(key, now);
    let served: Served;
    let how: 'hit' | 'stale' | 'miss';
    switch (l.kind) {
      case 'fresh':
        this.counters.hits++;
        served = { mode: 'fresh', entry: l.entry, ttl: l.ttl };
        if (this.prefetchDue(l.entry, now)) this.prefetch(key, l.entry, now, q, cd);
        how = 'hit';
        break;
      case 'stale':
        this.counters.stale++;
        served = { mode: 'stale', entry: l.entry };
        how = 'stale';
        break;
      case 'miss': {
        this.counters.misses++;
        // The fast path just tried to synthesize this very question (same tick) and could not: ask upstream.
        const tried = this.synthDeclined === key;
        this.synthDeclined = undefined;
        // Cached answers never get here: only what needs a resolution is subject to the fairness bounds.
        const ticket = this.admission?.enter(client.address, this.inflight.has(key));
        if (ticket && !ticket.admitted) return this.refuse(query, client, ticket.scope);
        try {
          // Its turn to start a resolution (round-robin between clients when many misses start at once).
          if (ticket?.turn) await ticket.turn;
          served = await this.resolveShared(key, q, cd, tried);
        } finally {
          ticket?.leave();
        }
        if (served.mode === 'stale') this.counters.stale++;
        how = served.mode === 'stale' ? 'stale' : 'miss';
        break;
      }
    }
    if (this.mail && served.mode === 'fresh' && (served.entry.mail !== undefined || q.type === RRType.MX)) this.mail.served(served.entry, q.type, cd, () => q.name);
    if (client.trace) {
      const upstreams = served.mode === 'fresh' ? served.upstreams : undefined;
      note(client, pathOf(how, served.entry, upstreams), served.entry, upstreams);
    }
    const staleTtl = this.cfg.staleTtl;
    const log = this.logger;
    if (log && (log.isLevelEnabled?.('debug') ?? true)) {
      const answer = serve(query, served, staleTtl);
      const qtext = questionText(query);
      log.debug(
        {
          client: client.address,
          query: qtext,
          cache: how,
          status: served.entry.status,
          rcode: rcodeToText(answer.rcode),
          answers: answer.answer.length,
          ttl: answerTtl(answer.answer.length ? answer.answer : answer.authority),
        },
        `${qtext} ${served.entry.status} (cache ${how})`,
      );
    }
    // The entry is what this client gets: the server renders it from the raw query like a fast-path hit.
    return {
      cached: true,
      render: (packet, client, udpMaxSize) => renderServed(packet, client, udpMaxSize, key, served, staleTtl),
      toAnswer: () => serve(query, served, staleTtl),
    } satisfies CachedAnswer;
  };

  /**
   * `upstreamOnly`: skip the RFC 8198 synthesis. A prefetch wants fresh data (the proofs held expire with the
   * entry it refreshes), and a miss the fast path could not synthesize need not try again.
   */
  private resolveShared(key: string, q: Question, cd: boolean, upstreamOnly = false, mailPrefetch = false): Promise<Served> {
    const running = this.inflight.get(key);
    if (running) {
      this.counters.coalesced++;
      return running;
    }
    const ended = this.admission?.started();
    const p: Promise<Served> = this.resolveAndStore(key, q, cd, upstreamOnly, mailPrefetch).finally(() => {
      ended?.();
      if (this.inflight.get(key) === p) this.inflight.delete(key);
    });
    this.inflight.set(key, p);
    return p;
  }

  private async resolveAndStore(key: string, q: Question, cd: boolean, upstreamOnly: boolean, mailPrefetch: boolean): Promise<Served> {
    const gen = this.generation;
    const qtext = `${q.name.toText()} ${typeToText(q.type)}`;
    const res = await this.deps.resolver.resolve(q, { checkingDisabled: cd, ...(upstreamOnly ? { upstreamOnly: true } : {}) });
    const now = this.clock.now();
    const current = gen === this.generation;
    const o = outcomeOf(res, qtext);
    this.logResolution(qtext, res);
    if (o.kind === 'servfail' && o.status !== 'bogus' && current) {
      // Nothing usable came back (no upstream answered, or INDETERMINATE): keep what is still good.
      const fresh = this.cache.fresh(key, now);
      if (fresh) return { mode: 'fresh', entry: fresh, ttl: fresh.ttlLeft(now) };
      const stale = this.cache.staleAfterFailure(key, now);
      if (stale) return { mode: 'stale', entry: stale };
    }
    const ttl = outcomeTtl(o, this.cfg);
    const entry = encodeEntry(q.name, o, ttl, now);
    // Stored exactly as a client's miss, only marked: its first client hit (or its going unused) is counted.
    if (mailPrefetch && current && ttl > 0) entry.mail = 'prefetched';
    if (current) this.cache.set(key, entry);
    return { mode: 'fresh', entry, ttl, upstreams: res.upstreams };
  }

  /** Whether a hit on `e` at `now` should refresh it: data asked for in the last 10% of its TTL, not refreshed yet. */
  private prefetchDue(e: CacheEntry, now: number): boolean {
    if (!this.cfg.prefetch || e.refreshing) return false;
    if (e.status !== 'secure' && e.status !== 'insecure' && e.status !== 'unchecked') return false;
    return (e.expires - now) * 10 <= e.ttl * 1000;
  }

  /** Refresh an entry in the background (once per entry; a resolution already running for the key counts). */
  private prefetch(key: string, e: CacheEntry, now: number, q: Question, cd: boolean): void {
    if (this.inflight.has(key)) {
      e.refreshing = true;
      return;
    }
    // At the global bound, or while client misses wait for their turn, a prefetch waits for a later hit (the
    // entry is still fresh): admission's one rule for background work, the mail prefetch's too.
    if (this.admission && !this.admission.prefetchAllowed()) return;
    e.refreshing = true;
    this.counters.prefetches++;
    this.logger?.debug({ name: keyNameText(key), ttlLeft: e.ttlLeft(now) }, 'prefetch');
    this.resolveShared(key, q, cd, true).catch((err: unknown) => this.logger?.warn({ err, name: keyNameText(key) }, 'prefetch failed'));
  }

  /** What the mail prefetch sees of the cache (CD=0 keys) and how it resolves: as a client's miss. */
  private mailCache() {
    return {
      peek: (q: Question): MailPeek => {
        const key = questionKey(q, false);
        const running = this.inflight.get(key);
        if (running) return { kind: 'running', done: running.then((s) => (s.mode === 'fresh' ? s.entry : undefined)) };
        const e = this.cache.peek(key);
        // What a client would be served without a resolution: fresh, or stale after a failed refresh (lookup()).
        const state = e ? this.cache.state(key, e, this.clock.now()) : 'gone';
        return state === 'fresh' ? { kind: 'fresh', entry: e! } : state === 'stale' ? { kind: 'stale' } : { kind: 'none' };
      },
      // Below the global bound, and no client miss waiting for its turn to start (admission.ts, as the TTL prefetch).
      allowed: (): boolean => !this.admission || this.admission.prefetchAllowed(),
      start: async (q: Question): Promise<CacheEntry | undefined> => {
        const s = await this.resolveShared(questionKey(q, false), q, false, false, true);
        return s.mode === 'fresh' ? s.entry : undefined;
      },
    };
  }

  /** A miss past the admission bounds: SERVFAIL with the EDE saying why, at once, nothing stored. */
  private refuse(query: Message, client: ClientInfo, scope: RefusalScope): Answer {
    const ede = refusalEde(scope);
    const t = client.trace;
    if (t) {
      t.path = 'server';
      t.ede = [ede.code];
    }
    const log = this.logger;
    const now = this.clock.now();
    // A clock stepped back does not silence the line until it is back where it was.
    if (log && (now - this.refusalLoggedAt >= 60_000 || now < this.refusalLoggedAt)) {
      this.refusalLoggedAt = now;
      const a = this.admission!.stats();
      log.warn(
        { client: client.address, query: questionText(query), bound: scope, limits: a.limits, resolutions: a.resolutions, refused: a.refused },
        `refusing queries past the admission bound (${scope === 'client' ? `${a.limits.maxPerClient} per client` : `${a.limits.maxResolutions} resolutions`}): SERVFAIL, EDE 0; at most one such line a minute`,
      );
    } else if (log && (log.isLevelEnabled?.('debug') ?? true)) {
      log.debug({ client: client.address, query: questionText(query), bound: scope }, 'miss refused by the admission bound');
    }
    return { rcode: Rcode.SERVFAIL, answer: [], authority: [], additional: [], ede: [ede] };
  }

  private logResolution(qtext: string, res: Resolution): void {
    const log = this.logger;
    if (!log || !(log.isLevelEnabled?.('debug') ?? true)) return;
    const status = res.kind === 'answer' ? verdictSummary(res.verdict) : res.kind;
    log.debug(
      { query: qtext, upstreams: res.upstreams, status, trail: res.kind === 'answer' ? res.verdict.trail : undefined },
      `${qtext} resolved: ${status}`,
    );
  }
}

/**
 * The reply to `packet` from entry `e`: fresh with `ttl`, or stale (`ttl` undefined: TTL `staleTtl`, EDE 3).
 * Undefined when it does not fit the client's limit (the normal path truncates).
 */
function renderFor(
  packet: Uint8Array, view: QueryView, client: ClientInfo, udpMaxSize: number, e: CacheEntry, ttl: number | undefined, staleTtl: number,
): Uint8Array | undefined {
  const limit = client.transport === 'udp' ? udpLimit(view, udpMaxSize) : 65535;
  return ttl === undefined ? renderReply(packet, view, e, staleTtl, STALE_EDE, udpMaxSize, limit) : renderReply(packet, view, e, ttl, undefined, udpMaxSize, limit);
}

/** The reply bytes for `packet` from what it is served (undefined when the fast-path renderer cannot make it). */
function renderServed(packet: Uint8Array, client: ClientInfo, udpMaxSize: number, key: string, s: Served, staleTtl: number): FastReply | undefined {
  const view = viewQuery(packet);
  if (!view || view.key !== key) return undefined;
  const bytes = renderFor(packet, view, client, udpMaxSize, s.entry, s.mode === 'fresh' ? s.ttl : undefined, staleTtl);
  return bytes ? { bytes, rcode: s.entry.rcode } : undefined;
}

/** One client's answer from what it is served. */
function serve(query: Message, s: Served, staleTtl: number): Answer {
  const qw = questionWire(query.question[0]!);
  if (s.mode === 'fresh') return shapeOutcome(query, entryOutcome(s.entry, qw, s.ttl));
  return shapeOutcome(query, entryOutcome(s.entry, qw, staleTtl), STALE_EDE);
}

/** The question of a raw query the fast path accepted (for a prefetch). */
function packetQuestion(packet: Uint8Array, view: QueryView): Question {
  const name = Name.read(new WireReader(packet, 12));
  return { name, type: view.qtype, class: (packet[view.qEnd - 2]! << 8) | packet[view.qEnd - 1]! };
}
