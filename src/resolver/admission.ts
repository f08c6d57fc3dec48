/**
 * Admission of cache misses (fairness under load): a bound on the upstream resolutions running at once, over
 * all clients, and on the queries of one client address waiting on resolutions. A miss past either bound is
 * answered at once with SERVFAIL and an EDE saying so, instead of waiting in a queue that grows with the
 * flood: one client asking random names (the water-torture pattern) then holds at most its own share of the
 * resolver, and another client's new names still get resolutions. Cached answers (fresh or stale, the fast
 * path's RFC 8198 synthesis included) never come here: they are never refused.
 *
 * - A miss that joins a resolution already running for its question costs no upstream work: only the
 *   per-client bound applies to it.
 * - Turns. At most `startsPerTurn` (default 8) resolutions start per turn of the event loop; the misses past
 *   it wait for the next turn, taken round-robin by client (one miss of each waiting client in turn). A
 *   resolution costs far more CPU (sending, then validating the answer) than reading a query, so without turns
 *   a flood of misses keeps the loop busy resolving and the listener reads at the pace of the resolutions:
 *   the queue is then the kernel's receive buffer, first come first served, where no bound can see it, and
 *   every client waits behind the flood (bench/fairness: cached answers 0.6-3 s behind one client's random
 *   names). With turns the listener keeps reading, the flood's misses wait in its own queue (counted by its
 *   bound, refused past it), and another client's miss starts at the next turn.
 * - Background work (no client: the TTL prefetch of cached.ts and the mail prefetch) never takes a client's
 *   place. One rule for both, `prefetchAllowed()`: a prefetch starts only below the global bound and while no
 *   client miss waits for its turn; otherwise it is skipped (counted), not queued. Its resolution then counts
 *   towards the global bound like a client's.
 * - Counts are per address as the listener reports it (IPv4-mapped IPv6 as IPv4); the map holds only
 *   addresses with a query waiting, so its size is bounded by the queries in flight.
 */
import { EdeCode, type EdeEntry } from '../wire/index.js';

export interface AdmissionLimits {
  /** Upstream resolutions running at once (distinct questions), over all clients and prefetches. */
  maxResolutions: number;
  /** Queries of one client address waiting on a resolution (its own or one it joined), or for their turn. */
  maxPerClient: number;
  /** Resolutions started per turn of the event loop at most (default 8); more wait for the next turn. */
  startsPerTurn?: number;
}

export const DEFAULT_STARTS_PER_TURN = 8;

/** Why a miss was refused. */
export type RefusalScope = 'client' | 'global';

/**
 * The decision for one miss: admitted (await `turn` when set, before starting its resolution; call `leave`
 * once answered), or refused.
 */
export type Admission =
  | { readonly admitted: true; readonly turn: Promise<void> | undefined; leave(): void }
  | { readonly admitted: false; readonly scope: RefusalScope };

export interface AdmissionStats {
  limits: AdmissionLimits;
  /** Resolutions running now (client misses and prefetches). */
  resolutions: number;
  /** Client queries waiting on a resolution now (their turn included). */
  waiting: number;
  /** Of those, the misses waiting for their turn to start a resolution. */
  queued: number;
  /** Client addresses with a query waiting now. */
  clients: number;
  /** Misses refused since start, by the bound that refused them. */
  refused: Record<RefusalScope, number>;
  /** Prefetches (TTL and mail) skipped because client misses came first: the global bound reached, or misses queued. */
  prefetchesSkipped: number;
}

/** The EDE of a refused miss (RFC 8914 code 0, Other: no code says "too busy for this client"). */
export function refusalEde(scope: RefusalScope): EdeEntry {
  return scope === 'client'
    ? { code: EdeCode.OTHER, text: 'too many queries in flight for this client: try again' }
    : { code: EdeCode.OTHER, text: 'too many queries in flight: the resolver is at its limit, try again' };
}

export class AdmissionControl {
  private resolutions = 0;
  private waiting = 0;
  private readonly perClient = new Map<string, number>();
  private readonly refused: Record<RefusalScope, number> = { client: 0, global: 0 };
  private prefetchesSkipped = 0;
  private readonly startsPerTurn: number;
  /** Resolutions started in this turn of the loop. */
  private startedThisTurn = 0;
  private turnScheduled = false;
  /** Misses waiting for their turn, per client; the Map's order is the round-robin ring. */
  private readonly queues = new Map<string, (() => void)[]>();
  private queued = 0;

  constructor(readonly limits: AdmissionLimits) {
    this.startsPerTurn = limits.startsPerTurn ?? DEFAULT_STARTS_PER_TURN;
    for (const [k, v] of Object.entries({ ...limits, startsPerTurn: this.startsPerTurn })) {
      if (!Number.isInteger(v) || v < 1) throw new RangeError(`admission limit ${k} must be a positive integer, got ${String(v)}`);
    }
  }

  /**
   * A client's miss: `joining` when a resolution for the same question is already running (then it starts
   * none, and needs no turn). Admitted misses await `turn` when set, and must call `leave()` exactly once
   * when answered (later calls do nothing).
   */
  enter(client: string, joining: boolean): Admission {
    const mine = this.perClient.get(client) ?? 0;
    if (mine >= this.limits.maxPerClient) {
      this.refused.client++;
      return { admitted: false, scope: 'client' };
    }
    if (!joining && this.resolutions + this.queued >= this.limits.maxResolutions) {
      this.refused.global++;
      return { admitted: false, scope: 'global' };
    }
    this.perClient.set(client, mine + 1);
    this.waiting++;
    let left = false;
    return {
      admitted: true,
      turn: joining ? undefined : this.turn(client),
      leave: () => {
        if (left) return;
        left = true;
        this.waiting--;
        const n = (this.perClient.get(client) ?? 1) - 1;
        if (n <= 0) this.perClient.delete(client);
        else this.perClient.set(client, n);
      },
    };
  }

  /** Start now (undefined) when this turn has room and nobody waits, else wait in the client's queue. */
  private turn(client: string): Promise<void> | undefined {
    if (this.queued === 0 && this.startedThisTurn < this.startsPerTurn) {
      this.startedThisTurn++;
      this.scheduleTurn();
      return undefined;
    }
    return new Promise<void>((wake) => {
      const q = this.queues.get(client);
      if (q) q.push(wake);
      else this.queues.set(client, [wake]);
      this.queued++;
      this.scheduleTurn();
    });
  }

  /** The next turn begins after this one's I/O (setImmediate: once per loop iteration while misses start). */
  private scheduleTurn(): void {
    if (this.turnScheduled) return;
    this.turnScheduled = true;
    setImmediate(() => this.nextTurn());
  }

  private nextTurn(): void {
    this.turnScheduled = false;
    this.startedThisTurn = 0;
    while (this.queued > 0 && this.startedThisTurn < this.startsPerTurn) {
      // The client at the front of the ring starts one miss, then goes to the back.
      const [client, q] = this.queues.entries().next().value as [string, (() => void)[]];
      const wake = q.shift()!;
      this.queues.delete(client);
      if (q.length > 0) this.queues.set(client, q);
      this.queued--;
      this.startedThisTurn++;
      wake();
    }
    if (this.startedThisTurn > 0) this.scheduleTurn();
  }

  /**
   * Whether background work (a TTL prefetch, a mail prefetch question) may start a resolution now: not when the
   * resolutions running have reached the global bound, nor while a client miss waits for its turn (it would start
   * ahead of that client). Counted as skipped when not.
   */
  prefetchAllowed(): boolean {
    if (this.queued === 0 && this.resolutions < this.limits.maxResolutions) return true;
    this.prefetchesSkipped++;
    return false;
  }

  /** A resolution started (after `enter` admitted its first client, or for a prefetch); call the result when it ends. */
  started(): () => void {
    this.resolutions++;
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      this.resolutions--;
    };
  }

  stats(): AdmissionStats {
    return {
      limits: { ...this.limits },
      resolutions: this.resolutions,
      waiting: this.waiting,
      queued: this.queued,
      clients: this.perClient.size,
      refused: { ...this.refused },
      prefetchesSkipped: this.prefetchesSkipped,
    };
  }
}
