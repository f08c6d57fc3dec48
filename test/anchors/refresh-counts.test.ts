/**
 * The RFC 5011 manager counts its refreshes per zone by result (what rfc5011_refreshes_total shows): a
 * DNSKEY RRset signed by the trusted key (ok), no answer (fetch-failed), an RRset no trusted key signed
 * (not-validated), an RRset without any trusted key (anchor-gone). Real keys and signatures, the real
 * OpenSSL verifier, an injected clock.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AnchorManager, REFRESH_RESULTS, type DnskeyFetch } from '../../src/anchors/manager.js';
import { ManualClock } from '../../src/clock.js';
import { createVerifier } from '../../src/crypto/index.js';
import { createBudget } from '../../src/validator/budget.js';
import { DEFAULT_LIMITS, DEFAULT_SKEW, type ValidationContext } from '../../src/validator/types.js';
import { Name, RRType, emptyFlags, keyTag, makeRrsig, type Message, type RR } from '../../src/wire/index.js';
import { tempStateDir } from '../support/state-dir.js';
import { DAY, KSK, zoneKey, type ZoneKey } from './rfc5011-support.js';

const ZONE = Name.fromText('example.');
const T0 = Date.UTC(2025, 0, 10);

function answer(published: readonly ZoneKey[], signers: readonly ZoneKey[]): DnskeyFetch {
  const rrset = published.map((k) => k.rr);
  const sigs = signers.map((s) => makeRrsig(rrset, {
    algorithm: s.rr.data.algorithm, keyTag: keyTag(s.rr.rdata), signer: ZONE, inception: 1_700_000_000, expiration: 1_800_000_000,
  }, (d) => s.key.sign(d)));
  const message: Message = {
    id: 1, opcode: 0, flags: { ...emptyFlags(), qr: true }, rcode: 0, question: [{ name: ZONE, type: RRType.DNSKEY, class: 1 }],
    answer: [...rrset, ...sigs] as RR[], authority: [], additional: [],
  };
  return { kind: 'answer', message };
}

describe('RFC 5011 refresh counts', () => {
  it('one count per refresh, by result, per zone; zero for every result at start', async () => {
    const clock = new ManualClock(T0);
    const crypto = createVerifier('openssl');
    const trusted = zoneKey(ZONE, 13, KSK);
    const stranger = zoneKey(ZONE, 13, KSK);
    let served: DnskeyFetch = { kind: 'failure', detail: 'no DNSSEC-capable upstream answered (timeout)' };
    const m = await AnchorManager.open([{ zone: ZONE, ds: [], dnskeys: [trusted.rr] }], {
      stateDir: tempStateDir(), timers: { addHoldDown: 30 * DAY, removeHoldDown: 30 * DAY, keepMissing: 366 * DAY }, clock, tickMs: 0,
      context: (): ValidationContext => ({ clock, crypto, limits: DEFAULT_LIMITS, skew: DEFAULT_SKEW, budget: createBudget(DEFAULT_LIMITS) }),
      fetchDnskeys: async () => served,
      onChange: () => undefined,
    }, ['example.anchor-file']);
    try {
      const counts = (): Record<string, number> => m.snapshot()[0]!.refreshes;
      assert.deepEqual(counts(), Object.fromEntries(REFRESH_RESULTS.map((r) => [r, 0])));

      await m.refresh(ZONE);
      assert.deepEqual(counts(), { 'ok': 0, 'fetch-failed': 1, 'not-validated': 0, 'anchor-gone': 0 });

      served = answer([trusted], [trusted]);
      await m.refresh(ZONE);
      clock.set(T0 + DAY);
      await m.refresh(ZONE);
      assert.deepEqual(counts(), { 'ok': 2, 'fetch-failed': 1, 'not-validated': 0, 'anchor-gone': 0 });

      // the trusted key published, but the RRset signed by another key only
      served = answer([trusted, stranger], [stranger]);
      await m.refresh(ZONE);
      assert.deepEqual(counts(), { 'ok': 2, 'fetch-failed': 1, 'not-validated': 1, 'anchor-gone': 0 });
      assert.match(m.snapshot()[0]!.lastRefresh!.result, /does not validate with a trusted key/);

      // the trusted key gone from the zone
      served = answer([stranger], [stranger]);
      await m.refresh(ZONE);
      assert.deepEqual(counts(), { 'ok': 2, 'fetch-failed': 1, 'not-validated': 1, 'anchor-gone': 1 });
      assert.match(m.snapshot()[0]!.lastRefresh!.result, /the trust anchor is gone/);

      // a snapshot is a copy
      m.snapshot()[0]!.refreshes['ok'] = 99;
      assert.equal(counts()['ok'], 2);
    } finally {
      await m.close();
    }
  });
});
