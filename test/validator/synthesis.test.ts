/**
 * Aggressive use of validated NSEC (RFC 8198) on the RFC 4035 Appendix A zone: the store learns the
 * zone's signed NSEC, SOA and wildcard RRsets (each verified first), then answers questions from them.
 * Every synthesized answer is checked against the Appendix B response for the same question (rcode,
 * the NSECs it shows) and validated again, from its records alone, by our own response validator.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ProofStore, MAX_NSEC } from '../../src/cache/proofs.js';
import { synthesize, type Synthesized } from '../../src/validator/synthesis.js';
import type { Learned, LearnedSet } from '../../src/validator/learned.js';
import { validateResponse } from '../../src/validator/response.js';
import { splitSignedRRsets, verifyRRset } from '../../src/validator/rrsig.js';
import type { KeySource, SignedRRset } from '../../src/validator/types.js';
import { RRType, Rcode, emptyFlags, makeRR, type Message, type NSECData, type Question, type RR } from '../../src/wire/index.js';
import { findSet, loadVector, makeCtx, n, parseLines, responses, secureKeys } from './prim-helpers.js';

/** One RFC zone (Appendix A) with its keys: learned sets, a store, and re-validation of synthesized answers. */
function fixture(file: string, at: number) {
  const vec = loadVector(file);
  const apex = n('example.');
  const sets = splitSignedRRsets(parseLines(vec.zone.records_normalized));
  const keys = secureKeys(apex, findSet(sets, 'example.', RRType.DNSKEY).rrs);
  /** A zone's RRset as the validator would hand it over: verified, with its validated TTL. */
  const learned = (set: SignedRRset): LearnedSet => {
    const c = verifyRRset(set, keys, makeCtx(at));
    assert.equal(c.security, 'secure', `${set.name.toText()} ${set.type} verifies`);
    return { zone: apex, set, ttl: c.security === 'secure' ? c.ttl : 0 };
  };
  const denialSets = sets.filter((s) => s.type === RRType.NSEC || s.type === RRType.NSEC3);
  const wildcardMx = findSet(sets, '*.w.example.', RRType.MX);
  const soa = findSet(sets, 'example.', RRType.SOA);
  const store = (parts: Partial<Learned> = {}): ProofStore => {
    const c = new ProofStore(1 << 20);
    c.learn({
      denial: parts.denial ?? denialSets.map(learned),
      wildcards: parts.wildcards ?? [learned(wildcardMx)],
      soa: parts.soa ?? [learned(soa)],
    }, at);
    return c;
  };
  /** The zone's keys for every name: what the chain of trust would say for the Appendix A zone. */
  const keySource: KeySource = { keysForZone: async () => keys, zoneOf: async () => keys };
  /** The synthesized answer as a message, validated again by the response validator. */
  const revalidate = async (question: Question, s: Synthesized): Promise<string> => {
    const msg: Message = {
      id: 1, opcode: 0, flags: { ...emptyFlags(), qr: true }, rcode: s.rcode, question: [question],
      answer: s.answer, authority: s.authority, additional: [],
    };
    const r = await validateResponse(question, msg, keySource, makeCtx(at + 1000));
    return `${r.verdict.security} ${r.verdict.kind}`;
  };
  return { apex, resp: responses(vec), learned, denialSets, wildcardMx, soa, store, revalidate };
}

const AT = Date.UTC(2004, 3, 20);
const { apex, resp, learned, denialSets: nsecSets, wildcardMx, soa, store, revalidate } = fixture('rfc4035.json', AT);

const q = (name: string, type: number): Question => ({ name: n(name), type, class: 1 });

const owners = (s: Synthesized, type: number): string[] =>
  s.authority.filter((r) => r.type === type).map((r) => r.name.toText()).sort();

describe('aggressive NSEC (RFC 8198) on the RFC 4035 zone', () => {
  it('B.2 ml.example. A: NXDOMAIN from the covering NSEC and the wildcard denial, as the zone answered it', async () => {
    const question = q('ml.example.', RRType.A);
    const s = synthesize(question, store(), makeCtx(AT));
    assert.ok(s);
    assert.equal(s.rcode, Rcode.NXDOMAIN);
    assert.equal(s.verdict.kind, 'nxdomain');
    const want = resp.get('B.2')!.authority.filter((r) => r.type === RRType.NSEC).map((r) => r.name.toText()).sort();
    assert.deepEqual(owners(s, RRType.NSEC), want);
    assert.deepEqual(owners(s, RRType.SOA), ['example.']);
    assert.equal(s.authority.filter((r) => r.type === RRType.RRSIG).length, 3, 'SOA and both NSECs with their RRSIGs');
    assert.equal(await revalidate(question, s), 'secure nxdomain');
  });

  it('B.3 ns1.example. MX: NODATA from the NSEC at the name', async () => {
    const question = q('ns1.example.', RRType.MX);
    const s = synthesize(question, store(), makeCtx(AT));
    assert.ok(s);
    assert.equal(s.rcode, Rcode.NOERROR);
    assert.equal(s.answer.length, 0);
    assert.deepEqual(owners(s, RRType.NSEC), ['ns1.example.']);
    assert.equal(await revalidate(question, s), 'secure nodata');
  });

  it('B.6 a.z.w.example. MX: the cached wildcard expanded, with the no-closer-name proof', async () => {
    const question = q('a.z.w.example.', RRType.MX);
    const s = synthesize(question, store(), makeCtx(AT));
    assert.ok(s);
    assert.equal(s.rcode, Rcode.NOERROR);
    assert.equal(s.verdict.kind, 'positive');
    assert.deepEqual(s.answer.map((r) => `${r.name.toText()} ${r.type}`), ['a.z.w.example. 15', 'a.z.w.example. 46']);
    assert.equal(s.answer.find((r) => r.type === RRType.RRSIG)!.rdata.length, wildcardMx.sigs[0]!.rdata.length, 'the wildcard RRSIG, labels field unchanged');
    assert.deepEqual(owners(s, RRType.NSEC), resp.get('B.6')!.authority.filter((r) => r.type === RRType.NSEC).map((r) => r.name.toText()).sort());
    assert.equal(await revalidate(question, s), 'secure positive');
  });

  it('B.7 a.z.w.example. AAAA: wildcard NODATA', async () => {
    const question = q('a.z.w.example.', RRType.AAAA);
    const s = synthesize(question, store(), makeCtx(AT));
    assert.ok(s);
    assert.equal(s.verdict.kind, 'nodata');
    assert.deepEqual(owners(s, RRType.NSEC), ['*.w.example.', 'x.y.w.example.']);
    assert.equal(await revalidate(question, s), 'secure nodata');
  });

  it('an empty non-terminal (y.w.example. A) is NODATA', async () => {
    const question = q('y.w.example.', RRType.A);
    const s = synthesize(question, store(), makeCtx(AT));
    assert.ok(s);
    assert.equal(s.verdict.kind, 'nodata');
    assert.equal(await revalidate(question, s), 'secure nodata');
  });

  it('says nothing below a delegation: B.4 mc.a.example. (signed child) and B.5 mc.b.example. (unsigned child)', () => {
    const st = store();
    for (const name of ['mc.a.example.', 'mc.b.example.', 'a.example.', 'b.example.']) {
      assert.equal(synthesize(q(name, RRType.MX), st, makeCtx(AT)), undefined, name);
    }
  });

  it('never denies what the bit map lists, and leaves DS and meta types to the upstream', () => {
    const st = store();
    assert.equal(synthesize(q('ns1.example.', RRType.A), st, makeCtx(AT)), undefined, 'A is at ns1 (not cached here)');
    assert.equal(synthesize(q('x.w.example.', RRType.MX), st, makeCtx(AT)), undefined, 'B.1: MX exists');
    assert.equal(synthesize(q('ml.example.', RRType.DS), st, makeCtx(AT)), undefined);
    assert.equal(synthesize(q('ml.example.', RRType.RRSIG), st, makeCtx(AT)), undefined);
    assert.equal(synthesize(q('ml.example.', RRType.ANY), st, makeCtx(AT)), undefined);
    assert.equal(synthesize({ name: n('ml.example.'), type: RRType.A, class: 3 }, st, makeCtx(AT)), undefined, 'class CH');
    assert.equal(synthesize(q('ml.other.', RRType.A), st, makeCtx(AT)), undefined, 'another zone');
  });

  it('needs every piece: the wildcard denial, the SOA for negative answers, the wildcard RRset of the type', () => {
    // ml.example. is covered by b.example. NSEC (b < ml < ns1); without it nothing covers ml.
    const noWildNsec = store({ denial: nsecSets.filter((s) => !s.name.equals(n('b.example.'))).map(learned) });
    assert.equal(synthesize(q('ml.example.', RRType.A), noWildNsec, makeCtx(AT)), undefined);
    // *.example. sorts right after the apex: the apex NSEC (example. -> a.example.) denies it.
    const noWc = store({ denial: nsecSets.filter((s) => !s.name.equals(apex)).map(learned) });
    assert.equal(synthesize(q('ml.example.', RRType.A), noWc, makeCtx(AT)), undefined, 'nothing denies *.example.');
    assert.equal(synthesize(q('ml.example.', RRType.A), store({ soa: [] }), makeCtx(AT)), undefined, 'no SOA');
    assert.equal(synthesize(q('ns1.example.', RRType.MX), store({ soa: [] }), makeCtx(AT)), undefined, 'no SOA');
    const s = synthesize(q('a.z.w.example.', RRType.MX), store({ wildcards: [] }), makeCtx(AT));
    assert.equal(s, undefined, 'wildcard MX not cached: the NSEC at *.w.example. lists MX, so no NODATA either');
  });

  it('TTLs count down from the validated TTL, are capped by the SOA MINIMUM for negative answers, and expire', () => {
    const st = store();
    const later = makeCtx(AT + 1000 * 1000);
    const s = synthesize(q('ml.example.', RRType.A), st, later)!;
    assert.ok(s);
    assert.ok(s.authority.every((r) => r.ttl === 3600 - 1000), `TTL ${s.authority.map((r) => r.ttl).join(',')}`);
    assert.equal(s.verdict.ttlCap, 2600);
    const minimum = 600;
    const lowMin = { ...soa, rrs: [makeRR(soa.name, RRType.SOA, soa.rrs[0]!.ttl, { ...(soa.rrs[0]!.data as object), minimum })] } as SignedRRset;
    const st2 = store({ soa: [{ zone: apex, set: lowMin, ttl: 3600 }] });
    assert.equal(synthesize(q('ml.example.', RRType.A), st2, makeCtx(AT))!.verdict.ttlCap, minimum);
    assert.equal(synthesize(q('ml.example.', RRType.A), st, makeCtx(AT + 3600 * 1000)), undefined, 'expired');
    assert.equal(synthesize(q('a.z.w.example.', RRType.MX), st, makeCtx(AT + 3601 * 1000)), undefined, 'expired');
  });

  it('flush forgets the zone; learning replaces an NSEC at the same owner; the NSEC list is bounded', () => {
    const st = store();
    st.flush(n('w.example.'));
    assert.equal(synthesize(q('ml.example.', RRType.A), st, makeCtx(AT)), undefined);
    assert.equal(st.stats().zones, 0);

    const again = store();
    const before = again.stats().sets;
    again.learn({ denial: [learned(nsecSets[0]!)], wildcards: [], soa: [] }, AT);
    assert.equal(again.stats().sets, before, 'same owner: replaced, not added');

    const big = new ProofStore(1 << 30);
    const zone = n('big.');
    const many = Array.from({ length: MAX_NSEC + 50 }, (_, i) => {
      const owner = n(`n${String(i).padStart(5, '0')}.big.`);
      const rr = makeRR<NSECData>(owner, RRType.NSEC, 300, { next: n(`n${String(i).padStart(5, '0')}a.big.`), types: [RRType.A] });
      return { zone, set: { name: owner, type: RRType.NSEC, class: 1, rrs: [rr], sigs: [] }, ttl: 300 };
    });
    big.learn({ denial: many, wildcards: [], soa: [] }, AT);
    assert.equal(big.stats().sets, MAX_NSEC);
    assert.ok(big.stats().bytes > 0 && big.stats().bytes <= big.stats().maxBytes);
  });

  it('finds the deepest zone held at or above a name, labels with escaped dots included', () => {
    const st = new ProofStore(1 << 20);
    const nsecIn = (zone: string): LearnedSet => {
      const z = n(zone);
      const rr = makeRR<NSECData>(z, RRType.NSEC, 300, { next: z, types: [RRType.SOA, RRType.NSEC] });
      return { zone: z, set: { name: z, type: RRType.NSEC, class: 1, rrs: [rr], sigs: [] }, ttl: 300 };
    };
    st.learn({ denial: [nsecIn('z.'), nsecIn('b.z.')], wildcards: [], soa: [] }, AT);
    assert.equal(st.zoneFor(n('a.b.z.'), AT)?.zone.toText(), 'b.z.');
    assert.equal(st.zoneFor(n('b.z.'), AT)?.zone.toText(), 'b.z.');
    assert.equal(st.zoneFor(n('a\\.b.z.'), AT)?.zone.toText(), 'z.', 'the single label "a.b" is under z., not b.z.');
    assert.equal(st.zoneFor(n('x.b\\.z.'), AT), undefined, '"b.z" is one label under the root');
    assert.equal(st.zoneFor(n('c.'), AT), undefined);
  });

  it('the store stays within its byte bound, dropping the least recently used zones', () => {
    const small = new ProofStore(64 * 1024);
    for (let z = 0; z < 200; z++) {
      const zone = n(`z${z}.`);
      const denial = Array.from({ length: 5 }, (_, i) => {
        const owner = n(`h${i}.z${z}.`);
        const rr = makeRR<NSECData>(owner, RRType.NSEC, 300, { next: n(`h${i + 1}.z${z}.`), types: [RRType.A] });
        return { zone, set: { name: owner, type: RRType.NSEC, class: 1, rrs: [rr], sigs: [] }, ttl: 300 };
      });
      small.learn({ denial, wildcards: [], soa: [] }, AT);
    }
    const st = small.stats();
    assert.ok(st.bytes <= 64 * 1024, `${st.bytes} bytes`);
    assert.ok(st.zones > 10 && st.zones < 200, `${st.zones} zones kept`);
    assert.ok(small.zoneFor(n('h1.z199.'), AT), 'the newest zone is kept');
    assert.equal(small.zoneFor(n('h1.z0.'), AT), undefined, 'the oldest is gone');
  });
});

describe('aggressive NSEC3 (RFC 8198) on the RFC 5155 zone', () => {
  const at = Date.UTC(2010, 0, 1);
  const z = fixture('rfc5155.json', at);
  const ask = (name: string, type: number, st = z.store()): Synthesized | undefined => synthesize(q(name, type), st, makeCtx(at));

  for (const [section, kind] of [['B.2', 'nodata'], ['B.2.1', 'nodata']] as const) {
    it(`${section}: ${kind} from the NSEC3 matching the name, validated again from its own records`, async () => {
      const r = z.resp.get(section)!;
      const s = ask(r.qname.toText(), r.qtype);
      assert.ok(s, `${section} synthesized`);
      assert.equal(s.rcode, Rcode.NOERROR);
      assert.equal(s.verdict.kind, kind);
      const n3 = (rrs: RR[]): string[] => rrs.filter((x) => x.type === RRType.NSEC3).map((x) => x.name.key).sort();
      assert.deepEqual(n3(s.authority), n3(r.authority), 'only the NSEC3 the proof rests on, as the zone sent them');
      assert.equal(await z.revalidate({ name: r.qname, type: r.qtype, class: 1 }, s), `secure ${kind}`);
    });
  }

  it('B.1, B.3, B.4, B.5: the next closer name falls in an Opt-Out span (insecure), so nothing is synthesized', () => {
    for (const section of ['B.1', 'B.3', 'B.4', 'B.5']) {
      const r = z.resp.get(section)!;
      assert.equal(ask(r.qname.toText(), r.qtype), undefined, section);
    }
  });

  it('an iteration count over the limit proves nothing', () => {
    const st = z.store();
    assert.ok(synthesize(q('ns1.example.', RRType.MX), st, makeCtx(at)));
    assert.equal(synthesize(q('ns1.example.', RRType.MX), st, makeCtx(at, { maxNsec3Iterations: 5 })), undefined);
  });

  it('without the NSEC3 records of the zone nothing is synthesized', () => {
    assert.equal(ask('ns1.example.', RRType.MX, z.store({ denial: [] })), undefined);
  });
});
