/**
 * Aggressive use of validated NSEC/NSEC3 (RFC 8198) in the running daemon, on the signed test world.
 * Upstream queries are counted at a throwaway forwarder only our daemon uses (cache-support.ts).
 * Synthesized answers are checked by BIND's delv asking our daemon: delv validates the records we
 * return (wildcard RRSIG, NSEC/NSEC3 proofs, SOA) itself, from the world's root anchor.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { run } from '../world/proc.js';
import { parseDelv } from '../world/tools.js';
import { cacheDaemon, useForwarderWorld, type CacheDaemon } from './cache-support.js';

const env = useForwarderWorld();
const withDaemon = env.withDaemon;

/** delv asking our daemon (not the world's upstream), with the world's anchor. */
async function delvAt(port: number, name: string, type: string): Promise<ReturnType<typeof parseDelv>> {
  const args = env.world.delv.slice(1).filter((a, i, all) => !a.startsWith('@') && a !== '-p' && all[i - 1] !== '-p');
  const r = await run('delv', [`@127.0.0.1`, '-p', String(port), ...args, name, type], { timeoutMs: 30_000 });
  return parseDelv(r.stdout + r.stderr);
}

/** Upstream queries (at the forwarder) made while `f` runs. */
async function asked(f: () => Promise<void>): Promise<number> {
  await env.fwd.settle();
  const before = env.fwd.total;
  await f();
  await env.fwd.settle();
  return env.fwd.total - before;
}

const synthesized = (d: CacheDaemon): number => d.daemon.stack.resolver.stats().aggressiveAnswers;

describe('aggressive NSEC (RFC 8198)', () => {
  it('wildcard expansions after the first come from the cached wildcard and NSEC, with AD and the proof', async () => {
    await withDaemon({}, async (d) => {
      const first = await d.dig('n1.wild.alg13.test.', 'A', '+dnssec');
      assert.equal(first.status, 'NOERROR');
      assert.ok(first.flags.has('ad'));
      const n = await asked(async () => {
        for (let i = 2; i <= 11; i++) {
          const r = await d.dig(`n${i}.wild.alg13.test.`, 'A', '+dnssec');
          assert.equal(r.status, 'NOERROR');
          assert.ok(r.flags.has('ad'), `n${i} AD`);
          assert.ok(r.answers.some((l) => new RegExp(`^n${i}\\.wild\\.alg13\\.test\\.\\s.*\\sA\\s`).test(l)), r.text);
          assert.ok(r.answers.some((l) => /\sRRSIG\s+A 13 3 /.test(l)), 'the wildcard RRSIG (labels 3)');
          assert.ok(r.authority.some((l) => /\sNSEC\s/.test(l)), 'the NSEC proving no closer name');
        }
      });
      assert.equal(n, 0, 'nothing asked upstream');
      assert.equal(synthesized(d), 10);
      const held = d.daemon.stats().cache.aggressive!;
      assert.ok(held.zones >= 1 && held.sets >= 2 && held.bytes > 0 && held.bytes <= held.maxBytes, JSON.stringify(held));
      const plain = await d.dig('n12.wild.alg13.test.', 'A');
      assert.equal(plain.answers.some((l) => /\s(RRSIG|NSEC)\s/.test(l)) || plain.authority.length > 0, false, 'no DNSSEC records without DO');
      const v = await delvAt(d.port, 'n13.wild.alg13.test.', 'A');
      assert.equal(v.status, 'secure', v.output);
    });
  });

  it('NXDOMAIN and NODATA from cached NSECs, checked by delv; DNSSEC-validated by our own rules first', async () => {
    await withDaemon({}, async (d) => {
      // nx1 lies between mail. and *.wild. (mail NSEC), the wildcard *.alg13.test. after the apex (apex NSEC).
      const nx1 = await d.dig('nx1.alg13.test.', 'A', '+dnssec');
      assert.equal(nx1.status, 'NXDOMAIN');
      assert.ok(nx1.flags.has('ad'));
      const nodata1 = await d.dig('www.alg13.test.', 'SRV', '+dnssec');
      assert.equal(nodata1.status, 'NOERROR');
      assert.equal(nodata1.answers.length, 0);
      let nx2: Awaited<ReturnType<CacheDaemon['dig']>> | undefined;
      let nodata2: typeof nx2;
      const n = await asked(async () => {
        nx2 = await d.dig('nx2.alg13.test.', 'A', '+dnssec');
        nodata2 = await d.dig('www.alg13.test.', 'MX', '+dnssec');
      });
      assert.equal(n, 0, 'nothing asked upstream');
      assert.equal(nx2!.status, 'NXDOMAIN');
      assert.ok(nx2!.flags.has('ad'));
      assert.ok(nx2!.authority.some((l) => /\sSOA\s/.test(l)), 'SOA for the negative TTL');
      assert.equal(nodata2!.status, 'NOERROR');
      assert.ok(nodata2!.flags.has('ad'));
      assert.equal(synthesized(d), 2);
      const v1 = await delvAt(d.port, 'nx3.alg13.test.', 'A');
      assert.equal(v1.status, 'secure', v1.output);
      assert.ok(v1.negative, v1.output);
      const v2 = await delvAt(d.port, 'www.alg13.test.', 'NAPTR');
      assert.equal(v2.status, 'secure', v2.output);
      assert.ok(v2.negative, v2.output);
    });
  });

  it('NSEC3 zones: once the covering NSEC3s are held, expansions are synthesized too, and delv agrees', async () => {
    await withDaemon({}, async (d) => {
      const names = Array.from({ length: 30 }, (_, i) => `h${i}.wild.alg7.test.`);
      const n = await asked(async () => {
        for (const name of names) {
          const r = await d.dig(name, 'A', '+dnssec');
          assert.equal(r.status, 'NOERROR');
          assert.ok(r.flags.has('ad'), name);
        }
      });
      const s = synthesized(d);
      assert.ok(s >= 10, `${s} of 30 synthesized`);
      // Besides the names not synthesized: DNSKEY of the root, DS and DNSKEY of test. and of alg7.test.
      assert.ok(n <= 30 - s + 5, `${n} upstream queries (keys included) for ${30 - s} names not synthesized`);
      const v = await delvAt(d.port, 'h99.wild.alg7.test.', 'A');
      assert.equal(v.status, 'secure', v.output);
    });
  });

  it('an NSEC at an insecure delegation never denies names below it', async () => {
    await withDaemon({}, async (d) => {
      const ds = await d.dig('unsigned.test.', 'DS', '+dnssec');
      assert.equal(ds.status, 'NOERROR');
      assert.equal(ds.answers.length, 0);
      assert.ok(ds.flags.has('ad'), 'secure DS NODATA from test.: its NSEC (NS, no DS) is now held');
      const below = await d.dig('www.unsigned.test.', 'A', '+dnssec');
      assert.equal(below.status, 'NOERROR');
      assert.equal(below.flags.has('ad'), false, 'insecure, from the child zone');
      assert.ok(below.answers.length > 0);
      const missing = await d.dig('no-such-name.unsigned.test.', 'A', '+dnssec');
      assert.equal(missing.status, 'NXDOMAIN');
      assert.equal(missing.flags.has('ad'), false, 'the unsigned child says NXDOMAIN: insecure, not synthesized from the parent');
      assert.equal(synthesized(d), 0);
    });
  });

  it('CD=1 queries and cache.aggressiveNsec: false always go upstream', async () => {
    await withDaemon({ aggressiveNsec: false }, async (d) => {
      await d.dig('c1.wild.alg13.test.', 'A', '+dnssec');
      const n = await asked(async () => {
        for (let i = 2; i <= 5; i++) assert.ok((await d.dig(`c${i}.wild.alg13.test.`, 'A', '+dnssec')).flags.has('ad'));
      });
      assert.equal(n, 4);
      assert.equal(synthesized(d), 0);
    });
    await withDaemon({}, async (d) => {
      await d.dig('c1.wild.alg13.test.', 'A', '+dnssec');
      const n = await asked(async () => {
        for (let i = 2; i <= 4; i++) assert.equal((await d.dig(`c${i}.wild.alg13.test.`, 'A', '+dnssec', '+cd')).status, 'NOERROR');
      });
      assert.equal(n, 3);
      assert.equal(synthesized(d), 0);
    });
  });

  it('names routed to a forward zone are never synthesized, and their answers are not learned', async () => {
    const d = await cacheDaemon(env.world, env.fwd.port, {}, undefined, {
      forwardZones: [
        { suffix: 'alg13.test', upstreams: [{ address: '127.0.0.1', port: env.fwd.port }] },
        { suffix: 'no-such-zone.test', upstreams: [{ address: '127.0.0.1', port: env.fwd.port }] },
      ],
    });
    try {
      // A private zone the public test. zone denies: test.'s NSEC learned from a neighbour covers it too,
      // but a question for it goes to its own upstreams.
      assert.equal((await d.dig('no-such-zonf.test.', 'A', '+dnssec')).status, 'NXDOMAIN');
      const own = await asked(async () => void (await d.dig('www.no-such-zone.test.', 'A', '+dnssec')));
      assert.equal(own, 1, 'asked its forward zone upstream, not answered from the public NSEC');
      assert.equal(synthesized(d), 0);
      await d.dig('g1.wild.alg13.test.', 'A', '+dnssec');
      await d.dig('g1.wild.alg8.test.', 'A', '+dnssec');
      const n = await asked(async () => {
        for (let i = 2; i <= 4; i++) {
          assert.ok((await d.dig(`g${i}.wild.alg13.test.`, 'A', '+dnssec')).flags.has('ad'));
          assert.ok((await d.dig(`g${i}.wild.alg8.test.`, 'A', '+dnssec')).flags.has('ad'));
        }
      });
      assert.equal(n, 3, 'the forward zone\'s names went upstream, the default route\'s were synthesized');
      assert.equal(synthesized(d), 3);
    } finally {
      await d.stop();
    }
  });

  it('names under a negative trust anchor are INSECURE and never synthesized, even with proofs held for the zone', async () => {
    const d = await cacheDaemon(env.world, env.fwd.port, {}, undefined, { negativeTrustAnchors: ['nta.wild.alg13.test'] });
    try {
      assert.ok((await d.dig('t1.wild.alg13.test.', 'A', '+dnssec')).flags.has('ad'), 'proofs for alg13.test. now held');
      const n = await asked(async () => {
        for (const name of ['x1.nta.wild.alg13.test.', 'x2.nta.wild.alg13.test.']) {
          const r = await d.dig(name, 'A', '+dnssec');
          assert.equal(r.status, 'NOERROR');
          assert.equal(r.flags.has('ad'), false, `${name}: insecure by the NTA`);
        }
      });
      assert.equal(n, 2);
      assert.equal(synthesized(d), 0);
    } finally {
      await d.stop();
    }
  });

  it('flush forgets the held proofs with the answers', async () => {
    await withDaemon({}, async (d) => {
      await d.dig('f1.wild.alg13.test.', 'A', '+dnssec');
      d.daemon.flush();
      const n = await asked(async () => {
        assert.ok((await d.dig('f2.wild.alg13.test.', 'A', '+dnssec')).flags.has('ad'));
      });
      assert.ok(n >= 1, `${n} upstream queries after the flush`);
      assert.equal(synthesized(d), 0);
    });
  });
});
