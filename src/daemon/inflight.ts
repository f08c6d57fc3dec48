/**
 * The queries the resolver is working on, for a clean stop (SIGTERM): once draining, the handler takes no new
 * work (a query the cache cannot answer at once gets SERVFAIL with EDE 14 Not Ready, "shutting down"), and
 * `drain` resolves when the queries already started are answered, or at the deadline.
 */
import type { Answer, CachedAnswer, QueryHandler } from '../server/types.js';
import { EdeCode, Rcode } from '../wire/index.js';

export const SHUTTING_DOWN_TEXT = 'dnssec-stubd is shutting down';

export interface DrainResult {
  /** Queries that were in flight when the drain began. */
  readonly inFlight: number;
  /** Of those, the ones still unanswered at the deadline (their answers are lost). */
  readonly abandoned: number;
  readonly ms: number;
}

export class InFlight {
  private count = 0;
  private draining = false;
  private idle: (() => void)[] = [];

  get size(): number {
    return this.count;
  }

  /** Counts one query's end; wakes `drain` when it was the last. */
  private readonly done = (): void => {
    if (--this.count === 0) for (const f of this.idle.splice(0)) f();
  };

  /**
   * The handler the listener calls: counts what it starts; refuses new work while draining. The count ends on a
   * side branch of the handler's own promise, which is returned as is: a `.finally()` chained in front of the
   * caller would cost a promise and two turns per query (measured: about 0.21 µs a query against 0.03 µs).
   */
  wrap(handler: QueryHandler): QueryHandler {
    return (query, client) => {
      if (this.draining) {
        if (client.trace) Object.assign(client.trace, { path: 'server', status: 'failure', ede: [EdeCode.NOT_READY] });
        return Promise.resolve(shuttingDown());
      }
      this.count++;
      let p: Promise<Answer | CachedAnswer>;
      try {
        p = handler(query, client);
      } catch (err) {
        this.done();
        return Promise.reject(err);
      }
      p.then(this.done, this.done);
      return p;
    };
  }

  /** Stop taking new work; resolve when nothing is in flight, or after `deadlineMs`. */
  async drain(deadlineMs: number): Promise<DrainResult> {
    this.draining = true;
    const t0 = performance.now();
    const inFlight = this.count;
    if (inFlight > 0) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        new Promise<void>((resolve) => this.idle.push(resolve)),
        new Promise<void>((resolve) => (timer = setTimeout(resolve, deadlineMs))),
      ]);
      clearTimeout(timer);
    }
    return { inFlight, abandoned: this.count, ms: Math.round(performance.now() - t0) };
  }
}

function shuttingDown(): Answer {
  return { rcode: Rcode.SERVFAIL, answer: [], authority: [], additional: [], ede: [{ code: EdeCode.NOT_READY, text: SHUTTING_DOWN_TEXT }] };
}
