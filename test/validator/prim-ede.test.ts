/** createBudget and the RFC 8914 mapping of validation reasons. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createBudget } from '../../src/validator/budget.js';
import { describeReason, edeFor } from '../../src/validator/ede.js';
import { DEFAULT_LIMITS, type BogusReason, type InsecureReason } from '../../src/validator/types.js';
import { EdeCode } from '../../src/wire/index.js';

describe('createBudget', () => {
  it('counts signature verifications up to the per-query limit, then refuses for good', () => {
    const b = createBudget({ ...DEFAULT_LIMITS, maxSignaturesPerQuery: 3 });
    assert.deepEqual([b.spendSignature(), b.spendSignature(), b.spendSignature()], [true, true, true]);
    assert.equal(b.spendSignature(), false);
    assert.equal(b.spendSignature(), false);
    assert.equal(b.signaturesUsed, 3);
  });

  it('counts NSEC3 hashes, several at once, and stays exhausted after a refusal', () => {
    const b = createBudget({ ...DEFAULT_LIMITS, maxNsec3HashesPerQuery: 5 });
    assert.equal(b.spendNsec3Hash(), true);
    assert.equal(b.spendNsec3Hash(3), true);
    assert.equal(b.nsec3HashesUsed, 4);
    assert.equal(b.spendNsec3Hash(2), false);
    assert.equal(b.spendNsec3Hash(1), false);
    assert.equal(b.nsec3HashesUsed, 4);
    // The two kinds of work are independent.
    assert.equal(b.spendSignature(), true);
  });
});

describe('edeFor', () => {
  it('names the failing name, type, key and time', () => {
    const e = edeFor({
      kind: 'signature-expired', name: 'www.example.', type: 'A', keyTag: 12345, expiration: Date.UTC(2026, 10, 1) / 1000, inception: 0, signer: 'example.',
    });
    assert.deepEqual(e, { code: 7, text: 'www.example. A: RRSIG by key 12345 expired 2026-11-01T00:00:00Z' });
  });

  it('maps every reason kind to its RFC 8914 code', () => {
    const cases: [BogusReason | InsecureReason, number][] = [
      [{ kind: 'rrsigs-missing', name: 'a.', type: 'A' }, EdeCode.RRSIGS_MISSING],
      [{ kind: 'dnskey-missing', zone: 'a.', keyTag: 1 }, EdeCode.DNSKEY_MISSING],
      [{ kind: 'signature-expired', name: 'a.', type: 'A', keyTag: 1, expiration: 0, inception: 0, signer: 'a.' }, EdeCode.SIGNATURE_EXPIRED],
      [{ kind: 'signature-not-yet-valid', name: 'a.', type: 'A', keyTag: 1, inception: 0, expiration: 0, signer: 'a.' }, EdeCode.SIGNATURE_NOT_YET_VALID],
      [{ kind: 'signature-invalid', name: 'a.', type: 'A', keyTag: 1 }, EdeCode.DNSSEC_BOGUS],
      [{ kind: 'bad-rrsig', name: 'a.', type: 'A', detail: 'x' }, EdeCode.DNSSEC_BOGUS],
      [{ kind: 'ds-mismatch', zone: 'a.' }, EdeCode.DNSSEC_BOGUS],
      [{ kind: 'no-zone-key', zone: 'a.', keyTag: 1 }, EdeCode.NO_ZONE_KEY_BIT_SET],
      [{ kind: 'nsec-missing', name: 'a.', type: 'A', proof: 'nxdomain' }, EdeCode.NSEC_MISSING],
      [{ kind: 'proof-invalid', name: 'a.', type: 'A', proof: 'nodata', detail: 'x' }, EdeCode.DNSSEC_BOGUS],
      [{ kind: 'budget-exceeded', what: 'signatures', limit: 8 }, EdeCode.OTHER],
      [{ kind: 'chain-too-long', name: 'a.' }, EdeCode.OTHER],
      [{ kind: 'upstream-inconsistent', name: 'a.', detail: 'x' }, EdeCode.DNSSEC_BOGUS],
      [{ kind: 'unsupported-algorithm', zone: 'a.', algorithms: [12] }, EdeCode.UNSUPPORTED_DNSKEY_ALGORITHM],
      [{ kind: 'unsupported-digest', zone: 'a.', digestTypes: [3] }, EdeCode.UNSUPPORTED_DS_DIGEST_TYPE],
      [{ kind: 'nsec3-iterations', zone: 'a.', iterations: 500, limit: 150 }, EdeCode.UNSUPPORTED_NSEC3_ITERATIONS],
      [{ kind: 'no-ds', zone: 'a.' }, EdeCode.OTHER],
      [{ kind: 'opt-out', zone: 'a.' }, EdeCode.OTHER],
      [{ kind: 'nsec3-hash-algorithm', zone: 'a.', algorithm: 2 }, EdeCode.OTHER],
      [{ kind: 'no-anchor', name: 'a.' }, EdeCode.OTHER],
      [{ kind: 'negative-trust-anchor', zone: 'a.' }, EdeCode.OTHER],
    ];
    for (const [reason, code] of cases) {
      const e = edeFor(reason);
      assert.equal(e.code, code, reason.kind);
      assert.ok(e.text.includes('a.') || reason.kind === 'budget-exceeded', `${reason.kind}: ${e.text}`);
      assert.equal(describeReason(reason), e.text);
    }
  });

  it('texts for proofs, budgets and unsupported algorithms', () => {
    assert.equal(
      describeReason({ kind: 'nsec-missing', name: 'x.example.', type: 'AAAA', proof: 'wildcard-nodata' }),
      'x.example. AAAA: no NSEC/NSEC3 proof of wildcard no data',
    );
    assert.equal(describeReason({ kind: 'budget-exceeded', what: 'nsec3-hashes', limit: 200 }), 'validation work limit reached: nsec3-hashes (limit 200)');
    assert.equal(edeFor({ kind: 'unsupported-algorithm', zone: 'x.', algorithms: [3, 12] }).text, 'x.: unsupported DNSKEY algorithm 3, 12');
  });
});
