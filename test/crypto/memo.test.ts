import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createVerifier, memoizingVerifier, type SignatureVerifier } from '../../src/crypto/index.js';
import { ecKey } from '../../src/crypto/sign.js';

/** A P-256 key as DNSKEY public key bytes (X || Y) and a signer producing r || s. */
function p256() {
  const k = ecKey(13);
  return { key: k.dnskey, sign: (d: Uint8Array) => k.sign(d) };
}

function counting(inner: SignatureVerifier): SignatureVerifier & { calls: number } {
  const v = { calls: 0, name: inner.name, supports: (a: number) => inner.supports(a), verify: (...a: Parameters<SignatureVerifier['verify']>) => (v.calls++, inner.verify(...a)) };
  return v;
}

describe('memoizing verifier', () => {
  const k = p256();
  const data = Buffer.from('the same NSEC proof, answer after answer');
  const sig = k.sign(data);

  it('answers a repeated good signature without the backend', () => {
    const inner = counting(createVerifier('openssl'));
    const memo = memoizingVerifier(inner);
    for (let i = 0; i < 5; i++) assert.equal(memo.verify(13, k.key, data, sig).kind, 'valid');
    assert.equal(inner.calls, 1);
    assert.deepEqual({ hits: memo.stats().hits, misses: memo.stats().misses }, { hits: 4, misses: 1 });
  });

  it('never reuses a remembered signature for other data, another key or another algorithm', () => {
    const inner = counting(createVerifier('openssl'));
    const memo = memoizingVerifier(inner);
    assert.equal(memo.verify(13, k.key, data, sig).kind, 'valid');
    const other = Buffer.from(data);
    other[0] ^= 1;
    assert.equal(memo.verify(13, k.key, other, sig).kind, 'invalid');
    assert.notEqual(memo.verify(13, p256().key, data, sig).kind, 'valid');
    assert.notEqual(memo.verify(14, k.key, data, sig).kind, 'valid');
    assert.equal(inner.calls, 4);
  });

  it('does not remember failures, and stays within its byte bound', () => {
    const inner = counting(createVerifier('openssl'));
    const memo = memoizingVerifier(inner, 4096);
    const bad = Buffer.from(sig);
    bad[5] ^= 0xff;
    memo.verify(13, k.key, data, bad);
    memo.verify(13, k.key, data, bad);
    assert.equal(inner.calls, 2);
    for (let i = 0; i < 100; i++) {
      const d = Buffer.from(`record ${i}`);
      assert.equal(memo.verify(13, k.key, d, k.sign(d)).kind, 'valid');
    }
    assert.ok(memo.stats().bytes <= 4096, `${memo.stats().bytes} bytes`);
    assert.ok(memo.stats().entries < 100);
  });
});
