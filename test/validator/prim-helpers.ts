/** Helpers for the validator-primitive tests: RFC vectors as records, contexts, counting verifiers. */
import { ManualClock } from '../../src/clock.js';
import { createVerifier, type SignatureVerifier, type VerifyResult } from '../../src/crypto/index.js';
import { createBudget } from '../../src/validator/budget.js';
import {
  DEFAULT_LIMITS, DEFAULT_SKEW, type SignedRRset, type ValidationContext, type ValidatorLimits, type ZoneKeys,
} from '../../src/validator/types.js';
import { Name, RRType, parseZoneText, type DNSKEYData, type RR } from '../../src/wire/index.js';

export { VECTORS, loadVector } from '../support/vectors.js';

export const n = (s: string): Name => Name.fromText(s);

export function parseLines(lines: readonly string[]): RR[] {
  return lines.length === 0 ? [] : parseZoneText(lines.join('\n'));
}

/** A verifier wrapper that counts crypto calls. */
export class CountingVerifier implements SignatureVerifier {
  readonly name = 'openssl' as const;
  calls = 0;
  constructor(readonly inner: SignatureVerifier = createVerifier('openssl')) {}
  supports(alg: number): boolean {
    return this.inner.supports(alg);
  }
  verify(alg: number, key: Uint8Array, data: Uint8Array, sig: Uint8Array): VerifyResult {
    this.calls++;
    return this.inner.verify(alg, key, data, sig);
  }
}

export interface TestCtx extends ValidationContext {
  clock: ManualClock;
  crypto: CountingVerifier;
}

export function makeCtx(atMs: number, limits: Partial<ValidatorLimits> = {}): TestCtx {
  const all = { ...DEFAULT_LIMITS, ...limits };
  return { clock: new ManualClock(atMs), crypto: new CountingVerifier(), limits: all, skew: DEFAULT_SKEW, budget: createBudget(all) };
}

export function secureKeys(zone: Name, keys: RR[]): Extract<ZoneKeys, { security: 'secure' }> {
  return {
    security: 'secure', zone, keys: keys.filter((k): k is RR<DNSKEYData> => k.type === RRType.DNSKEY), validUntil: Infinity, trail: [],
  };
}

export function findSet(sets: SignedRRset[], name: string, type: number): SignedRRset {
  const s = sets.find((x) => x.name.equals(n(name)) && x.type === type);
  if (!s) throw new Error(`no ${name} ${type} RRset`);
  return s;
}

/** Replace one record of a list (by identity) with a copy built by `f`. */
export function replaceRR(rrs: RR[], target: RR, f: (rr: RR) => RR): RR[] {
  return rrs.map((r) => (r === target ? f(r) : r));
}

/** The response records of one Appendix B item, per section. */
export interface Resp {
  qname: Name;
  qtype: number;
  answer: RR[];
  authority: RR[];
  additional: RR[];
}

export function responses(vec: any): Map<string, Resp> {
  const out = new Map<string, Resp>();
  for (const it of vec.responses.items) {
    const rn = it.records_normalized;
    out.set(it.section, {
      qname: n(it.question.qname),
      qtype: RRType[it.question.qtype as keyof typeof RRType],
      answer: parseLines(rn.answer ?? []),
      authority: parseLines(rn.authority ?? []),
      additional: parseLines(rn.additional ?? []),
    });
  }
  return out;
}

/** The records of `type` in a list. */
export const ofType = (rrs: readonly RR[], type: number): RR[] => rrs.filter((r) => r.type === type);
