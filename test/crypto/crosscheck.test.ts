/**
 * The two backends agree: keys made by node:crypto (RSA 1024/2048 with e = 65537 and e = 3, P-256,
 * P-384, Ed25519, Ed448) in DNSKEY form, 200 random messages per algorithm, each signed and then
 * tampered (data, signature or key). Both must accept every good signature (for ECDSA also the
 * high-S twin (r, n - s)) and give the same verdict on every tampered one.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createVerifier, type VerifyResult } from '../../src/crypto/index.js';
import {
  CURVE_ORDER, ecKey, edKey, flipBit, flipS, prng, rsaKey, rsaPair, verifyNoThrow, type TestKey,
} from './helpers.js';

const ROUNDS = 200;
const openssl = createVerifier('openssl');
const js = createVerifier('js');
const auto = createVerifier('auto');

const RSA_PAIRS = [rsaPair(1024, 65537), rsaPair(1024, 3), rsaPair(2048, 65537), rsaPair(2048, 3)];

function keysFor(algorithm: number): TestKey[] {
  switch (algorithm) {
    case 13: case 14: return [ecKey(algorithm), ecKey(algorithm), ecKey(algorithm)];
    case 15: case 16: return [edKey(algorithm), edKey(algorithm), edKey(algorithm)];
    default: return RSA_PAIRS.map((p) => rsaKey(algorithm, p));
  }
}

/** Both backends (and auto) on one input: same verdict kind, and the expected validity. */
function agree(alg: number, key: Uint8Array, data: Uint8Array, sig: Uint8Array, what: string): VerifyResult {
  const a = verifyNoThrow(openssl, alg, key, data, sig);
  const b = verifyNoThrow(js, alg, key, data, sig);
  assert.equal(a.kind, b.kind, `${what}: openssl ${JSON.stringify(a)} vs js ${JSON.stringify(b)}`);
  assert.equal(verifyNoThrow(auto, alg, key, data, sig).kind, a.kind, `${what}: auto`);
  return a;
}

function isHighS(alg: 13 | 14, sig: Uint8Array): boolean {
  const s = BigInt('0x' + Buffer.from(sig.subarray(sig.length / 2)).toString('hex'));
  return s > CURVE_ORDER[alg] / 2n;
}

describe('openssl and js backends agree on generated keys', () => {
  for (const alg of [5, 7, 8, 10, 13, 14, 15, 16]) {
    it(`algorithm ${alg}: ${ROUNDS} valid and ${ROUNDS} tampered signatures`, () => {
      const rnd = prng(alg * 7919);
      const keys = keysFor(alg);
      const tally = { valid: 0, tampered: 0, highS: 0, lowS: 0 };
      for (let i = 0; i < ROUNDS; i++) {
        const k = keys[i % keys.length]!;
        const data = rnd.bytes(1 + rnd.int(300));
        const sig = k.sign(data);
        const label = `alg ${alg} ${k.label} round ${i}`;
        assert.equal(agree(alg, k.dnskey, data, sig, label).kind, 'valid', label);
        tally.valid++;
        if (alg === 13 || alg === 14) {
          const twin = flipS(alg, sig);
          assert.equal(agree(alg, k.dnskey, data, twin, `${label} (r, n-s)`).kind, 'valid', `${label} (r, n-s)`);
          tally[isHighS(alg, sig) ? 'highS' : 'lowS']++;
        }
        const t = i % 4;
        const [key, d, s, what] =
          t === 0 ? [k.dnskey, flipBit(data, rnd.int(data.length * 8)), sig, 'data'] as const
          : t === 1 ? [k.dnskey, data, flipBit(sig, rnd.int(sig.length * 8)), 'signature'] as const
          : t === 2 ? [flipBit(k.dnskey, rnd.int(k.dnskey.length * 8)), data, sig, 'key'] as const
          : [k.dnskey, data, keys[(i + 1) % keys.length]!.sign(data), 'another key\'s signature'] as const;
        const r = agree(alg, key, d, s, `${label} tampered ${what}`);
        assert.notEqual(r.kind, 'valid', `${label} tampered ${what}`);
        tally.tampered++;
      }
      assert.equal(tally.valid, ROUNDS);
      assert.equal(tally.tampered, ROUNDS);
      if (alg === 13 || alg === 14) assert.ok(tally.highS > 0 && tally.lowS > 0, `both S halves seen: ${JSON.stringify(tally)}`);
    });
  }
});
