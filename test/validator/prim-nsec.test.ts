/** NSEC proofs against the RFC 4035 Appendix B responses, with tampering (RFC 4035 §5.4, RFC 6840 §4). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { proveNoDs, proveNodata, proveNxdomain, proveWildcardAnswer, type DenialResult } from '../../src/validator/denial.js';
import { splitSignedRRsets, verifyRRset } from '../../src/validator/rrsig.js';
import { RRType, makeRR, type NSECData, type RR } from '../../src/wire/index.js';
import { findSet, loadVector, makeCtx, n, ofType, parseLines, responses, secureKeys } from './prim-helpers.js';

const vec = loadVector('rfc4035.json');
const AT = Date.UTC(2004, 3, 20);
const zoneRRs = parseLines(vec.zone.records_normalized);
const zoneSets = splitSignedRRsets(zoneRRs);
const apex = n('example.');
const keys = secureKeys(apex, findSet(zoneSets, 'example.', RRType.DNSKEY).rrs);
const resp = responses(vec);
const zoneNsecs = ofType(zoneRRs, RRType.NSEC);

function kind(r: DenialResult): string {
  return r.security === 'secure' ? 'secure' : `${r.security}:${r.reason.kind}`;
}

/** The NSEC records of a response after checking that their signatures verify. */
function verifiedNsecs(section: string, at = AT): RR[] {
  const r = resp.get(section)!;
  const ctx = makeCtx(at);
  const out: RR[] = [];
  for (const s of splitSignedRRsets(r.authority)) {
    if (s.type !== RRType.NSEC) continue;
    const c = verifyRRset(s, keys, ctx);
    assert.equal(c.security, 'secure', `${section} ${s.name.toText()} NSEC`);
    out.push(...s.rrs);
  }
  return out;
}

const without = (rrs: RR[], owner: string): RR[] => rrs.filter((r) => !r.name.equals(n(owner)));

function withTypes(rr: RR, types: number[]): RR<NSECData> {
  const d = rr.data as NSECData;
  return makeRR<NSECData>(rr.name, RRType.NSEC, rr.ttl, { next: d.next, types: [...types].sort((a, b) => a - b) });
}

const nsecAt = (owner: string): RR => zoneNsecs.find((r) => r.name.equals(n(owner)))!;

describe('RFC 4035 B.2 name error (ml.example. A)', () => {
  const recs = verifiedNsecs('B.2');
  const q = resp.get('B.2')!.qname;

  it('proves NXDOMAIN with the closest encloser', () => {
    const r = proveNxdomain(q, recs, apex, makeCtx(AT));
    assert.equal(kind(r), 'secure');
    assert.equal(r.security === 'secure' && r.closestEncloser?.toText(), 'example.');
    assert.equal(r.step.step === 'proof' && r.step.using, 'nsec');
  });

  it('without the covering NSEC -> nsec-missing', () => {
    assert.equal(kind(proveNxdomain(q, without(recs, 'b.example.'), apex, makeCtx(AT))), 'bogus:nsec-missing');
  });

  it('without the wildcard-denying NSEC -> nsec-missing', () => {
    assert.equal(kind(proveNxdomain(q, without(recs, 'example.'), apex, makeCtx(AT))), 'bogus:nsec-missing');
  });

  it('an NSEC at the name itself contradicts the name error', () => {
    assert.equal(kind(proveNxdomain(n('ns1.example.'), [...recs, nsecAt('ns1.example.')], apex, makeCtx(AT))), 'bogus:proof-invalid');
  });

  it('the NSEC records no longer verify once the clock passes expiry', () => {
    const ctx = makeCtx((vec.signature_validity.expiration.unix + 2 * 86400) * 1000);
    const s = findSet(splitSignedRRsets(resp.get('B.2')!.authority), 'b.example.', RRType.NSEC);
    const c = verifyRRset(s, keys, ctx);
    assert.equal(c.security === 'bogus' && c.reason.kind, 'signature-expired');
  });

  it('wrap-around: the last NSEC (next = apex) covers names after it', () => {
    const r = proveNxdomain(n('zz.example.'), [nsecAt('xx.example.'), nsecAt('example.')], apex, makeCtx(AT));
    assert.equal(kind(r), 'secure');
  });

  it('an existing wildcard contradicts the name error', () => {
    const r = proveNxdomain(n('q.w.example.'), [nsecAt('x.y.w.example.'), nsecAt('*.w.example.')], apex, makeCtx(AT));
    // q.w.example. is covered by *.w.example -> x.w.example, closest encloser w.example, and *.w.example exists.
    assert.equal(kind(r), 'bogus:proof-invalid');
  });
});

describe('RFC 4035 B.3 no data (ns1.example. MX)', () => {
  const recs = verifiedNsecs('B.3');
  const { qname, qtype } = resp.get('B.3')!;

  it('proves NODATA', () => {
    assert.equal(kind(proveNodata(qname, qtype, recs, apex, makeCtx(AT))), 'secure');
  });

  it('a type bit map with MX -> proof-invalid (and the NSEC signature breaks)', () => {
    const tampered = withTypes(recs[0]!, [RRType.A, RRType.MX, RRType.RRSIG, RRType.NSEC]);
    assert.equal(kind(proveNodata(qname, qtype, [tampered], apex, makeCtx(AT))), 'bogus:proof-invalid');
    const set = findSet(splitSignedRRsets(resp.get('B.3')!.authority), 'ns1.example.', RRType.NSEC);
    const c = verifyRRset({ ...set, rrs: [tampered] }, keys, makeCtx(AT));
    assert.equal(c.security === 'bogus' && c.reason.kind, 'signature-invalid');
  });

  it('a CNAME in the bit map -> proof-invalid (RFC 6840 §4.3)', () => {
    const tampered = withTypes(recs[0]!, [RRType.CNAME, RRType.RRSIG, RRType.NSEC]);
    assert.equal(kind(proveNodata(qname, qtype, [tampered], apex, makeCtx(AT))), 'bogus:proof-invalid');
  });

  it('without the NSEC -> nsec-missing', () => {
    assert.equal(kind(proveNodata(qname, qtype, [], apex, makeCtx(AT))), 'bogus:nsec-missing');
  });

  it('empty non-terminal: y.w.example. exists only as an ancestor of x.y.w.example.', () => {
    const ent = [nsecAt('x.w.example.')];
    assert.equal(kind(proveNodata(n('y.w.example.'), RRType.A, ent, apex, makeCtx(AT))), 'secure');
    assert.equal(kind(proveNxdomain(n('y.w.example.'), ent, apex, makeCtx(AT))), 'bogus:proof-invalid');
  });

  it('a delegation NSEC (NS, no SOA) cannot prove NODATA for a non-DS type', () => {
    assert.equal(kind(proveNodata(n('b.example.'), RRType.A, [nsecAt('b.example.')], apex, makeCtx(AT))), 'bogus:proof-invalid');
  });
});

describe('RFC 4035 B.4/B.5 referrals', () => {
  it('B.4: the DS RRset of the signed child verifies; the zone NSEC at a.example. lists DS', () => {
    const r = resp.get('B.4')!;
    const ds = findSet(splitSignedRRsets(r.authority), 'a.example.', RRType.DS);
    assert.equal(verifyRRset(ds, keys, makeCtx(AT)).security, 'secure');
    assert.equal(kind(proveNoDs(n('a.example.'), [nsecAt('a.example.')], apex, makeCtx(AT))), 'bogus:proof-invalid');
  });

  it('B.5: the NSEC at b.example. proves an unsigned delegation', () => {
    const recs = verifiedNsecs('B.5');
    const r = proveNoDs(n('b.example.'), recs, apex, makeCtx(AT));
    assert.equal(kind(r), 'secure');
    assert.equal(r.security === 'secure' && r.notDelegation, undefined);
    // Same answer through proveNodata for qtype DS (parent side NSEC: NS, no SOA).
    assert.equal(kind(proveNodata(n('b.example.'), RRType.DS, recs, apex, makeCtx(AT))), 'secure');
  });

  it('B.5 tampered: with DS in the bit map -> proof-invalid', () => {
    const recs = verifiedNsecs('B.5');
    const t = withTypes(recs[0]!, [RRType.NS, RRType.DS, RRType.RRSIG, RRType.NSEC]);
    assert.equal(kind(proveNoDs(n('b.example.'), [t], apex, makeCtx(AT))), 'bogus:proof-invalid');
  });

  it('RFC 6840 §4.1: the delegation NSEC does not deny names below the cut', () => {
    const recs = verifiedNsecs('B.5');
    const r = proveNxdomain(n('mc.b.example.'), [...recs, nsecAt('example.')], apex, makeCtx(AT));
    assert.notEqual(r.security, 'secure');
  });

  it('not a delegation: NSEC without NS, an empty non-terminal, a missing name', () => {
    const ctx = makeCtx(AT);
    for (const [name, recs] of [
      ['ns1.example.', [nsecAt('ns1.example.')]],
      ['y.w.example.', [nsecAt('x.w.example.')]],
      ['ml.example.', [nsecAt('b.example.')]],
    ] as const) {
      const r = proveNoDs(n(name), [...recs], apex, ctx);
      assert.equal(kind(r), 'secure', name);
      assert.equal(r.security === 'secure' && r.notDelegation, true, name);
    }
  });

  it('a DNAME NSEC does not deny names below its owner (RFC 6840 §4.1)', () => {
    const d = makeRR<NSECData>(n('d.example.'), RRType.NSEC, 3600, { next: n('ns1.example.'), types: [RRType.DNAME, RRType.RRSIG, RRType.NSEC] });
    const r = proveNxdomain(n('x.d.example.'), [d, nsecAt('example.')], apex, makeCtx(AT));
    assert.equal(kind(r), 'bogus:nsec-missing');
  });
});

describe('RFC 4035 B.6 wildcard expansion (a.z.w.example. MX)', () => {
  const recs = verifiedNsecs('B.6');
  const q = resp.get('B.6')!.qname;

  it('proves that no closer match exists', () => {
    const r = proveWildcardAnswer(q, n('w.example.'), recs, apex, makeCtx(AT));
    assert.equal(kind(r), 'secure');
  });

  it('without the NSEC -> nsec-missing', () => {
    assert.equal(kind(proveWildcardAnswer(q, n('w.example.'), [], apex, makeCtx(AT))), 'bogus:nsec-missing');
  });

  it('a wildcard claimed at the wrong closest encloser -> proof-invalid', () => {
    assert.equal(kind(proveWildcardAnswer(q, apex, recs, apex, makeCtx(AT))), 'bogus:proof-invalid');
  });
});

describe('RFC 4035 B.7 wildcard no data (a.z.w.example. AAAA)', () => {
  const recs = verifiedNsecs('B.7');
  const { qname, qtype } = resp.get('B.7')!;

  it('proves wildcard NODATA', () => {
    const r = proveNodata(qname, qtype, recs, apex, makeCtx(AT));
    assert.equal(kind(r), 'secure');
    assert.equal(r.security === 'secure' && r.closestEncloser?.toText(), 'w.example.');
    assert.equal(r.step.step === 'proof' && r.step.proof, 'wildcard-nodata');
  });

  it('without the wildcard NSEC -> nsec-missing', () => {
    assert.equal(kind(proveNodata(qname, qtype, without(recs, '*.w.example.'), apex, makeCtx(AT))), 'bogus:nsec-missing');
  });

  it('the wildcard NSEC listing AAAA -> proof-invalid', () => {
    const t = recs.map((r) => (r.name.equals(n('*.w.example.')) ? withTypes(r, [RRType.MX, RRType.AAAA, RRType.RRSIG, RRType.NSEC]) : r));
    assert.equal(kind(proveNodata(qname, qtype, t, apex, makeCtx(AT))), 'bogus:proof-invalid');
  });

  it('the wildcard NSEC proves the MX type exists (no NODATA for MX)', () => {
    assert.equal(kind(proveNodata(qname, RRType.MX, recs, apex, makeCtx(AT))), 'bogus:proof-invalid');
  });
});

describe('RFC 4035 B.8 DS query answered by the child zone (example. DS)', () => {
  const recs = verifiedNsecs('B.8');
  const { qname, qtype } = resp.get('B.8')!;

  it('the child apex NSEC verifies but cannot deny the DS (it is not the parent side)', () => {
    assert.equal(qtype, RRType.DS);
    assert.equal(kind(proveNodata(qname, qtype, recs, apex, makeCtx(AT))), 'bogus:proof-invalid');
    assert.equal(kind(proveNoDs(qname, recs, apex, makeCtx(AT))), 'bogus:proof-invalid');
  });

  it('the same NSEC is a valid NODATA proof for a type the apex lacks', () => {
    assert.equal(kind(proveNodata(qname, RRType.A, recs, apex, makeCtx(AT))), 'secure');
  });
});
