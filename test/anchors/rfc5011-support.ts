/**
 * Test material for the RFC 5011 core: real keys, DNSKEY RRsets signed with them, and the self-signature
 * check of a revoked key done as the daemon does it (the RRSIG with the revoked key's tag, verified with
 * that key), so "the REVOKE bit counts only with the key's own signature" is tested on real signatures.
 */
import { createVerifier } from '../../src/crypto/index.js';
import { generateSigningKey, type SigningKey } from '../../src/crypto/sign.js';
import { applyRefresh, type Observation, type RefreshOutcome, type Timers, type ZoneState } from '../../src/anchors/rfc5011.js';
import {
  DnskeyFlag, Name, RRType, keyTag, makeRR, makeRrsig, signedData, type DNSKEYData, type RR, type RRSIGData,
} from '../../src/wire/index.js';

export const HOUR = 3_600_000;
export const DAY = 24 * HOUR;
export const KSK = DnskeyFlag.ZONE | DnskeyFlag.SEP; // 257
export const ZSK = DnskeyFlag.ZONE; // 256
export const REVOKED_KSK = KSK | DnskeyFlag.REVOKE; // 385

const verifier = createVerifier('openssl');

/** A signing key with its DNSKEY in one form (flags) at `zone`. */
export interface ZoneKey {
  key: SigningKey;
  rr: RR<DNSKEYData>;
}

export function zoneKey(zone: Name, algorithm: number, flags = KSK): ZoneKey {
  const key = generateSigningKey(algorithm);
  return { key, rr: dnskey(zone, algorithm, key.dnskey, flags) };
}

export function dnskey(zone: Name, algorithm: number, publicKey: Uint8Array, flags: number, ttl = 3600): RR<DNSKEYData> {
  return makeRR<DNSKEYData>(zone, RRType.DNSKEY, ttl, { flags, protocol: 3, algorithm, publicKey });
}

/** The same key with other flags (e.g. the REVOKE bit set). */
export function withFlags(k: ZoneKey, flags: number): ZoneKey {
  return { key: k.key, rr: dnskey(k.rr.name, k.rr.data.algorithm, k.rr.data.publicKey, flags, k.rr.ttl) };
}

/** Whether an RRSIG made with `rr`'s tag and algorithm verifies with `rr`'s public key. */
function signedBy(rr: RR<DNSKEYData>, rrset: readonly RR[], sigs: readonly RR<RRSIGData>[]): boolean {
  const tag = keyTag(rr.rdata);
  return sigs.some((s) => s.data.keyTag === tag && s.data.algorithm === rr.data.algorithm
    && verifier.verify(rr.data.algorithm, rr.data.publicKey, signedData(s.data, rrset), s.data.signature).kind === 'valid');
}

/**
 * The DNSKEY RRset `published`, with RRSIGs by `signers` (each under the tag of the form given), as the
 * daemon would hand it over after validating it. `forged`: RRSIGs made with `by`'s private key but
 * carrying `as`'s tag (a signature the claimed key never made).
 */
export function observe(published: readonly ZoneKey[], signers: readonly ZoneKey[], forged: { as: ZoneKey; by: ZoneKey }[] = []): Observation {
  const rrset = published.map((k) => k.rr);
  const sign = (as: ZoneKey, by: ZoneKey): RR<RRSIGData> => makeRrsig(rrset, {
    algorithm: as.rr.data.algorithm, keyTag: keyTag(as.rr.rdata), signer: as.rr.name, inception: 1_700_000_000, expiration: 1_800_000_000,
  }, (d) => by.key.sign(d));
  const sigs = [...signers.map((s) => sign(s, s)), ...forged.map((f) => sign(f.as, f.by))];
  return { keys: rrset, selfSignedRevoked: (k) => signedBy(k, rrset, sigs) };
}

/** A refresh that must not mutate its input: the state given is deep-compared before and after. */
export function refresh(state: ZoneState, obs: Observation, now: number, timers?: Timers): RefreshOutcome {
  const before = JSON.stringify(state, (_k, v: unknown) => (v instanceof Uint8Array ? Array.from(v) : v));
  const out = applyRefresh(state, obs, now, timers);
  const after = JSON.stringify(state, (_k, v: unknown) => (v instanceof Uint8Array ? Array.from(v) : v));
  if (before !== after) throw new Error('applyRefresh mutated the state it was given');
  return out;
}

export const stateOf = (s: ZoneState, k: ZoneKey): string | undefined => {
  const e = s.keys.find((x) => x.dnskey.data.algorithm === k.rr.data.algorithm && Buffer.from(x.dnskey.data.publicKey).equals(k.rr.data.publicKey));
  return e?.status.state;
};

export const trustedTags = (keys: readonly RR<DNSKEYData>[]): number[] => keys.map((k) => keyTag(k.rdata)).sort((a, b) => a - b);
