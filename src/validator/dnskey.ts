/**
 * Validating a zone's DNSKEY RRset from the parent's DS RRset (RFC 4035 §5.2, RFC 6840 §5.2,
 * RFC 4509 §3) or from configured trust anchors (DS and/or DNSKEY form; RFC 5011 revoked keys never
 * count as anchors).
 */
import { dsDigest, dsDigestSupported } from '../crypto/index.js';
import {
  DnskeyFlag, Name, RRType, bytesEqual, dsDigestInput, keyTag, type DNSKEYData, type DSData, type RR,
} from '../wire/index.js';
import { isUsableZoneKey, verifyRRsetWith, type SignatureCounter } from './rrsig.js';
import type { BogusReason, InsecureReason, SignedRRset, TrailStep, TrustAnchor, ValidationContext, ZoneKeys } from './types.js';

/** How long (s) a bogus key state is kept before the chain is tried again. */
export const BOGUS_KEYS_TTL = 60;
/** How long (s) an insecure state derived from trust anchors alone (no TTL known) is kept. */
export const ANCHOR_STATE_TTL = 3600;

const DIGEST_SHA1 = 1;

const minTtl = (rrs: readonly RR[], fallback: number): number => rrs.reduce((m, r) => Math.min(m, r.ttl), fallback);
const uniq = (xs: number[]): number[] => [...new Set(xs)].sort((a, b) => a - b);

/**
 * The DS records a validator may use: supported digest type and algorithm, and no SHA-1 digests
 * once the usable set holds a stronger one (RFC 4509 §3). When none is usable because of
 * unsupported algorithms or digest types, `unsupported` says why (the zone is then insecure).
 */
export function usableDs(ds: RR<DSData>[], ctx: ValidationContext): { usable: RR<DSData>[]; unsupported: InsecureReason | undefined } {
  const records = ds.filter((d) => d.type === RRType.DS);
  const digestOk = records.filter((d) => dsDigestSupported(d.data.digestType));
  const both = digestOk.filter((d) => ctx.crypto.supports(d.data.algorithm));
  const strong = both.some((d) => d.data.digestType !== DIGEST_SHA1);
  const usable = strong ? both.filter((d) => d.data.digestType !== DIGEST_SHA1) : both;
  if (usable.length > 0 || records.length === 0) return { usable, unsupported: undefined };
  const zone = records[0]!.name.toText();
  if (digestOk.length > 0) {
    return { usable, unsupported: { kind: 'unsupported-algorithm', zone, algorithms: uniq(digestOk.map((d) => d.data.algorithm)) } };
  }
  return { usable, unsupported: { kind: 'unsupported-digest', zone, digestTypes: uniq(records.map((d) => d.data.digestType)) } };
}

/** The DNSKEY records of `zone` in the RRset. */
function zoneDnskeys(zone: Name, set: SignedRRset): RR<DNSKEYData>[] {
  if (set.type !== RRType.DNSKEY || !set.name.equals(zone)) return [];
  return set.rrs.filter((r): r is RR<DNSKEYData> => r.type === RRType.DNSKEY);
}

/** Keys a trust point offers, and what went wrong with the ones that cannot be used. */
interface Candidates {
  keys: RR<DNSKEYData>[];
  noZoneBit: number | undefined;
}

/** DNSKEYs matched by a usable DS (key tag, algorithm, digest), at most maxKeysPerTag per DS. */
function keysMatchingDs(ds: readonly RR<DSData>[], keys: readonly RR<DNSKEYData>[], ctx: ValidationContext): Candidates {
  const out: RR<DNSKEYData>[] = [];
  let noZoneBit: number | undefined;
  for (const d of ds) {
    const tagged = keys
      .filter((k) => k.data.algorithm === d.data.algorithm && keyTag(k.rdata) === d.data.keyTag)
      .slice(0, ctx.limits.maxKeysPerTag);
    for (const k of tagged) {
      const digest = dsDigest(d.data.digestType, dsDigestInput(k));
      if (!digest || !bytesEqual(digest, d.data.digest)) continue;
      if (!isUsableZoneKey(k)) {
        if ((k.data.flags & DnskeyFlag.ZONE) === 0) noZoneBit ??= d.data.keyTag;
        continue;
      }
      if (!out.includes(k)) out.push(k);
    }
  }
  return { keys: out, noZoneBit };
}

/** DNSKEYs of the RRset equal (RDATA) to a DNSKEY trust anchor; revoked anchors never match. */
function keysMatchingAnchors(anchors: readonly RR<DNSKEYData>[], keys: readonly RR<DNSKEYData>[]): Candidates {
  const out: RR<DNSKEYData>[] = [];
  let noZoneBit: number | undefined;
  for (const a of anchors) {
    const k = keys.find((k) => bytesEqual(k.rdata, a.rdata));
    if (!k) continue;
    if (!isUsableZoneKey(k)) {
      if ((k.data.flags & DnskeyFlag.ZONE) === 0) noZoneBit ??= keyTag(k.rdata);
      continue;
    }
    if (!out.includes(k)) out.push(k);
  }
  return { keys: out, noZoneBit };
}

/** Whether the DNSKEY RRset is signed by a candidate key. */
type SelfSigned = { ok: true; ttl: number; steps: TrailStep[] } | { ok: false; reason: BogusReason; steps: TrailStep[] };

/** The DNSKEY RRset must be signed by one of the candidate keys (each tried alone, one shared counter). */
function confirmSelfSigned(zone: Name, dnskeys: SignedRRset, cands: Candidates, noMatch: BogusReason, ctx: ValidationContext): SelfSigned {
  const counter: SignatureCounter = { used: 0 };
  let failure: BogusReason | undefined;
  let failStep: TrailStep | undefined;
  for (const k of cands.keys) {
    // Only this key's own RRSIGs count: a signature by another key is no link from the DS or anchor.
    const tag = keyTag(k.rdata);
    const sigs = dnskeys.sigs.filter((s) => s.data.keyTag === tag && s.data.algorithm === k.data.algorithm);
    const check = verifyRRsetWith({ ...dnskeys, sigs }, zone, [k], ctx, counter);
    if (check.security === 'secure') return { ok: true, ttl: check.ttl, steps: [check.step] };
    if (!failure || check.reason.kind === 'budget-exceeded') {
      failure = check.reason;
      failStep = check.step;
    }
    if (check.reason.kind === 'budget-exceeded') break;
  }
  if (failure) return { ok: false, reason: failure, steps: failStep ? [failStep] : [] };
  if (cands.noZoneBit !== undefined) {
    return { ok: false, reason: { kind: 'no-zone-key', zone: zone.toText(), keyTag: cands.noZoneBit }, steps: [] };
  }
  return { ok: false, reason: noMatch, steps: [] };
}

function secureKeys(zone: Name, keys: RR<DNSKEYData>[], validUntil: number, trail: TrailStep[], via: 'ds' | 'anchor'): ZoneKeys {
  const keyTags = keys.map((k) => keyTag(k.rdata));
  return { security: 'secure', zone, keys, validUntil, trail: [...trail, { step: 'keys', zone: zone.toText(), security: 'secure', keyTags, via }] };
}

function bogusKeys(zone: Name, reason: BogusReason, now: number, trail: TrailStep[], via: 'ds' | 'anchor'): ZoneKeys {
  return {
    security: 'bogus', zone, reason, validUntil: now + BOGUS_KEYS_TTL * 1000,
    trail: [...trail, { step: 'keys', zone: zone.toText(), security: 'bogus', keyTags: [], via }, { step: 'bogus', reason }],
  };
}

function insecureKeys(zone: Name, reason: InsecureReason, validUntil: number, trail: TrailStep[], via: 'ds' | 'anchor'): ZoneKeys {
  return {
    security: 'insecure', zone, reason, validUntil,
    trail: [...trail, { step: 'keys', zone: zone.toText(), security: 'insecure', keyTags: [], via }, { step: 'insecure', reason }],
  };
}

const tagsText = (tags: number[]): string => (tags.length === 0 ? 'none' : uniq(tags).join(' '));

/**
 * Validate `zone`'s DNSKEY RRset with the (already validated) DS RRset from the parent.
 * Secure: a usable DS matches a zone key that signed the RRset; all keys of the RRset are returned.
 */
export function validateKeysWithDs(zone: Name, dnskeys: SignedRRset, ds: RR<DSData>[], ctx: ValidationContext): ZoneKeys {
  const now = ctx.clock.now();
  const zoneText = zone.toText();
  const dsHere = ds.filter((d) => d.type === RRType.DS && d.name.equals(zone));
  const { usable, unsupported } = usableDs(dsHere, ctx);
  const dsStep = (security: 'secure' | 'insecure' | 'bogus', detail: string): TrailStep => ({ step: 'ds', zone: zoneText, security, detail });
  if (usable.length === 0) {
    if (unsupported) {
      return insecureKeys(zone, unsupported, now + minTtl(dsHere, 86400) * 1000, [dsStep('insecure', 'no usable DS')], 'ds');
    }
    return bogusKeys(zone, { kind: 'ds-mismatch', zone: zoneText, detail: 'no DS records' }, now, [dsStep('bogus', 'no DS records')], 'ds');
  }
  const dsTags = usable.map((d) => d.data.keyTag);
  const keys = zoneDnskeys(zone, dnskeys);
  const trail: TrailStep[] = [dsStep('secure', `DS key tags ${tagsText(dsTags)}`)];
  if (keys.length === 0) return bogusKeys(zone, { kind: 'dnskey-missing', zone: zoneText }, now, trail, 'ds');
  const cands = keysMatchingDs(usable, keys, ctx);
  const noMatch: BogusReason = {
    kind: 'ds-mismatch', zone: zoneText, detail: `DS key tags ${tagsText(dsTags)}, DNSKEY key tags ${tagsText(keys.map((k) => keyTag(k.rdata)))}`,
  };
  const out = confirmSelfSigned(zone, dnskeys, cands, noMatch, ctx);
  if (!out.ok) return bogusKeys(zone, out.reason, now, [...trail, ...out.steps], 'ds');
  const ttl = Math.min(out.ttl, minTtl(usable, out.ttl));
  return secureKeys(zone, keys, now + ttl * 1000, [...trail, ...out.steps], 'ds');
}

/**
 * Validate a DNSKEY RRset against the trust anchors of its zone: a DS anchor matches by digest, a
 * DNSKEY anchor by RDATA; the matching key must have signed the RRset. Revoked anchors are ignored.
 */
export function validateKeysWithAnchor(anchor: TrustAnchor, dnskeys: SignedRRset, ctx: ValidationContext): ZoneKeys {
  const now = ctx.clock.now();
  const zone = anchor.zone;
  const zoneText = zone.toText();
  const dsAnchors = anchor.ds.filter((d) => d.type === RRType.DS && d.name.equals(zone));
  const keyAnchors = anchor.dnskeys.filter(
    (k) => k.type === RRType.DNSKEY && k.name.equals(zone) && (k.data.flags & DnskeyFlag.REVOKE) === 0 && k.data.protocol === 3,
  );
  const trail: TrailStep[] = [
    // A key anchored by its DS and its DNSKEY both (the shipped root anchors) is listed once.
    { step: 'anchor', zone: zoneText, keyTags: uniq([...dsAnchors.map((d) => d.data.keyTag), ...keyAnchors.map((k) => keyTag(k.rdata))]) },
  ];
  const { usable, unsupported } = usableDs(dsAnchors, ctx);
  const supportedKeys = keyAnchors.filter((k) => ctx.crypto.supports(k.data.algorithm));
  if (usable.length === 0 && supportedKeys.length === 0) {
    if (keyAnchors.length > 0) {
      const algorithms = uniq(keyAnchors.map((k) => k.data.algorithm));
      return insecureKeys(zone, { kind: 'unsupported-algorithm', zone: zoneText, algorithms }, now + ANCHOR_STATE_TTL * 1000, trail, 'anchor');
    }
    if (unsupported) return insecureKeys(zone, unsupported, now + ANCHOR_STATE_TTL * 1000, trail, 'anchor');
    // Fail closed: a zone whose anchor has no trusted key left is never treated as unsigned.
    return bogusKeys(zone, { kind: 'anchor-gone', zone: zoneText }, now, trail, 'anchor');
  }
  const keys = zoneDnskeys(zone, dnskeys);
  if (keys.length === 0) return bogusKeys(zone, { kind: 'dnskey-missing', zone: zoneText }, now, trail, 'anchor');
  const byKey = keysMatchingAnchors(supportedKeys, keys);
  const byDs = keysMatchingDs(usable, keys, ctx);
  const cands: Candidates = {
    keys: [...byKey.keys, ...byDs.keys.filter((k) => !byKey.keys.includes(k))],
    noZoneBit: byKey.noZoneBit ?? byDs.noZoneBit,
  };
  const published = tagsText(keys.map((k) => keyTag(k.rdata)));
  // An anchor key the zone no longer publishes (a stale anchor file after a roll) is a gone trust anchor (EDE 9);
  // a DS anchor that matches nothing stays a DS mismatch.
  const noMatch: BogusReason = cands.keys.length === 0 && keyAnchors.length > 0
    ? { kind: 'anchor-not-published', zone: zoneText, keyTags: supportedKeys.map((k) => keyTag(k.rdata)), published }
    : { kind: 'ds-mismatch', zone: zoneText, detail: `no DNSKEY matches a trust anchor (DNSKEY key tags ${published})` };
  const out = confirmSelfSigned(zone, dnskeys, cands, noMatch, ctx);
  if (!out.ok) return bogusKeys(zone, out.reason, now, [...trail, ...out.steps], 'anchor');
  return secureKeys(zone, keys, now + out.ttl * 1000, [...trail, ...out.steps], 'anchor');
}
