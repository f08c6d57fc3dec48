/**
 * RFC 5011 automated trust anchor updates, the pure core: the per-key state machine of §4 and the
 * refresh timing of §2.3. No I/O, no timers: every function takes the time it runs at and returns a
 * new state plus the changes to log. The daemon fetches the zone's DNSKEY RRset, validates it with the
 * currently trusted keys (`trustedKeys`), and only then calls `applyRefresh`; src/anchors/state-file.ts
 * keeps the state on disk.
 *
 * A key is identified by algorithm and public key: setting the REVOKE bit (flag 0x0080) changes the flags
 * and the key tag (RFC 5011 §7: the tag is computed with the bit set) but it is still the same key.
 */
import { DnskeyFlag, RRType, base64, keyTag, type DNSKEYData, type Name, type RR } from '../wire/index.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** Hold-down timers in milliseconds (RFC 5011 §2.4.1, §2.4.2; keep-missing is Unbound's). */
export interface Timers {
  addHoldDown: number;
  removeHoldDown: number;
  /** How long a Missing key stays a trust anchor before it is Removed; 0 keeps it forever (as Unbound). */
  keepMissing: number;
}

/** Unbound's defaults: add and remove hold-down 30 days, keep-missing 366 days. */
export const DEFAULT_TIMERS: Timers = { addHoldDown: 30 * DAY, removeHoldDown: 30 * DAY, keepMissing: 366 * DAY };

/**
 * Refreshes a pending key must be seen in after the one that found it before it becomes Valid (Unbound's
 * MIN_PENDINGCOUNT): with a clock that jumps forward, one sighting on each side of the jump is not enough.
 */
export const MIN_PENDING_COUNT = 2;

export type KeyStateName = 'Start' | 'AddPend' | 'Valid' | 'Missing' | 'Revoked' | 'Removed';

/** A key's state (RFC 5011 §4.2) with the timers that belong to it. */
export type KeyStatus =
  | { state: 'Start' }
  | { state: 'AddPend'; holdDownEnd: number; pendingCount: number }
  | { state: 'Valid' }
  | { state: 'Missing' }
  | { state: 'Revoked'; removeHoldDownEnd: number }
  /** `wasRevoked`: removed after a revocation (never trusted again) or after keep-missing (may start over). */
  | { state: 'Removed'; wasRevoked: boolean };

export interface KeyEntry {
  /** Algorithm and public key: the same for the key with and without the REVOKE bit. */
  readonly id: string;
  /** The DNSKEY as last seen (a Revoked key keeps its revoked form, as proof of the revocation). */
  readonly dnskey: RR<DNSKEYData>;
  /** The key tag of `dnskey`, flags as seen (REVOKE bit included). */
  readonly keyTag: number;
  /** The key tag without the REVOKE bit: the tag the key had as a trust anchor. */
  readonly keyTagUnrevoked: number;
  readonly status: KeyStatus;
  /** First and last validated refresh the key was seen in (undefined: a configured key not seen yet). */
  readonly firstSeen: number | undefined;
  readonly lastSeen: number | undefined;
  readonly lastChange: number;
}

export type RefreshResult = { kind: 'ok' } | { kind: 'failed'; reason: string };

export interface ZoneState {
  readonly zone: Name;
  readonly keys: readonly KeyEntry[];
  /**
   * The latest `now` of a validated refresh. Hold-downs are measured on max(now, highWater), so a clock that
   * goes back never moves time backwards here. Only validated refreshes raise it: a DNSKEY RRset validated
   * at `now` proves `now` lies inside its signatures' validity, so a wildly wrong clock cannot set it.
   */
  readonly highWater: number | undefined;
  readonly lastRefresh: { at: number; result: RefreshResult } | undefined;
}

export interface KeyRef {
  keyTag: number;
  keyTagUnrevoked: number;
  algorithm: number;
}

/** Why a key changed state: the RFC 5011 §4.1 event, or Unbound's keep-missing. */
export type Why =
  | 'new-key' // NewKey: a new SEP key in a validated RRset
  | 'add-hold-down-passed' // AddTime, seen in MIN_PENDING_COUNT further refreshes
  | 'gone-while-pending' // KeyRem during the add hold-down: it must start over
  | 'gone' // KeyRem of a trusted key
  | 'back' // KeyPres
  | 'revoked' // Revbit: published with the REVOKE bit and signing the RRset itself
  | 'remove-hold-down-passed' // RemTime
  | 'missing-too-long' // keep-missing expired while another key is Valid
  | 'back-after-removal'; // a key removed by keep-missing (never revoked) is published again

export type Change =
  | { kind: 'state'; key: KeyRef; from: KeyStateName; to: KeyStateName; why: Why }
  /** A key in AddPend after this refresh; `trustedAt`: the end of its hold-down, if it stays published. */
  | { kind: 'pending'; key: KeyRef; trustedAt: number; pendingCount: number }
  /** A DNSKEY with the REVOKE bit that did not sign the RRset itself: the bit is ignored (RFC 5011 §2.1). */
  | { kind: 'revoke-ignored'; key: KeyRef }
  /** `now` was earlier than an earlier validated refresh: no time passed for the hold-downs. */
  | { kind: 'clock-backwards'; now: number; highWater: number }
  /** No Valid or Missing key is left: the zone must fail closed. */
  | { kind: 'no-trusted-key' };

/** A validated DNSKEY RRset of the zone (the caller validated it with a currently trusted key). */
export interface Observation {
  readonly keys: readonly RR<DNSKEYData>[];
  /**
   * Whether this DNSKEY, which has the REVOKE bit, signed the RRset itself (the caller verifies the RRSIG
   * with the revoked key's tag and public key). Only then does the bit count (RFC 5011 §2.1).
   */
  readonly selfSignedRevoked: (key: RR<DNSKEYData>) => boolean;
  /** Algorithms the validator can use; new keys of others are never added. Default: all. */
  readonly supportsAlgorithm?: (algorithm: number) => boolean;
}

export interface RefreshOutcome {
  state: ZoneState;
  changes: Change[];
}

export const isRevokedKey = (k: DNSKEYData): boolean => (k.flags & DnskeyFlag.REVOKE) !== 0;
const isSep = (k: DNSKEYData): boolean => (k.flags & DnskeyFlag.SEP) !== 0;
const isZoneKey = (k: DNSKEYData): boolean => k.protocol === 3 && (k.flags & DnskeyFlag.ZONE) !== 0;
const TRUSTED: ReadonlySet<KeyStateName> = new Set(['Valid', 'Missing']);

export const keyId = (k: DNSKEYData): string => `${k.algorithm}/${base64(k.publicKey)}`;

/** The key tag of a DNSKEY RDATA with the REVOKE bit cleared (flags are the first two octets). */
export function tagWithoutRevoke(rdata: Uint8Array): number {
  const copy = Uint8Array.from(rdata);
  if (copy.length >= 2) copy[1] = copy[1]! & ~DnskeyFlag.REVOKE;
  return keyTag(copy);
}

function entryFor(rr: RR<DNSKEYData>, status: KeyStatus, at: number, seen: boolean): KeyEntry {
  return {
    id: keyId(rr.data), dnskey: rr, keyTag: keyTag(rr.rdata), keyTagUnrevoked: tagWithoutRevoke(rr.rdata), status,
    firstSeen: seen ? at : undefined, lastSeen: seen ? at : undefined, lastChange: at,
  };
}

const refOf = (rr: RR<DNSKEYData>): KeyRef => ({ keyTag: keyTag(rr.rdata), keyTagUnrevoked: tagWithoutRevoke(rr.rdata), algorithm: rr.data.algorithm });
export const keyRef = (e: KeyEntry): KeyRef => refOf(e.dnskey);

/** The DNSKEYs that are trust anchors now: Valid and Missing keys (RFC 5011 §4.2: Missing keys still count). */
export function trustedKeys(state: ZoneState): RR<DNSKEYData>[] {
  return state.keys.filter((e) => TRUSTED.has(e.status.state)).map((e) => e.dnskey);
}

/**
 * First start (no state yet): the configured keys are trusted at once (Valid). A configured key that
 * already has the REVOKE bit is recorded as Revoked, never trusted.
 */
export function initialState(zone: Name, configured: readonly RR<DNSKEYData>[], now: number, timers: Timers = DEFAULT_TIMERS): ZoneState {
  const keys: KeyEntry[] = [];
  for (const rr of configured) {
    if (rr.type !== RRType.DNSKEY || !rr.name.equals(zone)) throw new RangeError(`${rr.name.toText()}: not a DNSKEY of ${zone.toText()}`);
    if (keys.some((e) => e.id === keyId(rr.data))) continue;
    const status: KeyStatus = isRevokedKey(rr.data) ? { state: 'Revoked', removeHoldDownEnd: now + timers.removeHoldDown } : { state: 'Valid' };
    keys.push(entryFor(rr, status, now, false));
  }
  return { zone, keys, highWater: undefined, lastRefresh: undefined };
}

/** What `mergeWithConfigured` did not take from the configured anchors, for the log. */
export type MergeNote =
  /** The configured key is known to the state in an untrusted state (e.g. Revoked): the state wins. */
  | { kind: 'state-wins'; key: KeyRef; state: KeyStateName }
  /** The configured key is unknown to the state: keys are added from the file only at first start. */
  | { kind: 'not-added'; key: KeyRef };

/**
 * A state from the state file next to the configured anchors: the state file wins for the keys it knows
 * (a key it has Revoked stays revoked even if the file lists it), and keys it does not know are not
 * added (only RFC 5011 adds keys once a state exists; a stale anchor file must not undo a roll).
 */
export function mergeWithConfigured(state: ZoneState, configured: readonly RR<DNSKEYData>[]): { state: ZoneState; notes: MergeNote[] } {
  const notes: MergeNote[] = [];
  for (const rr of configured) {
    const e = state.keys.find((k) => k.id === keyId(rr.data));
    if (!e) notes.push({ kind: 'not-added', key: refOf(rr) });
    else if (!TRUSTED.has(e.status.state)) notes.push({ kind: 'state-wins', key: keyRef(e), state: e.status.state });
  }
  return { state, notes };
}

/** A failed refresh: recorded for the operator; it changes no key (only validated data does). */
export function recordFailure(state: ZoneState, now: number, reason: string): ZoneState {
  return { ...state, lastRefresh: { at: now, result: { kind: 'failed', reason } } };
}

/** One key's forms in the observed RRset. */
interface Sighting {
  plain?: RR<DNSKEYData>;
  /** With the REVOKE bit and signing the RRset itself. */
  revoked?: RR<DNSKEYData>;
  /** With the REVOKE bit but no signature of its own: ignored, except as presence of a Revoked key. */
  revokedUnsigned?: RR<DNSKEYData>;
}

function sightings(zone: Name, obs: Observation): Map<string, Sighting> {
  const out = new Map<string, Sighting>();
  for (const rr of obs.keys) {
    if (rr.type !== RRType.DNSKEY || !rr.name.equals(zone) || !isZoneKey(rr.data)) continue;
    const id = keyId(rr.data);
    const s = out.get(id) ?? {};
    if (!isRevokedKey(rr.data)) s.plain = rr;
    else if (obs.selfSignedRevoked(rr)) s.revoked = rr;
    else s.revokedUnsigned = rr;
    out.set(id, s);
  }
  return out;
}

/** The time of one refresh and what it may do. */
interface Tick {
  /** max(now, highWater): the time every timestamp and hold-down of this refresh uses. */
  t: number;
  /** Whether time moved forward since the last validated refresh (a pending key's sighting counts only then). */
  advanced: boolean;
  timers: Timers;
  changes: Change[];
}

const seenNow = (e: KeyEntry, rr: RR<DNSKEYData>, t: number): KeyEntry => ({ ...e, dnskey: rr, keyTag: keyTag(rr.rdata), lastSeen: t, firstSeen: e.firstSeen ?? t });

/** A state change; `seenAs`: the key's record when this refresh saw it (absence events pass none). */
function move(e: KeyEntry, status: KeyStatus, why: Why, tick: Tick, seenAs?: RR<DNSKEYData>): KeyEntry {
  const next: KeyEntry = { ...(seenAs ? seenNow(e, seenAs, tick.t) : e), status, lastChange: tick.t };
  tick.changes.push({ kind: 'state', key: keyRef(next), from: e.status.state, to: status.state, why });
  return next;
}

const addPend = (tick: Tick): KeyStatus => ({ state: 'AddPend', holdDownEnd: tick.t + tick.timers.addHoldDown, pendingCount: 0 });
const revoked = (tick: Tick): KeyStatus => ({ state: 'Revoked', removeHoldDownEnd: tick.t + tick.timers.removeHoldDown });

/** One known key through one validated refresh (RFC 5011 §4.1 table). */
function step(e: KeyEntry, s: Sighting | undefined, tick: Tick): KeyEntry {
  const st = e.status;
  // Revbit (§2.1): from any state in which the key could be or become trusted; once revoked, never again.
  if (s?.revoked && (st.state !== 'Revoked' && !(st.state === 'Removed' && st.wasRevoked))) {
    return move(e, revoked(tick), 'revoked', tick, s.revoked);
  }
  const plain = s?.plain;
  switch (st.state) {
    case 'Start':
      return plain && isSep(plain.data) ? move(e, addPend(tick), 'new-key', tick, plain) : e;
    case 'AddPend': {
      if (!plain) return move(e, { state: 'Start' }, 'gone-while-pending', tick);
      const pendingCount = st.pendingCount + (tick.advanced ? 1 : 0);
      if (tick.t >= st.holdDownEnd && pendingCount >= MIN_PENDING_COUNT) return move(e, { state: 'Valid' }, 'add-hold-down-passed', tick, plain);
      return { ...seenNow(e, plain, tick.t), status: { ...st, pendingCount } };
    }
    case 'Valid':
      return plain ? seenNow(e, plain, tick.t) : move(e, { state: 'Missing' }, 'gone', tick);
    case 'Missing':
      // keep-missing is decided after every key has stepped (it needs another key to be Valid).
      return plain ? move(e, { state: 'Valid' }, 'back', tick, plain) : e;
    case 'Revoked':
      // RemTime (§4.1): the revoked key has been absent from the RRset for the remove hold-down, so any
      // form of it still published pushes the end forward (never backward).
      if (s) {
        const end = Math.max(st.removeHoldDownEnd, tick.t + tick.timers.removeHoldDown);
        return { ...e, status: { state: 'Revoked', removeHoldDownEnd: end }, lastSeen: tick.t };
      }
      return tick.t >= st.removeHoldDownEnd ? move(e, { state: 'Removed', wasRevoked: true }, 'remove-hold-down-passed', tick) : e;
    case 'Removed':
      // Removed is terminal in RFC 5011's table, where only a revoked key gets there. A key removed by
      // keep-missing was never revoked: if it is published again it is a new key to this resolver and must
      // sit out the whole add hold-down (§2.2), never straight to Valid. A revoked one never comes back.
      return !st.wasRevoked && plain && isSep(plain.data) ? move(e, addPend(tick), 'back-after-removal', tick, plain) : e;
  }
}

/** A key the state does not know yet. */
function added(s: Sighting, obs: Observation, tick: Tick): KeyEntry | undefined {
  const start = (rr: RR<DNSKEYData>): KeyEntry => entryFor(rr, { state: 'Start' }, tick.t, false);
  // Recorded as Revoked though never trusted: the key must never become an anchor later (§2.1).
  if (s.revoked) return move(start(s.revoked), revoked(tick), 'revoked', tick, s.revoked);
  const rr = s.plain;
  if (!rr || !isSep(rr.data)) return undefined; // NewKey is about SEP keys: ZSKs roll without becoming anchors
  if (obs.supportsAlgorithm && !obs.supportsAlgorithm(rr.data.algorithm)) return undefined;
  return move(start(rr), addPend(tick), 'new-key', tick, rr);
}

/**
 * One validated refresh of the zone's DNSKEY RRset at `now` (RFC 5011 §4). `now` must be the time the
 * caller validated the RRset at. A `now` earlier than the last validated refresh counts as no time
 * passed: presence and absence are still recorded (they only ever restart a hold-down, keep a key trusted
 * as Missing, or revoke), but no hold-down ends, and the sighting does not count for a pending key.
 */
export function applyRefresh(state: ZoneState, obs: Observation, now: number, timers: Timers = DEFAULT_TIMERS): RefreshOutcome {
  const changes: Change[] = [];
  const hw = state.highWater;
  if (hw !== undefined && now < hw) changes.push({ kind: 'clock-backwards', now, highWater: hw });
  const tick: Tick = { t: hw === undefined ? now : Math.max(now, hw), advanced: hw === undefined || now > hw, timers, changes };
  const seen = sightings(state.zone, obs);

  let keys = state.keys.map((e) => step(e, seen.get(e.id), tick));
  for (const [id, s] of seen) {
    if (state.keys.some((e) => e.id === id)) continue;
    const e = added(s, obs, tick);
    if (e) keys.push(e);
  }
  // keep-missing (Unbound): only while another key is Valid, so it never removes the last anchors.
  if (timers.keepMissing > 0 && keys.some((e) => e.status.state === 'Valid')) {
    keys = keys.map((e) => (e.status.state === 'Missing' && tick.t - e.lastChange >= timers.keepMissing
      ? move(e, { state: 'Removed', wasRevoked: false }, 'missing-too-long', tick) : e));
  }
  for (const [id, s] of seen) {
    if (!s.revokedUnsigned || s.revoked) continue;
    const e = keys.find((k) => k.id === id);
    const wasRevoked = e && (e.status.state === 'Revoked' || (e.status.state === 'Removed' && e.status.wasRevoked));
    if (!wasRevoked) changes.push({ kind: 'revoke-ignored', key: refOf(s.revokedUnsigned) });
  }
  for (const e of keys) {
    if (e.status.state === 'AddPend') changes.push({ kind: 'pending', key: keyRef(e), trustedAt: e.status.holdDownEnd, pendingCount: e.status.pendingCount });
  }
  const next: ZoneState = { ...state, keys, highWater: tick.t, lastRefresh: { at: now, result: { kind: 'ok' } } };
  if (trustedKeys(next).length === 0) changes.push({ kind: 'no-trusted-key' });
  return { state: next, changes };
}

/** How a change is logged (issue 11: info per state change, warning while pending, error without anchors). */
export function describeChange(zone: Name, c: Change): { level: 'info' | 'warn' | 'error'; text: string } {
  const z = zone.toText();
  const key = (k: KeyRef): string => `key ${k.keyTag}${k.keyTag === k.keyTagUnrevoked ? '' : ` (${k.keyTagUnrevoked} before revocation)`} alg ${k.algorithm}`;
  const iso = (ms: number): string => new Date(ms).toISOString();
  switch (c.kind) {
    case 'state':
      return { level: 'info', text: `${z} ${key(c.key)}: ${c.from} -> ${c.to} (${c.why})` };
    case 'pending':
      return { level: 'warn', text: `${z} ${key(c.key)}: pending (RFC 5011 add hold-down), trusted from ${iso(c.trustedAt)} if it stays published` };
    case 'revoke-ignored':
      return { level: 'warn', text: `${z} ${key(c.key)}: REVOKE bit ignored, the key did not sign the DNSKEY RRset itself` };
    case 'clock-backwards':
      return { level: 'warn', text: `${z}: clock went back from ${iso(c.highWater)} to ${iso(c.now)}; hold-downs do not advance` };
    case 'no-trusted-key':
      return { level: 'error', text: `${z}: no trusted key left (all revoked or gone): the zone fails closed until an anchor is restored` };
  }
}

/** What the last refresh of the DNSKEY RRset gave, for §2.3 timing. TTL in seconds, expirations in ms. */
export type RefreshBasis =
  | { kind: 'ok'; ttl: number; sigExpirations: readonly number[] }
  /** After a failure: the TTL and signature expirations of the last good answer, when there was one. */
  | { kind: 'failed'; ttl?: number; sigExpirations?: readonly number[] };

/**
 * When to refresh next (RFC 5011 §2.3): after a good answer now + max(1 h, min(15 d, TTL/2, time to the
 * earliest signature expiration/2)); after a failure now + max(1 h, min(1 d, TTL/10, expiration/10)).
 * A failure with nothing known from a good answer retries after the 1 hour floor.
 */
export function nextRefresh(basis: RefreshBasis, now: number): number {
  const ok = basis.kind === 'ok';
  const divisor = ok ? 2 : 10;
  const terms: number[] = [];
  if (basis.ttl !== undefined) terms.push((basis.ttl * 1000) / divisor);
  const exps = basis.sigExpirations ?? [];
  if (exps.length > 0) terms.push(Math.max(0, Math.min(...exps) - now) / divisor);
  if (!ok && terms.length === 0) return now + HOUR;
  return now + Math.max(HOUR, Math.min(ok ? 15 * DAY : DAY, ...terms));
}
