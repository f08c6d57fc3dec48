/**
 * Query events: subscribers (metrics, the debug log, a recent-queries view) attach through the daemon;
 * the listener builds an event only while at least one is attached (`active`), so with none the seam
 * costs one property read per query.
 */
import type { QueryEvent, QueryEventSink } from '../server/types.js';

export type QueryListener = (e: QueryEvent) => void;

export class QueryEvents implements QueryEventSink {
  /** A new array on every (un)subscription, so that emit() walks a plain array and a listener may detach during it. */
  private listeners: readonly QueryListener[] = [];
  active = false;

  /** Attach a listener; returns the function that detaches it. */
  subscribe(listener: QueryListener): () => void {
    this.listeners = [...this.listeners, listener];
    this.active = true;
    let attached = true;
    return () => {
      if (!attached) return;
      attached = false;
      const i = this.listeners.indexOf(listener);
      this.listeners = this.listeners.filter((_, k) => k !== i);
      this.active = this.listeners.length > 0;
    };
  }

  emit(e: QueryEvent): void {
    const ls = this.listeners;
    for (let i = 0; i < ls.length; i++) ls[i]!(e);
  }
}
