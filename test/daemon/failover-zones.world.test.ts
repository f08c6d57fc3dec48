/**
 * Domain-specific upstreams (forward zones, longest suffix) with their own pools and health, and
 * negative trust anchors (RFC 7646), through the daemon on the test world.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { dig } from '../support/dig.js';
import { PdnsRecursorFixture } from '../upstream/pdns-fixture.js';
import { StripProxy } from '../upstream/strip-proxy.js';
import { getWorld, stopWorld, type WorldInfo } from '../world/index.js';
import { edeCodes, startFailoverDaemon } from './failover-support.js';
import type { TestDaemon } from '../support/daemon.js';
import { daemonAddr, reAddr, worldPrefix } from '../world/net.js';

let world: WorldInfo;
let counting: StripProxy;
let pdns: PdnsRecursorFixture;
let d: TestDaemon;

const label = (f: { address: string; port: number }): string => `${f.address}:${f.port}`;

before(async () => {
  world = await getWorld();
  const upstream = { address: world.upstream.host, port: world.upstream.port };
  // A relay that strips nothing: it counts what the forward zone's pool asks.
  counting = await StripProxy.start({ address: daemonAddr(5, 1), backend: upstream });
  pdns = await PdnsRecursorFixture.start({ address: daemonAddr(5, 2), forwardTo: upstream, hintFile: world.rootHintsFile });
  d = await startFailoverDaemon(world, { upstream: { timeoutMs: 400, deadlineMs: 2000 } }, {
    upstream: [`${world.upstream.host}:${world.upstream.port}`],
    upstreamFor: [`alg13.test=${label(counting)}`, `alg14.test=${label(pdns)}`],
    negativeTrustAnchor: ['bogus-expired.test'],
  });
  await d.probed();
});

after(async () => {
  await d?.stop();
  await Promise.all([counting?.stop(), pdns?.stop()]);
  await stopWorld();
});

describe('forward zones', () => {
  it('each forward zone has its own pool, probed like the global one', () => {
    const routes = d.daemon.stack.router!.snapshot().map((r) => r.suffix);
    assert.deepEqual(routes.sort(), [null, 'alg13.test.', 'alg14.test.'].sort());
    assert.equal(d.health(label(counting), 'alg13.test.').state, 'DNSSEC-CAPABLE');
    assert.equal(d.health(label(pdns), 'alg14.test.').state, 'NOT-DNSSEC-CAPABLE');
    assert.equal(d.health(`${world.upstream.host}:${world.upstream.port}`).state, 'DNSSEC-CAPABLE');
  });

  it('names under the suffix go to its upstream (DS of the apex to the parent\'s), others never do', async () => {
    for (const [name, type] of [['www.alg13.test.', 'A'], ['alg13.test.', 'MX'], ['nx.alg13.test.', 'A']] as const) {
      const r = await dig(d.port, [name, type, '+dnssec']);
      assert.ok(r.flags.has('ad'), `${name} ${type}: ${r.status}`);
    }
    assert.equal(counting.count('www.alg13.test', 'A'), 1);
    assert.equal(counting.count('alg13.test', 'MX'), 1);
    assert.equal(counting.count('nx.alg13.test', 'A'), 1);
    assert.equal(counting.count('alg13.test', 'DNSKEY'), 1);
    assert.equal(counting.count('alg13.test', 'DS'), 0, 'DS lives in the parent zone: asked from the global pool');
    const r = await dig(d.port, ['www.alg8.test.', 'A', '+dnssec']);
    assert.ok(r.flags.has('ad'));
    assert.equal(counting.countUnder('alg8.test'), 0);
  });

  it('a forward zone whose only upstream is not DNSSEC-capable: SERVFAIL EDE 22 naming it, not the global pool, never BOGUS', async () => {
    const r = await dig(d.port, ['www.alg14.test.', 'A', '+dnssec']);
    assert.equal(r.status, 'SERVFAIL');
    assert.deepEqual(edeCodes(r), [22]);
    assert.ok(r.ede[0]!.includes(`${label(pdns)} is not DNSSEC-capable`), r.ede[0]);
  });
});

describe('negative trust anchors', () => {
  it('a bogus zone under an NTA is INSECURE: the answer without AD, not SERVFAIL', async () => {
    const r = await dig(d.port, ['www.bogus-expired.test.', 'A', '+dnssec']);
    assert.equal(r.status, 'NOERROR', r.text);
    assert.ok(!r.flags.has('ad'));
    assert.ok(r.answers.some((l) => new RegExp(`\\sA\\s+${reAddr(worldPrefix(100))}\\d+$`).test(l)), r.text);
    assert.ok(d.daemon.stack.resolver.stats().negativeTrustAnchorAnswers >= 1);
  });

  it('a CNAME from a signed zone into the NTA is INSECURE too (the chain of trust honours it)', async () => {
    const r = await dig(d.port, ['to-bogus.cname.test.', 'A', '+dnssec']);
    assert.equal(r.status, 'NOERROR', r.text);
    assert.ok(!r.flags.has('ad'));
    assert.ok(r.answers.some((l) => l.includes('www.bogus-expired.test.')));
  });

  it('other bogus zones stay BOGUS, signed zones SECURE', async () => {
    const b = await dig(d.port, ['www.bogus-future.test.', 'A', '+dnssec']);
    assert.equal(b.status, 'SERVFAIL');
    assert.deepEqual(edeCodes(b), [8]);
    const s = await dig(d.port, ['www.alg8.test.', 'AAAA', '+dnssec']);
    assert.ok(s.flags.has('ad'));
  });
});
