/**
 * The auto backend: OpenSSL where its self-test passes, JS where OpenSSL refuses an algorithm —
 * simulated by the probe hook, by an OpenSSL engine that silently answers "false" for SHA-1 (as a
 * crypto policy may), by one that throws, and by one that starts failing after start-up.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createAutoVerifier, createVerifier, type DetailedVerifier } from '../../src/crypto/index.js';
import { CachedVerifier, type Engine } from '../../src/crypto/engine.js';
import { opensslEngine } from '../../src/crypto/openssl.js';
import { knownAnswer } from '../../src/crypto/known-answers.js';
import { ecKey, edKey, rsaKey, rsaPair, type TestKey } from './helpers.js';

const DATA = new TextEncoder().encode('auto backend test data');

/** A verifier that counts verifyDetailed/verify calls on the way to another. */
function counting(inner: DetailedVerifier): DetailedVerifier & { calls: number } {
  const c = {
    name: inner.name, calls: 0,
    supports: (a: number) => inner.supports(a),
    selfTest: (a: number) => inner.selfTest(a),
    verify(a: number, k: Uint8Array, d: Uint8Array, s: Uint8Array) { c.calls++; return inner.verify(a, k, d, s); },
    verifyDetailed(a: number, k: Uint8Array, d: Uint8Array, s: Uint8Array) { c.calls++; return inner.verifyDetailed(a, k, d, s); },
  };
  return c;
}

/** node:crypto, except that `broken(spec hash)` makes verification fail in the given way. */
function brokenOpenssl(mode: 'false' | 'throw', broken: (hash: string | undefined) => boolean): DetailedVerifier {
  const engine: Engine<unknown> = {
    ...opensslEngine,
    verify(spec, key, data, sig) {
      if (broken(spec.family === 'eddsa' ? undefined : spec.hash)) {
        if (mode === 'throw') throw new Error('simulated: digest disabled by crypto policy');
        return false;
      }
      return opensslEngine.verify(spec, key as never, data, sig);
    },
  };
  return new CachedVerifier(engine);
}

const KEYS: Record<number, TestKey> = (() => {
  const pair = rsaPair(1024, 65537);
  return { 5: rsaKey(5, pair), 7: rsaKey(7, pair), 8: rsaKey(8, pair), 10: rsaKey(10, pair), 13: ecKey(13), 14: ecKey(14), 15: edKey(15), 16: edKey(16) };
})();

function allVerify(v: DetailedVerifier | ReturnType<typeof createAutoVerifier>): void {
  for (const [alg, k] of Object.entries(KEYS)) {
    assert.equal(v.verify(Number(alg), k.dnskey, DATA, k.sign(DATA)).kind, 'valid', `algorithm ${alg}`);
    assert.equal(v.verify(Number(alg), k.dnskey, DATA.subarray(1), k.sign(DATA)).kind, 'invalid', `algorithm ${alg} tampered`);
  }
}

describe('auto backend', () => {
  it('uses OpenSSL for every validated algorithm here, and says so', () => {
    const auto = createVerifier('auto');
    assert.equal(auto.name, 'auto');
    assert.deepEqual(auto.describe(), {
      1: 'unsupported', 3: 'unsupported', 5: 'openssl', 6: 'unsupported', 7: 'openssl', 8: 'openssl', 10: 'openssl',
      12: 'unsupported', 13: 'openssl', 14: 'openssl', 15: 'openssl', 16: 'openssl',
    });
    allVerify(auto);
  });

  it('the probe hook sends refused algorithms to JS', () => {
    const openssl = counting(createVerifier('openssl'));
    const js = counting(createVerifier('js'));
    const auto = createAutoVerifier({ openssl, js, probe: (alg) => alg !== 5 && alg !== 7 && alg !== 16 });
    const d = auto.describe();
    assert.deepEqual([d[5], d[7], d[8], d[16], d[13], d[1]], ['js', 'js', 'openssl', 'js', 'openssl', 'unsupported']);
    for (const alg of [5, 7, 16]) {
      const k = KEYS[alg]!;
      const before = { o: openssl.calls, j: js.calls };
      assert.equal(auto.verify(alg, k.dnskey, DATA, k.sign(DATA)).kind, 'valid');
      assert.equal(openssl.calls, before.o, `OpenSSL not asked for ${alg}`);
      assert.equal(js.calls, before.j + 1, `JS asked for ${alg}`);
    }
    const before = { o: openssl.calls, j: js.calls };
    assert.equal(auto.verify(8, KEYS[8]!.dnskey, DATA, KEYS[8]!.sign(DATA)).kind, 'valid');
    assert.deepEqual({ o: openssl.calls, j: js.calls }, { o: before.o + 1, j: before.j });
    allVerify(auto);
  });

  it('a probe that throws counts as a refusal', () => {
    const auto = createAutoVerifier({ probe: () => { throw new Error('probe failed'); } });
    assert.ok(Object.values(auto.describe()).every((c) => c === 'js' || c === 'unsupported'));
    allVerify(auto);
  });

  it('the default self-test catches OpenSSL silently rejecting SHA-1 signatures', () => {
    const broken = brokenOpenssl('false', (h) => h === 'sha1');
    assert.equal(broken.supports(5), false, 'the broken OpenSSL backend itself no longer claims algorithm 5');
    assert.equal(broken.verify(5, KEYS[5]!.dnskey, DATA, KEYS[5]!.sign(DATA)).kind, 'unsupported-algorithm');
    const auto = createAutoVerifier({ openssl: broken });
    const d = auto.describe();
    assert.deepEqual([d[5], d[7], d[8], d[10], d[13]], ['js', 'js', 'openssl', 'openssl', 'openssl']);
    allVerify(auto);
  });

  it('the default self-test catches OpenSSL throwing for SHA-512', () => {
    const auto = createAutoVerifier({ openssl: brokenOpenssl('throw', (h) => h === 'sha512') });
    const d = auto.describe();
    assert.deepEqual([d[5], d[8], d[10], d[14]], ['openssl', 'openssl', 'js', 'openssl']);
    allVerify(auto);
  });

  it('OpenSSL failing after start-up: that signature goes to JS; the algorithm moves only if the self-test fails too', () => {
    let failing: 'none' | 'one-input' | 'all' = 'none';
    const target = KEYS[13]!;
    const engine: Engine<unknown> = {
      ...opensslEngine,
      verify(spec, key, data, sig) {
        if (failing === 'all' || (failing === 'one-input' && data.length === 7)) throw new Error('simulated engine failure');
        return opensslEngine.verify(spec, key as never, data, sig);
      },
    };
    const auto = createAutoVerifier({ openssl: new CachedVerifier(engine) });
    assert.equal(auto.describe()[13], 'openssl');
    failing = 'one-input';
    const seven = DATA.subarray(0, 7);
    assert.equal(auto.verify(13, target.dnskey, seven, target.sign(seven)).kind, 'valid', 'verified by JS instead');
    assert.equal(auto.verify(13, target.dnskey, seven, target.sign(DATA)).kind, 'invalid');
    assert.equal(auto.describe()[13], 'openssl', 'self-test still passes: stays on OpenSSL');
    failing = 'all';
    assert.equal(auto.verify(13, target.dnskey, DATA, target.sign(DATA)).kind, 'valid');
    assert.equal(auto.describe()[13], 'js', 'self-test fails now: moved to JS');
    assert.equal(auto.describe()[14], 'openssl', 'other algorithms untouched until they fail');
  });

  it('the standalone OpenSSL backend reports an engine failure as a bad signature, never valid', () => {
    let failing = false;
    const engine: Engine<unknown> = {
      ...opensslEngine,
      verify(spec, key, data, sig) {
        if (failing) throw new Error('simulated');
        return opensslEngine.verify(spec, key as never, data, sig);
      },
    };
    const v = new CachedVerifier(engine);
    const k = KEYS[15]!;
    assert.equal(v.verify(15, k.dnskey, DATA, k.sign(DATA)).kind, 'valid');
    failing = true;
    const r = v.verify(15, k.dnskey, DATA, k.sign(DATA));
    assert.equal(r.kind, 'bad-signature');
  });

  it('self-test vectors verify in both backends', () => {
    for (const alg of [5, 7, 8, 10, 13, 14, 15, 16]) {
      for (const v of [createVerifier('openssl'), createVerifier('js')]) assert.ok(v.selfTest(alg), `${v.name} ${alg}`);
    }
    assert.equal(knownAnswer('rsa-sha256').key.length, 260);
  });
});
