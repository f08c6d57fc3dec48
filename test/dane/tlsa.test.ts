/**
 * TLSA matching (src/dane/tlsa.ts) with real certificates made by openssl at test time: DANE-EE by every selector
 * and matching type (names and dates ignored: an expired certificate and a foreign name still match), DANE-TA
 * with the chain presented (one and two levels, a bare `2 1 0` key), its name check (exact, wildcard) and date
 * check, a forged issuer of the same name, PKIX usages and malformed records unusable.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { matchChain, tlsaText, usability, type TlsaRecord, type TlsaVerdict } from '../../src/dane/tlsa.js';
import { association, makePki, tlsa, type TestPki } from './pki.js';

let pki: TestPki;
/** "Now" for the date checks: a little after the certificates were made (openssl dates them to the second). */
let NOW = 0;
const ref = (...names: string[]): { reference: string[]; now: number } => ({ reference: names, now: NOW });

function matched(v: TlsaVerdict): Extract<TlsaVerdict, { kind: 'match' }> {
  assert.equal(v.kind, 'match', JSON.stringify(v));
  return v as Extract<TlsaVerdict, { kind: 'match' }>;
}
function notMatched(v: TlsaVerdict): Extract<TlsaVerdict, { kind: 'no-match' }> {
  assert.equal(v.kind, 'no-match', v.kind === 'match' ? `matched ${tlsaText(v.record)}` : '');
  return v as Extract<TlsaVerdict, { kind: 'no-match' }>;
}

before(() => {
  pki = makePki();
  NOW = Date.now() + 5000;
});

describe('TLSA record usability (RFC 7672 §3.1.3, RFC 6698 §2.1)', () => {
  it('DANE-TA and DANE-EE with selectors 0/1 and matching types 0/1/2 are usable', () => {
    for (const usage of [2, 3]) for (const s of [0, 1] as const) for (const m of [0, 1, 2] as const) {
      assert.deepEqual(usability(tlsa(usage, s, m, pki.ee.cert)), { usable: true }, `${usage} ${s} ${m}`);
    }
  });
  it('PKIX-TA(0) and PKIX-EE(1) are unusable for SMTP; unknown values and wrong digest lengths are unusable', () => {
    assert.deepEqual(usability(tlsa(0, 0, 1, pki.ee.cert)), { usable: false, why: 'pkix-usage' });
    assert.deepEqual(usability(tlsa(1, 1, 1, pki.ee.cert)), { usable: false, why: 'pkix-usage' });
    assert.deepEqual(usability({ usage: 4, selector: 1, matchingType: 1, data: new Uint8Array(32) }), { usable: false, why: 'unknown-usage' });
    assert.deepEqual(usability({ usage: 3, selector: 2, matchingType: 1, data: new Uint8Array(32) }), { usable: false, why: 'unknown-selector' });
    assert.deepEqual(usability({ usage: 3, selector: 1, matchingType: 3, data: new Uint8Array(32) }), { usable: false, why: 'unknown-matching-type' });
    assert.deepEqual(usability({ usage: 3, selector: 1, matchingType: 1, data: new Uint8Array(20) }), { usable: false, why: 'bad-digest-length' });
    assert.deepEqual(usability({ usage: 3, selector: 1, matchingType: 2, data: new Uint8Array(32) }), { usable: false, why: 'bad-digest-length' });
    assert.deepEqual(usability({ usage: 3, selector: 0, matchingType: 0, data: new Uint8Array(0) }), { usable: false, why: 'empty-data' });
  });
  it('a PKIX-EE record of the very certificate does not authenticate it; the RRset is all unusable', () => {
    const v = notMatched(matchChain([pki.ee.cert], [tlsa(1, 1, 1, pki.ee.cert), tlsa(0, 0, 1, pki.ee.cert)], ref('mail.example.test')));
    assert.equal(v.usable, 0);
    assert.deepEqual(v.unusable.map((u) => u.why), ['pkix-usage', 'pkix-usage']);
  });
  it('a malformed 3 1 1 (20-octet digest, the first 20 octets of the right one) is unusable, not a match', () => {
    const short = association(pki.ee.cert, 1, 1).subarray(0, 20);
    const v = notMatched(matchChain([pki.ee.cert], [{ usage: 3, selector: 1, matchingType: 1, data: short }], ref()));
    assert.equal(v.usable, 0);
  });
});

describe('DANE-EE(3)', () => {
  for (const [s, m] of [[1, 1], [0, 1], [1, 2], [0, 2], [0, 0], [1, 0]] as const) {
    it(`3 ${s} ${m} matches the leaf and nothing else`, () => {
      const v = matched(matchChain([pki.ee.cert], [tlsa(3, s, m, pki.ee.cert)], ref('mail.example.test')));
      assert.equal(v.usage, 'DANE-EE');
      assert.equal(v.depth, 0);
      notMatched(matchChain([pki.other.cert], [tlsa(3, s, m, pki.ee.cert)], ref('mail.example.test')));
    });
  }
  it('ignores names: the leaf need not name the MX host', () => {
    matched(matchChain([pki.ee.cert], [tlsa(3, 1, 1, pki.ee.cert)], ref('unrelated.example.org')));
  });
  it('ignores dates: an expired certificate (January 2020) still matches 3 1 1 and 3 0 1', () => {
    assert.ok(Date.parse(pki.expired.cert.validTo) < NOW, pki.expired.cert.validTo);
    matched(matchChain([pki.expired.cert], [tlsa(3, 1, 1, pki.expired.cert)], ref('x.test')));
    matched(matchChain([pki.expired.cert], [tlsa(3, 0, 1, pki.expired.cert)], ref('x.test')));
  });
  it('a DANE-EE record of an issuer does not match (only the leaf counts)', () => {
    notMatched(matchChain([pki.leaf.cert, pki.ca.cert], [tlsa(3, 1, 1, pki.ca.cert)], ref('mx.example.test')));
  });
  it('reports which record matched in a mixed RRset', () => {
    const rrset: TlsaRecord[] = [tlsa(0, 0, 1, pki.ee.cert), tlsa(3, 1, 1, pki.other.cert), tlsa(3, 0, 2, pki.ee.cert)];
    const v = matched(matchChain([pki.ee.cert], rrset, ref()));
    assert.equal(v.index, 2);
    assert.equal(tlsaText(v.record), tlsaText(rrset[2]!));
  });
});

describe('DANE-TA(2)', () => {
  it('2 0 1 of the CA with the chain [leaf, CA] presented: match at depth 1, the leaf names the MX host', () => {
    const v = matched(matchChain([pki.leaf.cert, pki.ca.cert], [tlsa(2, 0, 1, pki.ca.cert)], ref('mx.example.test.')));
    assert.equal(v.usage, 'DANE-TA');
    assert.equal(v.depth, 1);
    assert.equal(v.name, 'mx.example.test');
  });
  it('2 1 1 and 2 0 2 of the CA match too', () => {
    matched(matchChain([pki.leaf.cert, pki.ca.cert], [tlsa(2, 1, 1, pki.ca.cert)], ref('mx.example.test')));
    matched(matchChain([pki.leaf.cert, pki.ca.cert], [tlsa(2, 0, 2, pki.ca.cert)], ref('mx.example.test')));
  });
  it('the name check: a leaf that does not name any reference identifier fails', () => {
    const v = notMatched(matchChain([pki.leaf.cert, pki.ca.cert], [tlsa(2, 0, 1, pki.ca.cert)], ref('other.example.test')));
    assert.deepEqual(v.problems, [{ code: 'name-mismatch', reference: ['other.example.test'] }]);
  });
  it('the CNAME-expanded name is a reference identifier too (RFC 7672 §3.2.2)', () => {
    const v = matched(matchChain([pki.leaf.cert, pki.ca.cert], [tlsa(2, 0, 1, pki.ca.cert)], ref('alias.example.org.', 'mx.example.test.')));
    assert.equal(v.name, 'mx.example.test');
  });
  it('a wildcard leaf (*.example.test) matches one label only', () => {
    matched(matchChain([pki.wild.cert, pki.ca.cert], [tlsa(2, 0, 1, pki.ca.cert)], ref('mx.example.test')));
    notMatched(matchChain([pki.wild.cert, pki.ca.cert], [tlsa(2, 0, 1, pki.ca.cert)], ref('a.mx.example.test')));
    notMatched(matchChain([pki.wild.cert, pki.ca.cert], [tlsa(2, 0, 1, pki.ca.cert)], ref('example.test')));
  });
  it('the trust anchor must be presented for 2 0 1: [leaf] alone does not match', () => {
    notMatched(matchChain([pki.leaf.cert], [tlsa(2, 0, 1, pki.ca.cert)], ref('mx.example.test')));
  });
  it('a bare key (2 1 0, the full SubjectPublicKeyInfo) authenticates [leaf] alone', () => {
    const v = matched(matchChain([pki.leaf.cert], [tlsa(2, 1, 0, pki.ca.cert)], ref('mx.example.test')));
    assert.equal(v.depth, 1);
  });
  it('two levels: [leaf2, int, CA] with 2 0 1 of the CA (depth 2) or of the intermediate (depth 1)', () => {
    assert.equal(matched(matchChain([pki.leaf2.cert, pki.int.cert, pki.ca.cert], [tlsa(2, 0, 1, pki.ca.cert)], ref('mx2.example.test'))).depth, 2);
    assert.equal(matched(matchChain([pki.leaf2.cert, pki.int.cert, pki.ca.cert], [tlsa(2, 1, 1, pki.int.cert)], ref('mx2.example.test'))).depth, 1);
    // Order as sent need not be the issuing order: the path is built by issuer and signature.
    assert.equal(matched(matchChain([pki.leaf2.cert, pki.ca.cert, pki.int.cert], [tlsa(2, 0, 1, pki.ca.cert)], ref('mx2.example.test'))).depth, 1);
  });
  it('a missing intermediate breaks the path: [leaf2, CA] with 2 0 1 of the CA', () => {
    const v = notMatched(matchChain([pki.leaf2.cert, pki.ca.cert], [tlsa(2, 0, 1, pki.ca.cert)], ref('mx2.example.test')));
    assert.equal(v.problems[0]?.code, 'no-path');
  });
  it('a forged leaf issued by another key under the CA\'s name does not chain to the real CA', () => {
    const v = notMatched(matchChain([pki.evilLeaf.cert, pki.ca.cert], [tlsa(2, 0, 1, pki.ca.cert)], ref('mx.example.test')));
    assert.equal(v.problems[0]?.code, 'no-path');
    // ... while the forger's own CA, presented and published, does authenticate it (the control).
    matched(matchChain([pki.evilLeaf.cert, pki.evil.cert], [tlsa(2, 0, 1, pki.evil.cert)], ref('mx.example.test')));
  });
  it('checks the dates below the trust anchor: the same chain a year later has an expired leaf', () => {
    const later = Date.parse(pki.leaf.cert.validTo) + 365 * 86400_000;
    const v = notMatched(matchChain([pki.leaf.cert, pki.ca.cert], [tlsa(2, 0, 1, pki.ca.cert)], { reference: ['mx.example.test'], now: later }));
    assert.equal(v.problems[0]?.code, 'expired');
    // DANE-EE of the same leaf at the same time: dates are ignored.
    matched(matchChain([pki.leaf.cert, pki.ca.cert], [tlsa(3, 1, 1, pki.leaf.cert)], { reference: [], now: later }));
  });
  it('a DANE-TA record of the leaf itself (a self-signed EE) is no trust anchor', () => {
    notMatched(matchChain([pki.ee.cert], [tlsa(2, 0, 1, pki.ee.cert)], ref('mail.example.test')));
  });
  it('a leaf (not a CA) presented as the issuer is refused', () => {
    // leaf is not a CA: even published as 2 0 1, it cannot issue wild.
    notMatched(matchChain([pki.wild.cert, pki.leaf.cert], [tlsa(2, 0, 1, pki.leaf.cert)], ref('mx.example.test')));
  });
});
