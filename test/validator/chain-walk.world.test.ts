/**
 * How the chain of trust walks (against the real test world): parallel fetches, the number of
 * questions compared with what a serial validator (Unbound's FINDKEY) asks, the cache and its expiry
 * on an injected clock, in-flight dedupe, flush, and upstream failures (indeterminate, never bogus).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { ManualClock } from '../../src/clock.js';
import { UpstreamPool } from '../../src/upstream/pool.js';
import { anchorsFromZoneText } from '../../src/anchors/load.js';
import { ChainOfTrust } from '../../src/validator/chain.js';
import { poolFetcher } from '../../src/resolver/fetcher.js';
import { RRType } from '../../src/wire/index.js';
import { getWorld, stopWorld, type WorldInfo } from '../world/index.js';
import { chainEnv, context, describeKeys, n, type ChainEnv } from './chain-support.js';
import { worldAddr } from '../world/net.js';

let world: WorldInfo;
let env: ChainEnv;

before(async () => {
  world = await getWorld();
  env = chainEnv(world);
}, { timeout: 300_000 });

after(async () => {
  await stopWorld();
});

describe('parallel walk', () => {
  it('cold keysForZone(alg8.test.): 5 questions (DS+DNSKEY per cut), several in flight at once, 2 rounds', async () => {
    const { chain, rec } = env.chain();
    const k = await chain.keysForZone(n('alg8.test.'), context());
    assert.equal(k.security, 'secure', describeKeys(k));
    assert.deepEqual(rec.questions(), ['. DNSKEY', 'alg8.test. DNSKEY', 'alg8.test. DS', 'test. DNSKEY', 'test. DS']);
    assert.ok(rec.maxInFlight > 1, `max in flight ${rec.maxInFlight}`);
    assert.equal(rec.maxInFlight, 4, 'DNSKEY ., DS test., DS alg8.test., DNSKEY alg8.test. go out together');
    assert.ok(rec.rounds() <= 2, `rounds ${rec.rounds()}: ${JSON.stringify(rec.log)}`);
    const { cachedBytes, maxCachedBytes, ...counts } = chain.stats();
    assert.deepEqual(counts, { cached: 3, hits: 0, misses: 1, joined: 0, fetches: 5 });
    // Three names charged (name, trail, DNSKEY octets each: keycache.ts nodeCharge), under the default bound.
    assert.ok(cachedBytes > 3 * 200 && cachedBytes < maxCachedBytes, `${cachedBytes} of ${maxCachedBytes}`);
  });

  it('a deep name: every DS on the path at once; no more questions than a serial walk asks', async () => {
    const { chain, rec } = env.chain();
    const k = await chain.zoneOf(n('a.b.ent.alg8.test.'), context());
    assert.equal(k.security, 'secure', describeKeys(k));
    assert.ok(k.zone.equals(n('alg8.test.')));
    // Unbound as a validating forwarder: DS for each name below the anchor, DNSKEY for each cut (., test., alg8.test.).
    const serial = ['. DNSKEY', 'a.b.ent.alg8.test. DS', 'alg8.test. DNSKEY', 'alg8.test. DS', 'b.ent.alg8.test. DS', 'ent.alg8.test. DS', 'test. DNSKEY', 'test. DS'];
    assert.deepEqual(rec.questions(), serial);
    assert.ok(rec.rounds() <= 2, `rounds ${rec.rounds()} (a serial walk needs 8)`);
    assert.ok(rec.maxInFlight >= 5, `max in flight ${rec.maxInFlight}`);
  });

  it('wall time is about two round trips, not one per question', async () => {
    const { chain, rec } = env.chain();
    rec.delayMs = 60;
    const t0 = performance.now();
    const k = await chain.zoneOf(n('a.b.ent.alg13.test.'), context());
    const ms = performance.now() - t0;
    assert.equal(k.security, 'secure', describeKeys(k));
    assert.equal(rec.log.length, 8);
    // serial: 8 x 60 ms = 480 ms; parallel: DS answers and DNSKEY(.) in one round, DNSKEY(test., alg13.test.) in the next
    assert.ok(ms < 4 * 60, `${ms.toFixed(0)} ms for 8 questions of 60 ms each`);
  });

  it('an insecure delegation costs at most one DS more than the serial walk (the name below the cut)', async () => {
    const { chain, rec } = env.chain();
    const k = await chain.zoneOf(n('www.unsigned.test.'), context());
    assert.equal(k.security, 'insecure', describeKeys(k));
    const serial = ['. DNSKEY', 'test. DNSKEY', 'test. DS', 'unsigned.test. DS'];
    assert.ok(serial.every((q) => rec.questions().includes(q)));
    assert.deepEqual(rec.questions().filter((q) => !serial.includes(q)), ['www.unsigned.test. DS']);
    assert.ok(rec.rounds() <= 2);
  });

  it('unusable DS (unknown digest): the DNSKEY of that zone is not asked when walking through it', async () => {
    const { chain, rec } = env.chain();
    const k = await chain.zoneOf(n('www.unknown-digest.test.'), context());
    assert.equal(k.security, 'insecure', describeKeys(k));
    assert.ok(!rec.questions().includes('unknown-digest.test. DNSKEY'), rec.questions().join(', '));
  });
});

describe('cache', () => {
  it('a second lookup asks nothing; names below a known zone only ask what is new', async () => {
    const { chain, rec } = env.chain();
    const first = await chain.keysForZone(n('alg13.test.'), context());
    const asked = rec.log.length;
    const again = await chain.keysForZone(n('alg13.test.'), context());
    assert.equal(rec.log.length, asked, 'no fetch for a cached zone');
    assert.equal(again, first);
    assert.equal(chain.stats().hits, 1);
    // "not a zone cut" facts are cached too: the walk below them starts there
    assert.equal((await chain.zoneOf(n('b.ent.alg13.test.'), context())).security, 'secure');
    assert.deepEqual(rec.log.slice(asked).map((r) => r.q).sort(), ['b.ent.alg13.test. DS', 'ent.alg13.test. DS']);
    const before = rec.log.length;
    assert.equal((await chain.zoneOf(n('a.b.ent.alg13.test.'), context())).security, 'secure');
    assert.deepEqual(rec.log.slice(before).map((r) => r.q), ['a.b.ent.alg13.test. DS']);
    // insecure ends are cached where trust ended and answer for everything below
    await chain.zoneOf(n('unsigned.test.'), context());
    const b2 = rec.log.length;
    const deep = await chain.zoneOf(n('x.y.www.unsigned.test.'), context());
    assert.equal(deep.security, 'insecure');
    assert.equal(rec.log.length, b2);
  });

  it('expires on the injected clock: past validUntil the chain is fetched again', async () => {
    const clock = new ManualClock(Date.now());
    const { chain, rec } = env.chain({ clock });
    const k = await chain.keysForZone(n('alg15.test.'), context(clock));
    assert.equal(k.security, 'secure');
    assert.equal(rec.log.length, 5);
    clock.advance(k.validUntil - clock.now() - 1000);
    await chain.keysForZone(n('alg15.test.'), context(clock));
    assert.equal(rec.log.length, 5, 'still valid 1 s before validUntil');
    clock.advance(2000);
    const again = await chain.keysForZone(n('alg15.test.'), context(clock));
    assert.equal(again.security, 'secure');
    assert.ok(rec.log.length > 5, 'refetched after validUntil');
    assert.ok(rec.log.slice(5).some((r) => r.q === 'alg15.test. DNSKEY'));
  });

  it('bogus states are kept 60 s at most', async () => {
    const clock = new ManualClock(Date.now());
    const { chain, rec } = env.chain({ clock });
    const k = await chain.keysForZone(n('bogus-ds-mismatch.test.'), context(clock));
    assert.equal(k.security, 'bogus');
    assert.ok(k.validUntil <= clock.now() + 60_000);
    const asked = rec.log.length;
    clock.advance(61_000);
    await chain.keysForZone(n('bogus-ds-mismatch.test.'), context(clock));
    assert.ok(rec.log.slice(asked).some((r) => r.q === 'bogus-ds-mismatch.test. DNSKEY'), 'retried');
  });

  it('is bounded (LRU)', async () => {
    const { chain } = env.chain({ maxCacheEntries: 4 });
    for (const z of ['alg5.test.', 'alg7.test.', 'alg8.test.', 'alg10.test.']) await chain.keysForZone(n(z), context());
    assert.ok(chain.stats().cached <= 4);
    assert.equal((await chain.keysForZone(n('alg5.test.'), context())).security, 'secure');
  });

  it('flush(name) forgets the name and below; flush() everything', async () => {
    const { chain, rec } = env.chain();
    await chain.keysForZone(n('alg14.test.'), context());
    chain.flush(n('alg14.test.'));
    rec.reset();
    await chain.keysForZone(n('alg14.test.'), context());
    assert.deepEqual(rec.questions(), ['alg14.test. DNSKEY', 'alg14.test. DS'], 'test. and . are still known');
    chain.flush();
    assert.equal(chain.stats().cached, 0);
    assert.equal(chain.stats().cachedBytes, 0, 'the bytes charged go with the names');
    rec.reset();
    await chain.keysForZone(n('alg14.test.'), context());
    assert.equal(rec.log.length, 5);
  });
});

describe('in-flight dedupe', () => {
  it('10 concurrent keysForZone calls make one walk', async () => {
    const { chain, rec } = env.chain();
    const all = await Promise.all(Array.from({ length: 10 }, () => chain.keysForZone(n('alg16.test.'), context())));
    assert.ok(all.every((k) => k === all[0] && k.security === 'secure'));
    assert.equal(rec.log.length, 5);
    const s = chain.stats();
    assert.equal(s.misses, 1);
    assert.equal(s.joined, 9);
  });

  it('concurrent walks to different zones share the common part of the path', async () => {
    const { chain, rec } = env.chain();
    const zs = ['alg5.test.', 'alg8.test.', 'alg13.test.', 'dane.test.', 'nsec3-salt.test.'];
    const all = await Promise.all(zs.map((z) => chain.keysForZone(n(z), context())));
    assert.ok(all.every((k) => k.security === 'secure'));
    const qs = rec.log.map((r) => r.q);
    assert.equal(new Set(qs).size, qs.length, `a question was asked twice: ${qs.join(', ')}`);
    assert.equal(qs.length, 3 + 2 * zs.length);
  });
});

describe('upstream failures are indeterminate, never bogus', () => {
  it('no upstream at all', async () => {
    // A loopback address of the world's range where nothing listens.
    const dead = new UpstreamPool([{ address: worldAddr(9, 9), port: 53, priority: 1 }], { attemptTimeoutsMs: [200], totalTimeoutMs: 600, maxRounds: 1 });
    const anchors = anchorsFromZoneText(`. IN DS 1 8 2 ${'00'.repeat(32)}`);
    const chain = new ChainOfTrust(anchors, poolFetcher(dead), { clock: { now: () => Date.now() } });
    const k = await chain.keysForZone(n('alg8.test.'), context());
    assert.equal(k.security, 'indeterminate', describeKeys(k));
    assert.ok(k.validUntil <= Date.now() + 5_000);
  });

  it('one question failing in the middle of the chain', async () => {
    const clock = new ManualClock(Date.now());
    const { chain, rec } = env.chain({ clock });
    rec.fail = (q) => q === 'alg10.test. DNSKEY';
    const k = await chain.keysForZone(n('alg10.test.'), context(clock));
    assert.equal(k.security, 'indeterminate', describeKeys(k));
    if (k.security === 'indeterminate') assert.match(k.detail, /alg10\.test\. DNSKEY/);
    assert.ok(k.validUntil <= clock.now() + 5_000, 'kept a few seconds at most');
    // the parent's keys were validated and are kept
    assert.equal((await chain.keysForZone(n('test.'), context(clock))).security, 'secure');
    rec.fail = undefined;
    clock.advance(6_000);
    assert.equal((await chain.keysForZone(n('alg10.test.'), context(clock))).security, 'secure');
  });
});

describe('anchorsFromZoneText', () => {
  it('groups DS and DNSKEY records by owner; a TTL is optional', () => {
    const a = anchorsFromZoneText(`
. 3600 IN DS 60097 8 2 1676A9C99034D6AA72D4CEC71186052E0BE566BA0C855CD67862317949C8C2DF
example. IN DS 1 13 2 ${'AB'.repeat(32)}
example. IN DNSKEY 257 3 13 ${Buffer.alloc(64, 1).toString('base64')}
`);
    assert.equal(a.length, 2);
    assert.equal(a[0]!.zone.toText(), '.');
    assert.equal(a[0]!.ds.length, 1);
    assert.equal(a[1]!.ds.length, 1);
    assert.equal(a[1]!.dnskeys[0]!.type, RRType.DNSKEY);
  });
});
