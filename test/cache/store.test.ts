/** The answer store: freshness by the injected clock, serve-stale candidates, flush, and the byte bound. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { encodeEntry, type CacheEntry } from '../../src/cache/entry.js';
import { keyUnder, nameKeyPart, questionKey } from '../../src/cache/key.js';
import { AnswerCache, ENTRY_OVERHEAD, entrySize } from '../../src/cache/store.js';
import { outcomeOf } from '../../src/resolver/answer.js';
import { Name, RRType } from '../../src/wire/index.js';
import { answerRes, cacheConfig, clockAt, failureRes, positive, secure, T0 } from './helpers.js';

const keyOf = (name: string, type: number = RRType.A, cd = false): string => questionKey({ name: Name.fromText(name), type, class: 1 }, cd);

function entry(name: string, ttl: number, born = T0, res = answerRes(secure(), positive())): CacheEntry {
  return encodeEntry(Name.fromText(name), outcomeOf(res, name), ttl, born);
}

const bogus = answerRes({ security: 'bogus', kind: 'positive', trail: [], reason: { kind: 'rrsigs-missing', name: 'x.', type: 'A' } }, positive());

describe('lookup', () => {
  it('fresh until the TTL runs out, TTL counting down in whole seconds', () => {
    const clock = clockAt();
    const c = new AnswerCache(cacheConfig(), clock);
    c.set(keyOf('a.test.'), entry('a.test.', 300));
    let l = c.lookup(keyOf('a.test.'));
    assert.equal(l.kind, 'fresh');
    assert.equal(l.kind === 'fresh' && l.ttl, 300);
    clock.advance(100_500);
    l = c.lookup(keyOf('A.TEST.'));
    assert.equal(l.kind === 'fresh' && l.ttl, 200);
    clock.advance(199_499);
    assert.equal(c.lookup(keyOf('a.test.')).kind, 'fresh');
    clock.advance(1);
    assert.equal(c.lookup(keyOf('a.test.')).kind, 'miss');
  });

  it('an expired validated entry is a serve-stale candidate within staleWindow, then dropped', () => {
    const clock = clockAt();
    const c = new AnswerCache(cacheConfig({ staleWindow: 3600 }), clock);
    const e = entry('a.test.', 60);
    c.set(keyOf('a.test.'), e);
    clock.advance(61_000);
    const l = c.lookup(keyOf('a.test.'));
    assert.deepEqual(l, { kind: 'miss', stale: e });
    // The upstreams failed: served stale for failureTtl without asking again.
    assert.equal(c.staleAfterFailure(keyOf('a.test.'), clock.now()), e);
    assert.equal(c.lookup(keyOf('a.test.')).kind, 'stale');
    clock.advance(5_000);
    assert.equal(c.lookup(keyOf('a.test.')).kind, 'miss', 'after failureTtl: ask again');
    clock.advance(3600_000);
    assert.deepEqual(c.lookup(keyOf('a.test.')), { kind: 'miss', stale: undefined });
    assert.equal(c.size, 0);
  });

  it('never offers BOGUS, failures or CD answers as stale', () => {
    const clock = clockAt();
    const c = new AnswerCache(cacheConfig(), clock);
    c.set(keyOf('b.test.'), entry('b.test.', 60, T0, bogus));
    c.set(keyOf('f.test.'), entry('f.test.', 5, T0, failureRes()));
    c.set(keyOf('u.test.', 1, true), encodeEntry(Name.fromText('u.test.'), outcomeOf({ kind: 'unchecked', rcode: 0, answer: positive(), authority: [], additional: [], upstreams: [] }, 'u'), 60, T0));
    clock.advance(61_000);
    for (const k of [keyOf('b.test.'), keyOf('f.test.'), keyOf('u.test.', 1, true)]) {
      assert.equal(c.staleAfterFailure(k, clock.now()), undefined);
      assert.deepEqual(c.lookup(k), { kind: 'miss', stale: undefined });
    }
  });

  it('entries with TTL 0 are not kept', () => {
    const c = new AnswerCache(cacheConfig(), clockAt());
    c.set(keyOf('z.test.'), entry('z.test.', 0));
    assert.equal(c.size, 0);
  });
});

describe('flush', () => {
  const names = ['example.test.', 'www.example.test.', 'a.b.example.test.', 'xexample.test.', 'example.org.', 'test.'];
  function filled(): AnswerCache {
    const c = new AnswerCache(cacheConfig(), clockAt());
    for (const n of names) {
      c.set(keyOf(n), entry(n, 300));
      c.set(keyOf(n, RRType.AAAA), entry(n, 300));
      c.set(keyOf(n, RRType.A, true), entry(n, 300));
    }
    return c;
  }

  it('a name and its subtree, every type and CD, and nothing else', () => {
    const c = filled();
    assert.equal(c.flush(Name.fromText('EXAMPLE.test.')), 9);
    const left = names.filter((n) => c.peek(keyOf(n)) !== undefined);
    assert.deepEqual(left, ['xexample.test.', 'example.org.', 'test.']);
  });

  it('everything (no name, or the root)', () => {
    const c = filled();
    assert.equal(c.flush(), names.length * 3);
    assert.equal(c.size, 0);
    const d = filled();
    assert.equal(d.flush(Name.root), names.length * 3);
  });

  it('keyUnder respects label boundaries', () => {
    const s = nameKeyPart(Name.fromText('example.test.'));
    assert.ok(keyUnder(keyOf('example.test.'), s));
    assert.ok(keyUnder(keyOf('a.example.test.'), s));
    assert.ok(!keyUnder(keyOf('xexample.test.'), s));
    assert.ok(!keyUnder(keyOf('test.'), s));
    // One label whose octets end like the suffix's wire form ("a\007example"): not a label boundary.
    assert.ok(!keyUnder(keyOf('a\\007example.test.'), s));
    assert.ok(keyUnder(keyOf('a\\007example.test.'), nameKeyPart(Name.fromText('test.'))));
  });
});

describe('memory bound', () => {
  it('charges key + blob + a fixed overhead per entry', () => {
    const e = entry('www.example.test.', 300);
    const k = keyOf('www.example.test.');
    assert.equal(entrySize(k, e), ENTRY_OVERHEAD + k.length + e.records.length);
    assert.ok(entrySize(k, e) < 600, `a typical signed A answer is charged ${entrySize(k, e)} bytes`);
  });

  it('1,000,000 inserts never exceed maxBytes and keep the most recent entries', () => {
    const maxBytes = 256 * 1024;
    const c = new AnswerCache(cacheConfig({ maxBytes }), clockAt());
    const proto = entry('www.example.test.', 300);
    let peak = 0;
    for (let i = 0; i < 1_000_000; i++) {
      c.set(`${i}|${proto.records.length}`, proto);
      if ((i & 1023) === 0) peak = Math.max(peak, c.bytes);
    }
    peak = Math.max(peak, c.bytes);
    assert.ok(peak <= maxBytes, `peak ${peak} > ${maxBytes}`);
    const per = entrySize('999999|0000', proto);
    assert.ok(c.size >= Math.floor(maxBytes / per) - 2, `holds ${c.size} entries of ~${per} bytes`);
    assert.ok(c.peek(`999999|${proto.records.length}`), 'the newest entry is there');
    assert.equal(c.peek(`0|${proto.records.length}`), undefined, 'the oldest were evicted');
  });
});
