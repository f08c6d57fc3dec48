/**
 * A middlebox that strips RRSIGs from some answers only (a UDP/TCP proxy on loopback in front of the
 * world's real Unbound), as the primary; a throwaway Unbound forwarding to the world as the second
 * DNSSEC-capable upstream. Stripped answers are asked again from the other upstream (verdict SECURE),
 * the repeated offender becomes NOT-DNSSEC-CAPABLE, and BOGUS needs both upstreams to agree.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { dig } from '../support/dig.js';
import { StripProxy } from '../upstream/strip-proxy.js';
import { UnboundFixture } from '../upstream/unbound-fixture.js';
import { getWorld, stopWorld, type WorldInfo } from '../world/index.js';
import { bogusLogs, edeCodes, startFailoverDaemon } from './failover-support.js';
import type { TestDaemon } from '../support/daemon.js';
import { daemonAddr } from '../world/net.js';

let world: WorldInfo;
let proxy: StripProxy;
let other: UnboundFixture;

before(async () => {
  world = await getWorld();
  const upstream = { address: world.upstream.host, port: world.upstream.port };
  proxy = await StripProxy.start({ address: daemonAddr(4, 1), backend: upstream });
  other = await UnboundFixture.start({ address: daemonAddr(4, 2), forwardAll: upstream });
});

after(async () => {
  await Promise.all([proxy?.stop(), other?.stop()]);
  await stopWorld();
});

const label = (f: { address: string; port: number }): string => `${f.address}:${f.port}`;

function config(): object {
  return {
    upstreams: [
      { address: proxy.address, port: proxy.port, priority: 1 },
      { address: other.address, port: other.port, priority: 2 },
    ],
    upstream: { timeoutMs: 400, deadlineMs: 2000, bogusConfirmations: 2 },
  };
}

async function secure(d: TestDaemon, name: string, type = 'A'): Promise<void> {
  const r = await dig(d.port, [name, type, '+dnssec']);
  assert.equal(r.status, 'NOERROR', `${name} ${type}: ${r.text}`);
  assert.ok(r.flags.has('ad'), `${name} ${type}: no AD`);
}

describe('a middlebox stripping the RRSIGs of www A answers', () => {
  let d: TestDaemon;
  before(async () => {
    proxy.strip = (name, type) => name.startsWith('www.') && type === 'A';
    d = await startFailoverDaemon(world, config());
  });
  after(() => d?.stop());

  it('both upstreams pass the probe (the middlebox leaves the probe\'s questions alone)', async () => {
    await d.probed();
    assert.equal(d.health(label(proxy)).state, 'DNSSEC-CAPABLE');
    assert.equal(d.health(label(other)).state, 'DNSSEC-CAPABLE');
  });

  it('a stripped answer is asked again from the other upstream: SECURE, one strike', async () => {
    const before = proxy.stripped;
    await secure(d, 'www.alg8.test.');
    assert.equal(proxy.count('www.alg8.test', 'A'), 1);
    assert.equal(proxy.stripped, before + 1);
    const s = d.daemon.stack.resolver.stats();
    assert.equal(s.reasked, 1);
    assert.equal(s.reaskRescued, 1);
    const h = d.health(label(proxy));
    assert.equal(h.state, 'DNSSEC-CAPABLE');
    assert.equal(h.strikes.length, 1);
    assert.deepEqual({ ...h.strikes[0], at: 0 }, { at: 0, name: 'www.alg8.test.', type: 'A', reason: 'rrsigs-missing', confirmedBy: label(other) });
  });

  it('the repeated offender is NOT-DNSSEC-CAPABLE (observed), and is not asked any more', async () => {
    await secure(d, 'www.alg10.test.');
    await secure(d, 'www.alg13.test.');
    const h = d.health(label(proxy));
    assert.equal(h.state, 'NOT-DNSSEC-CAPABLE');
    assert.equal(h.capability.kind === 'not-capable' && h.capability.cause.source, 'observed');
    assert.match(h.summary, /3 answers lacked DNSSEC records/);
    await secure(d, 'www.alg14.test.');
    assert.equal(proxy.count('www.alg14.test'), 0, 'went straight to the DNSSEC-capable upstream');
    assert.deepEqual(bogusLogs(d.logs), []);
  });
});

describe('BOGUS only when both DNSSEC-capable upstreams agree', () => {
  let d: TestDaemon;
  before(async () => {
    proxy.strip = () => false;
    d = await startFailoverDaemon(world, config());
  });
  after(() => d?.stop());

  it('an expired zone is asked from both, then BOGUS (EDE 7)', async () => {
    const r = await dig(d.port, ['www.bogus-expired.test.', 'A', '+dnssec']);
    assert.equal(r.status, 'SERVFAIL');
    assert.deepEqual(edeCodes(r), [7]);
    assert.equal(proxy.count('www.bogus-expired.test', 'A'), 1);
    assert.equal(d.daemon.stack.resolver.stats().reasked, 1);
    assert.equal(d.daemon.stack.resolver.stats().reaskRescued, 0);
    // The chain's DNSKEY step was re-checked too: the other upstream was asked for the zone's keys.
    assert.equal(proxy.count('bogus-expired.test', 'DNSKEY'), 1);
    assert.equal(d.health(label(proxy)).strikes.length, 0, 'agreeing upstreams get no strike');
  });
});

describe('a middlebox stripping a zone\'s DNSKEY RRSIGs (the chain of trust\'s fetch)', () => {
  let d: TestDaemon;
  before(async () => {
    proxy.strip = (name, type) => name === 'alg15.test' && type === 'DNSKEY';
    d = await startFailoverDaemon(world, config());
  });
  after(() => d?.stop());

  it('the DNSKEY step is redone with the other upstream: SECURE, strike on the middlebox', async () => {
    await secure(d, 'mail.alg15.test.');
    assert.equal(proxy.count('alg15.test', 'DNSKEY'), 1);
    const h = d.health(label(proxy));
    assert.equal(h.strikes.length, 1, JSON.stringify(h.strikes));
    assert.equal(h.strikes[0]!.confirmedBy, label(other));
    assert.match(h.strikes[0]!.reason, /rrsigs-missing|dnskey-missing/);
    assert.deepEqual(bogusLogs(d.logs), []);
  });
});
