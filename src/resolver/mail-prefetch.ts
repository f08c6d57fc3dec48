/**
 * MTA-aware prefetch. An MTA doing DANE asks, for a new destination, in three dependent rounds: MX; then A and
 * AAAA of the MX hosts (often at a mail provider, in another zone with its own chain of trust); then TLSA at
 * `_25._tcp.<host>` for the hosts whose address records are SECURE. Each round pays the upstream round trip.
 * When a client is served an MX answer, this fetches the next two rounds in the background, so that the MTA's
 * next questions are cache hits:
 *
 * - A and AAAA of the first `mailHosts` MX hosts by preference (null MX and root exchanges skipped, RFC 7505),
 *   then TLSA where Postfix looks for it (`tlsaBases`). Hosts that do not exist (NXDOMAIN) or whose addresses
 *   are not SECURE get no TLSA fetch; CNAME'd hosts are followed (the resolution chases the chain).
 * - The same path as a client's miss: each question goes through the caching resolver's shared resolution
 *   (CD=0, RFC 8198 synthesis included, the chain of trust fetched and cached as for a client) and its outcome
 *   is stored under the same key with the same status, data and TTL rules. A BOGUS or failed fetch is stored
 *   as a client's miss would store it (`bogusTtl`, `failureTtl`; a failure keeps the fresh or stale data the
 *   key still holds): what a client asks later gets the same answer either way. A question already fresh in
 *   the cache, or being resolved, starts nothing (its result is used); a client asking during the fetch joins it.
 * - Bounded: at most `maxInFlight` background resolutions at once; past that, questions wait in a queue of
 *   4 × `maxInFlight` (TLSA first: its host's MTA is the closest to asking), and are skipped past it. A question
 *   whose turn comes while admission says the resolver is busy (its global bound reached, or client misses
 *   waiting for their turn) is skipped: background work never takes a client's place.
 * - Counted: resolutions started, entries so stored later served to a client (the first hit), wasted (expired,
 *   evicted or flushed before any client was served them), skipped by cause.
 */
import { decodeEntry, questionWire, type CacheEntry } from '../cache/entry.js';
import type { PrefetchConfig } from '../config/schema.js';
import type { Logger } from '../log.js';
import { mxHosts, tlsaBaseDomains, tlsaOwner } from '../mail/destination.js';
import { Name, RRClass, RRType, Rcode, type Question, type RR } from '../wire/index.js';

/** Why a host or question was not prefetched: past `mailHosts`, the queue of `maxInFlight` full, the resolver busy. */
export type MailSkip = 'hosts' | 'inflight' | 'load';

export interface MailPrefetchStats {
  /** MX answers served to clients whose hosts were prefetched. */
  answers: number;
  /** Background resolutions started (questions already cached or being resolved start none). */
  started: number;
  /** Entries a prefetch stored that a client was later served (counted at the first). */
  hits: number;
  /** Entries a prefetch stored that expired or left the cache before any client was served them. */
  wasted: number;
  /** Hosts (`hosts`) and questions (`inflight`, `load`) not prefetched, by cause. */
  skipped: Record<MailSkip, number>;
  /** Background resolutions running now, and questions waiting for one. */
  inFlight: number;
  queued: number;
}

/** What a question is in the cache right now, for a CD=0 client. */
export type MailPeek =
  | { readonly kind: 'fresh'; readonly entry: CacheEntry }
  /** Being resolved (a client's miss or another prefetch): its entry when done, undefined when served stale. */
  | { readonly kind: 'running'; readonly done: Promise<CacheEntry | undefined> }
  /** Expired and served stale for now (its last refresh failed moments ago): a client would not resolve it either. */
  | { readonly kind: 'stale' }
  | { readonly kind: 'none' };

/** What the caching resolver offers the prefetch (cached.ts). */
export interface MailPrefetchCache {
  peek(q: Question): MailPeek;
  /** Whether a background resolution may start now without taking a client's place (admission). */
  allowed(): boolean;
  /** Resolve `q` as a CD=0 client's miss and store it (marked `prefetched`); the entry, undefined when served stale. */
  start(q: Question): Promise<CacheEntry | undefined>;
}

/**
 * The MX hosts of an answer, most preferred first, each once (`mail/destination.ts`); none for an RFC 7505 null
 * MX, and none without MX records (the domain as its own host is not prefetched).
 */
export function mailHosts(answer: readonly RR[]): Name[] {
  const mx = mxHosts(answer);
  return mx.kind === 'hosts' ? mx.hosts.map((m) => m.exchange) : [];
}

/** The answer records of an entry stored for `name`/`type`. */
function answerOf(e: CacheEntry, name: Name, type: number): RR[] {
  return e.an === 0 ? [] : decodeEntry(e, questionWire({ name, type, class: RRClass.IN }), 0).answer;
}

/**
 * The TLSA base domains of an MX host, in the order Postfix looks them up, from its A and AAAA answers.
 * Postfix (`tls_dane_resolve()`, src/tls/tls_dane.c) asks TLSA only for a host whose address records are
 * DNSSEC-validated: first at the CNAME-expanded name (the owner of the address records), then, when nothing is
 * found there and the host is an alias, at the MX host name itself (RFC 7672 §2.2.3: `mail/destination.ts`'s rule,
 * the DANE check's too). It does so whatever the MX RRset's status (`smtp_tls_dane_insecure_mx_policy = dane`, the
 * default since compatibility level 3.6; the mail world's contract says the same). An alias whose target is
 * insecure gets a TLSA lookup at the alias only after a CNAME query of its own proves the alias secure: not
 * prefetched.
 */
export function tlsaBases(host: Name, answers: readonly { entry: CacheEntry | undefined; type: number }[]): Name[] {
  for (const { entry, type } of answers) {
    if (!entry || entry.status !== 'secure' || entry.rcode !== Rcode.NOERROR) continue;
    const addr = answerOf(entry, host, type).find((r) => r.type === type);
    if (addr) return tlsaBaseDomains(host, addr.name);
  }
  return [];
}

/**
 * Whether a TLSA answer is Postfix's "not found" (TLS_DANE_FLAG_NORRS), after which it tries the next base
 * domain: NXDOMAIN, NODATA, or records that are not DNSSEC-validated. A BOGUS or failed lookup is an error
 * (Postfix stops: the host is skipped), and secure TLSA records are found.
 */
export function tlsaNotFound(e: CacheEntry, owner: Name): boolean {
  if (e.status === 'insecure') return true;
  if (e.status !== 'secure') return false;
  if (e.rcode === Rcode.NXDOMAIN) return true;
  return e.rcode === Rcode.NOERROR && !answerOf(e, owner, RRType.TLSA).some((r) => r.type === RRType.TLSA);
}

/** What the cache already holds or is resolving for a question (no resolution to start). */
function held(p: Exclude<MailPeek, { kind: 'none' }>): CacheEntry | Promise<CacheEntry | undefined> | undefined {
  switch (p.kind) {
    case 'fresh': return p.entry;
    case 'running': return p.done;
    case 'stale': return undefined;
  }
}

type Lane = 'tlsa' | 'address';

export class MailPrefetch {
  private readonly counts = { answers: 0, started: 0, hits: 0, wasted: 0 };
  private readonly skipped: Record<MailSkip, number> = { hosts: 0, inflight: 0, load: 0 };
  /** Slots taken (resolutions running, and slots handed to a waiting question that has not resumed yet). */
  private inFlight = 0;
  /** Questions waiting for a slot, woken holding one; TLSA first. */
  private readonly queues: Record<Lane, (() => void)[]> = { tlsa: [], address: [] };
  private readonly maxQueued: number;
  /** MX answers whose prefetch is under way, and who waits for none to be. */
  private active = 0;
  private idlers: (() => void)[] = [];

  constructor(private readonly cfg: PrefetchConfig, private readonly cache: MailPrefetchCache, private readonly logger?: Logger) {
    this.maxQueued = cfg.maxInFlight * 4;
  }

  stats(): MailPrefetchStats {
    return { ...this.counts, skipped: { ...this.skipped }, inFlight: this.inFlight, queued: this.queued };
  }

  /**
   * A client is served fresh entry `e` for a question of `qtype`: the first client of an entry a prefetch stored
   * counts as its hit; an MX answer with data (SECURE or INSECURE, NOERROR; not CD=1, whose data is unchecked)
   * starts the prefetch of its hosts, once per entry. `qname` is read only then (the fast path parses it).
   */
  served(e: CacheEntry, qtype: number, cd: boolean, qname: () => Name): void {
    if (e.mail === 'prefetched') {
      e.mail = undefined;
      this.counts.hits++;
      return;
    }
    if (qtype !== RRType.MX || cd || e.mail === 'hosts' || e.rcode !== Rcode.NOERROR) return;
    if (e.status !== 'secure' && e.status !== 'insecure') return;
    e.mail = 'hosts';
    const name = qname();
    this.onMxAnswer(name, answerOf(e, name, RRType.MX));
  }

  /** An entry a prefetch stored expired or left the cache unserved. */
  noteUnused(): void {
    this.counts.wasted++;
  }

  /** Resolves once no prefetch is under way (tests, and a clean stop that wants the cache settled). */
  idle(): Promise<void> {
    return this.active === 0 ? Promise.resolve() : new Promise((r) => this.idlers.push(r));
  }

  /** A client was served this MX answer (the answer section of `domain`'s MX entry): fetch its hosts' records. */
  onMxAnswer(domain: Name, answer: readonly RR[]): void {
    const hosts = mailHosts(answer);
    if (hosts.length === 0) return;
    const picked = hosts.slice(0, this.cfg.mailHosts);
    this.skipped.hosts += hosts.length - picked.length;
    this.counts.answers++;
    this.active++;
    this.logger?.debug({ domain: domain.toText(), hosts: picked.map((h) => h.toText()) }, 'mail prefetch');
    Promise.all(picked.map((h) => this.host(h)))
      .catch((err: unknown) => this.logger?.warn({ err, domain: domain.toText() }, 'mail prefetch failed'))
      .finally(() => {
        if (--this.active === 0) for (const r of this.idlers.splice(0)) r();
      });
  }

  private get queued(): number {
    return this.queues.tlsa.length + this.queues.address.length;
  }

  /** One host: A and AAAA in parallel, then TLSA where Postfix would ask it, one base domain after the other. */
  private async host(name: Name): Promise<void> {
    const [a, aaaa] = await Promise.all([this.fetch(name, RRType.A, 'address'), this.fetch(name, RRType.AAAA, 'address')]);
    for (const base of tlsaBases(name, [{ entry: a, type: RRType.A }, { entry: aaaa, type: RRType.AAAA }])) {
      const owner = tlsaOwner(base);
      if (!owner) continue; // too long a name for the prefix: no TLSA there
      const t = await this.fetch(owner, RRType.TLSA, 'tlsa');
      if (!t || !tlsaNotFound(t, owner)) break;
    }
  }

  /** One question: its cached or running result, else a background resolution within the caps. */
  private async fetch(name: Name, type: number, lane: Lane): Promise<CacheEntry | undefined> {
    const q: Question = { name, type, class: RRClass.IN };
    const p = this.cache.peek(q);
    if (p.kind !== 'none') return held(p);
    if (this.inFlight >= this.cfg.maxInFlight || this.queued > 0) {
      if (this.queued >= this.maxQueued) {
        this.skipped.inflight++;
        return undefined;
      }
      await new Promise<void>((wake) => this.queues[lane].push(wake));
      // Woken holding a slot. What happened while it waited (a client asked, another prefetch) is looked at again.
      const again = this.cache.peek(q);
      if (again.kind !== 'none') {
        this.release();
        return held(again);
      }
    } else this.inFlight++;
    if (!this.cache.allowed()) {
      this.skipped.load++;
      this.release();
      return undefined;
    }
    this.counts.started++;
    try {
      return await this.cache.start(q);
    } finally {
      this.release();
    }
  }

  /** A slot is free: handed to the next waiting question (TLSA first), else given back. */
  private release(): void {
    const wake = this.queues.tlsa.shift() ?? this.queues.address.shift();
    if (wake) wake();
    else this.inFlight--;
  }
}
