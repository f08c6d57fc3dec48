/**
 * The RFC 5011 manager on an injected clock: a zone's DNSKEY RRset (real keys, real signatures) changes
 * over time, the manager refreshes it, keeps the state file, and hands every change of the trusted keys
 * to its hook; a restart continues from the state file; an RRset no trusted key signed changes nothing.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { AnchorManager, type DnskeyFetch } from '../../src/anchors/manager.js';
import { StateLockError } from '../../src/anchors/state-file.js';
import { ManualClock } from '../../src/clock.js';
import { createVerifier } from '../../src/crypto/index.js';
import { createBudget } from '../../src/validator/budget.js';
import { DEFAULT_LIMITS, DEFAULT_SKEW, type TrustAnchor, type ValidationContext } from '../../src/validator/types.js';
import { Name, RRType, emptyFlags, keyTag, makeRrsig, type Message, type RR } from '../../src/wire/index.js';
import { tempStateDir } from '../support/state-dir.js';
import { DAY, HOUR, KSK, REVOKED_KSK, withFlags, zoneKey, type ZoneKey } from './rfc5011-support.js';

const ZONE = Name.fromText('example.');
const T0 = Date.UTC(2025, 0, 10);
const TIMERS = { addHoldDown: 30 * DAY, removeHoldDown: 30 * DAY, keepMissing: 366 * DAY };

/** What the upstream answers for the zone's DNSKEY: the keys published, signed by `signers`. */
function answer(published: readonly ZoneKey[], signers: readonly ZoneKey[]): Message {
  const rrset = published.map((k) => k.rr);
  const sigs = signers.map((s) => makeRrsig(rrset, {
    algorithm: s.rr.data.algorithm, keyTag: keyTag(s.rr.rdata), signer: ZONE, inception: 1_700_000_000, expiration: 1_800_000_000,
  }, (d) => s.key.sign(d)));
  return {
    id: 1, opcode: 0, flags: { ...emptyFlags(), qr: true }, rcode: 0, question: [{ name: ZONE, type: RRType.DNSKEY, class: 1 }],
    answer: [...rrset, ...sigs] as RR[], authority: [], additional: [],
  };
}

function world() {
  const clock = new ManualClock(T0);
  const crypto = createVerifier('openssl');
  const context = (): ValidationContext => ({ clock, crypto, limits: DEFAULT_LIMITS, skew: DEFAULT_SKEW, budget: createBudget(DEFAULT_LIMITS) });
  let served: DnskeyFetch = { kind: 'failure', detail: 'nothing yet' };
  const changes: TrustAnchor[][] = [];
  const dir = tempStateDir();
  const open = (configured: TrustAnchor[]) => AnchorManager.open(configured, {
    stateDir: dir, timers: TIMERS, clock, context, tickMs: 0,
    fetchDnskeys: async () => served,
    onChange: (a) => changes.push(a),
  }, ['example.anchor-file']);
  return { clock, dir, changes, open, serve: (m: Message) => { served = { kind: 'answer', message: m }; } };
}

const tags = (a: readonly TrustAnchor[]): number[] => a.flatMap((x) => x.dnskeys.map((k) => keyTag(k.rdata))).sort((x, y) => x - y);

describe('the RFC 5011 manager', () => {
  const old = zoneKey(ZONE, 13, KSK);
  const next = zoneKey(ZONE, 13, KSK);
  const oldRevoked = withFlags(old, REVOKED_KSK);

  it('follows a KSK roll: AddPend, trusted after the hold-down, the old key revoked; a restart continues from the state file', async () => {
    const w = world();
    const configured: TrustAnchor[] = [{ zone: ZONE, ds: [], dnskeys: [old.rr] }];
    let m = await w.open(configured);
    assert.deepEqual(tags(m.anchors()), [keyTag(old.rr.rdata)]);
    assert.match(readFileSync(join(w.dir, 'example.anchor'), 'utf8'), /;state=Valid/);

    // The new key is published, the RRset signed by the old one.
    w.serve(answer([old, next], [old]));
    await m.refresh(ZONE);
    assert.deepEqual(m.snapshot()[0]!.keys.map((k) => k.state), ['Valid', 'AddPend']);
    assert.equal(w.changes.length, 0, 'a pending key is not trusted');

    // Seen through the hold-down (a refresh a day, as the schedule would at worst): trusted after 30 days.
    for (let day = 1; day <= 31; day++) {
      w.clock.set(T0 + day * DAY);
      await m.refresh(ZONE);
      const trustedNow = m.anchors()[0]!.dnskeys.length;
      assert.equal(trustedNow, day < 30 ? 1 : 2, `day ${day}`);
    }
    assert.deepEqual(tags(w.changes.at(-1)!), tags([{ zone: ZONE, ds: [], dnskeys: [old.rr, next.rr] }]));

    // The old key is published revoked and signs the RRset itself: never trusted again.
    w.clock.set(T0 + 40 * DAY);
    w.serve(answer([oldRevoked, next], [oldRevoked, next]));
    await m.refresh(ZONE);
    assert.deepEqual(tags(m.anchors()), [keyTag(next.rr.rdata)]);
    assert.deepEqual(tags(w.changes.at(-1)!), [keyTag(next.rr.rdata)]);
    await m.close();

    // Restart with the stale anchor file (the old key only): the state wins.
    m = await w.open(configured);
    assert.deepEqual(tags(m.anchors()), [keyTag(next.rr.rdata)]);
    assert.deepEqual(m.snapshot()[0]!.keys.map((k) => k.state).sort(), ['Revoked', 'Valid']);
    await m.close();
  });

  it('an RRset no trusted key signed changes nothing (the refresh fails, the reason is kept); one without the trusted key: the anchor is gone', async () => {
    const w = world();
    const m = await w.open([{ zone: ZONE, ds: [], dnskeys: [old.rr] }]);
    w.serve(answer([old, next], [next]));
    await m.refresh(ZONE);
    assert.deepEqual(tags(m.anchors()), [keyTag(old.rr.rdata)]);
    assert.match(m.snapshot()[0]!.lastRefresh!.result, /does not validate with a trusted key/);
    w.serve(answer([next], [next]));
    await m.refresh(ZONE);
    assert.deepEqual(tags(m.anchors()), [keyTag(old.rr.rdata)], 'no validated RRset says otherwise: the state keeps it');
    const last = m.snapshot()[0]!.lastRefresh!;
    assert.match(last.result, /^the trust anchor is gone/);
    assert.ok(m.snapshot()[0]!.nextRefresh >= w.clock.now() + HOUR, 'retried after at least an hour (RFC 5011 §2.3)');
    await m.close();
  });

  it('a second manager on the same state directory is refused, naming the lock', async () => {
    const w = world();
    const m = await w.open([{ zone: ZONE, ds: [], dnskeys: [old.rr] }]);
    await assert.rejects(w.open([{ zone: ZONE, ds: [], dnskeys: [old.rr] }]), (e: unknown) => e instanceof StateLockError && /dnssec-stubd\.lock/.test(e.message));
    await m.close();
  });

  it('when the last trusted key is revoked, the zone keeps an anchor with no key: it fails closed', async () => {
    const w = world();
    const m = await w.open([{ zone: ZONE, ds: [], dnskeys: [old.rr] }]);
    w.serve(answer([oldRevoked, next], [oldRevoked, next]));
    await m.refresh(ZONE);
    const a = m.anchors();
    assert.equal(a.length, 1, 'the zone is still anchored');
    assert.deepEqual([a[0]!.ds.length, a[0]!.dnskeys.length], [0, 0]);
    await m.close();
  });
});
