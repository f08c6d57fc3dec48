/**
 * The DNSSEC-capability probe against real resolvers on loopback: a forwarding Unbound (capable),
 * Debian's pdns-recursor with dnssec=off (not capable: no DO, no RRSIGs), a middlebox stripping
 * RRSIGs in front of a real Unbound (not capable), a refusing Unbound (not capable: it answered) and a dead
 * address (unreachable).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { systemClock } from '../../src/clock.js';
import { probeUpstream, type ProbeVerdict } from '../../src/upstream/probe.js';
import { exchange } from '../../src/upstream/transport.js';
import { Name } from '../../src/wire/index.js';
import { dig } from '../support/dig.js';
import { getWorld, stopWorld, type WorldInfo } from '../world/index.js';
import { PdnsRecursorFixture } from './pdns-fixture.js';
import { StripProxy } from './strip-proxy.js';
import { UnboundFixture, freePort } from './unbound-fixture.js';
import { daemonAddr } from '../world/net.js';

let world: WorldInfo;
let unbound: UnboundFixture;
let pdns: PdnsRecursorFixture;
let proxy: StripProxy;
let refusing: UnboundFixture;

before(async () => {
  world = await getWorld();
  const upstream = { address: world.upstream.host, port: world.upstream.port };
  unbound = await UnboundFixture.start({ address: daemonAddr(1, 1), forwardAll: upstream });
  pdns = await PdnsRecursorFixture.start({ address: daemonAddr(1, 2), forwardTo: upstream, hintFile: world.rootHintsFile });
  proxy = await StripProxy.start({ address: daemonAddr(1, 3), backend: { address: unbound.address, port: unbound.port }, strip: () => true });
  refusing = await UnboundFixture.start({ address: daemonAddr(1, 4), refuse: true });
});

after(async () => {
  await Promise.all([unbound?.stop(), pdns?.stop(), proxy?.stop(), refusing?.stop()]);
  await stopWorld();
});

const probe = (address: string, port: number): Promise<ProbeVerdict> =>
  probeUpstream({ address, port }, exchange, { zone: Name.root, timeoutMs: 1000, clock: systemClock });

function checks(v: ProbeVerdict): Record<string, string> {
  return Object.fromEntries(v.evidence.checks.map((c) => [c.check, c.result]));
}

describe('the non-DNSSEC resolver of the tests really is one', () => {
  it('pdns-recursor with dnssec=off drops DO and RRSIGs (dig +dnssec), the forwarding Unbound keeps them', async () => {
    for (const [name, type] of [['.', 'DNSKEY'], ['www.alg13.test.', 'A'], ['test.', 'DS'], ['nx.alg8.test.', 'A']] as const) {
      const theirs = await dig(pdns.port, [name, type, '+dnssec'], pdns.address);
      assert.ok(theirs.status === 'NOERROR' || theirs.status === 'NXDOMAIN', `${name} ${type}: ${theirs.status}`);
      assert.doesNotMatch(theirs.ednsLine ?? '', /flags:.*\bdo\b/, `${name} ${type}: pdns echoed DO: ${theirs.ednsLine}`);
      assert.ok(![...theirs.answers, ...theirs.authority].some((l) => /\s(RRSIG|NSEC|NSEC3)\s/.test(l)), `${name} ${type}: DNSSEC records from pdns`);
      const ours = await dig(unbound.port, [name, type, '+dnssec'], unbound.address);
      assert.match(ours.ednsLine ?? '', /flags:.*\bdo\b/, `${name} ${type}: Unbound did not echo DO`);
      assert.ok([...ours.answers, ...ours.authority].some((l) => /\sRRSIG\s/.test(l)), `${name} ${type}: no RRSIG from Unbound`);
    }
  });
});

describe('probe', () => {
  it('a forwarding Unbound passes every check, DS found from the root\'s NSEC records', async () => {
    const v = await probe(unbound.address, unbound.port);
    assert.equal(v.kind, 'capable', JSON.stringify(v.evidence.checks, null, 1));
    assert.deepEqual(checks(v), {
      reachable: 'pass', edns: 'pass', 'do-bit': 'pass', 'dnskey-rrsig': 'pass', 'soa-rrsig': 'pass', 'denial-proof': 'pass', ds: 'pass', tcp: 'pass',
    });
    const ds = v.evidence.checks.find((c) => c.check === 'ds')!;
    assert.match(ds.detail, /^test\. DS: \d+ DS, \d+ RRSIG$/);
    assert.equal(v.evidence.zone, '.');
  });

  it('the world\'s own upstream is DNSSEC-capable too', async () => {
    assert.equal((await probe(world.upstream.host, world.upstream.port)).kind, 'capable');
  });

  it('pdns-recursor with dnssec=off is NOT-DNSSEC-capable: no DO, no RRSIGs, no proofs', async () => {
    const v = await probe(pdns.address, pdns.port);
    assert.equal(v.kind, 'not-capable');
    if (v.kind !== 'not-capable') return;
    for (const c of ['do-bit', 'dnskey-rrsig', 'soa-rrsig', 'denial-proof', 'tcp'] as const) assert.ok(v.failed.includes(c), `${c} should fail: ${JSON.stringify(v.evidence.checks)}`);
    assert.equal(checks(v)['reachable'], 'pass');
    const dnskey = v.evidence.checks.find((c) => c.check === 'dnskey-rrsig')!;
    assert.match(dnskey.detail, /^\. DNSKEY: \d+ DNSKEY, no RRSIG$/);
  });

  it('a middlebox that strips RRSIGs is NOT-DNSSEC-capable although DO comes back', async () => {
    const v = await probe(proxy.address, proxy.port);
    assert.equal(v.kind, 'not-capable');
    const c = checks(v);
    assert.equal(c['do-bit'], 'pass');
    assert.equal(c['edns'], 'pass');
    for (const k of ['dnskey-rrsig', 'soa-rrsig', 'denial-proof', 'ds', 'tcp']) assert.equal(c[k], 'fail', k);
    assert.ok(proxy.stripped > 0);
  });

  it('a refusing resolver answered: NOT-DNSSEC-CAPABLE with the REFUSED as evidence, not UNREACHABLE', async () => {
    const r = await probe(refusing.address, refusing.port);
    assert.equal(r.kind, 'not-capable');
    const c = checks(r);
    assert.equal(c['reachable'], 'pass');
    assert.equal(c['dnskey-rrsig'], 'fail');
    const reach = r.evidence.checks.find((k) => k.check === 'reachable')!;
    assert.match(reach.detail, /^\. DNSKEY answered with REFUSED over UDP in \d+ ms$/);
    assert.match(r.evidence.checks.find((k) => k.check === 'dnskey-rrsig')!.detail, /^\. DNSKEY: REFUSED without a DNSKEY RRset$/);
  });

  it('a dead address is UNREACHABLE', async () => {
    const port = await freePort(daemonAddr(1, 9));
    const t0 = Date.now();
    const d = await probe(daemonAddr(1, 9), port);
    assert.equal(d.kind, 'unreachable');
    if (d.kind === 'unreachable') {
      assert.match(d.failure, /network error ECONNREFUSED/);
      assert.equal(d.cause.kind, 'network-error');
    }
    assert.ok(Date.now() - t0 < 1000, 'a dead loopback address fails fast');
    assert.deepEqual(checks(d), { reachable: 'fail' });
  });
});
