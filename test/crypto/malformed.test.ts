/**
 * Malformed keys and signatures become results, never exceptions, and the two backends give the
 * same kind of result. Also: which algorithms are supported (RFC 8624), RFC 3110 key parsing and
 * its limits, and the BigInt RSA pieces.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { KNOWN_ALGORITHMS, algorithmSpec, createVerifier, parsePublicKey, type VerifyResult } from '../../src/crypto/index.js';
import { bigIntToBytes, emsaPkcs1v15, modPow } from '../../src/crypto/rsa-pkcs1.js';
import { BACKENDS, ecKey, edKey, prng, rsaDnskey, rsaKey, rsaPair, verifyNoThrow } from './helpers.js';

const DATA = new TextEncoder().encode('some signed data');

/** Both backends: no throw, same kind, the expected kind when given. */
function same(alg: number, key: Uint8Array, sig: Uint8Array, what: string, expected?: VerifyResult['kind']): VerifyResult['kind'] {
  const kinds = BACKENDS.map((v) => verifyNoThrow(v, alg, key, DATA, sig).kind);
  assert.equal(kinds[0], kinds[1], `${what}: openssl ${kinds[0]} vs js ${kinds[1]}`);
  assert.notEqual(kinds[0], 'valid', what);
  if (expected) assert.equal(kinds[0], expected, what);
  return kinds[0]!;
}

describe('algorithm support', () => {
  it('validates 5, 7, 8, 10, 13, 14, 15, 16 and nothing else', () => {
    for (const v of [...BACKENDS, createVerifier('auto')]) {
      for (let alg = 0; alg < 256; alg++) {
        assert.equal(v.supports(alg), [5, 7, 8, 10, 13, 14, 15, 16].includes(alg), `${v.name} ${alg}`);
      }
    }
    assert.deepEqual(KNOWN_ALGORITHMS, [1, 3, 5, 6, 7, 8, 10, 12, 13, 14, 15, 16]);
  });
  it('unsupported algorithms give unsupported-algorithm, even with a good key', () => {
    const k = edKey(15);
    for (const v of BACKENDS) {
      for (const alg of [1, 3, 6, 12, 0, 2, 4, 9, 11, 17, 252, 253, 254, 255, 256, -1, 1.5]) {
        assert.deepEqual(verifyNoThrow(v, alg, k.dnskey, DATA, k.sign(DATA)), { kind: 'unsupported-algorithm', algorithm: alg });
      }
    }
  });
});

describe('RFC 3110 RSA keys', () => {
  const spec8 = algorithmSpec(8)!;
  const mod = (bits: number): Uint8Array => {
    const m = new Uint8Array(Math.ceil(bits / 8)).fill(0xa5);
    m[0] = (1 << ((bits - 1) % 8)) | 1;
    m[m.length - 1]! |= 1;
    return m;
  };
  const bitsOf = (field: Uint8Array, spec = spec8): number | string => {
    const p = parsePublicKey(spec, field);
    return p.ok ? (p.key.kind === 'rsa' ? p.key.bits : 'not rsa') : p.reason;
  };

  it('accepts 1- and 3-octet exponent lengths and moduli of 512..4096 bits', () => {
    assert.equal(bitsOf(rsaDnskey(Uint8Array.of(1, 0, 1), mod(512))), 512);
    assert.equal(bitsOf(rsaDnskey(Uint8Array.of(3), mod(4096))), 4096);
    assert.equal(bitsOf(Uint8Array.from([0, 0, 3, 1, 0, 1, ...mod(1024)])), 1024);
    assert.equal(bitsOf(Uint8Array.from([1, 3, 0, 0, ...mod(1024)])), 1024, 'leading zero octets of the modulus are not bits');
  });
  it('rejects sizes, exponents and layouts out of range', () => {
    const bad: [string, Uint8Array][] = [
      ['empty', new Uint8Array(0)],
      ['only a length', Uint8Array.of(3)],
      ['511-bit modulus', rsaDnskey(Uint8Array.of(3), mod(511))],
      ['4097-bit modulus', rsaDnskey(Uint8Array.of(3), mod(4097))],
      ['zero-length exponent (3-octet form)', Uint8Array.from([0, 0, 0, ...mod(1024)])],
      ['truncated 3-octet length', Uint8Array.of(0, 1)],
      ['exponent overruns', Uint8Array.from([200, ...mod(512)]).subarray(0, 100)],
      ['no modulus', Uint8Array.of(3, 1, 0, 1)],
      ['all-zero modulus', Uint8Array.from([1, 3, ...new Uint8Array(64)])],
      ['exponent 1', rsaDnskey(Uint8Array.of(1), mod(1024))],
      ['exponent 0', rsaDnskey(Uint8Array.of(0), mod(1024))],
      ['even exponent', rsaDnskey(Uint8Array.of(1, 0, 0), mod(1024))],
      ['65-bit exponent', rsaDnskey(Uint8Array.from([1, ...new Uint8Array(7), 1]), mod(1024))],
      ['even modulus', rsaDnskey(Uint8Array.of(3), mod(1024).map((b, i, a) => (i === a.length - 1 ? b & 0xfe : b)))],
    ];
    for (const [what, field] of bad) assert.equal(typeof bitsOf(field), 'string', what);
    assert.match(String(bitsOf(rsaDnskey(Uint8Array.of(3), mod(768)), algorithmSpec(10)!)), /768-bit modulus outside 1024/);
  });
});

describe('malformed keys and signatures never throw and agree', () => {
  const rsa = rsaKey(8, rsaPair(1024, 65537));
  const p256 = ecKey(13);
  const p384 = ecKey(14);
  const ed25519 = edKey(15);
  const ed448 = edKey(16);
  const rnd = prng(7);

  it('RSA keys', () => {
    const sig = rsa.sign(DATA);
    const k = rsa.dnskey;
    const modulus = k.subarray(4);
    same(8, k.subarray(0, k.length - 1), sig, 'truncated modulus');
    same(8, k.subarray(0, 3), sig, 'truncated to the exponent', 'bad-key');
    same(8, new Uint8Array(0), sig, 'empty key', 'bad-key');
    same(8, Uint8Array.from([0, 0, 0, ...modulus]), sig, 'zero-length exponent', 'bad-key');
    same(8, Uint8Array.from([1, 1, ...modulus]), sig, 'exponent 1', 'bad-key');
    same(8, Uint8Array.from([255, ...modulus.subarray(0, 10)]), sig, 'exponent overruns', 'bad-key');
    same(8, Uint8Array.from([3, 1, 0, 1, ...modulus.subarray(0, 32)]), sig, '256-bit modulus', 'bad-key');
    same(8, Uint8Array.from([1, 3, ...modulus]), sig, 'wrong exponent', 'invalid');
    // The same key in the 3-octet exponent length form verifies.
    for (const v of BACKENDS) assert.equal(v.verify(8, Uint8Array.from([0, 0, 3, 1, 0, 1, ...modulus]), DATA, sig).kind, 'valid', v.name);
  });
  it('RSA signatures', () => {
    const sig = rsa.sign(DATA);
    const k = rsa.dnskey;
    same(8, k, new Uint8Array(0), 'empty signature', 'bad-signature');
    same(8, k, sig.subarray(1), 'short signature', 'bad-signature');
    same(8, k, Uint8Array.from([0, ...sig]), 'long signature', 'bad-signature');
    same(8, k, new Uint8Array(sig.length).fill(0xff), 'signature above the modulus', 'bad-signature');
    same(8, k, k.subarray(4), 'signature equal to the modulus', 'bad-signature');
    same(8, k, new Uint8Array(sig.length), 'zero signature', 'invalid');
    same(8, k, Uint8Array.from({ length: sig.length }, (_, i) => (i === sig.length - 1 ? 1 : 0)), 'signature 1', 'invalid');
    same(10, k, rsaKey(10, rsaPair(1024, 65537)).sign(DATA), 'another key');
  });
  it('ECDSA keys and signatures', () => {
    for (const [alg, k] of [[13, p256], [14, p384]] as const) {
      const sig = k.sign(DATA);
      const n = k.dnskey.length / 2;
      same(alg, k.dnskey.subarray(1), sig, 'truncated key', 'bad-key');
      same(alg, Uint8Array.from([4, ...k.dnskey]), sig, 'SEC 1 prefixed key', 'bad-key');
      same(alg, new Uint8Array(2 * n), sig, 'all-zero key (not a point)', 'bad-key');
      same(alg, rnd.bytes(2 * n), sig, 'random key (not on the curve)', 'bad-key');
      same(alg, new Uint8Array(2 * n).fill(0xff), sig, 'coordinates above p', 'bad-key');
      same(alg, Uint8Array.from([...k.dnskey.subarray(0, n), ...k.dnskey.subarray(n).map((b) => b ^ 1)]), sig, 'bad y', 'bad-key');
      same(alg, k.dnskey, sig.subarray(1), 'short signature', 'bad-signature');
      same(alg, k.dnskey, new Uint8Array(0), 'empty signature', 'bad-signature');
      same(alg, k.dnskey, new Uint8Array(2 * n), 'r = s = 0', 'invalid');
      same(alg, k.dnskey, new Uint8Array(2 * n).fill(0xff), 'r, s above n', 'invalid');
      same(alg, k.dnskey, Uint8Array.from([...sig.subarray(0, n), ...new Uint8Array(n)]), 's = 0', 'invalid');
      same(alg === 13 ? 14 : 13, k.dnskey, sig, 'key of the other curve');
    }
  });
  it('EdDSA keys and signatures', () => {
    for (const [alg, k] of [[15, ed25519], [16, ed448]] as const) {
      const sig = k.sign(DATA);
      same(alg, k.dnskey.subarray(1), sig, 'truncated key', 'bad-key');
      same(alg, new Uint8Array(0), sig, 'empty key', 'bad-key');
      same(alg, new Uint8Array(k.dnskey.length).fill(0xff), sig, 'non-canonical key encoding');
      same(alg, new Uint8Array(k.dnskey.length), sig, 'small-order key');
      same(alg, k.dnskey, sig.subarray(1), 'short signature', 'bad-signature');
      same(alg, k.dnskey, new Uint8Array(sig.length), 'zero signature', 'invalid');
      same(alg, k.dnskey, Uint8Array.from([...sig.subarray(0, sig.length / 2), ...new Uint8Array(sig.length / 2).fill(0xff)]), 'S above L', 'invalid');
    }
  });
  it('random garbage for every algorithm', () => {
    for (const alg of [5, 7, 8, 10, 13, 14, 15, 16]) {
      for (let i = 0; i < 50; i++) same(alg, rnd.bytes(rnd.int(300)), rnd.bytes(rnd.int(300)), `alg ${alg} garbage ${i}`);
    }
  });
  it('a caller reusing its key buffer does not corrupt the key cache', () => {
    const buf = Uint8Array.from(p256.dnskey);
    const sig = p256.sign(DATA);
    for (const v of BACKENDS) {
      assert.equal(v.verify(13, buf, DATA, sig).kind, 'valid');
      buf.fill(0);
      buf.set(p256.dnskey);
      assert.equal(v.verify(13, p256.dnskey, DATA, sig).kind, 'valid');
    }
  });
});

describe('BigInt RSA pieces', () => {
  it('modPow', () => {
    assert.equal(modPow(4n, 13n, 497n), 445n);
    assert.equal(modPow(2n, 0n, 7n), 1n);
    assert.equal(modPow(5n, 3n, 1n), 0n);
    assert.equal(modPow(3n, 65537n, 2n ** 127n - 1n), 3n ** 65537n % (2n ** 127n - 1n));
  });
  it('I2OSP and EMSA-PKCS1-v1_5 layout', () => {
    assert.deepEqual(bigIntToBytes(0x0102n, 4), Uint8Array.of(0, 0, 1, 2));
    assert.equal(bigIntToBytes(0x010203n, 2), undefined);
    const em = emsaPkcs1v15('sha256', new Uint8Array(32).fill(0xab), 64)!;
    assert.equal(Buffer.from(em).toString('hex'),
      '0001ffffffffffffffffffff00' + '3031300d060960864801650304020105000420' + 'ab'.repeat(32));
    assert.equal(emsaPkcs1v15('sha512', new Uint8Array(64), 64), undefined, 'too short for SHA-512');
  });
});
