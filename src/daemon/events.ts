/**
 * Query events: subscribers (metrics, the debug log, a recent-queries view) attach through the daemon;
 * the listener builds an event only while at least one is attached (`active`), so with none the seam
 * costs one property read per query.
 */
import type { QueryEvent, QueryEventSink } from '../server/types.js';

export type QueryListener = (e: QueryEvent) => void;

export class QueryEvents implements QueryEventSink {
  private readonly listeners = new Set<QueryListener>();
  active = false;

  /** Attach a listener; returns the function that detaches it. */
  subscribe(listener: QueryListener): () => void {
    this.listeners.add(listener);
    this.active = true;
    return () => {
      this.listeners.delete(listener);
      this.active = this.listeners.size > 0;
    };
  }

  emit(e: QueryEvent): void {
    for (const l of this.listeners) l(e);
  }
}
