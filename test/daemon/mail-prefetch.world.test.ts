/**
 * The MTA-aware prefetch (prefetch.mail) on the mail world (test/world/mail.ts), asked with dig: two daemons on
 * the world's upstream, one with the prefetch (mailHosts 1) and one without. After an MX answer the prefetching
 * daemon holds its host's A, AAAA and (for SECURE hosts) TLSA answers, and a client's later questions are cache
 * hits with what the other daemon answers the same questions (status, AD, rcode, EDE, records; TTLs within the
 * seconds between the two); insecure and bogus hosts get no TLSA fetch and a bogus answer is what the client
 * would get anyway; CNAME'd hosts get TLSA at the target; null MX starts nothing; mailHosts caps; off is off.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { questionKey } from '../../src/cache/key.js';
import type { Daemon } from '../../src/daemon/index.js';
import type { MailPrefetchStats } from '../../src/resolver/mail-prefetch.js';
import { Name, RRClass, typeFromText } from '../../src/wire/index.js';
import { getWorld, stopWorld, type WorldInfo } from '../world/index.js';
import { dig, type DigResult } from '../support/dig.js';
import { startTestDaemon, worldFlags, type TestDaemon } from '../support/daemon.js';

let world: WorldInfo;
let on: Daemon;
let off: Daemon;
const started: TestDaemon[] = [];

async function daemon(prefetch: Record<string, unknown>): Promise<Daemon> {
  const d = await startTestDaemon({ config: { prefetch }, cli: worldFlags(world) });
  started.push(d);
  return d.daemon;
}

before(async () => {
  world = await getWorld();
  on = await daemon({ mail: true, mailHosts: 1, maxInFlight: 4 });
  off = await daemon({ mail: false });
});

after(async () => {
  for (const d of started) await d.stop();
  await stopWorld();
});

const ask = (d: Daemon, name: string, type: string): Promise<DigResult> => dig(d.addresses[0]!.port, [name, type, '+dnssec', '+time=5']);

const mailStats = (): MailPrefetchStats => on.stats().cache.mailPrefetch!;

/** The MX question to the prefetching daemon, then the prefetch done; returns its counts before. */
async function mx(domain: string): Promise<{ before: MailPrefetchStats; mx: DigResult }> {
  const before = mailStats();
  const r = await ask(on, domain, 'MX');
  await on.stack.cached.mail!.idle();
  return { before, mx: r };
}

/** Whether the prefetching daemon holds a fresh answer for the question (CD=0). */
function held(name: string, type: string): boolean {
  const e = on.stack.cached.cache.fresh(questionKey({ name: Name.fromText(name), type: typeFromText(type)!, class: RRClass.IN }, false), Date.now());
  return e !== undefined;
}

/** A record line without its TTL, and the TTL. */
function split(line: string): { rr: string; ttl: number } {
  const f = line.split(/\s+/);
  return { rr: [f[0], ...f.slice(2)].join(' '), ttl: Number(f[1]) };
}

/** The prefetching daemon's answer is a cache hit, and what the other daemon answers (TTLs within 3 s). */
async function sameAsWithout(name: string, type: string): Promise<DigResult> {
  const misses = on.stats().cache.misses;
  const a = await ask(on, name, type);
  assert.equal(on.stats().cache.misses, misses, `${name} ${type}: a cache hit on the prefetching daemon`);
  const b = await ask(off, name, type);
  const what = `${name} ${type}\n--- with prefetch:\n${a.text}\n--- without:\n${b.text}`;
  assert.equal(a.status, b.status, what);
  assert.equal(a.flags.has('ad'), b.flags.has('ad'), what);
  assert.deepEqual(a.ede, b.ede, what);
  for (const section of ['answers', 'authority'] as const) {
    const x = a[section].map(split);
    const y = b[section].map(split);
    assert.deepEqual(x.map((r) => r.rr).sort(), y.map((r) => r.rr).sort(), what);
    for (let i = 0; i < x.length; i++) assert.ok(Math.abs(x[i]!.ttl - y.find((r) => r.rr === x[i]!.rr)!.ttl) <= 3, what);
  }
  return a;
}

describe('mail prefetch on the mail world', () => {
  it('ok.dmx.test: A, AAAA and TLSA of ok.dhost.test are hits, answered as without the prefetch', async () => {
    const { before, mx: r } = await mx('ok.dmx.test.');
    assert.ok(r.flags.has('ad'), r.text);
    const s = mailStats();
    assert.equal(s.answers - before.answers, 1);
    assert.equal(s.started - before.started, 3, 'A, AAAA, TLSA');
    assert.equal((await sameAsWithout('ok.dhost.test.', 'A')).flags.has('ad'), true);
    await sameAsWithout('ok.dhost.test.', 'AAAA');
    const tlsa = await sameAsWithout('_25._tcp.ok.dhost.test.', 'TLSA');
    assert.ok(tlsa.answers.some((l) => l.includes('TLSA')), tlsa.text);
    assert.equal(mailStats().hits - before.hits, 3);
  });

  it('an insecure host (a-insecure.dmx.test -> host.uhost.test): A and AAAA, no TLSA', async () => {
    const { before } = await mx('a-insecure.dmx.test.');
    assert.equal(mailStats().started - before.started, 2);
    assert.equal((await sameAsWithout('host.uhost.test.', 'A')).flags.has('ad'), false);
    assert.equal(held('_25._tcp.host.uhost.test.', 'TLSA'), false);
  });

  it('a bogus host (a-bogus.dmx.test -> host.bhost.test): the client gets the SERVFAIL and EDE it would get anyway; no TLSA', async () => {
    const { before } = await mx('a-bogus.dmx.test.');
    assert.equal(mailStats().started - before.started, 2);
    const a = await sameAsWithout('host.bhost.test.', 'A');
    assert.equal(a.status, 'SERVFAIL', a.text);
    assert.ok(a.ede.length > 0, a.text);
    await sameAsWithout('host.bhost.test.', 'AAAA');
    assert.equal(held('_25._tcp.host.bhost.test.', 'TLSA'), false);
  });

  it('a bogus TLSA RRset (tlsa-bogus.dmx.test) is held as the client would get it', async () => {
    await mx('tlsa-bogus.dmx.test.');
    const t = await sameAsWithout('_25._tcp.tlsa-bogus.dhost.test.', 'TLSA');
    assert.equal(t.status, 'SERVFAIL', t.text);
    await sameAsWithout('tlsa-bogus.dhost.test.', 'A');
  });

  it('an insecure MX RRset (badcert.umx.test) still gets its secure host\'s TLSA, as Postfix asks it', async () => {
    const { before, mx: r } = await mx('badcert.umx.test.');
    assert.equal(r.flags.has('ad'), false);
    assert.equal(mailStats().started - before.started, 3);
    await sameAsWithout('_25._tcp.badcert.dhost.test.', 'TLSA');
  });

  it('a CNAME\'d host (cname.dmx.test -> cname.dhost.test -> ok.dhost.test): TLSA at the target, not at the alias', async () => {
    // The first test left ok.dhost.test's TLSA cached: gone first, so that only this prefetch can bring it back.
    on.flush('ok.dhost.test');
    assert.equal(held('_25._tcp.ok.dhost.test.', 'TLSA'), false);
    await mx('cname.dmx.test.');
    await sameAsWithout('cname.dhost.test.', 'A');
    assert.equal(held('_25._tcp.ok.dhost.test.', 'TLSA'), true);
    assert.equal(held('_25._tcp.cname.dhost.test.', 'TLSA'), false);
  });

  it('null MX (nullmx.dmx.test) starts nothing', async () => {
    const { before } = await mx('nullmx.dmx.test.');
    assert.deepEqual(mailStats(), before);
  });

  it('prefetch.mailHosts 1: multi.dmx.test fetches its most preferred host only, the other counted as skipped', async () => {
    const { before } = await mx('multi.dmx.test.');
    const s = mailStats();
    assert.equal(s.skipped.hosts - before.skipped.hosts, 1);
    assert.equal(s.started - before.started, 3);
    assert.equal(held('silent.dhost.test.', 'A'), true);
    assert.equal(held('_25._tcp.silent.dhost.test.', 'TLSA'), true);
  });

  it('prefetch.mail false: nothing counted, the host\'s A is a miss after the MX answer', async () => {
    assert.equal(off.stats().cache.mailPrefetch, undefined);
    await ask(off, 'v301.dmx.test.', 'MX');
    const misses = off.stats().cache.misses;
    await ask(off, 'v301.dhost.test.', 'A');
    assert.equal(off.stats().cache.misses, misses + 1);
  });
});
