/**
 * Test helpers for the response validator: an in-memory KeySource (secure keys for listed zones,
 * listed insecure and bogus zones, everything else bogus dnskey-missing), a validation context at a
 * fixed time, and message builders.
 */
import { ManualClock } from '../../src/clock.js';
import { createVerifier } from '../../src/crypto/index.js';
import { createBudget } from '../../src/validator/budget.js';
import {
  DEFAULT_LIMITS, DEFAULT_SKEW, type KeySource, type ValidationContext, type ValidatorLimits, type ZoneKeys,
} from '../../src/validator/types.js';
import {
  Name, RRClass, emptyFlags, keyTag, parseRR, type DNSKEYData, type Message, type Question, type RR,
} from '../../src/wire/index.js';

export interface MemoryKeySourceOptions {
  /** Zones with validated keys (as if from a trust anchor). */
  secure?: Record<string, RR<DNSKEYData>[]>;
  /** Zones proven insecure (no DS); names below them are insecure too unless a deeper zone is listed. */
  insecure?: string[];
  /** Zones whose keys are bogus. */
  bogus?: string[];
  /** Zones whose keys could not be fetched. */
  indeterminate?: string[];
  validUntil?: number;
}

export interface MemoryKeySource extends KeySource {
  /** Every call, as "keys <zone>" or "zoneOf <name>". */
  calls: string[];
}

export function memoryKeySource(o: MemoryKeySourceOptions): MemoryKeySource {
  const validUntil = o.validUntil ?? Number.POSITIVE_INFINITY;
  type Entry = { zone: Name; state: 'secure' | 'insecure' | 'bogus' | 'indeterminate'; keys: RR<DNSKEYData>[] };
  const entries: Entry[] = [];
  for (const [z, keys] of Object.entries(o.secure ?? {})) entries.push({ zone: Name.fromText(z), state: 'secure', keys });
  for (const z of o.insecure ?? []) entries.push({ zone: Name.fromText(z), state: 'insecure', keys: [] });
  for (const z of o.bogus ?? []) entries.push({ zone: Name.fromText(z), state: 'bogus', keys: [] });
  for (const z of o.indeterminate ?? []) entries.push({ zone: Name.fromText(z), state: 'indeterminate', keys: [] });

  const stateOf = (e: Entry): ZoneKeys => {
    const zone = e.zone;
    switch (e.state) {
      case 'secure':
        return {
          security: 'secure', zone, keys: e.keys, validUntil,
          trail: [{ step: 'keys', zone: zone.toText(), security: 'secure', keyTags: e.keys.map((k) => keyTag(k.rdata)), via: 'anchor' }],
        };
      case 'insecure': {
        const reason = { kind: 'no-ds', zone: zone.toText() } as const;
        return { security: 'insecure', zone, reason, validUntil, trail: [{ step: 'insecure', reason }] };
      }
      case 'bogus': {
        const reason = { kind: 'ds-mismatch', zone: zone.toText() } as const;
        return { security: 'bogus', zone, reason, validUntil, trail: [{ step: 'bogus', reason }] };
      }
      case 'indeterminate':
        return { security: 'indeterminate', zone, detail: 'timeout', validUntil, trail: [] };
    }
  };
  const deepest = (name: Name): Entry | undefined =>
    entries.filter((e) => name.isSubdomainOf(e.zone)).sort((a, b) => b.zone.labelCount - a.zone.labelCount)[0];
  const missing = (zone: Name): ZoneKeys => {
    const reason = { kind: 'dnskey-missing', zone: zone.toText() } as const;
    return { security: 'bogus', zone, reason, validUntil, trail: [{ step: 'bogus', reason }] };
  };

  const calls: string[] = [];
  return {
    calls,
    async keysForZone(zone) {
      calls.push(`keys ${zone.toText()}`);
      const e = deepest(zone);
      if (!e) return missing(zone);
      if (e.zone.equals(zone)) return stateOf(e);
      // Below an insecure zone everything is insecure; below a secure zone an unknown zone has no keys.
      if (e.state === 'insecure') return stateOf(e);
      return missing(zone);
    },
    async zoneOf(name) {
      calls.push(`zoneOf ${name.toText()}`);
      const e = deepest(name);
      return e ? stateOf(e) : missing(name);
    },
  };
}

/** A validation context at a fixed time (ms), with the project's auto verifier. */
export function contextAt(ms: number, limits: Partial<ValidatorLimits> = {}): ValidationContext {
  const l = { ...DEFAULT_LIMITS, ...limits };
  return { clock: new ManualClock(ms), crypto: createVerifier('auto'), limits: l, skew: DEFAULT_SKEW, budget: createBudget(l) };
}

export function question(name: string, type: number): Question {
  return { name: Name.fromText(name), type, class: RRClass.IN };
}

/** Records from presentation lines. */
export const rrs = (lines: readonly string[]): RR[] => lines.map((l) => parseRR(l));

export interface Sections {
  answer?: RR[];
  authority?: RR[];
  additional?: RR[];
  rcode?: number;
  /** The question section, when it differs from the question asked. */
  echo?: Question;
}

/** A response message as an upstream recursive resolver would send it. */
export function response(q: Question, s: Sections = {}): Message {
  return {
    id: 1,
    opcode: 0,
    flags: { ...emptyFlags(), qr: true, rd: true, ra: true },
    rcode: s.rcode ?? 0,
    question: [s.echo ?? q],
    answer: s.answer ?? [],
    authority: s.authority ?? [],
    additional: s.additional ?? [],
  };
}
