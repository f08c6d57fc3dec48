/**
 * DS and DNSKEY answers that contradict themselves (an RRset of the asked type at the name, and an
 * rcode or shape that denies it) are no evidence: the chain step is bogus (upstream-inconsistent), never
 * a secure DS, never a proof of no DS; with a second DNSSEC-capable upstream the step is re-asked and
 * the contradicting one gets a strike. Real answers from the test world's upstream, changed on the way.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { StripEvidence } from '../../src/validator/types.js';
import { ChainOfTrust, type FetchResult, type Fetcher } from '../../src/validator/chain.js';
import { poolFetcher } from '../../src/resolver/fetcher.js';
import { RRType, Rcode, parseRR, type Message, type Name } from '../../src/wire/index.js';
import { getWorld, stopWorld } from '../world/index.js';
import { chainEnv, context, describeKeys, n, RecordingFetcher, type ChainEnv } from './chain-support.js';

let env: ChainEnv;

before(async () => {
  env = chainEnv(await getWorld());
}, { timeout: 300_000 });

after(async () => {
  await stopWorld();
});

type Change = (m: Message) => Message;

/** The world's answers, with `change` applied to the answer for (name, type). */
function changing(name: string, type: number, change: Change): Fetcher {
  const real = poolFetcher(env.pool);
  return {
    async fetch(q: Name, t: number): Promise<FetchResult> {
      const r = await real.fetch(q, t);
      if (r.kind !== 'answer' || !q.equals(n(name)) || t !== type) return r;
      return { ...r, message: change(r.message) };
    },
  };
}

const rcode = (code: number): Change => (m) => ({ ...m, rcode: code });

/** A fresh chain on `fetcher`, recording its questions (the recorder passes neither exclusions nor reports on). */
function chainOn(fetcher: Fetcher): { chain: ChainOfTrust; rec: RecordingFetcher } {
  const rec = new RecordingFetcher(fetcher);
  return { chain: new ChainOfTrust(env.anchors, rec, { clock: { now: () => Date.now() } }), rec };
}

function assertInconsistent(k: Awaited<ReturnType<ChainOfTrust['zoneOf']>>, detail: RegExp): void {
  assert.equal(k.security, 'bogus', describeKeys(k));
  if (k.security !== 'bogus') return;
  assert.equal(k.reason.kind, 'upstream-inconsistent', describeKeys(k));
  assert.match((k.reason as { detail: string }).detail, detail);
  assert.equal(k.trail.at(-1)?.step, 'bogus');
}

describe('a DS answer that contradicts itself', () => {
  for (const code of [Rcode.NXDOMAIN, Rcode.YXDOMAIN]) {
    const text = code === Rcode.NXDOMAIN ? 'NXDOMAIN' : 'YXDOMAIN';
    it(`${text} with the real, validly signed DS RRset: bogus, not secure (and its DNSKEY is not prefetched)`, async () => {
      const { chain, rec } = chainOn(changing('alg8.test.', RRType.DS, rcode(code)));
      assertInconsistent(await chain.zoneOf(n('www.alg8.test.'), context()), new RegExp(`^alg8\\.test\\. DS: ${text} with a DS RRset at the name$`));
      assert.ok(!rec.questions().includes('alg8.test. DNSKEY'), rec.questions().join(', '));
      assertInconsistent(await chainOn(changing('alg8.test.', RRType.DS, rcode(code))).chain.keysForZone(n('alg8.test.'), context()), /DS RRset at the name/);
    });
  }

  it('the same answer unchanged is secure (the change above is what makes it bogus)', async () => {
    const k = await chainOn(changing('alg8.test.', RRType.DS, (m) => m)).chain.zoneOf(n('www.alg8.test.'), context());
    assert.equal(k.security, 'secure', describeKeys(k));
  });

  it('a signed proof of no DS (unsigned delegation) with a DS RRset for the name in the authority section: bogus, not insecure', async () => {
    const ds = parseRR('unsigned.test. 3600 IN DS 12345 13 2 0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF');
    const plain = await chainOn(changing('unsigned.test.', RRType.DS, (m) => m)).chain.zoneOf(n('www.unsigned.test.'), context());
    assert.equal(plain.security, 'insecure', `the proof alone: ${describeKeys(plain)}`);
    const nodata = changing('unsigned.test.', RRType.DS, (m) => ({ ...m, authority: [...m.authority, ds] }));
    assertInconsistent(await chainOn(nodata).chain.zoneOf(n('www.unsigned.test.'), context()),
      /^unsigned\.test\. DS: NODATA with a DS RRset at the name in the authority section$/);
    const nx = changing('unsigned.test.', RRType.DS, (m) => ({ ...m, rcode: Rcode.NXDOMAIN, authority: [...m.authority, ds] }));
    assertInconsistent(await chainOn(nx).chain.zoneOf(n('www.unsigned.test.'), context()), /^unsigned\.test\. DS: NXDOMAIN with a DS RRset at the name$/);
  });
});

describe('a DNSKEY answer that contradicts itself', () => {
  it('NXDOMAIN with the real DNSKEY RRset of a zone: bogus', async () => {
    const { chain } = chainOn(changing('alg13.test.', RRType.DNSKEY, rcode(Rcode.NXDOMAIN)));
    assertInconsistent(await chain.keysForZone(n('alg13.test.'), context()), /^alg13\.test\. DNSKEY: NXDOMAIN with a DNSKEY RRset at the name$/);
  });

  it('NXDOMAIN with the trust anchor zone\'s DNSKEY RRset: bogus', async () => {
    const { chain } = chainOn(changing('.', RRType.DNSKEY, rcode(Rcode.NXDOMAIN)));
    assertInconsistent(await chain.keysForZone(n('.'), context()), /^\. DNSKEY: NXDOMAIN with a DNSKEY RRset at the name$/);
  });
});

describe('re-asked from another DNSSEC-capable upstream', () => {
  /** Two upstreams on the world's resolver: "liar" sets NXDOMAIN on DS(alg10.test.) answers, "honest" does not. */
  function twoUpstreams(bothLie: boolean): { fetcher: Fetcher; reports: { upstream: string; evidence: StripEvidence }[] } {
    const real = poolFetcher(env.pool);
    const reports: { upstream: string; evidence: StripEvidence }[] = [];
    const fetcher: Fetcher = {
      async fetch(name, type, opts = {}) {
        const upstream = opts.exclude?.has('liar') ? 'honest' : 'liar';
        const r = await real.fetch(name, type);
        if (r.kind !== 'answer') return r;
        const lie = (upstream === 'liar' || bothLie) && name.equals(n('alg10.test.')) && type === RRType.DS;
        return { kind: 'answer', upstream, message: lie ? { ...r.message, rcode: Rcode.NXDOMAIN } : r.message };
      },
      report(_name, _type, upstream, evidence) {
        reports.push({ upstream, evidence });
      },
    };
    return { fetcher, reports };
  }

  it('the other upstream\'s answer is believed (secure) and the contradicting one gets a strike', async () => {
    const { fetcher, reports } = twoUpstreams(false);
    const chain = new ChainOfTrust(env.anchors, fetcher, { clock: { now: () => Date.now() }, confirmations: 2 });
    const k = await chain.keysForZone(n('alg10.test.'), context());
    assert.equal(k.security, 'secure', describeKeys(k));
    assert.equal(reports.length, 1);
    assert.equal(reports[0]!.upstream, 'liar');
    assert.equal(reports[0]!.evidence.reason, 'upstream-inconsistent');
    assert.equal(reports[0]!.evidence.confirmedBy, 'honest');
    assert.equal(reports[0]!.evidence.name, 'alg10.test.');
  });

  it('when every upstream contradicts itself the step stays bogus, and nobody gets a strike', async () => {
    const { fetcher, reports } = twoUpstreams(true);
    const chain = new ChainOfTrust(env.anchors, fetcher, { clock: { now: () => Date.now() }, confirmations: 2 });
    assertInconsistent(await chain.keysForZone(n('alg10.test.'), context()), /NXDOMAIN with a DS RRset/);
    assert.equal(reports.length, 0);
  });
});
