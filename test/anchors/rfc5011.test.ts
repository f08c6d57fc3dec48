import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { ManualClock } from '../../src/clock.js';
import { readAnchorFile } from '../../src/anchors/load.js';
import {
  DEFAULT_TIMERS, describeChange, initialState, mergeWithConfigured, nextRefresh, recordFailure, trustedKeys,
  type Change, type ZoneState,
} from '../../src/anchors/rfc5011.js';
import { Name, keyTag, type DNSKEYData, type RR } from '../../src/wire/index.js';
import {
  DAY, HOUR, REVOKED_KSK, ZSK, dnskey, observe, refresh, stateOf, trustedTags, withFlags, zoneKey, type ZoneKey,
} from './rfc5011-support.js';

const zone = Name.fromText('example.');
const T0 = Date.parse('2026-03-01T00:00:00Z');
const A = zoneKey(zone, 13); // trusted from the start
const B = zoneKey(zone, 13); // the newcomer
const C = zoneKey(zone, 15); // a second algorithm
const Z = zoneKey(zone, 13, ZSK);

const stateChanges = (cs: Change[]): string[] =>
  cs.flatMap((c) => (c.kind === 'state' ? [`${c.key.keyTag}:${c.from}->${c.to}:${c.why}`] : []));
const tag = (k: ZoneKey): number => keyTag(k.rr.rdata);

/** Refresh once a day from `clock`'s time with the same RRset, until `until` (inclusive). */
function daily(state: ZoneState, clock: ManualClock, until: number, published: ZoneKey[], signers: ZoneKey[]): { state: ZoneState; changes: Change[] } {
  const changes: Change[] = [];
  while (clock.now() <= until) {
    const out = refresh(state, observe(published, signers), clock.now());
    state = out.state;
    changes.push(...out.changes);
    clock.advance(DAY);
  }
  return { state, changes };
}

describe('RFC 5011 state machine (§4)', () => {
  it('first start: configured keys are Valid and trusted at once; a configured revoked key is not', () => {
    const revokedC = withFlags(C, REVOKED_KSK);
    const s = initialState(zone, [A.rr, A.rr, revokedC.rr], T0);
    assert.equal(s.keys.length, 2, 'duplicates are one key');
    assert.equal(stateOf(s, A), 'Valid');
    assert.equal(stateOf(s, C), 'Revoked');
    assert.deepEqual(trustedTags(trustedKeys(s)), [tag(A)]);
    assert.equal(s.keys[0]!.firstSeen, undefined, 'not seen in a refresh yet');
    assert.throws(() => initialState(Name.root, [A.rr], T0), RangeError);
  });

  it('NewKey: Start -> AddPend with the hold-down ending 30 days later, not trusted meanwhile', () => {
    const clock = new ManualClock(T0);
    const out = refresh(initialState(zone, [A.rr], T0), observe([A, B, Z], [A]), clock.now());
    assert.equal(stateOf(out.state, B), 'AddPend');
    assert.equal(stateOf(out.state, Z), undefined, 'a ZSK (no SEP bit) is never a candidate anchor');
    assert.deepEqual(stateChanges(out.changes), [`${tag(B)}:Start->AddPend:new-key`]);
    const pending = out.changes.find((c) => c.kind === 'pending');
    assert.deepEqual(pending && pending.kind === 'pending' && [pending.key.keyTag, pending.trustedAt], [tag(B), T0 + 30 * DAY]);
    assert.match(describeChange(zone, pending!).text, /trusted from 2026-03-31T00:00:00\.000Z/);
    assert.equal(describeChange(zone, pending!).level, 'warn');
    assert.deepEqual(trustedTags(trustedKeys(out.state)), [tag(A)]);
  });

  it('AddTime: Valid at the first refresh after the hold-down, never before', () => {
    const clock = new ManualClock(T0);
    const end = T0 + 30 * DAY;
    let { state } = daily(initialState(zone, [A.rr], T0), clock, end - DAY, [A, B], [A]);
    assert.equal(stateOf(state, B), 'AddPend', 'one day before the end');
    clock.set(end - 1);
    state = refresh(state, observe([A, B], [A]), clock.now()).state;
    assert.equal(stateOf(state, B), 'AddPend', 'one millisecond before the end');
    const out = refresh(state, observe([A, B], [A]), end);
    assert.deepEqual(stateChanges(out.changes), [`${tag(B)}:AddPend->Valid:add-hold-down-passed`]);
    assert.deepEqual(trustedTags(trustedKeys(out.state)), [tag(A), tag(B)].sort((x, y) => x - y));
  });

  it('AddTime needs two refreshes after the first sighting, however much time passed', () => {
    let s = refresh(initialState(zone, [A.rr], T0), observe([A, B], [A]), T0).state;
    s = refresh(s, observe([A, B], [A]), T0 + 40 * DAY).state;
    assert.equal(stateOf(s, B), 'AddPend', 'seen once after the hold-down: a clock jump must not suffice');
    s = refresh(s, observe([A, B], [A]), T0 + 40 * DAY + HOUR).state;
    assert.equal(stateOf(s, B), 'Valid');
  });

  it('KeyRem during AddPend: back to Start; a key that comes back starts the hold-down over', () => {
    const clock = new ManualClock(T0);
    let { state } = daily(initialState(zone, [A.rr], T0), clock, T0 + 20 * DAY, [A, B], [A]);
    let out = refresh(state, observe([A], [A]), T0 + 21 * DAY);
    assert.deepEqual(stateChanges(out.changes), [`${tag(B)}:AddPend->Start:gone-while-pending`]);
    out = refresh(out.state, observe([A, B], [A]), T0 + 22 * DAY);
    assert.deepEqual(stateChanges(out.changes), [`${tag(B)}:Start->AddPend:new-key`]);
    const b = out.state.keys.find((k) => k.keyTag === tag(B))!;
    assert.deepEqual(b.status, { state: 'AddPend', holdDownEnd: T0 + 52 * DAY, pendingCount: 0 });
    assert.equal(b.firstSeen, T0, 'first seen is history, kept');
    clock.set(T0 + 23 * DAY);
    state = daily(out.state, clock, T0 + 51 * DAY, [A, B], [A]).state;
    assert.equal(stateOf(state, B), 'AddPend', '30 days after the first sighting is not enough');
    assert.equal(stateOf(refresh(state, observe([A, B], [A]), T0 + 52 * DAY).state, B), 'Valid');
  });

  it('KeyRem and KeyPres: Valid -> Missing (still trusted) -> Valid', () => {
    let out = refresh(initialState(zone, [A.rr, B.rr], T0), observe([A], [A]), T0);
    assert.deepEqual(stateChanges(out.changes), [`${tag(B)}:Valid->Missing:gone`]);
    assert.deepEqual(trustedTags(trustedKeys(out.state)), [tag(A), tag(B)].sort((x, y) => x - y), 'Missing keys stay anchors');
    out = refresh(out.state, observe([A, B], [B]), T0 + DAY);
    assert.deepEqual(stateChanges(out.changes), [`${tag(B)}:Missing->Valid:back`]);
  });

  it('keep-missing: Missing -> Removed after 366 days, only while another key is Valid; Removed may start over via AddPend', () => {
    let s = refresh(initialState(zone, [A.rr, B.rr], T0), observe([A], [A]), T0).state;
    s = refresh(s, observe([A], [A]), T0 + 365 * DAY).state;
    assert.equal(stateOf(s, B), 'Missing');
    let out = refresh(s, observe([A], [A]), T0 + 366 * DAY);
    assert.deepEqual(stateChanges(out.changes), [`${tag(B)}:Missing->Removed:missing-too-long`]);
    assert.deepEqual(trustedTags(trustedKeys(out.state)), [tag(A)]);
    out = refresh(out.state, observe([A, B], [A]), T0 + 367 * DAY);
    assert.deepEqual(stateChanges(out.changes), [`${tag(B)}:Removed->AddPend:back-after-removal`]);
    assert.deepEqual(trustedTags(trustedKeys(out.state)), [tag(A)], 'never straight back to Valid');

    // With no Valid key left (the only key published revoked itself), keep-missing removes nothing.
    const rB = withFlags(B, REVOKED_KSK);
    let t = refresh(initialState(zone, [A.rr, B.rr], T0), observe([B], [B]), T0).state;
    t = refresh(t, observe([rB], [rB]), T0 + DAY).state;
    t = refresh(t, observe([rB], [rB]), T0 + 400 * DAY).state;
    assert.equal(stateOf(t, A), 'Missing', 'the last anchor is not dropped by time');
    assert.deepEqual(trustedTags(trustedKeys(t)), [tag(A)]);
  });

  it('Revbit with the key\'s own signature: Valid, Missing or AddPend -> Revoked, never trusted again', () => {
    const rA = withFlags(A, REVOKED_KSK);
    const revokedTag = keyTag(rA.rr.rdata);
    assert.notEqual(revokedTag, tag(A), 'the key tag is computed with the REVOKE bit set');
    let out = refresh(initialState(zone, [A.rr, B.rr], T0), observe([rA, B], [rA, B]), T0);
    assert.deepEqual(stateChanges(out.changes), [`${revokedTag}:Valid->Revoked:revoked`]);
    const e = out.state.keys.find((k) => k.keyTagUnrevoked === tag(A))!;
    assert.deepEqual([e.keyTag, e.dnskey.data.flags, e.status], [revokedTag, REVOKED_KSK, { state: 'Revoked', removeHoldDownEnd: T0 + 30 * DAY }]);
    assert.deepEqual(trustedTags(trustedKeys(out.state)), [tag(B)]);
    out = refresh(out.state, observe([A, B], [A, B]), T0 + DAY);
    assert.equal(stateOf(out.state, A), 'Revoked', 'published again without the bit, signing: still revoked');
    assert.deepEqual(trustedTags(trustedKeys(out.state)), [tag(B)]);

    const missing = refresh(initialState(zone, [A.rr, B.rr], T0), observe([B], [B]), T0).state;
    assert.equal(stateOf(refresh(missing, observe([rA, B], [rA, B]), T0 + DAY).state, A), 'Revoked', 'from Missing');
    const pend = refresh(initialState(zone, [B.rr], T0), observe([A, B], [B]), T0).state;
    assert.equal(stateOf(refresh(pend, observe([rA, B], [rA, B]), T0 + DAY).state, A), 'Revoked', 'from AddPend');
    const fresh = refresh(initialState(zone, [B.rr], T0), observe([rA, B], [rA, B]), T0).state;
    assert.equal(stateOf(fresh, A), 'Revoked', 'an unknown key seen revoked is recorded so that it can never be added');
    assert.equal(stateOf(refresh(fresh, observe([A, B], [B]), T0 + DAY).state, A), 'Revoked');
  });

  it('a REVOKE bit without the key\'s own signature is ignored (and a forged one too)', () => {
    const rA = withFlags(A, REVOKED_KSK);
    const s0 = initialState(zone, [A.rr, B.rr], T0);
    for (const obs of [observe([rA, B], [B]), observe([rA, B], [B], [{ as: rA, by: B }])]) {
      const out = refresh(s0, obs, T0);
      assert.equal(stateOf(out.state, A), 'Missing', 'its unrevoked form is gone, the key is not revoked');
      assert.deepEqual(out.changes.filter((c) => c.kind === 'revoke-ignored').map((c) => c.kind === 'revoke-ignored' && c.key.keyTag), [keyTag(rA.rr.rdata)]);
      assert.deepEqual(trustedTags(trustedKeys(out.state)), [tag(A), tag(B)].sort((x, y) => x - y));
    }
  });

  it('RemTime: Revoked -> Removed once the revoked key has been gone for the remove hold-down', () => {
    const rA = withFlags(A, REVOKED_KSK);
    let s = refresh(initialState(zone, [A.rr, B.rr], T0), observe([rA, B], [rA, B]), T0).state;
    s = refresh(s, observe([rA, B], [rA, B]), T0 + 20 * DAY).state;
    s = refresh(s, observe([B], [B]), T0 + 35 * DAY).state;
    assert.equal(stateOf(s, A), 'Revoked', 'still published on day 20: the hold-down runs from its disappearance');
    const out = refresh(s, observe([B], [B]), T0 + 50 * DAY);
    assert.deepEqual(stateChanges(out.changes), [`${keyTag(rA.rr.rdata)}:Revoked->Removed:remove-hold-down-passed`]);
    const back = refresh(out.state, observe([A, B], [A, B]), T0 + 60 * DAY).state;
    assert.equal(stateOf(back, A), 'Removed', 'a revoked key never comes back, not even through AddPend');
    assert.deepEqual(trustedTags(trustedKeys(back)), [tag(B)]);
  });

  it('two algorithms are managed side by side', () => {
    const clock = new ManualClock(T0);
    let { state } = daily(initialState(zone, [A.rr], T0), clock, T0 + 30 * DAY, [A, C], [A]);
    assert.deepEqual(state.keys.map((k) => [k.dnskey.data.algorithm, k.status.state]), [[13, 'Valid'], [15, 'Valid']]);
    const rC = withFlags(C, REVOKED_KSK);
    state = refresh(state, observe([A, rC], [A, rC]), clock.now()).state;
    assert.deepEqual(state.keys.map((k) => [k.dnskey.data.algorithm, k.status.state]), [[13, 'Valid'], [15, 'Revoked']]);
    assert.equal(stateOf(refresh(state, observe([A, C], [A]), clock.now() + DAY).state, C), 'Revoked');
    const unsupported = refresh(initialState(zone, [A.rr], T0), { ...observe([A, C], [A]), supportsAlgorithm: (a) => a === 13 }, T0).state;
    assert.equal(stateOf(unsupported, C), undefined, 'a new key of an algorithm the validator cannot use is not added');
  });

  it('a clock that goes back shortens no hold-down and makes no key valid early', () => {
    let s = refresh(initialState(zone, [A.rr], T0), observe([A, B], [A]), T0).state;
    const end = T0 + 30 * DAY;
    s = refresh(s, observe([A, B], [A]), T0 + 25 * DAY).state; // the clock runs ahead...
    let out = refresh(s, observe([A, B, C], [A]), T0 + 5 * DAY); // ...and is set back 20 days
    assert.deepEqual(out.changes[0], { kind: 'clock-backwards', now: T0 + 5 * DAY, highWater: T0 + 25 * DAY });
    assert.equal(out.state.highWater, T0 + 25 * DAY, 'the time base never decreases');
    const b = out.state.keys.find((k) => k.keyTag === tag(B))!;
    assert.deepEqual(b.status, { state: 'AddPend', holdDownEnd: end, pendingCount: 1 }, 'end unchanged; no count for a backwards refresh');
    const c = out.state.keys.find((k) => k.keyTag === tag(C))!;
    assert.deepEqual(c.status, { state: 'AddPend', holdDownEnd: T0 + 55 * DAY, pendingCount: 0 }, 'a new key waits 30 days from the latest time seen');
    // Daily refreshes with the clock behind: nothing becomes valid before the absolute end.
    for (let t = T0 + 6 * DAY; t < end; t += DAY) {
      out = refresh(out.state, observe([A, B, C], [A]), t);
      assert.equal(stateOf(out.state, B), 'AddPend', new Date(t).toISOString());
    }
    out = refresh(out.state, observe([A, B, C], [A]), end);
    assert.equal(stateOf(out.state, B), 'Valid', 'trusted at the end it always had');
    assert.equal(stateOf(out.state, C), 'AddPend');
  });

  it('no trusted key left: an error-level change at every refresh', () => {
    const rA = withFlags(A, REVOKED_KSK);
    let out = refresh(initialState(zone, [A.rr], T0), observe([rA], [rA]), T0);
    assert.deepEqual(trustedKeys(out.state), []);
    assert.ok(out.changes.some((c) => c.kind === 'no-trusted-key'));
    out = refresh(out.state, observe([rA, B], [rA]), T0 + DAY);
    const err = out.changes.find((c) => c.kind === 'no-trusted-key')!;
    assert.equal(describeChange(zone, err).level, 'error');
    assert.equal(stateOf(out.state, B), 'AddPend', 'keys are still followed (an operator may restore an anchor)');
  });

  it('a failed refresh is recorded and changes no key', () => {
    const s = initialState(zone, [A.rr], T0);
    const f = recordFailure(s, T0 + HOUR, 'timeout');
    assert.deepEqual(f.lastRefresh, { at: T0 + HOUR, result: { kind: 'failed', reason: 'timeout' } });
    assert.deepEqual(f.keys, s.keys);
    assert.equal(f.highWater, undefined);
  });
});

describe('state file versus configured anchors at start', () => {
  it('the state wins for keys it knows; keys it does not know are not added', () => {
    const rA = withFlags(A, REVOKED_KSK);
    const s = refresh(initialState(zone, [A.rr, B.rr], T0), observe([rA, B], [rA, B]), T0).state;
    const { state, notes } = mergeWithConfigured(s, [A.rr, B.rr, C.rr]);
    assert.equal(state, s);
    assert.deepEqual(trustedTags(trustedKeys(state)), [tag(B)], 'the file still lists A; it stays revoked');
    assert.deepEqual(notes, [
      { kind: 'state-wins', key: { keyTag: keyTag(rA.rr.rdata), keyTagUnrevoked: tag(A), algorithm: 13 }, state: 'Revoked' },
      { kind: 'not-added', key: { keyTag: tag(C), keyTagUnrevoked: tag(C), algorithm: 15 } },
    ]);
  });
});

describe('active refresh timing (§2.3)', () => {
  const now = T0;
  it('after a good answer: max(1 h, min(15 d, TTL/2, expiration/2))', () => {
    assert.equal(nextRefresh({ kind: 'ok', ttl: 172800, sigExpirations: [now + 21 * DAY] }, now), now + DAY, 'the root: TTL/2');
    assert.equal(nextRefresh({ kind: 'ok', ttl: 86400 * 100, sigExpirations: [now + 10 * DAY, now + 40 * DAY] }, now), now + 5 * DAY, 'earliest expiration/2');
    assert.equal(nextRefresh({ kind: 'ok', ttl: 86400 * 100, sigExpirations: [now + 100 * DAY] }, now), now + 15 * DAY, '15 days at most');
    assert.equal(nextRefresh({ kind: 'ok', ttl: 300, sigExpirations: [now + DAY] }, now), now + HOUR, '1 hour at least');
    assert.equal(nextRefresh({ kind: 'ok', ttl: 86400, sigExpirations: [now - DAY] }, now), now + HOUR, 'an expired signature: the floor');
  });
  it('after a failure: max(1 h, min(1 d, TTL/10, expiration/10))', () => {
    assert.equal(nextRefresh({ kind: 'failed', ttl: 172800, sigExpirations: [now + 21 * DAY] }, now), now + 17280_000);
    assert.equal(nextRefresh({ kind: 'failed', ttl: 86400 * 30, sigExpirations: [now + 30 * DAY] }, now), now + DAY, '1 day at most');
    assert.equal(nextRefresh({ kind: 'failed', ttl: 3600 }, now), now + HOUR, '1 hour at least');
    assert.equal(nextRefresh({ kind: 'failed' }, now), now + HOUR, 'nothing known: retry at the floor');
  });
});

describe('the root KSK roll, KSK-2017 to KSK-2024, as a timeline', () => {
  const ROOT_ZONE = fileURLToPath(new URL('../../../trust-anchors/root.zone', import.meta.url));
  const at = (iso: string): number => Date.parse(`${iso}T00:00:00Z`);
  const [root] = readAnchorFile(ROOT_ZONE, new ManualClock(at('2026-01-01')));
  const ksk = (t: number): RR<DNSKEYData> => root!.dnskeys.find((k) => keyTag(k.rdata) === t)!;
  const ttl = 172800;
  const asSeen = (rr: RR<DNSKEYData>, flags = rr.data.flags): RR<DNSKEYData> => dnskey(Name.root, 8, rr.data.publicKey, flags, ttl);
  const k2017 = asSeen(ksk(20326));
  const k2024 = asSeen(ksk(38696));
  const k2017revoked = asSeen(ksk(20326), REVOKED_KSK);
  const zsk = dnskey(Name.root, 8, zoneKey(Name.root, 8, ZSK).key.dnskey, ZSK, ttl); // a ZSK rolls without becoming an anchor

  // What the root publishes (ICANN's plan: KSK-2024 published 2025-01-11, signing from 2026-10-11, KSK-2017
  // published revoked from 2027-01-11). Taking it out on 2027-04-11 is this test's choice. ICANN's private keys
  // are not ours, so the revoked KSK-2017's self-signature is stated, not computed: `revokedSelfSigned`.
  const published = (t: number): RR<DNSKEYData>[] => {
    if (t < at('2025-01-11')) return [k2017, zsk];
    if (t < at('2027-01-11')) return [k2017, k2024, zsk];
    if (t < at('2027-04-11')) return [k2017revoked, k2024, zsk];
    return [k2024, zsk];
  };
  const revokedSelfSigned = (k: RR<DNSKEYData>): boolean => keyTag(k.rdata) === keyTag(k2017revoked.rdata);

  it('follows the roll with refreshes every TTL/2, from a daemon installed with KSK-2017 only', () => {
    assert.equal(keyTag(k2017.rdata), 20326);
    assert.equal(keyTag(k2024.rdata), 38696);
    const revokedTag = keyTag(k2017revoked.rdata);
    assert.notEqual(revokedTag, 20326);
    assert.equal(revokedTag, 20454, 'computed: the REVOKE bit adds 0x0080 to the sum');

    const clock = new ManualClock(at('2024-10-01'));
    let state = initialState(Name.root, [ksk(20326)], clock.now());
    const log: string[] = [];
    const trustedOn = new Map<string, number[]>();
    while (clock.now() < at('2027-07-01')) {
      const now = clock.now();
      const out = refresh(state, { keys: published(now), selfSignedRevoked: revokedSelfSigned }, now, DEFAULT_TIMERS);
      state = out.state;
      for (const c of out.changes) {
        if (c.kind === 'state') log.push(`${new Date(now).toISOString().slice(0, 10)} ${c.key.keyTag} ${c.from}->${c.to}`);
        assert.notEqual(c.kind, 'no-trusted-key', new Date(now).toISOString());
      }
      trustedOn.set(new Date(now).toISOString().slice(0, 10), trustedTags(trustedKeys(state)));
      // The root's DNSKEY RRSIGs are valid for about 21 days: the TTL (2 days) sets the pace, one day.
      clock.set(nextRefresh({ kind: 'ok', ttl, sigExpirations: [now + 15 * DAY] }, now));
    }
    assert.deepEqual(log, [
      '2025-01-11 38696 Start->AddPend',
      '2025-02-10 38696 AddPend->Valid',
      '2027-01-11 20454 Valid->Revoked',
      '2027-05-10 20454 Revoked->Removed', // last seen 2027-04-10, plus the 30-day remove hold-down
    ]);
    assert.deepEqual(trustedOn.get('2025-02-09'), [20326], 'KSK-2024 not trusted one day early');
    assert.deepEqual(trustedOn.get('2025-02-10'), [20326, 38696]);
    assert.deepEqual(trustedOn.get('2026-10-11'), [20326, 38696], 'both trusted when KSK-2024 starts signing');
    assert.deepEqual(trustedOn.get('2027-01-11'), [38696], 'KSK-2017 untrusted the day it is published revoked');
    assert.deepEqual(trustedOn.get('2027-06-30'), [38696]);
    assert.equal(state.keys.length, 2, 'the ZSK never entered the state');

    // An RRset replaying KSK-2017 without the bit after the roll does not bring it back.
    const replay = refresh(state, { keys: [k2017, k2024], selfSignedRevoked: revokedSelfSigned }, at('2027-08-01'));
    assert.deepEqual(trustedTags(trustedKeys(replay.state)), [38696]);
  });
});
