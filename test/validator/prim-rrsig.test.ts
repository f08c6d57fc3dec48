/** verifyRRset / splitSignedRRsets against RFC 4035 Appendix A/B, with tampering and KeyTrap limits. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { splitSignedRRsets, verifyRRset, type RRsetCheck } from '../../src/validator/rrsig.js';
import { createBudget } from '../../src/validator/budget.js';
import { DnskeyFlag, RRType, keyTag, makeRR, type DNSKEYData, type RR, type RRSIGData } from '../../src/wire/index.js';
import { findSet, loadVector, makeCtx, n, parseLines, responses, secureKeys, type TestCtx } from './prim-helpers.js';

const vec = loadVector('rfc4035.json');
const AT = Date.UTC(2004, 3, 20); // 2004-04-20, inside 2004-04-09..2004-05-09
const EXPIRATION = vec.signature_validity.expiration.unix as number;
const INCEPTION = vec.signature_validity.inception.unix as number;
const DAY = 86400;

const zoneRRs = parseLines(vec.zone.records_normalized);
const zoneSets = splitSignedRRsets(zoneRRs);
const apex = n('example.');
const dnskeySet = findSet(zoneSets, 'example.', RRType.DNSKEY);
const keys = secureKeys(apex, dnskeySet.rrs);
const zsk = keys.keys.find((k) => keyTag(k.rdata) === 38519)!;

function bogusKind(c: RRsetCheck): string {
  assert.equal(c.security, 'bogus', 'expected bogus');
  return c.security === 'bogus' ? c.reason.kind : '';
}

const sigWith = (sig: RR<RRSIGData>, patch: Partial<RRSIGData>): RR<RRSIGData> =>
  makeRR(sig.name, RRType.RRSIG, sig.ttl, { ...sig.data, ...patch }, sig.class);

function flipBit(b: Uint8Array, bit: number): Uint8Array {
  const c = b.slice();
  c[bit >> 3]! ^= 0x80 >> (bit & 7);
  return c;
}

describe('splitSignedRRsets', () => {
  it('groups records into RRsets and attaches RRSIGs by owner and type covered', () => {
    assert.equal(dnskeySet.rrs.length, 2);
    assert.equal(dnskeySet.sigs.length, 2);
    const ai = zoneSets.filter((s) => s.name.equals(n('ai.example.')));
    assert.deepEqual(ai.map((s) => s.type).sort((a, b) => a - b), [RRType.A, RRType.HINFO, RRType.AAAA, RRType.NSEC].sort((a, b) => a - b));
    for (const s of ai) assert.equal(s.sigs.length, 1);
    assert.equal(zoneSets.filter((s) => s.type === RRType.RRSIG).length, 0);
  });

  it('returns RRSIGs that cover nothing present as an unsigned RRSIG RRset', () => {
    const sigOnly = zoneRRs.filter((r) => r.type === RRType.RRSIG && r.name.equals(n('xx.example.')));
    const sets = splitSignedRRsets(sigOnly);
    assert.equal(sets.length, 1);
    assert.equal(sets[0]!.type, RRType.RRSIG);
    assert.equal(sets[0]!.rrs.length, sigOnly.length);
  });
});

describe('verifyRRset on RFC 4035 Appendix A', () => {
  it('verifies every signed RRset of the zone; only delegation NS and glue are unsigned', () => {
    const ctx = makeCtx(AT);
    let secure = 0;
    for (const s of zoneSets) {
      if (s.sigs.length === 0) {
        assert.ok(s.type === RRType.NS || s.type === RRType.A, `${s.name} ${s.type} unsigned`);
        assert.ok(!s.name.equals(apex));
        continue;
      }
      const c = verifyRRset(s, keys, ctx);
      assert.equal(c.security, 'secure', `${s.name.toText()} ${s.type}: ${JSON.stringify(c.step)}`);
      secure++;
    }
    assert.equal(secure, 26); // 27 RRSIGs, two of them over the DNSKEY RRset
    assert.ok(ctx.crypto.calls >= 26 && ctx.crypto.calls <= 27);
  });

  it('reports key tag, signer, TTL and the trail step', () => {
    const c = verifyRRset(findSet(zoneSets, 'xx.example.', RRType.A), keys, makeCtx(AT));
    assert.equal(c.security, 'secure');
    if (c.security !== 'secure') return;
    assert.equal(c.keyTag, 38519);
    assert.ok(c.signer.equals(apex));
    assert.equal(c.ttl, 3600);
    assert.equal(c.wildcard, undefined);
    assert.deepEqual(c.step, { step: 'rrset', name: 'xx.example.', type: 'A', security: 'secure', keyTag: 38519, signer: 'example.' });
  });

  it('caps the TTL at the record TTL and at the time left before expiry', () => {
    const set = findSet(zoneSets, 'xx.example.', RRType.A);
    const low = { ...set, rrs: set.rrs.map((r) => ({ ...r, ttl: 50 })) };
    const c1 = verifyRRset(low, keys, makeCtx(AT));
    assert.equal(c1.security === 'secure' && c1.ttl, 50);
    const c2 = verifyRRset(set, keys, makeCtx((EXPIRATION - 100) * 1000));
    assert.equal(c2.security === 'secure' && c2.ttl, 100);
    const c3 = verifyRRset(set, keys, makeCtx((EXPIRATION + 100) * 1000)); // within the skew allowance
    assert.equal(c3.security === 'secure' && c3.ttl, 0);
  });

  it('expired beyond the skew allowance (1 day here) -> signature-expired', () => {
    const set = findSet(zoneSets, 'xx.example.', RRType.A);
    assert.equal(verifyRRset(set, keys, makeCtx((EXPIRATION + DAY - 10) * 1000)).security, 'secure');
    const ctx = makeCtx((EXPIRATION + DAY + 10) * 1000);
    const c = verifyRRset(set, keys, ctx);
    assert.equal(bogusKind(c), 'signature-expired');
    if (c.security === 'bogus' && c.reason.kind === 'signature-expired') {
      assert.equal(c.reason.expiration, EXPIRATION);
      assert.equal(c.reason.keyTag, 38519);
      assert.equal(c.reason.name, 'xx.example.');
      // Who signed it and its whole validity: what tells a wrong system clock from an expired zone (resolver/clock-sanity.ts).
      assert.equal(c.reason.signer, 'example.');
      assert.equal(c.reason.inception, INCEPTION);
    }
    assert.equal(ctx.crypto.calls, 0);
  });

  it('before inception beyond the skew allowance -> signature-not-yet-valid', () => {
    const set = findSet(zoneSets, 'xx.example.', RRType.A);
    assert.equal(verifyRRset(set, keys, makeCtx((INCEPTION - DAY + 10) * 1000)).security, 'secure');
    const c = verifyRRset(set, keys, makeCtx((INCEPTION - DAY - 10) * 1000));
    assert.equal(bogusKind(c), 'signature-not-yet-valid');
    if (c.security === 'bogus' && c.reason.kind === 'signature-not-yet-valid') {
      assert.deepEqual([c.reason.signer, c.reason.inception, c.reason.expiration], ['example.', INCEPTION, EXPIRATION]);
    }
  });

  it('uses serial-number arithmetic for signature times (RFC 4034 §3.1.5)', () => {
    // Times near 2^32 wrap: an inception just before the wrap and an expiration just after it.
    const set = findSet(zoneSets, 'xx.example.', RRType.A);
    const sig = set.sigs[0]!;
    const wrapped = { ...set, sigs: [sigWith(sig, { inception: 0xffffff00, expiration: 0x00001000 })] };
    const ctx = makeCtx((0x100000000 + 0x10) * 1000); // after the wrap, inside the window
    const c = verifyRRset(wrapped, keys, ctx);
    // The window check passes, so the only failure is the signature itself (the times are signed data).
    assert.equal(bogusKind(c), 'signature-invalid');
    assert.equal(ctx.crypto.calls, 1);
  });

  it('a flipped signature bit -> signature-invalid', () => {
    const set = findSet(zoneSets, 'x.w.example.', RRType.MX);
    const sig = set.sigs[0]!;
    const c = verifyRRset({ ...set, sigs: [sigWith(sig, { signature: flipBit(sig.data.signature, 100) })] }, keys, makeCtx(AT));
    assert.equal(bogusKind(c), 'signature-invalid');
  });

  it('changed RDATA -> signature-invalid', () => {
    const set = findSet(zoneSets, 'ns1.example.', RRType.A);
    const rr = set.rrs[0]!;
    const c = verifyRRset({ ...set, rrs: [makeRR(rr.name, rr.type, rr.ttl, { address: '192.0.2.99' })] }, keys, makeCtx(AT));
    assert.equal(bogusKind(c), 'signature-invalid');
  });

  it('no RRSIG -> rrsigs-missing', () => {
    const set = findSet(zoneSets, 'ns1.example.', RRType.A);
    const c = verifyRRset({ ...set, sigs: [] }, keys, makeCtx(AT));
    assert.equal(bogusKind(c), 'rrsigs-missing');
  });

  it('key tag matching no DNSKEY -> dnskey-missing', () => {
    const set = findSet(zoneSets, 'ns1.example.', RRType.A);
    const c = verifyRRset({ ...set, sigs: [sigWith(set.sigs[0]!, { keyTag: 1234 })] }, keys, makeCtx(AT));
    assert.equal(bogusKind(c), 'dnskey-missing');
  });

  it('key without the Zone Key bit -> no-zone-key; revoked key not used', () => {
    const set = findSet(zoneSets, 'ns1.example.', RRType.A);
    const noZone = makeRR<DNSKEYData>(zsk.name, RRType.DNSKEY, zsk.ttl, { ...zsk.data, flags: zsk.data.flags & ~DnskeyFlag.ZONE });
    // The flags are part of the key tag: a key without the bit no longer matches the RRSIG's tag ...
    assert.equal(bogusKind(verifyRRset(set, secureKeys(apex, [noZone]), makeCtx(AT))), 'dnskey-missing');
    // ... unless the RRSIG names that key's tag.
    const sigNoZone = { ...set, sigs: [sigWith(set.sigs[0]!, { keyTag: keyTag(noZone.rdata) })] };
    const ctx = makeCtx(AT);
    assert.equal(bogusKind(verifyRRset(sigNoZone, secureKeys(apex, [noZone]), ctx)), 'no-zone-key');
    assert.equal(ctx.crypto.calls, 0);
    const revoked = makeRR<DNSKEYData>(zsk.name, RRType.DNSKEY, zsk.ttl, { ...zsk.data, flags: zsk.data.flags | DnskeyFlag.REVOKE });
    const sigRevoked = { ...set, sigs: [sigWith(set.sigs[0]!, { keyTag: keyTag(revoked.rdata) })] };
    const ctx2 = makeCtx(AT);
    assert.equal(bogusKind(verifyRRset(sigRevoked, secureKeys(apex, [revoked]), ctx2)), 'dnskey-missing');
    assert.equal(ctx2.crypto.calls, 0);
  });

  it('signer / labels / class rules of RFC 4035 §5.3.1 -> bad-rrsig', () => {
    const set = findSet(zoneSets, 'ns1.example.', RRType.A);
    const sig = set.sigs[0]!;
    const cases: [string, RR<RRSIGData>][] = [
      ['signer not the zone', sigWith(sig, { signer: n('ns1.example.') })],
      ['labels too large', sigWith(sig, { labels: 3 })],
      ['class', { ...sig, class: 3 }],
    ];
    for (const [what, s] of cases) {
      const ctx = makeCtx(AT);
      assert.equal(bogusKind(verifyRRset({ ...set, sigs: [s] }, keys, ctx)), 'bad-rrsig', what);
      assert.equal(ctx.crypto.calls, 0, what);
    }
    // A DS RRset must be signed by the parent, never by the zone at its owner.
    const ds = { ...findSet(zoneSets, 'a.example.', RRType.DS) };
    const childKeys = secureKeys(n('a.example.'), dnskeySet.rrs);
    const dsSig = sigWith(ds.sigs[0]!, { signer: n('a.example.') });
    assert.equal(bogusKind(verifyRRset({ ...ds, sigs: [dsSig] }, childKeys, makeCtx(AT))), 'bad-rrsig');
  });

  it('the most telling reason wins: a key-matched expired signature over an unknown key tag', () => {
    const set = findSet(zoneSets, 'ns1.example.', RRType.A);
    const sig = set.sigs[0]!;
    const c = verifyRRset({ ...set, sigs: [sigWith(sig, { keyTag: 1 }), sig] }, keys, makeCtx((EXPIRATION + 2 * DAY) * 1000));
    assert.equal(bogusKind(c), 'signature-expired');
  });

  it('skips RRSIGs of unsupported algorithms; only those -> rrsigs-missing', () => {
    const set = findSet(zoneSets, 'ns1.example.', RRType.A);
    const sig = set.sigs[0]!;
    const odd = sigWith(sig, { algorithm: 253 });
    const ctx = makeCtx(AT);
    assert.equal(ctx.crypto.supports(253), false);
    assert.equal(verifyRRset({ ...set, sigs: [odd, sig] }, keys, ctx).security, 'secure');
    assert.equal(ctx.crypto.calls, 1);
    assert.equal(bogusKind(verifyRRset({ ...set, sigs: [odd] }, keys, makeCtx(AT))), 'rrsigs-missing');
  });
});

describe('verifyRRset on RFC 4035 Appendix B responses', () => {
  const resp = responses(vec);

  it('every signed RRset of the eight responses is secure', () => {
    const ctx = makeCtx(AT);
    let count = 0;
    for (const [section, r] of resp) {
      for (const s of splitSignedRRsets([...r.answer, ...r.authority, ...r.additional])) {
        if (s.sigs.length === 0) continue;
        const c = verifyRRset(s, keys, ctx);
        assert.equal(c.security, 'secure', `${section} ${s.name.toText()} ${s.type}`);
        count++;
      }
    }
    assert.equal(count, 23);
  });

  it('B.6: the MX answer is a wildcard expansion of *.w.example.', () => {
    const r = resp.get('B.6')!;
    const mx = findSet(splitSignedRRsets(r.answer), 'a.z.w.example.', RRType.MX);
    const c = verifyRRset(mx, keys, makeCtx(AT));
    assert.equal(c.security, 'secure');
    if (c.security !== 'secure') return;
    assert.ok(c.wildcard);
    assert.equal(c.wildcard.closestEncloser.toText(), 'w.example.');
    assert.equal(c.wildcard.source.toText(), '*.w.example.');
    assert.equal(c.step.step === 'rrset' && c.step.wildcard, '*.w.example.');
  });

  it('the wildcard RRset itself (owner *.w.example., Labels 2) is no expansion', () => {
    const c = verifyRRset(findSet(zoneSets, '*.w.example.', RRType.MX), keys, makeCtx(AT));
    assert.equal(c.security === 'secure' && c.wildcard, undefined);
  });
});

describe('KeyTrap limits', () => {
  /** `count` DNSKEYs sharing the ZSK's key tag (modulus octets changed so that the tag sum stays equal). */
  function collidingKeys(count: number): RR<DNSKEYData>[] {
    const out: RR<DNSKEYData>[] = [zsk];
    for (let i = 1; i < count; i++) {
      const pk = zsk.data.publicKey.slice();
      // RDATA offset = 4 + key offset; even RDATA offsets are the high octets of the 16-bit sum.
      const a = 20;
      const b = 22;
      pk[a - 4] = (pk[a - 4]! + i) & 0xff;
      pk[b - 4] = (pk[b - 4]! - i) & 0xff;
      const k = makeRR<DNSKEYData>(zsk.name, RRType.DNSKEY, zsk.ttl, { ...zsk.data, publicKey: pk });
      if (keyTag(k.rdata) === 38519) out.push(k);
    }
    return out;
  }

  function badSigs(sig: RR<RRSIGData>, count: number): RR<RRSIGData>[] {
    return Array.from({ length: count }, (_, i) => sigWith(sig, { signature: flipBit(sig.data.signature, 8 * 10 + i) }));
  }

  const set = findSet(zoneSets, 'x.w.example.', RRType.MX);
  const tenKeys = collidingKeys(10);

  it('builds 10 distinct DNSKEYs with one key tag', () => {
    assert.equal(tenKeys.length, 10);
    assert.equal(new Set(tenKeys.map((k) => Buffer.from(k.rdata).toString('hex'))).size, 10);
  });

  it('20 failing RRSIGs x 10 same-tag keys: at most maxSignaturesPerRRset crypto calls', () => {
    const ctx: TestCtx = makeCtx(AT);
    const c = verifyRRset({ ...set, sigs: badSigs(set.sigs[0]!, 20) }, secureKeys(apex, tenKeys), ctx);
    assert.equal(ctx.crypto.calls, ctx.limits.maxSignaturesPerRRset);
    assert.equal(bogusKind(c), 'budget-exceeded');
    assert.deepEqual(c.security === 'bogus' && c.reason, { kind: 'budget-exceeded', what: 'signatures', limit: 8 });
    assert.equal(ctx.budget.signaturesUsed, 8);
  });

  it('one RRSIG x 10 same-tag keys: at most maxKeysPerTag keys tried', () => {
    const ctx = makeCtx(AT);
    const c = verifyRRset({ ...set, sigs: badSigs(set.sigs[0]!, 1) }, secureKeys(apex, tenKeys), ctx);
    assert.equal(ctx.crypto.calls, ctx.limits.maxKeysPerTag);
    assert.deepEqual(c.security === 'bogus' && c.reason, { kind: 'budget-exceeded', what: 'keys-per-tag', limit: 4 });
  });

  it('a good signature among bad ones still verifies within the limits', () => {
    const ctx = makeCtx(AT);
    const c = verifyRRset({ ...set, sigs: [...badSigs(set.sigs[0]!, 1), set.sigs[0]!] }, secureKeys(apex, tenKeys.slice(0, 2)), ctx);
    assert.equal(c.security, 'secure');
    assert.ok(ctx.crypto.calls <= 3);
  });

  it('the per-query budget stops work across RRsets', () => {
    const ctx = makeCtx(AT, { maxSignaturesPerQuery: 5 });
    const c = verifyRRset({ ...set, sigs: badSigs(set.sigs[0]!, 20) }, secureKeys(apex, tenKeys), ctx);
    assert.deepEqual(c.security === 'bogus' && c.reason, { kind: 'budget-exceeded', what: 'signatures', limit: 5 });
    assert.equal(ctx.crypto.calls, 5);
    // Even a good RRset is not verified any more for this query.
    const again = verifyRRset(findSet(zoneSets, 'xx.example.', RRType.A), keys, ctx);
    assert.equal(bogusKind(again), 'budget-exceeded');
    assert.equal(ctx.crypto.calls, 5);
    // A fresh budget (next client query) works again.
    ctx.budget = createBudget(ctx.limits);
    assert.equal(verifyRRset(findSet(zoneSets, 'xx.example.', RRType.A), keys, ctx).security, 'secure');
  });
});
