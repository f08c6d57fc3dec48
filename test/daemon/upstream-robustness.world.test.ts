/**
 * The daemon behind a middlebox on loopback in front of the world's real upstream, which damages
 * answers the way a differential fuzz against a validating Unbound found the daemon mishandled:
 *
 *  - one malformed record in the ADDITIONAL section of DS and A answers: the answer is still used
 *    (the validator never reads that section) and stays SECURE, instead of being ignored until the
 *    upstream times out and the daemon says EDE 22 "no DNSSEC-capable upstream";
 *  - a DS answer whose rcode says NXDOMAIN although it carries the real, validly signed DS RRset:
 *    BOGUS with the only upstream (never SECURE), and SECURE when another DNSSEC-capable upstream
 *    answers the chain step consistently (the contradicting one gets a strike).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Rcode } from '../../src/wire/index.js';
import { dig } from '../support/dig.js';
import { BAD_ADDITIONAL, withBadAdditional, type BadAdditional } from '../support/bad-additional.js';
import { MangleProxy, withRcode } from '../upstream/mangle-proxy.js';
import { getWorld, stopWorld, type WorldInfo } from '../world/index.js';
import { bogusLogs, edeCodes, isBogus, startFailoverDaemon } from './failover-support.js';
import type { TestDaemon } from '../support/daemon.js';
import { daemonAddr } from '../world/net.js';

let world: WorldInfo;
let proxy: MangleProxy;
/** A plain relay to the same resolver: a second DNSSEC-capable upstream. */
let relay: MangleProxy;

before(async () => {
  world = await getWorld();
  const backend = { address: world.upstream.host, port: world.upstream.port };
  proxy = await MangleProxy.start({ address: daemonAddr(7, 1), backend });
  relay = await MangleProxy.start({ address: daemonAddr(7, 2), backend });
});

after(async () => {
  await Promise.all([proxy?.stop(), relay?.stop()]);
  await stopWorld();
});

function config(upstreams: MangleProxy[]): object {
  return {
    upstreams: upstreams.map((u, i) => ({ address: u.address, port: u.port, priority: i + 1 })),
    upstream: { timeoutMs: 400, deadlineMs: 2000, bogusConfirmations: 2 },
  };
}

async function secure(d: TestDaemon, name: string, type = 'A'): Promise<void> {
  const r = await dig(d.port, [name, type, '+dnssec']);
  assert.equal(r.status, 'NOERROR', `${name} ${type}: ${r.text}`);
  assert.ok(r.flags.has('ad'), `${name} ${type}: no AD\n${r.text}`);
}

describe('a malformed additional record in DS and A answers', () => {
  /** One zone per kind of damage; every other DS and A answer (test. DS, the probe's) gets `framing`. */
  const ZONE: Record<BadAdditional, string> = {
    'rdata': 'alg8.test', 'owner-pointer': 'alg13.test', 'framing': 'alg14.test', 'rdlength': 'alg15.test', 'opt': 'alg16.test',
  };
  const kindFor = (name: string): BadAdditional =>
    BAD_ADDITIONAL.find((k) => name === ZONE[k] || name.endsWith(`.${ZONE[k]}`)) ?? 'framing';
  let d: TestDaemon;
  before(async () => {
    proxy.mangle = (asked, answer) => (asked.type === 'DS' || asked.type === 'A' ? withBadAdditional(answer, kindFor(asked.name)) : undefined);
    d = await startFailoverDaemon(world, config([proxy]));
  });
  after(async () => {
    proxy.mangle = undefined;
    await d?.stop();
  });

  it('the only upstream stays DNSSEC-CAPABLE (its probe\'s DS and A answers were damaged too)', async () => {
    await d.probed();
    assert.equal(d.health(proxy.label).state, 'DNSSEC-CAPABLE', d.health(proxy.label).summary);
    assert.ok(proxy.count('test', 'DS') >= 1, 'the probe\'s DS answer was damaged');
  });

  for (const kind of BAD_ADDITIONAL) {
    it(`${kind}: www.${ZONE[kind]}. A is SECURE, taken from the damaged answers at once`, async () => {
      await secure(d, `www.${ZONE[kind]}.`);
      assert.equal(proxy.count(ZONE[kind], 'DS'), 1, `the DS answer of ${ZONE[kind]} was damaged`);
      assert.equal(proxy.count(`www.${ZONE[kind]}`, 'A'), 1, 'the A answer was damaged');
    });
  }

  it('no answer was ignored as unparsable, nothing timed out, nothing was BOGUS', () => {
    const u = d.daemon.stack.router!.snapshot()[0]!.upstreams.find((x) => x.label === proxy.label)!;
    assert.ok(u.counters.answers >= 10, `${u.counters.answers} answers`);
    assert.equal(u.counters.ignored.unparsable, 0);
    assert.equal(u.counters.timeouts, 0);
    assert.deepEqual(bogusLogs(d.logs), []);
  });
});

describe('a DS answer that says NXDOMAIN but carries the signed DS RRset', () => {
  before(() => {
    proxy.mangle = (asked, answer) => (asked.name === 'alg10.test' && asked.type === 'DS' ? withRcode(answer, Rcode.NXDOMAIN) : undefined);
  });
  after(() => {
    proxy.mangle = undefined;
  });

  it('from the only upstream: BOGUS (SERVFAIL, EDE 6), never SECURE', async () => {
    const d = await startFailoverDaemon(world, config([proxy]));
    try {
      const r = await dig(d.port, ['www.alg10.test.', 'A', '+dnssec']);
      assert.equal(r.status, 'SERVFAIL', r.text);
      assert.ok(!r.flags.has('ad'));
      assert.ok(isBogus(r), r.text);
      assert.deepEqual(edeCodes(r), [6]);
      assert.ok(proxy.count('alg10.test', 'DS') >= 1);
    } finally {
      await d.stop();
    }
  });

  it('with a second DNSSEC-capable upstream: the chain step is re-asked there, SECURE, strike on the first', async () => {
    const d = await startFailoverDaemon(world, config([proxy, relay]));
    try {
      await d.probed();
      await secure(d, 'www.alg10.test.');
      const h = d.health(proxy.label);
      assert.equal(h.strikes.length, 1, JSON.stringify(h.strikes));
      assert.equal(h.strikes[0]!.reason, 'upstream-inconsistent');
      assert.equal(h.strikes[0]!.confirmedBy, relay.label);
      assert.equal(h.strikes[0]!.name, 'alg10.test.');
      assert.deepEqual(bogusLogs(d.logs), []);
    } finally {
      await d.stop();
    }
  });
});
