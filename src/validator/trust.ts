/**
 * One validation run: the tally of a response's links (weakest status, reason, trail, TTL cap) and
 * the checks of single RRsets in their own zone (RFC 4035 §5.3: signed data with the signer zone's
 * keys; unsigned data by the trust state of the zone that holds it).
 *
 * State lives for one validateResponse call only (a memo so one zone's keys are asked once and one
 * RRset verified once); nothing is cached across calls.
 */
import { RRType, typeToText, type Name, type RR, type RRSIGData } from '../wire/index.js';
import { deepestFirst, signerMayCover, trustName, type SectionIndex } from './classify.js';
import { emptyLearned, type Learned } from './learned.js';
import { verifyRRset, type RRsetCheck } from './rrsig.js';
import type {
  AnswerKind, BogusReason, InsecureReason, KeySource, SignedRRset, TrailStep, ValidationContext, Verdict, ZoneKeys,
} from './types.js';

export type SecureKeys = Extract<ZoneKeys, { security: 'secure' }>;
export type SecureCheck = Extract<RRsetCheck, { security: 'secure' }>;

/** The outcome of one link, as far as the caller needs it (the tally has the rest). */
export type LinkResult =
  | { security: 'secure'; keys: SecureKeys; check: SecureCheck }
  | { security: 'insecure' | 'bogus' | 'indeterminate' };

/** At most this many distinct signer zones are tried for one RRset (each costs a key lookup). */
const MAX_SIGNERS = 2;

/** The weakest-link accumulator: once bogus or indeterminate, the run stops. */
export class Tally {
  readonly trail: TrailStep[] = [];
  ttl: number | undefined;
  insecure: InsecureReason | undefined;
  stop: { security: 'bogus'; reason: BogusReason } | { security: 'indeterminate'; detail: string } | undefined;

  get stopped(): boolean {
    return this.stop !== undefined;
  }

  noteTtl(seconds: number): void {
    if (!Number.isFinite(seconds)) return;
    const s = Math.max(0, Math.floor(seconds));
    this.ttl = this.ttl === undefined ? s : Math.min(this.ttl, s);
  }

  step(s: TrailStep): void {
    this.trail.push(s);
  }

  /** Add a bogus/insecure step unless the same one is already there (e.g. from a key trail). */
  private once(s: TrailStep): void {
    const text = JSON.stringify(s);
    if (!this.trail.some((t) => t.step === s.step && JSON.stringify(t) === text)) this.trail.push(s);
  }

  bogus(reason: BogusReason): void {
    if (this.stop) return;
    this.stop = { security: 'bogus', reason };
    this.once({ step: 'bogus', reason });
  }

  indeterminate(detail: string): void {
    if (this.stop) return;
    this.stop = { security: 'indeterminate', detail };
  }

  /** One insecure link: the whole answer is insecure (unless something is worse); the first reason is kept. */
  insecureLink(reason: InsecureReason): void {
    this.insecure ??= reason;
    this.once({ step: 'insecure', reason });
  }

  verdict(kind: AnswerKind): Verdict {
    const trail = this.trail;
    if (this.stop?.security === 'bogus') return { security: 'bogus', kind, reason: this.stop.reason, trail };
    if (this.stop?.security === 'indeterminate') return { security: 'indeterminate', kind, detail: this.stop.detail, trail };
    if (this.insecure) return { security: 'insecure', kind, reason: this.insecure, trail, ttlCap: this.ttl };
    return { security: 'secure', kind, trail, ttlCap: this.ttl };
  }
}

const minTtl = (rrs: readonly RR[]): number => rrs.reduce((m, r) => Math.min(m, r.ttl), Infinity);

/** The verified NSEC/NSEC3 records of one zone in the authority section. */
export interface DenialRecords {
  records: RR[];
  /** The first NSEC/NSEC3 RRset of the zone that did not verify (reported when the proof then fails). */
  failure?: { reason: BogusReason; step: TrailStep };
}

/** How far a run had got: `rewind` returns to it (a chain's tail that failed is then asked on its own). */
export interface Mark {
  trail: number;
  ttl: number | undefined;
  insecure: InsecureReason | undefined;
  learned: [number, number, number];
}

const setKey = (set: SignedRRset): string => `${set.name.key}|${set.type}`;


/** A record repeated in an RRset is the same record (RFC 2181 §5; the signed data holds it once, RFC 4034 §6.3). */
function uniqueRecords(rrs: RR[]): RR[] {
  if (rrs.length < 2) return rrs;
  const out: RR[] = [];
  for (const rr of rrs) if (!out.some((o) => Buffer.compare(o.rdata, rr.rdata) === 0)) out.push(rr);
  return out.length === rrs.length ? rrs : out;
}

export class Run {
  readonly tally = new Tally();
  /** Authority RRsets the proofs validated (NSEC/NSEC3, SOA, a referral's DS), as served, by owner and type. */
  readonly provenAuthority = new Map<string, SignedRRset>();
  /** Validated records worth keeping for aggressive use (RFC 8198); meaningful only if the verdict is secure. */
  readonly learned: Learned = emptyLearned();
  private readonly keyMemo = new Map<string, ZoneKeys>();
  private readonly zoneMemo = new Map<string, ZoneKeys>();
  private readonly checked = new Map<string, LinkResult>();
  private readonly denialMemo = new Map<string, DenialRecords>();

  constructor(
    readonly keys: KeySource,
    readonly ctx: ValidationContext,
    readonly index: SectionIndex,
  ) {}

  mark(): Mark {
    const { tally, learned } = this;
    return { trail: tally.trail.length, ttl: tally.ttl, insecure: tally.insecure, learned: [learned.denial.length, learned.wildcards.length, learned.soa.length] };
  }

  /** Forget everything the run noted since `m` (its verdict included). */
  rewind(m: Mark): void {
    const { tally, learned } = this;
    tally.trail.length = m.trail;
    tally.ttl = m.ttl;
    tally.insecure = m.insecure;
    tally.stop = undefined;
    learned.denial.length = m.learned[0];
    learned.wildcards.length = m.learned[1];
    learned.soa.length = m.learned[2];
  }

  /**
   * A secure RRset as served (what is served is what was validated): its records once each, and the
   * signatures of the signer zone that verify: the one the check found, and the others it has (a
   * downstream validator may need another one, e.g. the KSK's over a DNSKEY RRset; the memo of good
   * signatures makes them cheap). A signature that does not verify is not served.
   */
  provenSet(set: SignedRRset, check: SecureCheck, keys: SecureKeys): SignedRRset {
    const sigs = set.sigs.filter((sig) => sig === check.sig
      || (sig.data.signer.equals(check.signer) && verifyRRset({ ...set, sigs: [sig] }, keys, this.ctx).security === 'secure'));
    return { ...set, rrs: uniqueRecords(set.rrs), sigs };
  }

  /** Note an authority RRset a proof validated, to be served. */
  proveAuthority(set: SignedRRset, check: SecureCheck, keys: SecureKeys): SignedRRset {
    const proven = this.provenSet(set, check, keys);
    this.provenAuthority.set(setKey(set), proven);
    return proven;
  }

  provenAuthoritySet(set: SignedRRset): SignedRRset | undefined {
    return this.provenAuthority.get(setKey(set));
  }

  /**
   * An RRset no proof needed, beside a secure answer: served only if it verifies with the keys of a
   * secure zone that may sign it. Unlike checkRRset this never makes the run insecure (extra records in
   * an insecure zone must not downgrade a secure answer); the caller decides what a failure means.
   */
  async verifyExtra(set: SignedRRset): Promise<{ served: SignedRRset } | { failed: string }> {
    if (set.sigs.length === 0) return { failed: 'no RRSIG' };
    let failed = 'no RRSIG by a zone that may sign it';
    for (const signer of distinctSigners(set.sigs).filter((s) => signerMayCover(s, set.name, set.type)).slice(0, MAX_SIGNERS)) {
      const zk = await this.keysFor(signer);
      if (zk.security !== 'secure') {
        failed = `signer ${signer.toText()} is ${zk.security}`;
        continue;
      }
      const check = verifyRRset({ ...set, sigs: set.sigs.filter((s) => s.data.signer.equals(signer)) }, zk, this.ctx);
      if (check.security === 'secure' && !check.wildcard) {
        this.tally.step(check.step);
        this.tally.noteTtl(check.ttl);
        return { served: this.provenSet(set, check, zk) };
      }
      failed = check.security === 'bogus' ? check.reason.kind : 'wildcard signature';
    }
    return { failed };
  }

  /** Validated keys of a signer zone; its trail is added to the run's once. */
  async keysFor(zone: Name): Promise<ZoneKeys> {
    const memo = this.keyMemo.get(zone.key);
    if (memo) return memo;
    const zk = await this.ask(zone, () => this.keys.keysForZone(zone, this.ctx));
    this.keyMemo.set(zone.key, zk);
    this.absorb(zk);
    return zk;
  }

  /** Trust state of the zone holding an unsigned name. */
  async zoneOf(name: Name): Promise<ZoneKeys> {
    const memo = this.zoneMemo.get(name.key);
    if (memo) return memo;
    const zk = await this.ask(name, () => this.keys.zoneOf(name, this.ctx));
    this.zoneMemo.set(name.key, zk);
    this.absorb(zk);
    return zk;
  }

  private async ask(zone: Name, f: () => Promise<ZoneKeys>): Promise<ZoneKeys> {
    try {
      return await f();
    } catch (e) {
      // The KeySource should report failures as a state; a throw is an I/O failure, not evidence.
      const detail = `key lookup for ${zone.toText()} failed: ${e instanceof Error ? e.message : String(e)}`;
      return { security: 'indeterminate', zone, detail, validUntil: 0, trail: [] };
    }
  }

  private absorb(zk: ZoneKeys): void {
    const seen = new Set(this.tally.trail);
    for (const s of zk.trail) if (!seen.has(s)) this.tally.step(s);
    if (zk.security === 'secure' || zk.security === 'insecure') {
      if (Number.isFinite(zk.validUntil)) this.tally.noteTtl((zk.validUntil - this.ctx.clock.now()) / 1000);
    }
  }

  /** Record a non-secure trust state as the outcome of a link. */
  private settle(zk: Exclude<ZoneKeys, SecureKeys>): LinkResult {
    switch (zk.security) {
      case 'insecure':
        this.tally.insecureLink(zk.reason);
        return { security: 'insecure' };
      case 'bogus':
        this.tally.bogus(zk.reason);
        return { security: 'bogus' };
      case 'indeterminate':
        this.tally.indeterminate(zk.detail);
        return { security: 'indeterminate' };
    }
  }

  /**
   * A signer zone turned out insecure: accept that only if the zone holding the data is insecure too,
   * so a forged RRSIG naming some insecure "signer" cannot downgrade data of a secure zone.
   */
  async confirmInsecure(owner: Name, type: number, signerKeys: Extract<ZoneKeys, { security: 'insecure' }>): Promise<LinkResult> {
    const zo = await this.zoneOf(trustName(owner, type));
    if (zo.security === 'insecure') return this.settle(signerKeys);
    if (zo.security === 'secure') {
      this.tally.bogus({
        kind: 'bad-rrsig', name: owner.toText(), type: typeToText(type),
        detail: `signer ${signerKeys.zone.toText()} is insecure but ${zo.zone.toText()}, which holds the data, is secure`,
      });
      return { security: 'bogus' };
    }
    return this.settle(zo);
  }

  /** Validate one RRset in its own zone (memoized per owner and type). */
  async checkRRset(set: SignedRRset): Promise<LinkResult> {
    const key = `${set.name.key}|${set.type}`;
    const memo = this.checked.get(key);
    if (memo) return memo;
    const r = await this.checkUncached(set);
    this.checked.set(key, r);
    return r;
  }

  private async checkUncached(set: SignedRRset): Promise<LinkResult> {
    const name = set.name.toText();
    const type = typeToText(set.type);
    if (set.sigs.length === 0) return this.unsigned(set);

    const signers = distinctSigners(set.sigs).filter((s) => signerMayCover(s, set.name, set.type));
    if (signers.length === 0) {
      const detail = set.type === RRType.DS ? 'DS RRset signed by the zone at its own apex, not by the parent' : 'no RRSIG signer is the owner or an ancestor of it';
      this.tally.step({ step: 'rrset', name, type, security: 'bogus' });
      this.tally.bogus({ kind: 'bad-rrsig', name, type, detail });
      return { security: 'bogus' };
    }

    let insecure: Extract<ZoneKeys, { security: 'insecure' }> | undefined;
    let indeterminate: Extract<ZoneKeys, { security: 'indeterminate' }> | undefined;
    let failed: { reason: BogusReason; step?: TrailStep } | undefined;
    for (const signer of signers.slice(0, MAX_SIGNERS)) {
      const zk = await this.keysFor(signer);
      if (zk.security === 'secure') {
        const sigs = set.sigs.filter((s) => s.data.signer.equals(signer));
        const check = verifyRRset({ ...set, sigs }, zk, this.ctx);
        if (check.security === 'secure') {
          this.tally.step(check.step);
          this.tally.noteTtl(check.ttl);
          return { security: 'secure', keys: zk, check };
        }
        failed ??= { reason: check.reason, step: check.step };
      } else if (zk.security === 'insecure') insecure ??= zk;
      else if (zk.security === 'indeterminate') indeterminate ??= zk;
      else failed ??= { reason: zk.reason };
    }
    if (insecure) {
      const r = await this.confirmInsecure(set.name, set.type, insecure);
      if (r.security === 'insecure') this.tally.noteTtl(minTtl(set.rrs));
      return r;
    }
    if (indeterminate) return this.settle(indeterminate);
    if (failed!.step) this.tally.step(failed!.step);
    else this.tally.step({ step: 'rrset', name, type, security: 'bogus' });
    this.tally.bogus(failed!.reason);
    return { security: 'bogus' };
  }

  /** RFC 4035 §5.2/§4.3: unsigned data is insecure only where the zone holding it is proven insecure. */
  private async unsigned(set: SignedRRset): Promise<LinkResult> {
    const name = set.name.toText();
    const type = typeToText(set.type);
    const zo = await this.zoneOf(trustName(set.name, set.type));
    if (zo.security === 'secure') {
      this.tally.step({ step: 'rrset', name, type, security: 'bogus' });
      this.tally.bogus({ kind: 'rrsigs-missing', name, type });
      return { security: 'bogus' };
    }
    this.tally.step({ step: 'rrset', name, type, security: zo.security });
    if (zo.security === 'insecure') this.tally.noteTtl(minTtl(set.rrs));
    return this.settle(zo);
  }

  /**
   * Verify the NSEC/NSEC3 RRsets of the authority section signed by `zone` with its keys. Sets that do
   * not verify are left out (the first failure is kept to explain a proof that then fails).
   * Steps and TTLs of the verified sets are added to the tally.
   */
  denialRecords(zone: Name, keys: SecureKeys): DenialRecords {
    const memo = this.denialMemo.get(zone.key);
    if (memo) return memo;
    const out: DenialRecords = { records: [] };
    for (const set of this.index.denial) {
      const sigs = set.sigs.filter((s) => s.data.signer.equals(zone));
      if (sigs.length === 0 || !set.name.isSubdomainOf(zone)) continue;
      const check = verifyRRset({ ...set, sigs }, keys, this.ctx);
      if (check.security === 'secure' && !check.wildcard) {
        this.tally.step(check.step);
        this.tally.noteTtl(check.ttl);
        out.records.push(...set.rrs);
        this.learned.denial.push({ zone, set: this.proveAuthority(set, check, keys), ttl: check.ttl });
      } else if (!out.failure) {
        out.failure = check.security === 'bogus'
          ? { reason: check.reason, step: check.step }
          : {
              reason: { kind: 'bad-rrsig', name: set.name.toText(), type: typeToText(set.type), detail: 'NSEC/NSEC3 RRSIG with a wildcard label count' },
              step: { ...check.step, security: 'bogus' } as TrailStep,
            };
      }
    }
    this.denialMemo.set(zone.key, out);
    return out;
  }

  /** Signer zones of the authority's NSEC/NSEC3 RRsets that may speak for `name` (deepest first). */
  denialSigners(name: Name, type: number): Name[] {
    const all: Name[] = [];
    for (const set of this.index.denial) all.push(...distinctSigners(set.sigs));
    return distinctNames(all).filter((s) => signerMayCover(s, name, type)).sort(deepestFirst);
  }
}

function distinctNames(names: Name[]): Name[] {
  const seen = new Map<string, Name>();
  for (const n of names) if (!seen.has(n.key)) seen.set(n.key, n);
  return [...seen.values()];
}

/** The distinct signer names of some RRSIGs, deepest first. */
export function distinctSigners(sigs: readonly RR<RRSIGData>[]): Name[] {
  return distinctNames(sigs.map((s) => s.data.signer)).sort(deepestFirst);
}
