/**
 * RRset signature verification (RFC 4034 §3, RFC 4035 §5.3, RFC 6840 §5) under the KeyTrap limits:
 * at most `maxSignaturesPerRRset` crypto calls per RRset, `maxKeysPerTag` keys per (key tag,
 * algorithm), and one `budget.spendSignature()` before every crypto call.
 */
import {
  DnskeyFlag, Name, RRType, keyTag, signedData, typeToText, type DNSKEYData, type RR, type RRSIGData,
} from '../wire/index.js';
import type { BogusReason, SignedRRset, TrailStep, ValidationContext, ZoneKeys } from './types.js';

export type RRsetCheck =
  | {
      security: 'secure';
      keyTag: number;
      signer: Name;
      /** The RRSIG that verified: the one signature served with the RRset (what is served is what was validated). */
      sig: RR<RRSIGData>;
      /** Seconds the verified RRset may be used: min(record TTLs, Original TTL, time to signature expiry). */
      ttl: number;
      /** Present when the RRset was synthesised from a wildcard (RRSIG Labels < owner labels). */
      wildcard?: { closestEncloser: Name; source: Name };
      step: TrailStep;
    }
  | { security: 'bogus'; reason: BogusReason; step: TrailStep };

/** Crypto calls spent on one RRset; shared when several key subsets are tried for the same RRset. */
export interface SignatureCounter {
  used: number;
}

/** a - b for 32-bit serial numbers (RFC 1982, RFC 4034 §3.1.5), as a signed 32-bit value. */
export function serialDiff(a: number, b: number): number {
  return (a - b) | 0;
}

/** Current time as a 32-bit RRSIG time. */
export function sigNow(ctx: ValidationContext): number {
  return Math.floor(ctx.clock.now() / 1000) >>> 0;
}

/** The clock-skew allowance for one signature: fraction of its validity period, clamped. */
export function skewSeconds(sig: RRSIGData, ctx: ValidationContext): number {
  const period = Math.max(0, serialDiff(sig.expiration, sig.inception));
  const s = ctx.skew;
  return Math.min(s.maxSeconds, Math.max(s.minSeconds, Math.floor(period * s.fraction)));
}

/** A DNSKEY that may validate signatures: protocol 3, Zone Key bit set, not revoked (RFC 4035 §5.3.1, RFC 5011). */
export function isUsableZoneKey(k: RR<DNSKEYData>): boolean {
  return k.data.protocol === 3 && (k.data.flags & DnskeyFlag.ZONE) !== 0 && (k.data.flags & DnskeyFlag.REVOKE) === 0;
}

/** Number of labels of an owner for the RRSIG Labels rule: a leading "*" does not count (RFC 4034 §3.1.3). */
export function rrsigLabelCount(owner: Name): number {
  return owner.isWildcard() ? owner.labelCount - 1 : owner.labelCount;
}

/** Group records into RRsets (first-appearance order) and attach RRSIGs by (owner, type covered, class). */
export function splitSignedRRsets(rrs: readonly RR[]): SignedRRset[] {
  const sets = new Map<string, SignedRRset>();
  const sigs: RR<RRSIGData>[] = [];
  for (const rr of rrs) {
    if (rr.type === RRType.RRSIG) {
      sigs.push(rr as RR<RRSIGData>);
      continue;
    }
    const k = `${rr.name.key}|${rr.type}|${rr.class}`;
    const s = sets.get(k);
    if (s) s.rrs.push(rr);
    else sets.set(k, { name: rr.name, type: rr.type, class: rr.class, rrs: [rr], sigs: [] });
  }
  // RRSIGs covering nothing in `rrs` come back as an unsigned RRset of type RRSIG (as a qtype=RRSIG answer).
  const orphans = new Map<string, SignedRRset>();
  for (const sig of sigs) {
    const s = sets.get(`${sig.name.key}|${sig.data.typeCovered}|${sig.class}`);
    if (s) {
      s.sigs.push(sig);
      continue;
    }
    const k = `${sig.name.key}|${sig.class}`;
    const o = orphans.get(k);
    if (o) o.rrs.push(sig);
    else orphans.set(k, { name: sig.name, type: RRType.RRSIG, class: sig.class, rrs: [sig], sigs: [] });
  }
  return [...sets.values(), ...orphans.values()];
}

/** One RRSIG's failure and how far it got: the furthest-reaching failure is the most telling. */
interface Failure {
  stage: number;
  reason: BogusReason;
}
const STAGE_STRUCTURE = 1;
const STAGE_KEY = 2;
const STAGE_ZONE_BIT = 3;
const STAGE_TIME = 4;
const STAGE_CRYPTO = 5;
const STAGE_KEYS_CAP = 6;
const STAGE_LIMIT = 7;

/** Structural RRSIG rules of RFC 4035 §5.3.1; a message when violated. */
function structuralProblem(set: SignedRRset, sig: RR<RRSIGData>, zone: Name): string | undefined {
  const d = sig.data;
  if (sig.class !== set.class) return `RRSIG class ${sig.class} differs from the RRset class ${set.class}`;
  if (d.typeCovered !== set.type) return `RRSIG covers ${typeToText(d.typeCovered)}`;
  if (!sig.name.equals(set.name)) return `RRSIG owner ${sig.name.toText()} is not the RRset owner`;
  if (!d.signer.equals(zone)) return `signer ${d.signer.toText()} is not the zone ${zone.toText()}`;
  if (!set.name.isSubdomainOf(d.signer)) return `signer ${d.signer.toText()} is not an ancestor of the owner`;
  if (set.type === RRType.DS && set.name.equals(d.signer)) return 'DS RRset signed by the child zone';
  if (set.type === RRType.DNSKEY && !set.name.equals(d.signer)) return 'DNSKEY RRset not signed by its own zone';
  if (d.labels > rrsigLabelCount(set.name)) return `Labels ${d.labels} exceeds the owner's ${rrsigLabelCount(set.name)} labels`;
  if (serialDiff(d.expiration, d.inception) < 0) return 'expiration precedes inception';
  if (set.rrs.length === 0) return 'empty RRset';
  return undefined;
}

/**
 * Verify `set` with `keys` of `zone` (all keys given are candidates; pass a subset to restrict).
 * `counter` counts crypto calls for this RRset across calls that share it.
 */
export function verifyRRsetWith(
  set: SignedRRset, zone: Name, keys: readonly RR<DNSKEYData>[], ctx: ValidationContext, counter: SignatureCounter,
): RRsetCheck {
  const name = set.name.toText();
  const type = typeToText(set.type);
  const bogus = (reason: BogusReason, keyTag?: number): RRsetCheck => ({
    security: 'bogus', reason, step: { step: 'rrset', name, type, security: 'bogus', ...(keyTag === undefined ? {} : { keyTag }) },
  });
  if (set.sigs.length === 0) return bogus({ kind: 'rrsigs-missing', name, type });

  const limits = ctx.limits;
  const now = sigNow(ctx);
  const zoneKeys = keys.filter((k) => k.type === RRType.DNSKEY && k.name.equals(zone)).map((k) => ({ k, tag: keyTag(k.rdata) }));
  let best: Failure | undefined;
  const fail = (stage: number, reason: BogusReason): void => {
    if (!best || stage > best.stage) best = { stage, reason };
  };
  let stopped = false;

  for (const sig of set.sigs) {
    if (stopped) break;
    const d = sig.data;
    if (!ctx.crypto.supports(d.algorithm)) continue; // RFC 4035 §5.2: unsupported algorithms are not bogus by themselves
    const problem = structuralProblem(set, sig, zone);
    if (problem !== undefined) {
      fail(STAGE_STRUCTURE, { kind: 'bad-rrsig', name, type, detail: problem });
      continue;
    }
    const tagged = zoneKeys.filter((x) => x.tag === d.keyTag && x.k.data.algorithm === d.algorithm).map((x) => x.k);
    if (tagged.length === 0) {
      fail(STAGE_KEY, { kind: 'dnskey-missing', zone: zone.toText(), keyTag: d.keyTag });
      continue;
    }
    const usable = tagged.filter(isUsableZoneKey);
    if (usable.length === 0) {
      const noZoneBit = tagged.some((k) => (k.data.flags & DnskeyFlag.ZONE) === 0);
      if (noZoneBit) fail(STAGE_ZONE_BIT, { kind: 'no-zone-key', zone: zone.toText(), keyTag: d.keyTag });
      else fail(STAGE_KEY, { kind: 'dnskey-missing', zone: zone.toText(), keyTag: d.keyTag });
      continue;
    }
    const skew = skewSeconds(d, ctx);
    if (serialDiff(now, d.expiration) > skew) {
      fail(STAGE_TIME, { kind: 'signature-expired', name, type, keyTag: d.keyTag, expiration: d.expiration, inception: d.inception, signer: zone.toText() });
      continue;
    }
    if (serialDiff(d.inception, now) > skew) {
      fail(STAGE_TIME, { kind: 'signature-not-yet-valid', name, type, keyTag: d.keyTag, inception: d.inception, expiration: d.expiration, signer: zone.toText() });
      continue;
    }
    let data: Uint8Array;
    try {
      data = signedData(sig, set.rrs);
    } catch (e) {
      fail(STAGE_STRUCTURE, { kind: 'bad-rrsig', name, type, detail: e instanceof Error ? e.message : String(e) });
      continue;
    }
    const candidates = usable.slice(0, limits.maxKeysPerTag);
    let unsupportedByCrypto = false;
    for (const key of candidates) {
      if (counter.used >= limits.maxSignaturesPerRRset) {
        fail(STAGE_LIMIT, { kind: 'budget-exceeded', what: 'signatures', limit: limits.maxSignaturesPerRRset });
        stopped = true;
        break;
      }
      if (!ctx.budget.spendSignature()) {
        fail(STAGE_LIMIT, { kind: 'budget-exceeded', what: 'signatures', limit: limits.maxSignaturesPerQuery });
        stopped = true;
        break;
      }
      counter.used++;
      const res = ctx.crypto.verify(d.algorithm, key.data.publicKey, data, d.signature);
      if (res.kind === 'valid') return secure(set, sig, now);
      if (res.kind === 'unsupported-algorithm') {
        unsupportedByCrypto = true;
        break;
      }
      const detail = res.kind === 'invalid' ? undefined : `${res.kind}: ${res.reason}`;
      fail(STAGE_CRYPTO, { kind: 'signature-invalid', name, type, keyTag: d.keyTag, ...(detail ? { detail } : {}) });
    }
    if (!stopped && !unsupportedByCrypto && usable.length > candidates.length) {
      fail(STAGE_KEYS_CAP, { kind: 'budget-exceeded', what: 'keys-per-tag', limit: limits.maxKeysPerTag });
    }
  }
  if (!best) return bogus({ kind: 'rrsigs-missing', name, type });
  const r = best.reason;
  return bogus(r, 'keyTag' in r ? r.keyTag : undefined);
}

function secure(set: SignedRRset, sig: RR<RRSIGData>, now: number): RRsetCheck {
  const d = sig.data;
  let ttl = Math.min(d.originalTtl, Math.max(0, serialDiff(d.expiration, now)));
  for (const rr of set.rrs) ttl = Math.min(ttl, rr.ttl);
  const ownerLabels = rrsigLabelCount(set.name);
  const step: TrailStep = {
    step: 'rrset', name: set.name.toText(), type: typeToText(set.type), security: 'secure', keyTag: d.keyTag, signer: d.signer.toText(),
  };
  if (d.labels < ownerLabels) {
    const closestEncloser = set.name.suffix(d.labels);
    const source = closestEncloser.prepend(Uint8Array.of(0x2a));
    return {
      security: 'secure', keyTag: d.keyTag, signer: d.signer, sig, ttl, wildcard: { closestEncloser, source },
      step: { ...step, wildcard: source.toText() },
    };
  }
  return { security: 'secure', keyTag: d.keyTag, signer: d.signer, sig, ttl, step };
}

/**
 * Verify an RRset with a zone's validated keys: secure when any RRSIG verifies with a usable key
 * of the zone (RFC 4035 §5.3), else bogus with the most telling reason.
 */
export function verifyRRset(set: SignedRRset, keys: Extract<ZoneKeys, { security: 'secure' }>, ctx: ValidationContext): RRsetCheck {
  return verifyRRsetWith(set, keys.zone, keys.keys, ctx, { used: 0 });
}
