/** DNSKEY RRset validation from DS records and trust anchors (RFC 4035 §5.2, RFC 4509 §3, RFC 5011). */
import assert from 'node:assert/strict';
import { edeFor } from '../../src/validator/ede.js';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { usableDs, validateKeysWithAnchor, validateKeysWithDs } from '../../src/validator/dnskey.js';
import { splitSignedRRsets } from '../../src/validator/rrsig.js';
import type { SignedRRset, ZoneKeys } from '../../src/validator/types.js';
import {
  DnskeyFlag, RRType, dsDigestInput, keyTag, makeRR, parseZoneText, type DNSKEYData, type DSData, type RR, type RRSIGData,
} from '../../src/wire/index.js';
import { findSet, loadVector, makeCtx, n, parseLines } from './prim-helpers.js';

const vec = loadVector('rfc4035.json');
const AT = Date.UTC(2004, 3, 20);
const apex = n('example.');
const zoneSets = splitSignedRRsets(parseLines(vec.zone.records_normalized));
const dnskeys = findSet(zoneSets, 'example.', RRType.DNSKEY);
const ksk = dnskeys.rrs.find((k) => keyTag(k.rdata) === 9465) as RR<DNSKEYData>;
const zsk = dnskeys.rrs.find((k) => keyTag(k.rdata) === 38519) as RR<DNSKEYData>;

const HASHES = { 1: 'sha1', 2: 'sha256', 4: 'sha384' } as const;

/** A DS fixture computed with node:crypto (independent of src/crypto, which the validator uses). */
function dsFor(key: RR<DNSKEYData>, digestType: 1 | 2 | 4, patch: Partial<DSData> = {}): RR<DSData> {
  const digest = new Uint8Array(createHash(HASHES[digestType]).update(dsDigestInput(key)).digest());
  return makeRR<DSData>(key.name, RRType.DS, 3600, {
    keyTag: keyTag(key.rdata), algorithm: key.data.algorithm, digestType, digest, ...patch,
  });
}

const corrupt = (ds: RR<DSData>): RR<DSData> => {
  const digest = ds.data.digest.slice();
  digest[0]! ^= 1;
  return makeRR<DSData>(ds.name, RRType.DS, ds.ttl, { ...ds.data, digest });
};

function kind(z: ZoneKeys): string {
  if (z.security === 'secure') return 'secure';
  if (z.security === 'indeterminate') return 'indeterminate';
  return `${z.security}:${z.reason.kind}`;
}

const withSigs = (set: SignedRRset, keep: (s: RR<RRSIGData>) => boolean): SignedRRset => ({ ...set, sigs: set.sigs.filter(keep) });

describe('DS fixtures agree with RFC 4509 / RFC 4034', () => {
  it('SHA-256 and SHA-1 digests of dskey.example.com. match the RFC', () => {
    const v = loadVector('rfc4509.json').vectors[0];
    const key = parseZoneText(v.dnskey_text)[0] as RR<DNSKEYData>;
    const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex').toUpperCase();
    assert.equal(hex(dsFor(key, 2).data.digest), v.computed.sha256_digest);
    assert.equal(hex(dsFor(key, 1).data.digest), v.computed.sha1_digest_for_same_key);
  });
});

describe('usableDs', () => {
  const v = loadVector('rfc4509.json').vectors[0];
  const key = parseZoneText(v.dnskey_text)[0] as RR<DNSKEYData>;
  const ds256 = parseZoneText(v.ds_text)[0] as RR<DSData>;
  const ds1 = dsFor(key, 1);

  it('ignores SHA-1 DS once a SHA-256 DS is present (RFC 4509 §3)', () => {
    const { usable, unsupported } = usableDs([ds1, ds256], makeCtx(AT));
    assert.deepEqual(usable, [ds256]);
    assert.equal(unsupported, undefined);
    assert.deepEqual(usableDs([ds1], makeCtx(AT)).usable, [ds1]);
  });

  it('keeps SHA-1 when the SHA-256 DS is for an unsupported algorithm', () => {
    const odd = makeRR<DSData>(ds256.name, RRType.DS, 3600, { ...ds256.data, algorithm: 253 });
    assert.deepEqual(usableDs([ds1, odd], makeCtx(AT)).usable, [ds1]);
  });

  it('unsupported digest types only -> unsupported-digest; unsupported algorithms only -> unsupported-algorithm', () => {
    const gost = makeRR<DSData>(ds256.name, RRType.DS, 3600, { ...ds256.data, digestType: 3 });
    const r1 = usableDs([gost], makeCtx(AT));
    assert.deepEqual(r1.usable, []);
    assert.deepEqual(r1.unsupported, { kind: 'unsupported-digest', zone: 'dskey.example.com.', digestTypes: [3] });
    const dsa = makeRR<DSData>(ds256.name, RRType.DS, 3600, { ...ds256.data, algorithm: 3 });
    const r2 = usableDs([dsa, gost], makeCtx(AT));
    assert.deepEqual(r2.unsupported, { kind: 'unsupported-algorithm', zone: 'dskey.example.com.', algorithms: [3] });
    assert.deepEqual(usableDs([], makeCtx(AT)), { usable: [], unsupported: undefined });
  });

  it('the RFC 4509 DS matches its key: the RRset then needs that key\'s RRSIG', () => {
    const set: SignedRRset = { name: key.name, type: RRType.DNSKEY, class: 1, rrs: [key], sigs: [] };
    const ctx = makeCtx(AT);
    assert.equal(kind(validateKeysWithDs(key.name, set, [ds256], ctx)), 'bogus:rrsigs-missing');
    assert.equal(kind(validateKeysWithDs(key.name, set, [corrupt(ds256)], ctx)), 'bogus:ds-mismatch');
  });
});

describe('validateKeysWithDs on the RFC 4035 zone', () => {
  it('a SHA-256 DS for the KSK -> secure with every key, validUntil = now + TTL', () => {
    const ctx = makeCtx(AT);
    const z = validateKeysWithDs(apex, dnskeys, [dsFor(ksk, 2)], ctx);
    assert.equal(kind(z), 'secure');
    if (z.security !== 'secure') return;
    assert.equal(z.keys.length, 2);
    assert.equal(z.validUntil, AT + 3600 * 1000);
    assert.deepEqual(z.trail.map((t) => t.step), ['ds', 'rrset', 'keys']);
    assert.equal(ctx.crypto.calls, 1);
  });

  it('SHA-1 and SHA-384 DS work too', () => {
    assert.equal(kind(validateKeysWithDs(apex, dnskeys, [dsFor(ksk, 1)], makeCtx(AT))), 'secure');
    assert.equal(kind(validateKeysWithDs(apex, dnskeys, [dsFor(ksk, 4)], makeCtx(AT))), 'secure');
  });

  it('digest mismatch -> ds-mismatch, without crypto', () => {
    const ctx = makeCtx(AT);
    assert.equal(kind(validateKeysWithDs(apex, dnskeys, [corrupt(dsFor(ksk, 2))], ctx)), 'bogus:ds-mismatch');
    assert.equal(ctx.crypto.calls, 0);
  });

  it('a correct SHA-1 DS is ignored next to a (wrong) SHA-256 DS (RFC 4509 §3)', () => {
    assert.equal(kind(validateKeysWithDs(apex, dnskeys, [dsFor(ksk, 1), corrupt(dsFor(ksk, 2))], makeCtx(AT))), 'bogus:ds-mismatch');
    assert.equal(kind(validateKeysWithDs(apex, dnskeys, [dsFor(ksk, 1), dsFor(ksk, 2)], makeCtx(AT))), 'secure');
  });

  it('unsupported digest / algorithm only -> insecure', () => {
    const gost = dsFor(ksk, 2, { digestType: 3 });
    assert.equal(kind(validateKeysWithDs(apex, dnskeys, [gost], makeCtx(AT))), 'insecure:unsupported-digest');
    const alg = dsFor(ksk, 2, { algorithm: 253 });
    assert.equal(kind(validateKeysWithDs(apex, dnskeys, [alg], makeCtx(AT))), 'insecure:unsupported-algorithm');
    // One supported DS among unsupported ones is enough (and decides).
    assert.equal(kind(validateKeysWithDs(apex, dnskeys, [gost, alg, dsFor(ksk, 2)], makeCtx(AT))), 'secure');
  });

  it('empty DNSKEY RRset -> dnskey-missing', () => {
    const empty: SignedRRset = { ...dnskeys, rrs: [], sigs: [] };
    assert.equal(kind(validateKeysWithDs(apex, empty, [dsFor(ksk, 2)], makeCtx(AT))), 'bogus:dnskey-missing');
  });

  it('the DS-matched key must itself sign the DNSKEY RRset', () => {
    const noKskSig = withSigs(dnskeys, (s) => s.data.keyTag !== 9465);
    assert.equal(kind(validateKeysWithDs(apex, noKskSig, [dsFor(ksk, 2)], makeCtx(AT))), 'bogus:rrsigs-missing');
    const flipped = {
      ...dnskeys,
      sigs: dnskeys.sigs.map((s) => {
        if (s.data.keyTag !== 9465) return s;
        const signature = s.data.signature.slice();
        signature[5]! ^= 0x10;
        return makeRR<RRSIGData>(s.name, RRType.RRSIG, s.ttl, { ...s.data, signature });
      }),
    };
    const z = validateKeysWithDs(apex, flipped, [dsFor(ksk, 2)], makeCtx(AT));
    assert.equal(kind(z), 'bogus:signature-invalid');
    assert.equal(z.security === 'bogus' && z.reason.kind === 'signature-invalid' && z.reason.keyTag, 9465);
    // The ZSK also signs the DNSKEY RRset: a DS for it validates too.
    assert.equal(kind(validateKeysWithDs(apex, flipped, [dsFor(zsk, 2)], makeCtx(AT))), 'secure');
  });

  it('expired DNSKEY signatures -> signature-expired', () => {
    const late = makeCtx((vec.signature_validity.expiration.unix + 2 * 86400) * 1000);
    assert.equal(kind(validateKeysWithDs(apex, dnskeys, [dsFor(ksk, 2)], late)), 'bogus:signature-expired');
  });

  it('a DS matching a key without the Zone Key bit -> no-zone-key; a revoked key is never used', () => {
    const plain = makeRR<DNSKEYData>(apex, RRType.DNSKEY, 3600, { ...ksk.data, flags: ksk.data.flags & ~DnskeyFlag.ZONE });
    const set1 = { ...dnskeys, rrs: [...dnskeys.rrs, plain] };
    const ctx1 = makeCtx(AT);
    assert.equal(kind(validateKeysWithDs(apex, set1, [dsFor(plain, 2)], ctx1)), 'bogus:no-zone-key');
    assert.equal(ctx1.crypto.calls, 0);
    const revoked = makeRR<DNSKEYData>(apex, RRType.DNSKEY, 3600, { ...ksk.data, flags: ksk.data.flags | DnskeyFlag.REVOKE });
    const set2 = { ...dnskeys, rrs: [...dnskeys.rrs, revoked] };
    const ctx2 = makeCtx(AT);
    assert.equal(kind(validateKeysWithDs(apex, set2, [dsFor(revoked, 2)], ctx2)), 'bogus:ds-mismatch');
    assert.equal(ctx2.crypto.calls, 0);
  });

  it('bogus and insecure states carry a retry time', () => {
    const z = validateKeysWithDs(apex, dnskeys, [corrupt(dsFor(ksk, 2))], makeCtx(AT));
    assert.ok(z.validUntil > AT && z.validUntil <= AT + 3600 * 1000);
  });
});

describe('validateKeysWithAnchor', () => {
  it('DNSKEY anchor (the KSK) -> secure', () => {
    const z = validateKeysWithAnchor({ zone: apex, ds: [], dnskeys: [ksk] }, dnskeys, makeCtx(AT));
    assert.equal(kind(z), 'secure');
    assert.deepEqual(z.trail.map((t) => t.step), ['anchor', 'rrset', 'keys']);
    assert.equal(z.trail[0]!.step === 'anchor' && z.trail[0]!.keyTags[0], 9465);
  });

  it('DS anchor -> secure; wrong DS anchor -> ds-mismatch', () => {
    assert.equal(kind(validateKeysWithAnchor({ zone: apex, ds: [dsFor(ksk, 2)], dnskeys: [] }, dnskeys, makeCtx(AT))), 'secure');
    assert.equal(kind(validateKeysWithAnchor({ zone: apex, ds: [corrupt(dsFor(ksk, 2))], dnskeys: [] }, dnskeys, makeCtx(AT))), 'bogus:ds-mismatch');
  });

  it('a DNSKEY anchor not in the RRset -> anchor-not-published (EDE 9: a stale anchor is a gone anchor); a DS anchor matching nothing -> ds-mismatch', () => {
    const other = makeRR<DNSKEYData>(apex, RRType.DNSKEY, 3600, { ...ksk.data, publicKey: zsk.data.publicKey.slice(0, -1) });
    const z = validateKeysWithAnchor({ zone: apex, ds: [], dnskeys: [other] }, dnskeys, makeCtx(AT));
    assert.equal(kind(z), 'bogus:anchor-not-published');
    assert.equal(z.security === 'bogus' ? edeFor(z.reason).code : -1, 9);
    assert.match(z.security === 'bogus' ? edeFor(z.reason).text ?? '' : '', /trust anchor is gone/);
    assert.equal(kind(validateKeysWithAnchor({ zone: apex, ds: [dsFor(other, 2)], dnskeys: [] }, dnskeys, makeCtx(AT))), 'bogus:ds-mismatch');
  });

  it('a revoked DNSKEY anchor never counts (RFC 5011)', () => {
    const revoked = makeRR<DNSKEYData>(apex, RRType.DNSKEY, 3600, { ...ksk.data, flags: ksk.data.flags | DnskeyFlag.REVOKE });
    const set = { ...dnskeys, rrs: [...dnskeys.rrs, revoked] };
    const ctx = makeCtx(AT);
    // Fail closed: an anchor zone with no trusted key left is bogus (EDE 9, "the trust anchor is gone"), never insecure.
    assert.equal(kind(validateKeysWithAnchor({ zone: apex, ds: [], dnskeys: [revoked] }, set, ctx)), 'bogus:anchor-gone');
    assert.equal(kind(validateKeysWithAnchor({ zone: apex, ds: [], dnskeys: [] }, set, ctx)), 'bogus:anchor-gone');
    assert.equal(ctx.crypto.calls, 0);
    // With a good anchor next to it, the good one is used (on the RRset as signed).
    assert.equal(kind(validateKeysWithAnchor({ zone: apex, ds: [], dnskeys: [revoked, ksk] }, dnskeys, makeCtx(AT))), 'secure');
  });

  it('anchors of unsupported algorithms only -> insecure unsupported-algorithm', () => {
    const odd = makeRR<DNSKEYData>(apex, RRType.DNSKEY, 3600, { ...ksk.data, algorithm: 253 });
    const z = validateKeysWithAnchor({ zone: apex, ds: [], dnskeys: [odd] }, dnskeys, makeCtx(AT));
    assert.equal(kind(z), 'insecure:unsupported-algorithm');
    const z2 = validateKeysWithAnchor({ zone: apex, ds: [dsFor(ksk, 2, { digestType: 3 })], dnskeys: [] }, dnskeys, makeCtx(AT));
    assert.equal(kind(z2), 'insecure:unsupported-digest');
  });
});

describe('KeyTrap through DS records', () => {
  it('many DS records for same-tag keys: the DNSKEY RRset costs at most maxSignaturesPerRRset crypto calls', () => {
    // 10 keys with the KSK's tag, each with a matching DS; the RRset has 20 bad RRSIGs with that tag.
    const keys: RR<DNSKEYData>[] = [];
    for (let i = 0; keys.length < 10 && i < 200; i++) {
      const pk = ksk.data.publicKey.slice();
      pk[16] = (pk[16]! + i) & 0xff;
      pk[18] = (pk[18]! - i) & 0xff;
      const k = makeRR<DNSKEYData>(apex, RRType.DNSKEY, 3600, { ...ksk.data, publicKey: pk });
      if (keyTag(k.rdata) === 9465) keys.push(k);
    }
    assert.equal(keys.length, 10);
    const sig = dnskeys.sigs.find((s) => s.data.keyTag === 9465)!;
    const sigs = Array.from({ length: 20 }, (_, i) => {
      const signature = sig.data.signature.slice();
      signature[10 + i]! ^= 1;
      return makeRR<RRSIGData>(sig.name, RRType.RRSIG, sig.ttl, { ...sig.data, signature });
    });
    const set: SignedRRset = { ...dnskeys, rrs: keys, sigs };
    const ctx = makeCtx(AT);
    const z = validateKeysWithDs(apex, set, keys.map((k) => dsFor(k, 2)), ctx);
    assert.equal(kind(z), 'bogus:budget-exceeded');
    assert.equal(ctx.crypto.calls, ctx.limits.maxSignaturesPerRRset);
    const tight = makeCtx(AT, { maxSignaturesPerQuery: 3 });
    assert.equal(kind(validateKeysWithDs(apex, set, keys.map((k) => dsFor(k, 2)), tight)), 'bogus:budget-exceeded');
    assert.equal(tight.crypto.calls, 3);
  });
});
