/**
 * The stack's verifier counts every verification by algorithm and result (what the metrics'
 * signature_verifications_total shows): real keys and signatures through the real backends.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createVerifier, memoizingVerifier, type VerificationCount } from '../../src/crypto/index.js';
import { ecKey, edKey } from '../../src/crypto/sign.js';

const count = (vs: readonly VerificationCount[], algorithm: number, result: string): number =>
  vs.find((v) => v.algorithm === algorithm && v.result === result)?.count ?? 0;

describe('verification counts', () => {
  for (const backend of ['openssl', 'js', 'auto'] as const) {
    it(`${backend}: valid (from the backend and from memory), invalid, unsupported, error, per algorithm`, () => {
      const memo = memoizingVerifier(createVerifier(backend));
      const p256 = ecKey(13);
      const ed = edKey(15);
      const data = Buffer.from('www.example. A 192.0.2.1');
      const sig13 = p256.sign(data);
      const sig15 = ed.sign(data);
      assert.deepEqual(memo.stats().verifications, [], 'nothing before the first verification');

      for (let i = 0; i < 3; i++) assert.equal(memo.verify(13, p256.dnskey, data, sig13).kind, 'valid');
      assert.equal(memo.verify(15, ed.dnskey, data, sig15).kind, 'valid');
      const tampered = Buffer.from(data);
      tampered[0]! ^= 1;
      assert.equal(memo.verify(13, p256.dnskey, tampered, sig13).kind, 'invalid');
      assert.equal(memo.verify(15, ed.dnskey, tampered, sig15).kind, 'invalid');
      assert.equal(memo.verify(3, p256.dnskey, data, sig13).kind, 'unsupported-algorithm', 'DSA (3): not validated (RFC 8624)');
      assert.equal(memo.verify(13, p256.dnskey.subarray(0, 40), data, sig13).kind, 'bad-key');
      assert.equal(memo.verify(15, ed.dnskey, data, sig15.subarray(0, 10)).kind, 'bad-signature');

      const v = memo.stats().verifications;
      assert.equal(count(v, 13, 'valid'), 3, 'two of them from memory');
      assert.equal(memo.stats().hits, 2);
      assert.equal(count(v, 15, 'valid'), 1);
      assert.equal(count(v, 13, 'invalid'), 1);
      assert.equal(count(v, 15, 'invalid'), 1);
      assert.equal(count(v, 3, 'unsupported'), 1);
      assert.equal(count(v, 13, 'error'), 1);
      assert.equal(count(v, 15, 'error'), 1);
      assert.equal(v.reduce((n, x) => n + x.count, 0), memo.stats().hits + memo.stats().misses, 'every call counted once');
      assert.deepEqual(v.map((x) => x.algorithm), [...v.map((x) => x.algorithm)].sort((a, b) => a - b), 'ordered by algorithm');
    });
  }

  it('an algorithm number is counted under itself, whatever it is', () => {
    const memo = memoizingVerifier(createVerifier('openssl'));
    memo.verify(253, new Uint8Array(8), new Uint8Array(8), new Uint8Array(8));
    memo.verify(255, new Uint8Array(8), new Uint8Array(8), new Uint8Array(8));
    assert.deepEqual(memo.stats().verifications, [{ algorithm: 253, result: 'unsupported', count: 1 }, { algorithm: 255, result: 'unsupported', count: 1 }]);
  });
});
