/**
 * Which upstreams a query may use, by what it needs:
 *
 *  - 'dnssec'        validated answers and the chain's DS/DNSKEY fetches: DNSSEC-capable upstreams by
 *                    priority, then (last resort) ones that were DNSSEC-capable before they became
 *                    unreachable. Never a NOT-DNSSEC-capable one: its stripped answers would look BOGUS.
 *  - 'prefer-dnssec' CD=1 and negative-trust-anchor answers (not validated): the 'dnssec' order, then the rest.
 *  - 'insecure'      the insecure fallback: only the upstreams that are not DNSSEC-capable.
 *  - 'any'           every upstream by priority (a pool without DNSSEC needs, as before probing existed).
 *
 * Within each group the order is the pool's: available upstreams by priority, then held-down ones.
 * An upstream not probed yet counts as DNSSEC-capable only in a pool without a health monitor
 * (`strict` false): with a monitor, it waits for its first probe.
 */
import type { CapabilityKind } from './capability.js';
import { tryOrder, type UpstreamState } from './state.js';

export type UpstreamNeed = 'dnssec' | 'prefer-dnssec' | 'insecure' | 'any';

export interface QueryOptions {
  /** Default 'any'. */
  readonly need?: UpstreamNeed;
  /** Upstream labels (`address:port`) not to ask, e.g. the ones whose answer is being re-checked. */
  readonly exclude?: ReadonlySet<string>;
}

/** An upstream the query could not use, and why. */
export interface UnusableUpstream {
  readonly upstream: string;
  readonly why: CapabilityKind | 'excluded';
}

export interface Selection {
  readonly order: UpstreamState[];
  readonly unusable: UnusableUpstream[];
}

type Group = 'validating' | 'last-resort' | 'plain';

function groupOf(st: UpstreamState, strict: boolean): Group {
  const c = st.dnssec;
  switch (c.kind) {
    case 'capable':
      return 'validating';
    case 'unprobed':
      return strict ? 'plain' : 'validating';
    case 'unreachable':
      return c.wasCapable ? 'last-resort' : 'plain';
    case 'not-capable':
      return 'plain';
  }
}

export function selectUpstreams(
  states: readonly UpstreamState[], now: number, need: UpstreamNeed, exclude: ReadonlySet<string> | undefined, strict: boolean,
): Selection {
  const unusable: UnusableUpstream[] = [];
  const candidates = states.filter((s) => {
    if (exclude?.has(s.label)) {
      unusable.push({ upstream: s.label, why: 'excluded' });
      return false;
    }
    return true;
  });
  if (need === 'any') return { order: tryOrder(candidates, now), unusable };
  const by = (g: Group): UpstreamState[] => tryOrder(candidates.filter((s) => groupOf(s, strict) === g), now);
  const dnssec = [...by('validating'), ...by('last-resort')];
  const plain = by('plain');
  switch (need) {
    case 'dnssec':
      for (const s of plain) unusable.push({ upstream: s.label, why: s.dnssec.kind });
      return { order: dnssec, unusable };
    case 'prefer-dnssec':
      return { order: [...dnssec, ...plain], unusable };
    case 'insecure':
      for (const s of dnssec) unusable.push({ upstream: s.label, why: s.dnssec.kind });
      return { order: plain, unusable };
  }
}

/** Whether a validated query could be sent right now to an upstream that is DNSSEC-capable and not held down. */
export function dnssecAvailable(states: readonly UpstreamState[], now: number, strict: boolean): boolean {
  return states.some((s) => groupOf(s, strict) === 'validating' && !s.isHeldDown(now));
}
