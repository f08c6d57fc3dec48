/**
 * The answer cache in the running daemon, on the signed test world. Upstream queries are counted at a
 * throwaway forwarder that only our daemon uses (cache-support.ts); time is a ManualClock started at the
 * real time, so TTLs, bogusTtl and prefetch are checked without waiting.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { upstreamStats } from '../world/tools.js';
import { firstTtl, useForwarderWorld } from './cache-support.js';

const env = useForwarderWorld();
const withDaemon = env.withDaemon;

/** Queries the world's upstream Unbound has received: unbound-control always prints total.num.queries, so absent fails. */
async function worldQueries(): Promise<number> {
  const s = await upstreamStats(env.world);
  const v = s['total.num.queries'];
  assert.ok(v !== undefined, `no total.num.queries in unbound-control stats_noreset: ${Object.keys(s).slice(0, 20).join(', ')}`);
  return v;
}

describe('hits never reach upstream', () => {
  it('repeated queries (UDP with and without DO, TCP, other case) are answered from the cache', async () => {
    await withDaemon({}, async (d) => {
      const first = await d.dig('www.alg13.test.', 'A', '+dnssec');
      assert.equal(first.status, 'NOERROR');
      assert.ok(first.flags.has('ad'));
      await env.fwd.settle();
      const asked = env.fwd.queriesFor('www.alg13.test.', 'A');
      assert.equal(asked, 1);
      const before = env.fwd.total;
      const worldBefore = await worldQueries();
      for (let i = 0; i < 10; i++) {
        const r = await d.dig(i % 2 ? 'www.alg13.test.' : 'WWW.Alg13.TEST.', 'A', ...(i % 3 === 0 ? ['+dnssec'] : []), ...(i === 5 ? ['+tcp'] : []));
        assert.equal(r.status, 'NOERROR');
        assert.equal(r.answers.some((l) => /\sRRSIG\s/.test(l)), i % 3 === 0, 'RRSIGs only with DO');
        assert.equal(r.flags.has('ad'), true, 'dig sets AD: secure data gets AD');
      }
      await env.fwd.settle();
      assert.equal(env.fwd.queriesFor('www.alg13.test.', 'A'), 1);
      assert.equal(env.fwd.total, before, 'nothing at all was asked upstream');
      const worldAfter = await worldQueries();
      assert.ok(worldAfter - worldBefore < 10, `the world's upstream saw ${worldAfter - worldBefore} queries (others may use it)`);
      const s = d.daemon.stats().cache;
      assert.equal(s.hits, 10);
      assert.ok(s.fastHits >= 9, `fast path hits: ${s.fastHits}`);
    });
  });
});

describe('TTL rules', () => {
  it('TTLs count down in answers served from the cache', async () => {
    await withDaemon({}, async (d) => {
      const t1 = firstTtl(await d.dig('mail.alg15.test.', 'A'));
      d.clock.advance(100_000);
      const t2 = firstTtl(await d.dig('mail.alg15.test.', 'A', '+dnssec'));
      assert.equal(t2, t1 - 100);
      assert.ok(t1 <= 3600 && t1 > 100);
    });
  });

  it('maxTtl caps what is served and how long it is kept', async () => {
    await withDaemon({ maxTtl: 60, prefetch: false }, async (d) => {
      assert.equal(firstTtl(await d.dig('www.alg14.test.', 'A')), 60);
      d.clock.advance(59_000);
      assert.equal(firstTtl(await d.dig('www.alg14.test.', 'A')), 1);
      await env.fwd.settle();
      const asked = env.fwd.queriesFor('www.alg14.test.', 'A');
      d.clock.advance(1_000);
      assert.equal(firstTtl(await d.dig('www.alg14.test.', 'A')), 60);
      await env.fwd.settle();
      assert.equal(env.fwd.queriesFor('www.alg14.test.', 'A'), asked + 1);
    });
  });

  it('minTtl raises short TTLs', async () => {
    await withDaemon({ minTtl: 7200 }, async (d) => {
      assert.equal(firstTtl(await d.dig('www.alg10.test.', 'AAAA')), 7200);
    });
  });

  it('the time left to signature expiration bounds the TTL', async () => {
    const expires = Date.parse(env.world.signaturesExpireAt);
    const { ManualClock } = await import('../../src/clock.js');
    await withDaemon({}, async (d) => {
      const r = await d.dig('mail.alg13.test.', 'A', '+dnssec');
      assert.equal(r.status, 'NOERROR');
      assert.ok(r.flags.has('ad'), 'still valid');
      const ttl = firstTtl(r);
      assert.ok(ttl <= 100 && ttl >= 95, `TTL ${ttl}: the RRSIGs expire in 100 s`);
    }, new ManualClock(expires - 100_000));
  });

  it('NXDOMAIN is cached min(SOA TTL, SOA MINIMUM) with its proofs for DO clients', async () => {
    await withDaemon({ prefetch: false }, async (d) => {
      const r = await d.dig('nx.alg13.test.', 'A', '+dnssec');
      assert.equal(r.status, 'NXDOMAIN');
      assert.ok(r.authority.some((l) => /\sNSEC\s/.test(l)), 'NSEC proof for DO clients');
      const ttl = firstTtl(r);
      assert.ok(ttl <= 300, `negative TTL ${ttl} is at most the SOA MINIMUM (300)`);
      const plain = await d.dig('nx.alg13.test.', 'A');
      assert.ok(!plain.authority.some((l) => /\s(NSEC|RRSIG)\s/.test(l)), 'no proofs without DO');
      await env.fwd.settle();
      const asked = env.fwd.queriesFor('nx.alg13.test.', 'A');
      d.clock.advance((ttl - 1) * 1000);
      assert.equal((await d.dig('nx.alg13.test.', 'A')).status, 'NXDOMAIN');
      await env.fwd.settle();
      assert.equal(env.fwd.queriesFor('nx.alg13.test.', 'A'), asked);
      d.clock.advance(1000);
      await d.dig('nx.alg13.test.', 'A');
      await env.fwd.settle();
      assert.equal(env.fwd.queriesFor('nx.alg13.test.', 'A'), asked + 1);
    });
  });

  it('BOGUS is cached bogusTtl (60 s), then asked again', async () => {
    await withDaemon({}, async (d) => {
      const r = await d.dig('www.bogus-expired.test.', 'A', '+dnssec');
      assert.equal(r.status, 'SERVFAIL');
      assert.ok(r.ede.some((l) => /EDE: 7/.test(l)), r.text);
      await env.fwd.settle();
      const asked = env.fwd.queriesFor('www.bogus-expired.test.', 'A');
      d.clock.advance(59_000);
      const again = await d.dig('www.bogus-expired.test.', 'A');
      assert.equal(again.status, 'SERVFAIL');
      assert.ok(again.ede.some((l) => /EDE: 7/.test(l)), 'same reason from the cache');
      await env.fwd.settle();
      assert.equal(env.fwd.queriesFor('www.bogus-expired.test.', 'A'), asked);
      d.clock.advance(1_000);
      await d.dig('www.bogus-expired.test.', 'A');
      await env.fwd.settle();
      assert.equal(env.fwd.queriesFor('www.bogus-expired.test.', 'A'), asked + 1);
    });
  });
});

describe('prefetch', () => {
  // A negative answer (TTL 300 at most) is used: a positive answer's TTL is also bounded by the time left
  // on the zone keys that validated it (verdict.ttlCap), which expire together with it in this world.
  it('a query in the last 10% of the TTL refreshes the entry with one upstream query', async () => {
    await withDaemon({}, async (d) => {
      const name = 'nx.alg16.test.';
      const ttl = firstTtl(await d.dig(name, 'A'));
      await env.fwd.settle();
      assert.equal(env.fwd.queriesFor(name, 'A'), 1);
      d.clock.advance(Math.ceil(ttl * 0.95) * 1000);
      const left = ttl - Math.ceil(ttl * 0.95);
      const hits = await Promise.all([1, 2, 3, 4, 5].map(() => d.dig(name, 'A')));
      assert.ok(hits.every((h) => h.status === 'NXDOMAIN'));
      // The first hits come from the old entry; the refresh may land before the last ones.
      assert.ok(hits.some((h) => firstTtl(h) <= left), 'hits are served at once from the old entry');
      await env.fwd.settle(300);
      assert.equal(env.fwd.queriesFor(name, 'A'), 2, 'one background refresh for five hits');
      const refreshed = firstTtl(await d.dig(name, 'A'));
      assert.ok(refreshed > left + 10, `refreshed entry: TTL ${refreshed} (old entry: ${left} s left)`);
      assert.equal(d.daemon.stats().cache.prefetches, 1);
      d.clock.advance((left + 1) * 1000);
      assert.equal((await d.dig(name, 'A')).status, 'NXDOMAIN');
      await env.fwd.settle();
      assert.equal(env.fwd.queriesFor(name, 'A'), 2, 'the old expiry passed: the refreshed entry answers');
    });
  });
});

describe('flush', () => {
  it('a subtree (answers and the key cache), or everything', async () => {
    await withDaemon({}, async (d) => {
      for (const n of ['www.alg5.test.', 'mail.alg5.test.', 'www.alg7.test.']) assert.equal((await d.dig(n, 'A')).status, 'NOERROR');
      await env.fwd.settle();
      const count = (): number[] => [env.fwd.queriesFor('www.alg5.test.', 'A'), env.fwd.queriesFor('mail.alg5.test.', 'A'), env.fwd.queriesFor('www.alg7.test.', 'A'), env.fwd.queriesFor('alg5.test.', 'DNSKEY')];
      const before = count();
      assert.equal(d.daemon.flush('ALG5.test'), 2);
      for (const n of ['www.alg5.test.', 'mail.alg5.test.', 'www.alg7.test.']) assert.equal((await d.dig(n, 'A')).status, 'NOERROR');
      await env.fwd.settle();
      const after = count();
      assert.deepEqual(after, [before[0]! + 1, before[1]! + 1, before[2]!, before[3]! + 1], 'alg5 answers and keys asked again, alg7 not');
      assert.equal(d.daemon.flush(), 3);
      await d.dig('www.alg7.test.', 'A');
      await env.fwd.settle();
      assert.equal(env.fwd.queriesFor('www.alg7.test.', 'A'), before[2]! + 1);
    });
  });
});
