/**
 * Serve-stale (RFC 8767) and failure caching in the running daemon: answers are cached through a
 * throwaway forwarder to the world, the forwarder is killed (every upstream unreachable) and the
 * ManualClock moved past the TTLs. Validated data is served stale with TTL 30 and EDE 3; BOGUS never is;
 * an upstream failure is remembered failureTtl (5 s) and reported as such, never as BOGUS.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { getWorld, stopWorld, type WorldInfo } from '../world/index.js';
import { cacheDaemon, firstTtl, Forwarder, type CacheDaemon } from './cache-support.js';

let world: WorldInfo;
let fwd: Forwarder;
let d: CacheDaemon;
let goodTtl = 0;

before(async () => {
  world = await getWorld();
  fwd = await Forwarder.start(world);
  d = await cacheDaemon(world, fwd.port, { staleWindow: 3600, staleTtl: 30, failureTtl: 5, bogusTtl: 60 }, undefined, {
    upstream: { timeoutMs: 300, deadlineMs: 1500 },
  });
  const good = await d.dig('www.alg8.test.', 'A', '+dnssec');
  assert.equal(good.status, 'NOERROR');
  assert.ok(good.flags.has('ad'));
  goodTtl = firstTtl(good);
  assert.equal((await d.dig('www.bogus-expired.test.', 'A')).status, 'SERVFAIL');
  assert.equal((await d.dig('www.unsigned.test.', 'A')).status, 'NOERROR');
  await fwd.kill();
});
after(async () => {
  await d?.stop();
  await fwd?.stop();
  await stopWorld();
});

const edeCodes = (r: { ede: string[] }): number[] => r.ede.map((l) => Number(/EDE: (\d+)/.exec(l)?.[1]));

describe('with every upstream unreachable', { concurrency: false }, () => {
  it('fresh entries are still answered from the cache', async () => {
    const r = await d.dig('www.alg8.test.', 'A', '+dnssec');
    assert.equal(r.status, 'NOERROR');
    assert.deepEqual(r.ede, []);
  });

  it('an uncached name: SERVFAIL with EDE 22/23 (never BOGUS), remembered failureTtl', async () => {
    const misses = d.daemon.stats().cache.misses;
    const r = await d.dig('www.alg7.test.', 'A', '+dnssec');
    assert.equal(r.status, 'SERVFAIL');
    assert.ok(edeCodes(r).every((c) => c === 22 || c === 23) && r.ede.length === 1, r.ede.join());
    assert.equal(d.daemon.stats().cache.misses, misses + 1);
    d.clock.advance(4_000);
    const again = await d.dig('www.alg7.test.', 'A', '+dnssec');
    assert.deepEqual(edeCodes(again), edeCodes(r));
    assert.equal(d.daemon.stats().cache.misses, misses + 1, 'answered from the cache, not asked again');
    d.clock.advance(1_000);
    await d.dig('www.alg7.test.', 'A', '+dnssec');
    assert.equal(d.daemon.stats().cache.misses, misses + 2, 'after failureTtl: asked again');
  });

  it('expired SECURE and INSECURE answers are served stale: TTL 30, EDE 3', async () => {
    d.clock.advance((goodTtl + 1) * 1000);
    const r = await d.dig('www.alg8.test.', 'A', '+dnssec');
    assert.equal(r.status, 'NOERROR', r.text);
    assert.equal(firstTtl(r), 30);
    assert.deepEqual(edeCodes(r), [3]);
    assert.ok(r.flags.has('ad'), 'the data was validated');
    assert.ok(r.answers.some((l) => /\sRRSIG\s/.test(l)));
    const plain = await d.dig('www.alg8.test.', 'A', '+tcp');
    assert.equal(firstTtl(plain), 30);
    assert.deepEqual(edeCodes(plain), [3]);
    const insecure = await d.dig('www.unsigned.test.', 'A');
    assert.equal(insecure.status, 'NOERROR');
    assert.deepEqual(edeCodes(insecure), [3]);
    assert.ok(!insecure.flags.has('ad'));
    assert.ok(d.daemon.stats().cache.stale >= 3);
  });

  it('BOGUS is never served stale', async () => {
    const r = await d.dig('www.bogus-expired.test.', 'A', '+dnssec');
    assert.equal(r.status, 'SERVFAIL');
    assert.ok(!edeCodes(r).includes(3));
    assert.ok(edeCodes(r).every((c) => c === 22 || c === 23), `an upstream failure now, not the old bogus reason: ${r.ede.join()}`);
  });

  it('not beyond staleWindow', async () => {
    d.clock.advance(3600_000);
    const r = await d.dig('www.alg8.test.', 'A', '+dnssec');
    assert.equal(r.status, 'SERVFAIL');
    assert.ok(!edeCodes(r).includes(3));
  });
});
