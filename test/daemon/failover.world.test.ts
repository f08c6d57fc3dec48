/**
 * The seed's failure, reproduced with real resolvers: a mail gateway's DNSSEC-capable primary (a
 * throwaway Unbound forwarding to the world) and a secondary that does not do DNSSEC (Debian's
 * pdns-recursor, dnssec=off). The primary dies: signed names must give SERVFAIL with EDE 22/23 naming
 * the non-DNSSEC secondary, never BOGUS; it comes back: SECURE with AD within one probe interval.
 * Priorities reversed: SECURE from the start. Insecure fallback: INSECURE answers, counted.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { dig } from '../support/dig.js';
import { PdnsRecursorFixture } from '../upstream/pdns-fixture.js';
import { UnboundFixture } from '../upstream/unbound-fixture.js';
import { getWorld, stopWorld, type WorldInfo } from '../world/index.js';
import { bogusLogs, edeCodes, isBogus, startFailoverDaemon } from './failover-support.js';
import type { TestDaemon } from '../support/daemon.js';
import { waitFor } from '../support/wait.js';
import { daemonAddr, reAddr, worldPrefix } from '../world/net.js';

let world: WorldInfo;
let primary: UnboundFixture;
let pdns: PdnsRecursorFixture;

before(async () => {
  world = await getWorld();
  const upstream = { address: world.upstream.host, port: world.upstream.port };
  primary = await UnboundFixture.start({ address: daemonAddr(3, 1), forwardAll: upstream });
  pdns = await PdnsRecursorFixture.start({ address: daemonAddr(3, 2), forwardTo: upstream, hintFile: world.rootHintsFile });
});

after(async () => {
  await Promise.all([primary?.stop(), pdns?.stop()]);
  await stopWorld();
});

const PROBE_INTERVAL_MS = 1000;
const label = (f: { address: string; port: number }): string => `${f.address}:${f.port}`;

function config(order: 'primary-first' | 'pdns-first', extra: { insecureFallback?: object } = {}): object {
  const p = { address: primary.address, port: primary.port };
  const s = { address: pdns.address, port: pdns.port };
  return {
    upstreams: order === 'primary-first' ? [{ ...p, priority: 1 }, { ...s, priority: 2 }] : [{ ...s, priority: 1 }, { ...p, priority: 2 }],
    upstream: { probeIntervalMs: PROBE_INTERVAL_MS, timeoutMs: 400, deadlineMs: 2000, ...extra },
    // The default failureTtl (5 s) is kept: failures cached during the outage must be dropped when the
    // primary is DNSSEC-capable again (wiring: router.onChange -> cache.flushFailures).
  };
}

/** Signed names, none asked before the primary dies (so that no cached answer hides the outage). */
const OUTAGE = [['alg8.test.', 'MX'], ['mail.alg13.test.', 'A'], ['www.alg14.test.', 'AAAA'], ['alg15.test.', 'MX'], ['_25._tcp.mail.dane.test.', 'TLSA'], ['dane.test.', 'MX']] as const;

async function ensurePrimary(): Promise<void> {
  if (!primary.running) await primary.restart();
}

describe('primary DNSSEC-capable, secondary not: the primary dies and comes back', () => {
  let d: TestDaemon;
  before(async () => {
    await ensurePrimary();
    d = await startFailoverDaemon(world, config('primary-first'));
  });
  after(async () => {
    await d?.stop();
    await ensurePrimary();
  });

  it('states at start: primary DNSSEC-CAPABLE, secondary NOT-DNSSEC-CAPABLE with evidence; answers SECURE', async () => {
    const r = await dig(d.port, ['www.alg13.test.', 'A', '+dnssec']);
    assert.equal(r.status, 'NOERROR');
    assert.ok(r.flags.has('ad'), r.text);
    assert.equal(d.health(label(primary)).state, 'DNSSEC-CAPABLE');
    const s = d.health(label(pdns));
    assert.equal(s.state, 'NOT-DNSSEC-CAPABLE');
    assert.match(s.summary, /do-bit \(DO bit not echoed\)/);
    assert.match(s.summary, /dnskey-rrsig \(\. DNSKEY: \d+ DNSKEY, no RRSIG\)/);
  });

  it('primary killed: SERVFAIL with EDE 22/23 naming the non-DNSSEC secondary, never BOGUS', async () => {
    await primary.kill();
    for (const [name, type] of OUTAGE) {
      const r = await dig(d.port, [name, type, '+dnssec']);
      const what = `${name} ${type}`;
      assert.equal(r.status, 'SERVFAIL', `${what}: ${r.text}`);
      assert.ok(!isBogus(r), `${what}: BOGUS EDE ${r.ede.join(' ')}`);
      assert.ok(edeCodes(r).every((c) => c === 22 || c === 23) && r.ede.length === 1, `${what}: ${r.ede.join(' ')}`);
      assert.match(r.ede[0]!, /no DNSSEC-capable upstream reachable/, what);
      assert.ok(r.ede[0]!.includes(`${label(pdns)} is not DNSSEC-capable`), `${what}: ${r.ede[0]}`);
    }
    await waitFor('the primary to be UNREACHABLE', () => d.health(label(primary)).state === 'UNREACHABLE', 5000);
    const r = await dig(d.port, ['www.alg16.test.', 'A', '+dnssec']);
    assert.equal(r.status, 'SERVFAIL');
    assert.match(r.ede[0]!, /^; EDE: 2[23] /);
    assert.ok(r.ede[0]!.includes(label(pdns)), r.ede[0]);
    const snap = d.daemon.stack.router!.snapshot()[0]!.upstreams.find((u) => u.label === label(pdns))!;
    assert.equal(snap.counters.queries, 0, 'no validated question went to the non-DNSSEC secondary');
  });

  it(`primary restarted: SECURE with AD again within one probe interval (${PROBE_INTERVAL_MS} ms), no cached failure, no BOGUS at all`, async (t) => {
    await primary.restart();
    const elapsed = await waitFor('the primary to be DNSSEC-CAPABLE', () => d.health(label(primary)).state === 'DNSSEC-CAPABLE', 5000);
    // One interval plus the probe itself and the timer's granularity (a quarter of the interval).
    assert.ok(elapsed <= PROBE_INTERVAL_MS + 600, `took ${elapsed} ms`);
    t.diagnostic(`DNSSEC-CAPABLE again ${elapsed} ms after the restart`);
    for (const [name, type] of OUTAGE) {
      const r = await dig(d.port, [name, type, '+dnssec']);
      assert.equal(r.status, 'NOERROR', `${name} ${type}: ${r.text}`);
      assert.ok(r.flags.has('ad'), `${name} ${type}: no AD`);
    }
    assert.deepEqual(bogusLogs(d.logs), []);
  });
});

describe('two DNSSEC-capable upstreams: failover to the second, back to the first when its probe passes', () => {
  let d: TestDaemon;
  const world2 = (): string => `${world.upstream.host}:${world.upstream.port}`;
  before(async () => {
    await ensurePrimary();
    d = await startFailoverDaemon(world, {
      upstreams: [
        { address: primary.address, port: primary.port, priority: 1 },
        { address: world.upstream.host, port: world.upstream.port, priority: 2 },
        { address: pdns.address, port: pdns.port, priority: 3 },
      ],
      upstream: { probeIntervalMs: PROBE_INTERVAL_MS, timeoutMs: 400, deadlineMs: 2000 },
    });
    await d.probed();
  });
  after(async () => {
    await d?.stop();
    await ensurePrimary();
  });
  const answers = (who: string): number =>
    d.daemon.stack.router!.snapshot()[0]!.upstreams.find((u) => u.label === who)!.counters.answers;

  it('SECURE throughout; traffic moves to the second and returns to the first', async () => {
    const ask = async (name: string): Promise<void> => {
      const r = await dig(d.port, [name, 'A', '+dnssec']);
      assert.equal(r.status, 'NOERROR', `${name}: ${r.text}`);
      assert.ok(r.flags.has('ad'), `${name}: no AD`);
    };
    // The primary was just (re)started with an empty cache: filled first, so that its first answers to the daemon
    // do not run past timeoutMs (400 ms) on a loaded machine and send a retry to the second.
    for (const [n, t] of [['.', 'DNSKEY'], ['test.', 'DS'], ['test.', 'DNSKEY'], ['alg5.test.', 'DS'], ['alg5.test.', 'DNSKEY'], ['www.alg5.test.', 'A']]) {
      await dig(primary.port, [n!, t!, '+dnssec', '+cd'], primary.address).catch(() => undefined);
    }
    await ask('www.alg5.test.');
    const up = (who: string) => d.daemon.stack.router!.snapshot()[0]!.upstreams.find((u) => u.label === who)!.counters;
    assert.ok(answers(label(primary)) > 0, 'the first upstream answered');
    // The second is asked only when the first did not answer in time (then that is the failover, not a preference).
    assert.ok(answers(world2()) === 0 || up(label(primary)).timeouts > 0, `the second was not preferred: ${JSON.stringify({ first: up(label(primary)), second: up(world2()) })}`);
    await primary.kill();
    await ask('mail.alg5.test.');
    await waitFor('the primary to be UNREACHABLE', () => d.health(label(primary)).state === 'UNREACHABLE', 5000);
    const second = answers(world2());
    assert.ok(second > 0, 'the second DNSSEC-capable upstream answered');
    await ask('mail.alg7.test.');
    await primary.restart();
    await waitFor('the primary to be DNSSEC-CAPABLE', () => d.health(label(primary)).state === 'DNSSEC-CAPABLE', PROBE_INTERVAL_MS + 600);
    const before = answers(world2());
    const first = answers(label(primary));
    await ask('mail.alg10.test.');
    assert.ok(answers(label(primary)) > first, 'back to the first');
    assert.equal(answers(world2()), before, 'the second was not asked any more');
    const toPdns = d.daemon.stack.router!.snapshot()[0]!.upstreams.find((u) => u.label === label(pdns))!.counters.queries;
    assert.equal(toPdns, 0);
    assert.deepEqual(bogusLogs(d.logs), []);
  });
});

describe('priorities reversed: the non-DNSSEC resolver first', () => {
  let d: TestDaemon;
  before(async () => {
    await ensurePrimary();
    d = await startFailoverDaemon(world, config('pdns-first'));
  });
  after(() => d?.stop());

  it('answers are SECURE from the very first query; the secondary (priority 1) is NOT-DNSSEC-CAPABLE', async () => {
    for (const [name, type] of [['www.alg8.test.', 'A'], ...OUTAGE] as const) {
      const r = await dig(d.port, [name, type, '+dnssec']);
      assert.equal(r.status, 'NOERROR', `${name} ${type}: ${r.text}`);
      assert.ok(r.flags.has('ad'), `${name} ${type}: no AD`);
    }
    assert.equal(d.health(label(pdns)).state, 'NOT-DNSSEC-CAPABLE');
    assert.equal(d.health(label(pdns)).priority, 1);
    assert.equal(d.health(label(primary)).state, 'DNSSEC-CAPABLE');
    assert.deepEqual(bogusLogs(d.logs), []);
    const warned = d.logs.filter((l) => l['msg'] === 'upstream DNSSEC state changed' && l['upstream'] === label(pdns));
    assert.equal(warned.length, 1);
    assert.equal(warned[0]!['to'], 'NOT-DNSSEC-CAPABLE');
  });

  it('CD=1 questions may use the non-DNSSEC one only after the DNSSEC-capable ones', async () => {
    const r = await dig(d.port, ['www.alg10.test.', 'A', '+dnssec', '+cd']);
    assert.equal(r.status, 'NOERROR');
    assert.ok(r.answers.some((l) => /\sRRSIG\s/.test(l)), 'CD answer came from the DNSSEC-capable upstream');
  });
});

describe('insecure fallback', () => {
  let d: TestDaemon;
  before(async () => {
    await ensurePrimary();
    d = await startFailoverDaemon(world, config('primary-first', { insecureFallback: { enabled: false, domains: ['alg10.test.'] } }));
    const warm = await dig(d.port, ['www.alg8.test.', 'A', '+dnssec']);
    assert.ok(warm.flags.has('ad'));
    await primary.kill();
  });
  after(async () => {
    await d?.stop();
    await ensurePrimary();
  });

  it('for a listed domain: the non-DNSSEC upstream\'s answer, INSECURE (no AD), counted', async () => {
    const r = await dig(d.port, ['www.alg10.test.', 'A', '+dnssec']);
    assert.equal(r.status, 'NOERROR', r.text);
    assert.ok(!r.flags.has('ad'), 'never SECURE');
    assert.ok(r.answers.some((l) => new RegExp(`\\sA\\s+${reAddr(worldPrefix(100))}\\d+$`).test(l)), r.text);
    assert.ok(!r.answers.some((l) => /\sRRSIG\s/.test(l)));
    const stats = d.daemon.stack.resolver.stats();
    assert.equal(stats.insecureFallbackAnswers, 1);
  });

  it('for other domains (fallback off for them): SERVFAIL EDE 22/23', async () => {
    const r = await dig(d.port, ['mail.alg8.test.', 'A', '+dnssec']);
    assert.equal(r.status, 'SERVFAIL');
    assert.ok(edeCodes(r).every((c) => c === 22 || c === 23), r.ede.join(' '));
    assert.equal(d.daemon.stack.resolver.stats().insecureFallbackAnswers, 1);
  });

  it('enabled globally (--insecure-fallback): every name, INSECURE', async () => {
    const g = await startFailoverDaemon(world, config('primary-first'), { insecureFallback: true });
    try {
      const r = await dig(g.port, ['mail.alg14.test.', 'A', '+dnssec']);
      assert.equal(r.status, 'NOERROR', r.text);
      assert.ok(!r.flags.has('ad'));
      assert.equal(g.daemon.stack.resolver.stats().insecureFallbackAnswers, 1);
      assert.equal(g.health(label(primary)).state === 'DNSSEC-CAPABLE', false);
    } finally {
      await g.stop();
    }
  });
});
