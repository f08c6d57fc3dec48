/**
 * A tampering upstream is not believed, and not trusted again lightly: its answer that contradicts itself
 * (issue 9's forged CNAME beside a genuine signed A) is asked again from the next DNSSEC-capable upstream,
 * which answers SECURE; the tampering one gets a strike (upstream-inconsistent). With no other upstream
 * to ask, the same answer is BOGUS, with an EDE that names the rule broken.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { dig } from '../support/dig.js';
import { TamperProxy, onQuestion, prepend, rrs } from '../support/tamper-proxy.js';
import { getWorld, stopWorld, type WorldInfo } from '../world/index.js';
import { startFailoverDaemon } from './failover-support.js';
import type { TestDaemon } from '../support/daemon.js';
import { daemonAddr } from '../world/net.js';

let world: WorldInfo;
let proxy: TamperProxy;

before(async () => {
  world = await getWorld();
  proxy = await TamperProxy.start({ address: daemonAddr(11, 1), backend: { address: world.upstream.host, port: world.upstream.port } });
  proxy.rewrite = onQuestion('www.alg13.test', 'A',
    prepend('answer', rrs('www.alg13.test. 300 IN CNAME www.evil.insecure.test.', 'www.evil.insecure.test. 300 IN A 6.6.6.6')));
});
after(async () => {
  await proxy?.stop();
  await stopWorld();
});

describe('a tampering upstream', () => {
  it('is asked around: the next DNSSEC-capable upstream answers SECURE, the tampering one gets a strike', async () => {
    const d: TestDaemon = await startFailoverDaemon(world, {
      upstreams: [
        { address: proxy.address, port: proxy.port, priority: 1 },
        { address: world.upstream.host, port: world.upstream.port, priority: 2 },
      ],
      upstream: { bogusConfirmations: 2 },
      server: { warmupQueries: 0 },
    });
    try {
      await d.probed();
      const r = await dig(d.port, ['www.alg13.test.', 'A', '+dnssec']);
      assert.equal(r.status, 'NOERROR', r.text);
      assert.ok(r.flags.has('ad'), r.text);
      assert.ok(!r.text.includes('6.6.6.6'), r.text);
      const strikes = d.health(proxy.label).strikes;
      assert.equal(strikes.length, 1);
      assert.equal(strikes[0]!.reason, 'upstream-inconsistent');
      assert.equal(strikes[0]!.confirmedBy, `${world.upstream.host}:${world.upstream.port}`);
      assert.equal(d.daemon.stats().resolver.reaskRescued, 1);
    } finally {
      await d.stop();
    }
  });

  it('alone, it gets BOGUS with an EDE naming the rule broken', async () => {
    const d = await startFailoverDaemon(world, { upstreams: [{ address: proxy.address, port: proxy.port, priority: 1 }], server: { warmupQueries: 0 } });
    try {
      await d.probed();
      const r = await dig(d.port, ['www.alg13.test.', 'A', '+dnssec']);
      assert.equal(r.status, 'SERVFAIL', r.text);
      assert.ok(r.ede.some((l) => /CNAME and other data \(A\) at www\.alg13\.test\./.test(l)), r.text);
    } finally {
      await d.stop();
    }
  });
});
