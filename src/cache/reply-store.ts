/**
 * Where the fast path's reply octets live (render.ts): a slab the replies are carved from, and the octets after
 * the question that an entry keeps once it was rendered twice the same way, within a global budget.
 */
import type { CacheEntry, RenderedTail } from './entry.js';

/**
 * Replies are carved out of a slab: one ArrayBuffer for hundreds of replies, where Buffer.allocUnsafe takes a
 * new 8 KiB pool every 15-25 signed answers (an ArrayBuffer each, to allocate and to sweep at a scavenge: about
 * 6% of the fast path's own time in a profile). A reply's octets are never written again once it is returned
 * (a send the kernel queues keeps its own), and a slab lives until its last reply is gone.
 */
const SLAB_SIZE = 256 * 1024;
/** Larger replies get an ArrayBuffer of their own (they would waste the slab's tail). */
const SLAB_MAX_REPLY = 16 * 1024;

/** A new slab, not zero-filled (every reply writes all of its octets). */
function newSlab(): ArrayBuffer {
  return Buffer.allocUnsafeSlow(SLAB_SIZE).buffer as ArrayBuffer;
}

let slab = newSlab();
let slabUsed = 0;

/** `size` octets for a reply, to be written in full. */
export function replyBuffer(size: number): Uint8Array {
  if (size > SLAB_MAX_REPLY) return new Uint8Array(size);
  if (slabUsed + size > SLAB_SIZE) {
    slab = newSlab();
    slabUsed = 0;
  }
  const out = new Uint8Array(slab, slabUsed, size);
  slabUsed += (size + 7) & ~7;
  return out;
}

/**
 * Octets kept in entries' tails (entry.rendered) over all entries, at most; past it the oldest are dropped. An
 * entry keeps one once it is rendered twice the same way (the same second or not): hot names, not the long tail.
 * A dropped tail is rendered again on the next hit; an entry the cache let go stays reachable from here until
 * its tail is dropped.
 */
const TAIL_BUDGET = 2 * 1024 * 1024;
/**
 * Entries in the holders' list, at most. An entry whose tail was replaced by a number (asked another way) stays
 * listed without counting against TAIL_BUDGET, and one the cache let go is still referenced from the list: this
 * bound keeps the list (and the entries it holds on to) from growing without end when the octets never reach
 * the budget.
 */
const MAX_TAIL_HOLDERS = 8192;
/** Entries holding a tail, oldest first from `tailsHead` (compacted now and then). */
let tailHolders: CacheEntry[] = [];
let tailsHead = 0;
let tailOctets = 0;

/** Variant bits of `as` (RenderedTail): OPT record, DO, the type asked is a DNSSEC type. */
const variantOf = (as: number): number => as % 8;

/**
 * A reply was just rendered into `out` from `entry` the way `as` says (TTL and variant, see RenderedTail), the
 * question ending at `qEnd`, the reply at `end`: the first time this way, note it (a number, nothing kept); the
 * second time, keep the octets after the question on the entry, within TAIL_BUDGET.
 */
export function keepTail(entry: CacheEntry, as: number, udpSize: number, out: Uint8Array, qEnd: number, end: number, an: number, ns: number, ar: number): void {
  const before = entry.rendered;
  if (before === undefined || variantOf(typeof before === 'number' ? before : before.as) !== variantOf(as)) {
    if (typeof before === 'object') tailOctets -= before.octets.length;
    entry.rendered = as;
    return;
  }
  const tail: RenderedTail = { as, udpSize, an, ns, ar, octets: out.slice(qEnd, end) };
  if (typeof before === 'object') tailOctets -= before.octets.length;
  else tailHolders.push(entry);
  entry.rendered = tail;
  tailOctets += tail.octets.length;
  while ((tailOctets > TAIL_BUDGET || tailHolders.length - tailsHead > MAX_TAIL_HOLDERS) && tailsHead < tailHolders.length) {
    const old = tailHolders[tailsHead++]!;
    const t = old.rendered;
    if (typeof t === 'object') {
      tailOctets -= t.octets.length;
      old.rendered = undefined;
    }
  }
  if (tailsHead > 1024 && tailsHead * 2 > tailHolders.length) {
    tailHolders = tailHolders.slice(tailsHead);
    tailsHead = 0;
  }
}

/** Tails held, their octets and the entries listed (for the tests: the budgets hold). */
export function tailStats(): { holders: number; octets: number; listed: number } {
  let holders = 0;
  for (let i = tailsHead; i < tailHolders.length; i++) if (typeof tailHolders[i]!.rendered === 'object') holders++;
  return { holders, octets: tailOctets, listed: tailHolders.length - tailsHead };
}
