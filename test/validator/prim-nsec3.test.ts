/** NSEC3 proofs against RFC 5155 Appendix A/B (RFC 5155 §8, RFC 9276), with tampering and limits. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { proveNoDs, proveNodata, proveNxdomain, proveWildcardAnswer, type DenialResult } from '../../src/validator/denial.js';
import { splitSignedRRsets, verifyRRset } from '../../src/validator/rrsig.js';
import { RRType, makeRR, type NSEC3Data, type RR } from '../../src/wire/index.js';
import { findSet, loadVector, makeCtx, n, parseLines, responses, secureKeys } from './prim-helpers.js';

const vec = loadVector('rfc5155.json');
const AT = Date.UTC(2010, 0, 1);
const zoneRRs = parseLines(vec.zone.records_normalized);
const zoneSets = splitSignedRRsets(zoneRRs);
const apex = n('example.');
const keys = secureKeys(apex, findSet(zoneSets, 'example.', RRType.DNSKEY).rrs);
const resp = responses(vec);

function kind(r: DenialResult): string {
  return r.security === 'secure' ? 'secure' : `${r.security}:${r.reason.kind}`;
}

function verifiedNsec3s(section: string): RR[] {
  const ctx = makeCtx(AT);
  const out: RR[] = [];
  for (const s of splitSignedRRsets(resp.get(section)!.authority)) {
    if (s.type !== RRType.NSEC3) continue;
    assert.equal(verifyRRset(s, keys, ctx).security, 'secure', `${section} ${s.name.toText()}`);
    out.push(...s.rrs);
  }
  assert.ok(out.length > 0);
  return out;
}

const patch = (rr: RR, p: Partial<NSEC3Data>): RR => makeRR<NSEC3Data>(rr.name, RRType.NSEC3, rr.ttl, { ...(rr.data as NSEC3Data), ...p });
const noOptOut = (rrs: RR[]): RR[] => rrs.map((r) => patch(r, { flags: 0 }));
const without = (rrs: RR[], hash: string): RR[] => rrs.filter((r) => !r.name.equals(n(`${hash}.example.`)));

describe('RFC 5155 zone and responses verify', () => {
  it('every signed RRset of Appendix A is secure', () => {
    const ctx = makeCtx(AT);
    let count = 0;
    for (const s of zoneSets) {
      if (s.sigs.length === 0) continue;
      assert.equal(verifyRRset(s, keys, ctx).security, 'secure', `${s.name.toText()} ${s.type}`);
      count++;
    }
    assert.equal(count, 30); // 30 RRSIGs, the DNSKEY RRset signed by the KSK only
  });

  it('every signed RRset of the Appendix B responses is secure', () => {
    const ctx = makeCtx(AT);
    let count = 0;
    for (const [section, r] of resp) {
      for (const s of splitSignedRRsets([...r.answer, ...r.authority, ...r.additional])) {
        if (s.sigs.length === 0) continue;
        assert.equal(verifyRRset(s, keys, ctx).security, 'secure', `${section} ${s.name.toText()} ${s.type}`);
        count++;
      }
    }
    assert.equal(count, 21);
  });
});

describe('B.1 name error (a.c.x.w.example. A)', () => {
  const recs = verifiedNsec3s('B.1');
  const q = resp.get('B.1')!.qname;

  it('is insecure: the next closer name lies in an Opt-Out span (RFC 5155 §9.2)', () => {
    const ctx = makeCtx(AT);
    const r = proveNxdomain(q, recs, apex, ctx);
    assert.equal(kind(r), 'insecure:opt-out');
    assert.equal(ctx.budget.nsec3HashesUsed, 4); // a.c.x.w, c.x.w, x.w, *.x.w (next closer from the cache)
  });

  it('is secure with the same chain without Opt-Out, closest encloser x.w.example.', () => {
    const r = proveNxdomain(q, noOptOut(recs), apex, makeCtx(AT));
    assert.equal(kind(r), 'secure');
    assert.equal(r.security === 'secure' && r.closestEncloser?.toText(), 'x.w.example.');
    assert.equal(r.step.step === 'proof' && r.step.using, 'nsec3');
  });

  it('drop the closest encloser match -> nsec-missing', () => {
    assert.equal(kind(proveNxdomain(q, without(noOptOut(recs), 'b4um86eghhds6nea196smvmlo4ors995'), apex, makeCtx(AT))), 'bogus:nsec-missing');
  });

  it('drop the next closer cover -> nsec-missing', () => {
    assert.equal(kind(proveNxdomain(q, without(noOptOut(recs), '0p9mhaveqvm6t7vbl5lop2u3t2rp3tom'), apex, makeCtx(AT))), 'bogus:nsec-missing');
  });

  it('drop the wildcard cover -> nsec-missing', () => {
    assert.equal(kind(proveNxdomain(q, without(noOptOut(recs), '35mthgpgcu1qg68fab165klnsnk3dpvl'), apex, makeCtx(AT))), 'bogus:nsec-missing');
  });

  it('an existing wildcard at the closest encloser contradicts the name error', () => {
    // a.z.w.example.: closest encloser w.example. (k8ud...), z.w.example. covered (q04j...), *.w.example. exists (r53b...).
    const r5 = verifiedNsec3s('B.5');
    assert.equal(kind(proveNxdomain(n('a.z.w.example.'), noOptOut(r5), apex, makeCtx(AT))), 'bogus:proof-invalid');
  });

  it('an existing name is no name error', () => {
    assert.equal(kind(proveNxdomain(n('x.w.example.'), recs, apex, makeCtx(AT))), 'bogus:proof-invalid');
  });

  it('iterations above the limit -> insecure nsec3-iterations, without hashing', () => {
    const ctx = makeCtx(AT, { maxNsec3Iterations: 10 });
    const r = proveNxdomain(q, recs, apex, ctx);
    assert.deepEqual(r.security === 'insecure' && r.reason, { kind: 'nsec3-iterations', zone: 'example.', iterations: 12, limit: 10 });
    assert.equal(ctx.budget.nsec3HashesUsed, 0);
  });

  it('the per-query hash budget stops the proof -> budget-exceeded', () => {
    const ctx = makeCtx(AT, { maxNsec3HashesPerQuery: 2 });
    const r = proveNxdomain(q, noOptOut(recs), apex, ctx);
    assert.deepEqual(r.security === 'bogus' && r.reason, { kind: 'budget-exceeded', what: 'nsec3-hashes', limit: 2 });
    assert.equal(ctx.budget.nsec3HashesUsed, 2);
  });

  it('mixed parameters -> proof-invalid; unknown hash algorithm only -> insecure', () => {
    const mixed = recs.map((r, i) => (i === 0 ? patch(r, { salt: Uint8Array.of(1, 2) }) : r));
    assert.equal(kind(proveNxdomain(q, mixed, apex, makeCtx(AT))), 'bogus:proof-invalid');
    const ctx = makeCtx(AT);
    const unknown = recs.map((r) => patch(r, { hashAlgorithm: 2 }));
    assert.equal(kind(proveNxdomain(q, unknown, apex, ctx)), 'insecure:nsec3-hash-algorithm');
    assert.equal(ctx.budget.nsec3HashesUsed, 0);
  });

  it('NSEC3 records with unknown flags are ignored', () => {
    const odd = noOptOut(recs).map((r) => patch(r, { flags: 0x80 }));
    assert.equal(kind(proveNxdomain(q, odd, apex, makeCtx(AT))), 'bogus:nsec-missing');
  });
});

describe('B.2 no data (ns1.example. MX) and B.2.1 empty non-terminal (y.w.example. A)', () => {
  it('B.2 proves NODATA', () => {
    const { qname, qtype } = resp.get('B.2')!;
    assert.equal(kind(proveNodata(qname, qtype, verifiedNsec3s('B.2'), apex, makeCtx(AT))), 'secure');
  });

  it('B.2 with MX in the bit map -> proof-invalid', () => {
    const { qname, qtype } = resp.get('B.2')!;
    const t = verifiedNsec3s('B.2').map((r) => patch(r, { types: [RRType.A, RRType.MX, RRType.RRSIG] }));
    assert.equal(kind(proveNodata(qname, qtype, t, apex, makeCtx(AT))), 'bogus:proof-invalid');
  });

  it('B.2.1 proves NODATA at an empty non-terminal', () => {
    const { qname, qtype } = resp.get('B.2.1')!;
    assert.equal(kind(proveNodata(qname, qtype, verifiedNsec3s('B.2.1'), apex, makeCtx(AT))), 'secure');
  });

  it('iterations above the limit -> insecure nsec3-iterations, without hashing', () => {
    const { qname, qtype } = resp.get('B.2')!;
    const ctx = makeCtx(AT, { maxNsec3Iterations: 10 });
    assert.equal(kind(proveNodata(qname, qtype, verifiedNsec3s('B.2'), apex, ctx)), 'insecure:nsec3-iterations');
    assert.equal(ctx.budget.nsec3HashesUsed, 0);
  });
});

describe('B.3 referral to an Opt-Out unsigned zone (c.example.)', () => {
  const recs = verifiedNsec3s('B.3');
  const cut = n('c.example.');

  it('no DS: insecure through the Opt-Out span (RFC 5155 §8.6, §9.2)', () => {
    assert.equal(kind(proveNoDs(cut, recs, apex, makeCtx(AT))), 'insecure:opt-out');
    assert.equal(kind(proveNodata(cut, RRType.DS, recs, apex, makeCtx(AT))), 'insecure:opt-out');
  });

  it('without Opt-Out the name is proven not to exist (no zone cut)', () => {
    const r = proveNoDs(cut, noOptOut(recs), apex, makeCtx(AT));
    assert.equal(kind(r), 'secure');
    assert.equal(r.security === 'secure' && r.notDelegation, true);
    assert.equal(kind(proveNodata(cut, RRType.DS, noOptOut(recs), apex, makeCtx(AT))), 'bogus:proof-invalid');
  });

  it('matching NSEC3 at a delegation without DS -> secure no DS (a.example. has DS: proof-invalid)', () => {
    const a = zoneRRs.filter((r) => r.type === RRType.NSEC3 && r.name.equals(n('35mthgpgcu1qg68fab165klnsnk3dpvl.example.')));
    assert.equal(kind(proveNoDs(n('a.example.'), a, apex, makeCtx(AT))), 'bogus:proof-invalid');
    const noDs = a.map((r) => patch(r, { types: [RRType.NS, RRType.RRSIG] }));
    const r = proveNoDs(n('a.example.'), noDs, apex, makeCtx(AT));
    assert.equal(kind(r), 'secure');
    assert.equal(r.security === 'secure' && r.notDelegation, undefined);
  });

  it('iterations above the limit -> insecure nsec3-iterations, without hashing', () => {
    const ctx = makeCtx(AT, { maxNsec3Iterations: 10 });
    assert.equal(kind(proveNoDs(cut, recs, apex, ctx)), 'insecure:nsec3-iterations');
    assert.equal(ctx.budget.nsec3HashesUsed, 0);
  });
});

describe('B.4 wildcard expansion (a.z.w.example. MX)', () => {
  const r4 = resp.get('B.4')!;
  const recs = verifiedNsec3s('B.4');

  it('the answer is a wildcard expansion at w.example. and no closer name exists', () => {
    const mx = findSet(splitSignedRRsets(r4.answer), 'a.z.w.example.', RRType.MX);
    const c = verifyRRset(mx, keys, makeCtx(AT));
    assert.equal(c.security === 'secure' && c.wildcard?.closestEncloser.toText(), 'w.example.');
    // Every NSEC3 of the RFC 5155 zone carries Opt-Out: the next closer may be an unsigned delegation,
    // so the expansion is not provably secure (RFC 5155 §9.2; Unbound agrees, see nsec3-optout.test. in the world).
    const ctx = makeCtx(AT);
    assert.equal(kind(proveWildcardAnswer(r4.qname, n('w.example.'), recs, apex, ctx)), 'insecure:opt-out');
    assert.equal(ctx.budget.nsec3HashesUsed, 1);
    assert.equal(kind(proveWildcardAnswer(r4.qname, n('w.example.'), noOptOut(recs), apex, makeCtx(AT))), 'secure');
  });

  it('without the NSEC3 -> nsec-missing; next closer existing -> proof-invalid', () => {
    assert.equal(kind(proveWildcardAnswer(r4.qname, n('w.example.'), [], apex, makeCtx(AT))), 'bogus:nsec-missing');
    // Claiming the wildcard at example.: the next closer w.example. exists (matching NSEC3 k8ud...).
    const w = zoneRRs.filter((r) => r.type === RRType.NSEC3 && r.name.equals(n('k8udemvp1j2f7eg6jebps17vp3n8i58h.example.')));
    assert.equal(kind(proveWildcardAnswer(r4.qname, apex, w, apex, makeCtx(AT))), 'bogus:proof-invalid');
  });

  it('iterations above the limit -> insecure nsec3-iterations, without hashing', () => {
    const ctx = makeCtx(AT, { maxNsec3Iterations: 10 });
    assert.equal(kind(proveWildcardAnswer(r4.qname, n('w.example.'), recs, apex, ctx)), 'insecure:nsec3-iterations');
    assert.equal(ctx.budget.nsec3HashesUsed, 0);
  });
});

describe('B.5 wildcard no data (a.z.w.example. AAAA)', () => {
  const { qname, qtype } = resp.get('B.5')!;
  const recs = verifiedNsec3s('B.5');

  it('proves wildcard NODATA with closest encloser w.example. (insecure under the Opt-Out span, secure without)', () => {
    assert.equal(kind(proveNodata(qname, qtype, recs, apex, makeCtx(AT))), 'insecure:opt-out');
    const r = proveNodata(qname, qtype, noOptOut(recs), apex, makeCtx(AT));
    assert.equal(kind(r), 'secure');
    assert.equal(r.security === 'secure' && r.closestEncloser?.toText(), 'w.example.');
    assert.equal(r.step.step === 'proof' && r.step.proof, 'wildcard-nodata');
  });

  it('wildcard NSEC3 listing AAAA -> proof-invalid', () => {
    const t = recs.map((r) => (r.name.labels[0]![0] === 0x72 /* r53b... */ ? patch(r, { types: [RRType.MX, RRType.AAAA, RRType.RRSIG] }) : r));
    assert.equal(kind(proveNodata(qname, qtype, t, apex, makeCtx(AT))), 'bogus:proof-invalid');
  });

  it('without the wildcard NSEC3: only the Opt-Out span is left (insecure); without Opt-Out, bogus', () => {
    const noWc = without(recs, 'r53bq7cc2uvmubfu5ocmm6pers9tk9en');
    assert.equal(kind(proveNodata(qname, qtype, noWc, apex, makeCtx(AT))), 'insecure:opt-out');
    assert.equal(kind(proveNodata(qname, qtype, noOptOut(noWc), apex, makeCtx(AT))), 'bogus:proof-invalid');
  });

  it('iterations above the limit -> insecure nsec3-iterations, without hashing', () => {
    const ctx = makeCtx(AT, { maxNsec3Iterations: 10 });
    assert.equal(kind(proveNodata(qname, qtype, recs, apex, ctx)), 'insecure:nsec3-iterations');
    assert.equal(ctx.budget.nsec3HashesUsed, 0);
  });
});

describe('B.6 DS query answered by the child (example. DS)', () => {
  const { qname, qtype } = resp.get('B.6')!;
  const recs = verifiedNsec3s('B.6');

  it('the child apex NSEC3 (SOA set) cannot deny the DS', () => {
    assert.equal(qtype, RRType.DS);
    assert.equal(kind(proveNodata(qname, qtype, recs, apex, makeCtx(AT))), 'bogus:proof-invalid');
    assert.equal(kind(proveNoDs(qname, recs, apex, makeCtx(AT))), 'bogus:proof-invalid');
  });

  it('but proves NODATA for a type the apex lacks', () => {
    assert.equal(kind(proveNodata(qname, RRType.A, recs, apex, makeCtx(AT))), 'secure');
  });

  it('iterations above the limit -> insecure nsec3-iterations, without hashing', () => {
    const ctx = makeCtx(AT, { maxNsec3Iterations: 10 });
    assert.equal(kind(proveNodata(qname, qtype, recs, apex, ctx)), 'insecure:nsec3-iterations');
    assert.equal(ctx.budget.nsec3HashesUsed, 0);
  });
});
