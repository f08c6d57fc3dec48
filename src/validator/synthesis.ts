/**
 * Aggressive use of DNSSEC-validated cache (RFC 8198): answer a question from NSEC/NSEC3 records and
 * wildcard RRsets that an earlier SECURE answer of the same zone proved, without asking upstream.
 *
 * - NXDOMAIN: a cached NSEC covers the name and one covers (or an NSEC3 proof denies) the wildcard at
 *   the closest encloser (RFC 8198 §5.1, §5.2).
 * - NODATA: a cached NSEC at the name (or at the matching wildcard) lacks the type and CNAME, or the
 *   name is an empty non-terminal (§5.2).
 * - Wildcard answers: the wildcard RRset of the type is cached and a cached NSEC/NSEC3 proves that
 *   no closer name exists (§5.3).
 *
 * The proofs are the validator's own (denial.ts) run over the cached records, so every rule that
 * guards a live answer guards a synthesized one: NSEC at a delegation (NS without SOA) or a DNAME does
 * not deny names below it, NSEC3 opt-out spans prove nothing secure (no synthesis), iteration limits hold.
 * The records were verified when learned; this file only reads them, with the clock, and is pure.
 * Not synthesized: DS (it lives on the parent side of a cut and is the chain of trust's business), the
 * meta types (RRSIG, NSEC, NSEC3, ANY), CNAME expansions of wildcards for other types.
 * A negative answer needs the zone's signed SOA (RFC 2308 TTL: min of its TTL and MINIMUM, RFC 9077).
 * The resolver keeps the default upstreams' view only: names under a forward zone are neither learned
 * from nor synthesized (a private view there may differ from what the public NSEC chain says).
 */
import { RRClass, RRType, Rcode, type NSECData, type Name, type Question, type RR, type SOAData } from '../wire/index.js';
import { createBudget } from './budget.js';
import { proveNodata, proveNxdomain, proveWildcardAnswer, type DenialResult } from './denial.js';
import { nsecCovers } from './nsec.js';
import { wildcardAt } from './proof.js';
import type { AnswerKind, SignedRRset, TrailStep, ValidationContext, Verdict } from './types.js';

/** A cached validated RRset and when it stops being usable (absolute ms). */
export interface HeldSet {
  set: SignedRRset;
  expires: number;
}

/** The validated records cached for one zone. */
export interface ZoneDenialView {
  readonly zone: Name;
  /** The cached NSEC RRset whose owner is `name`, else the nearest one before it in canonical order. */
  nsecAtOrBefore(name: Name, now: number): HeldSet | undefined;
  /** Every cached NSEC3 RRset of the zone. */
  nsec3(now: number): HeldSet[];
  /** The cached wildcard RRset at `name` ("*.<closest encloser>") of `type`. */
  wildcard(name: Name, type: number, now: number): HeldSet | undefined;
  /** The cached wildcard RRsets of `type` (for NSEC3 zones, where the closest encloser comes from the proof). */
  wildcardsOfType(type: number, now: number): HeldSet[];
  soa(now: number): HeldSet | undefined;
}

export interface DenialView {
  /** The deepest zone at or above `name` with cached denial records. */
  zoneFor(name: Name, now: number): ZoneDenialView | undefined;
}

/** An answer made from the cache, shaped like an upstream's (records with their RRSIGs) plus its verdict. */
export interface Synthesized {
  rcode: number;
  answer: RR[];
  authority: RR[];
  verdict: Extract<Verdict, { security: 'secure' }>;
  /** The zone whose records made it. */
  zone: Name;
}

const NOT_SYNTHESIZED: ReadonlySet<number> = new Set([RRType.DS, RRType.RRSIG, RRType.NSEC, RRType.NSEC3, RRType.ANY, RRType.OPT]);

/** Answer `q` from the cached validated records, or undefined when they do not prove an answer. */
export function synthesize(q: Question, view: DenialView, ctx: ValidationContext): Synthesized | undefined {
  if (NOT_SYNTHESIZED.has(q.type) || q.class !== RRClass.IN) return undefined;
  const now = ctx.clock.now();
  const z = view.zoneFor(q.name, now);
  if (!z) return undefined;
  // A budget of its own: a failed attempt must not eat into the live query's NSEC3 hash budget.
  const s = new Synth(q, z, { ...ctx, budget: createBudget(ctx.limits) }, now);
  return z.nsec3(now).length > 0 ? s.fromNsec3() : s.fromNsec();
}

class Synth {
  constructor(
    private readonly q: Question,
    private readonly z: ZoneDenialView,
    private readonly ctx: ValidationContext,
    private readonly now: number,
  ) {}

  fromNsec(): Synthesized | undefined {
    const { q, z, ctx, now } = this;
    const zone = z.zone;
    const p = z.nsecAtOrBefore(q.name, now);
    if (!p) return undefined;
    const pn = p.set.rrs[0] as RR<NSECData>;
    if (pn.name.equals(q.name) || (nsecCovers(pn, q.name, zone) && pn.data.next.isSubdomainOf(q.name))) {
      // The name exists without the type, or is an empty non-terminal.
      return this.negative('nodata', proveNodata(q.name, q.type, p.set.rrs, zone, ctx), [p]);
    }
    if (!nsecCovers(pn, q.name, zone)) return undefined;
    const ce = q.name.suffix(Math.min(q.name.labelCount, Math.max(q.name.commonLabels(pn.name), q.name.commonLabels(pn.data.next), zone.labelCount)));
    const wc = wildcardAt(ce);
    const data = z.wildcard(wc, q.type, now);
    if (data) return this.positive(data, proveWildcardAnswer(q.name, ce, p.set.rrs, zone, ctx), [p]);
    const w = z.nsecAtOrBefore(wc, now);
    if (!w) return undefined;
    const records = [...p.set.rrs, ...w.set.rrs];
    if (w.set.name.equals(wc)) return this.negative('nodata', proveNodata(q.name, q.type, records, zone, ctx), [p, w]);
    return this.negative('nxdomain', proveNxdomain(q.name, records, zone, ctx), [p, w]);
  }

  fromNsec3(): Synthesized | undefined {
    const { q, z, ctx, now } = this;
    const zone = z.zone;
    const held = z.nsec3(now);
    const records = held.flatMap((h) => h.set.rrs);
    // Wildcard data of the type: the proof says whether its closest encloser is the right one.
    const wildcards = z.wildcardsOfType(q.type, now)
      .filter((w) => q.name.isSubdomainOf(w.set.name.parent()) && q.name.labelCount > w.set.name.labelCount - 1)
      .sort((a, b) => b.set.name.labelCount - a.set.name.labelCount);
    // Only the NSEC3 RRsets a proof rests on go into the answer.
    const usedBy = (res: DenialResult): HeldSet[] => {
      const used = res.security === 'secure' ? res.used : undefined;
      return used ? held.filter((h) => h.set.rrs.some((r) => used.includes(r))) : held;
    };
    for (const w of wildcards) {
      const res = proveWildcardAnswer(q.name, w.set.name.parent(), records, zone, ctx);
      if (res.security === 'secure') return this.positive(w, res, usedBy(res));
    }
    const nodata = proveNodata(q.name, q.type, records, zone, ctx);
    if (nodata.security === 'secure') return this.negative('nodata', nodata, usedBy(nodata));
    const nx = proveNxdomain(q.name, records, zone, ctx);
    return this.negative('nxdomain', nx, usedBy(nx));
  }

  private positive(data: HeldSet, res: DenialResult, proof: HeldSet[]): Synthesized | undefined {
    if (res.security !== 'secure') return undefined;
    const ttl = this.ttlLeft([data, ...proof]);
    if (ttl <= 0) return undefined;
    const owner = this.q.name;
    const answer = [...data.set.rrs, ...data.set.sigs].map((r) => ({ ...r, name: owner, ttl }));
    return this.result(Rcode.NOERROR, 'positive', answer, this.authority(proof, ttl), res.step, ttl);
  }

  private negative(kind: 'nxdomain' | 'nodata', res: DenialResult, proof: HeldSet[]): Synthesized | undefined {
    if (res.security !== 'secure') return undefined;
    const soa = this.z.soa(this.now);
    if (!soa) return undefined;
    const soaData = soa.set.rrs[0]!.data as SOAData;
    const ttl = Math.min(this.ttlLeft([soa, ...proof]), soaData.minimum);
    if (ttl <= 0) return undefined;
    const authority = [...this.records(soa, ttl), ...this.authority(proof, ttl)];
    return this.result(kind === 'nxdomain' ? Rcode.NXDOMAIN : Rcode.NOERROR, kind, [], authority, res.step, ttl);
  }

  private result(rcode: number, kind: AnswerKind, answer: RR[], authority: RR[], step: TrailStep, ttl: number): Synthesized {
    const proofStep: TrailStep = step.step === 'proof' ? { ...step, detail: `from cached validated records (RFC 8198): ${step.detail}` } : step;
    return { rcode, answer, authority, zone: this.z.zone, verdict: { security: 'secure', kind, trail: [proofStep], ttlCap: ttl } };
  }

  private authority(proof: HeldSet[], ttl: number): RR[] {
    const seen = new Set<HeldSet>();
    const out: RR[] = [];
    for (const h of proof) {
      if (seen.has(h)) continue;
      seen.add(h);
      out.push(...this.records(h, ttl));
    }
    return out;
  }

  private records(h: HeldSet, ttl: number): RR[] {
    return [...h.set.rrs, ...h.set.sigs].map((r) => ({ ...r, ttl }));
  }

  /** Whole seconds left on the shortest-lived of `sets`. */
  private ttlLeft(sets: HeldSet[]): number {
    let min = Infinity;
    for (const h of sets) min = Math.min(min, h.expires);
    return Math.floor((min - this.now) / 1000);
  }
}
