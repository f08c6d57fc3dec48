/**
 * The chain of trust against the real test world (NSD/named authorities, Unbound upstream, fake root
 * anchor): every zone of test/world/zones.ts gets the trust state its case says, with the reason.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { getWorld, stopWorld, ZONES, type WorldInfo } from '../world/index.js';
import { ChainOfTrust } from '../../src/validator/chain.js';
import { poolFetcher } from '../../src/resolver/fetcher.js';
import { UpstreamPool } from '../../src/upstream/pool.js';
import { RRType } from '../../src/wire/index.js';
import type { TrailStep, ZoneKeys } from '../../src/validator/types.js';
import { chainEnv, context, describeKeys, n, type ChainEnv } from './chain-support.js';

let world: WorldInfo;
let env: ChainEnv;
let chain: ChainOfTrust;

before(async () => {
  world = await getWorld();
  env = chainEnv(world);
  chain = env.chain().chain;
}, { timeout: 300_000 });

after(async () => {
  await stopWorld();
});

const zones = Object.values(ZONES);
const www = (zone: string): string => (zone === '.' ? 'www.' : `www.${zone}`);
const steps = (k: ZoneKeys, kind: TrailStep['step']): TrailStep[] => k.trail.filter((s) => s.step === kind);

describe('secure zones: keysForZone is secure with the zone\'s own keys', { concurrency: 8 }, () => {
  const secure = zones.filter((z) => ['root', 'tld', 'algorithm', 'denial', 'dane', 'cname'].includes(z.kind) && z.signer !== 'none');
  it('covers every algorithm, denial and DANE zone', () => {
    for (const kind of ['algorithm', 'denial', 'dane']) assert.ok(secure.some((z) => z.kind === kind), kind);
    assert.ok(secure.length >= 14, String(secure.length));
  });
  for (const z of secure) {
    it(z.name, { timeout: 30_000 }, async () => {
      const k = await chain.keysForZone(n(z.name), context());
      assert.equal(k.security, 'secure', describeKeys(k));
      assert.ok(k.zone.equals(n(z.name)));
      if (k.security !== 'secure') return;
      assert.ok(k.keys.length >= 1);
      assert.ok(k.keys.every((r) => r.name.equals(n(z.name))));
      if (z.algorithm !== undefined) assert.ok(k.keys.some((r) => r.data.algorithm === z.algorithm), `algorithm ${z.algorithm}`);
      assert.ok(k.validUntil > Date.now(), 'validUntil in the future');
      // The trail explains itself: the anchor, then keys for every zone from the root down to this one.
      assert.equal(k.trail[0]?.step, 'anchor');
      const keyZones = steps(k, 'keys').map((s) => (s as Extract<TrailStep, { step: 'keys' }>).zone);
      const expected = z.name === '.' ? ['.'] : z.name === 'test.' ? ['.', 'test.'] : ['.', 'test.', z.name];
      assert.deepEqual(keyZones, expected);
      if (z.name !== '.') assert.ok(steps(k, 'ds').some((s) => (s as { zone: string }).zone === z.name), 'DS step for the zone');
      // The zone that holds a name in it is this zone (NSEC3 over 150 iterations: see below).
      if (z.nsec3 && z.nsec3.iterations > 150) return;
      const zo = await chain.zoneOf(n(www(z.name)), context());
      assert.equal(zo.security, 'secure', describeKeys(zo));
      assert.ok(zo.zone.equals(n(z.name)), describeKeys(zo));
    });
  }
});

/** The insecure reason each insecure delegation of the world must give. */
function expectedInsecure(name: string): { kind: string; zone: string; extra?: object } {
  const z = ZONES[name]!;
  if (z.kind === 'unknown' && z.ds === 'unknown-digest') return { kind: 'unsupported-digest', zone: name, extra: { digestTypes: [200] } };
  if (z.kind === 'unknown') {
    const alg = z.mutations.find((m) => m.op === 'rewrite-algorithm');
    return { kind: 'unsupported-algorithm', zone: name, extra: { algorithms: [(alg as { algorithm: number }).algorithm] } };
  }
  const parent = ZONES[z.parent!]!;
  if (parent.nsec3?.optOut) return { kind: 'opt-out', zone: parent.name };
  return { kind: 'no-ds', zone: name };
}

describe('insecure delegations: zoneOf is insecure with the right reason', { concurrency: 8 }, () => {
  const insecure = zones.filter((z) => z.ds === 'none' || z.kind === 'unknown');
  it('covers unsigned zones under NSEC, NSEC3 and opt-out parents and the unknown algorithm/digest zones', () => {
    for (const name of ['unsigned.test.', 'child.insec-nsec.test.', 'child.insec-nsec3.test.', 'child.nsec3-optout.test.',
      'unknown-alg253.test.', 'unknown-alg100.test.', 'unknown-digest.test.']) {
      assert.ok(insecure.some((z) => z.name === name), name);
    }
  });
  for (const z of insecure) {
    const want = expectedInsecure(z.name);
    it(`${z.name} -> ${want.kind}`, { timeout: 30_000 }, async () => {
      for (const target of [z.name, www(z.name), `_25._tcp.mail.${z.name}`]) {
        const k = await chain.zoneOf(n(target), context());
        assert.equal(k.security, 'insecure', `${target}: ${describeKeys(k)}`);
        if (k.security !== 'insecure') return;
        assert.equal(k.reason.kind, want.kind, `${target}: ${describeKeys(k)}`);
        assert.equal((k.reason as { zone: string }).zone, want.zone);
        if (want.extra) assert.deepEqual({ ...k.reason, kind: undefined, zone: undefined }, { kind: undefined, zone: undefined, ...want.extra });
        // Trust ended at the delegation, under a secure parent: the trail shows the parent's keys, then why.
        assert.ok(k.zone.equals(n(z.name)), describeKeys(k));
        assert.ok(steps(k, 'keys').some((s) => (s as { zone: string; security: string }).zone === z.parent && (s as { security: string }).security === 'secure'));
        assert.equal(k.trail.at(-1)?.step, 'insecure');
      }
      // Asked as a zone (a signer in an insecure part of the tree): insecure too.
      const kz = await chain.keysForZone(n(z.name), context());
      assert.equal(kz.security, 'insecure', describeKeys(kz));
    });
  }
});

describe('bogus chains', { concurrency: 4 }, () => {
  const cases: Array<[string, string]> = [
    ['bogus-ds-mismatch.test.', 'ds-mismatch'], // DS of a key the child does not publish
    ['bogus-ds-unsigned.test.', 'dnskey-missing'], // DS, but the child has no DNSKEY at all
    ['bogus-dnskey-sig.test.', 'signature-invalid'], // the DNSKEY RRset's signatures are corrupted
    ['bogus-expired.test.', 'signature-expired'], // the DNSKEY RRset's signatures expired
    ['bogus-future.test.', 'signature-not-yet-valid'],
  ];
  for (const [name, kind] of cases) {
    it(`${name} -> bogus ${kind}`, { timeout: 30_000 }, async () => {
      const before = Date.now();
      for (const k of [await chain.keysForZone(n(name), context()), await chain.zoneOf(n(www(name)), context())]) {
        assert.equal(k.security, 'bogus', describeKeys(k));
        if (k.security !== 'bogus') return;
        assert.equal(k.reason.kind, kind, describeKeys(k));
        assert.ok(k.zone.equals(n(name)));
        assert.equal(k.trail.at(-1)?.step, 'bogus');
        // Bogus states are retried soon: kept 60 s at most.
        assert.ok(k.validUntil <= Date.now() + 60_000 && k.validUntil >= before, String(k.validUntil - Date.now()));
      }
    });
  }
  it('zones whose keys are fine but whose data is bogus are secure here (the data is judged elsewhere)', async () => {
    for (const name of ['bogus-modified.test.', 'bogus-no-rrsig.test.', 'bogus-nsec-sig.test.', 'bogus-nsec3-sig.test.']) {
      const k = await chain.keysForZone(n(name), context());
      assert.equal(k.security, 'secure', `${name}: ${describeKeys(k)}`);
    }
  });
  it('a denial for DS whose NSEC3 signatures are corrupted is bogus (zoneOf of a name inside that zone)', async () => {
    const k = await chain.zoneOf(n('www.bogus-nsec3-sig.test.'), context());
    assert.equal(k.security, 'bogus', describeKeys(k));
  });
});

describe('DS answers from the wrong side of the cut, or unsigned', () => {
  it('a DS denial from the child zone itself (asked at the child\'s authoritative server) is bogus, not insecure', async () => {
    const named = world.authServers.find((a) => a.id === 'named')!;
    assert.ok(named.zones.includes('alg13.test.'));
    const childPool = new UpstreamPool([{ address: named.host, port: named.port, priority: 1 }]);
    const viaChild = poolFetcher(childPool);
    const normal = poolFetcher(env.pool);
    // Only DS(alg13.test.) goes to the child's server, which answers NODATA signed by alg13.test.
    const c = new ChainOfTrust(env.anchors, {
      fetch: (name, type) => (name.equals(n('alg13.test.')) && type === RRType.DS ? viaChild : normal).fetch(name, type),
    }, { clock: { now: () => Date.now() } });
    for (const k of [await c.keysForZone(n('alg13.test.'), context()), await c.zoneOf(n('www.alg13.test.'), context())]) {
      assert.equal(k.security, 'bogus', describeKeys(k));
      if (k.security === 'bogus') {
        assert.equal(k.reason.kind, 'upstream-inconsistent');
        assert.match((k.reason as { detail: string }).detail, /signed by alg13\.test\., expected the zone test\./);
      }
    }
  });
  it('a real DS answer with its RRSIGs removed is bogus (rrsigs-missing)', async () => {
    const normal = poolFetcher(env.pool);
    const c = new ChainOfTrust(env.anchors, {
      async fetch(name, type) {
        const r = await normal.fetch(name, type);
        if (r.kind !== 'answer' || !name.equals(n('alg8.test.')) || type !== RRType.DS) return r;
        return { kind: 'answer', message: { ...r.message, answer: r.message.answer.filter((rr) => rr.type !== RRType.RRSIG) } };
      },
    }, { clock: { now: () => Date.now() } });
    const k = await c.keysForZone(n('alg8.test.'), context());
    assert.equal(k.security, 'bogus', describeKeys(k));
    if (k.security === 'bogus') assert.deepEqual(k.reason, { kind: 'rrsigs-missing', name: 'alg8.test.', type: 'DS' });
  });
});

describe('names that are not zone cuts', () => {
  it('empty non-terminals, existing names, absent names, CNAME owners and names below a DNAME belong to the enclosing zone', async () => {
    for (const name of ['a.b.ent.alg8.test.', 'b.ent.alg8.test.', 'nx.alg8.test.', 'x.y.nx.alg13.test.', 'alias.alg8.test.',
      'a.b.ent.nsec3-nosalt.test.', 'nx.nsec3-salt.test.', '_25._tcp.mail.dane.test.',
      'www.dname.cname.test.', 'x.nx.dname.cname.test.']) {
      const k = await chain.zoneOf(n(name), context());
      assert.equal(k.security, 'secure', `${name}: ${describeKeys(k)}`);
      const zone = name.split('.').slice(-3).join('.');
      assert.ok(k.zone.equals(n(zone)), `${name}: ${describeKeys(k)}`);
      assert.ok(k.trail.some((s) => s.step === 'proof' || s.step === 'ds'), 'the proof that it is no cut is in the trail');
    }
  });
  it('asked as a zone (an RRSIG signer), a name inside a zone is bogus', async () => {
    const k = await chain.keysForZone(n('www.alg8.test.'), context());
    assert.equal(k.security, 'bogus', describeKeys(k));
  });
  it('NSEC3 with 200 iterations proving "no cut" ends trust as insecure (RFC 9276, like Unbound)', async () => {
    const k = await chain.zoneOf(n('www.nsec3-iter200.test.'), context());
    assert.equal(k.security, 'insecure', describeKeys(k));
    if (k.security === 'insecure') assert.equal(k.reason.kind, 'nsec3-iterations');
    assert.equal((await chain.keysForZone(n('nsec3-iter200.test.'), context())).security, 'secure');
  });
});

describe('anchors', () => {
  it('the anchor zone itself is validated against the anchor', async () => {
    const k = await chain.keysForZone(n('.'), context());
    assert.equal(k.security, 'secure', describeKeys(k));
    assert.deepEqual(k.trail.map((s) => s.step), ['anchor', 'rrset', 'keys']);
  });
  it('without an anchor above a name the answer is insecure (no-anchor) and nothing is asked', async () => {
    const rec = env.chain().rec;
    const c = new ChainOfTrust(env.anchors.filter((a) => !a.zone.isRoot()), rec, { clock: { now: () => Date.now() } });
    const k = await c.zoneOf(n('www.alg8.test.'), context());
    assert.equal(k.security, 'insecure');
    if (k.security === 'insecure') assert.deepEqual(k.reason, { kind: 'no-anchor', name: 'www.alg8.test.' });
    assert.equal(rec.log.length, 0);
  });
  it('an anchor below the root is the starting point for names under it', async () => {
    const test = await chain.keysForZone(n('test.'), context());
    assert.equal(test.security, 'secure');
    if (test.security !== 'secure') return;
    const ksk = test.keys.filter((k) => (k.data.flags & 1) === 1);
    const { rec } = env.chain();
    const c = new ChainOfTrust([...env.anchors, { zone: n('test.'), ds: [], dnskeys: ksk }], rec, { clock: { now: () => Date.now() } });
    const k = await c.keysForZone(n('alg13.test.'), context());
    assert.equal(k.security, 'secure', describeKeys(k));
    assert.deepEqual(rec.questions(), ['alg13.test. DNSKEY', 'alg13.test. DS', 'test. DNSKEY']);
    assert.equal((k.trail[0] as { zone: string }).zone, 'test.');
  });
});
