/**
 * RFC example records for DNSKEY, DS, RRSIG and NSEC (RFC 4034, 4509, 5702, 6605, 8080, the IANA root
 * anchors): every record text parses, round-trips byte-exact, key tags and RDATA match the vectors,
 * DS digests match (checked with node:crypto), and signedData() reproduces the signed octets.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import {
  Name, RRType, dsDigestInput, keyTag, parseRR, parseZoneText, signedData, sigTimeToText,
  type DNSKEYData, type DSData, type NSECData, type RR, type RRSIGData,
} from '../../src/wire/index.js';
import { fromHex, loadVector, roundTrip, throwsWire, toHex, verifySig } from './helpers.js';

const v4034 = loadVector('rfc4034.json');
const byId = (id: string) => v4034.vectors.find((v: { id: string }) => v.id === id);

function checkDs(ds: RR<DSData>, dnskey: RR<DNSKEYData>): void {
  assert.equal(ds.data.keyTag, keyTag(dnskey.rdata));
  assert.equal(ds.data.algorithm, dnskey.data.algorithm);
  assert.ok(ds.name.equals(dnskey.name));
  const algo = ({ 1: 'sha1', 2: 'sha256', 4: 'sha384' } as Record<number, string>)[ds.data.digestType];
  if (algo) assert.equal(createHash(algo).update(dsDigestInput(dnskey)).digest('hex'), toHex(ds.data.digest));
}

describe('RFC 4034 examples', () => {
  it('§2.3 DNSKEY: fields, RDATA and key tag 2642', () => {
    const v = byId('dnskey_example');
    const rr = parseRR(v.text) as RR<DNSKEYData>;
    assert.equal(rr.type, RRType.DNSKEY);
    assert.equal(rr.ttl, 86400);
    assert.equal(rr.data.flags, v.parsed.flags);
    assert.equal(rr.data.algorithm, 5);
    assert.equal(toHex(rr.rdata), v.parsed.rdata_hex);
    assert.equal(keyTag(rr.rdata), 2642);
    roundTrip(rr);
  });

  it('§3.3 RRSIG: every field, times in YYYYMMDDHHmmSS', () => {
    const v = byId('rrsig_example');
    const rr = parseRR(v.text) as RR<RRSIGData>;
    const f = v.fields;
    assert.equal(rr.data.typeCovered, RRType.A);
    assert.equal(rr.data.algorithm, f.algorithm);
    assert.equal(rr.data.labels, f.labels);
    assert.equal(rr.data.originalTtl, f.original_ttl);
    assert.equal(rr.data.expiration, f.expiration.unix);
    assert.equal(rr.data.inception, f.inception.unix);
    assert.equal(sigTimeToText(rr.data.expiration), f.expiration.text);
    assert.equal(rr.data.keyTag, f.key_tag);
    assert.equal(rr.data.signer.toText(), f.signer);
    assert.equal(Buffer.from(rr.data.signature).toString('base64'), f.signature_b64);
    assert.equal(rr.data.signature.length, f.signature_length_bytes);
    const text = roundTrip(rr);
    assert.match(text, /RRSIG\tA 5 3 86400 20030322173103 20030220173103 2642 example\.com\. oJB1W6WN/);
  });

  it('§4.3 NSEC: RDATA equals the RFC wire octets (TYPE1234 in window 4)', () => {
    const v = byId('nsec_example');
    const rr = parseRR(v.text) as RR<NSECData>;
    assert.equal(toHex(rr.rdata), v.rdata_wire_hex);
    assert.deepEqual(rr.data.types, [1, 15, 46, 47, 1234]);
    assert.equal(roundTrip(rr).split('\t')[4], 'host.example.com. A MX RRSIG NSEC TYPE1234');
  });

  it('§5.4 DS: parses, key tag 60485 and the SHA-1 digest match the DNSKEY', () => {
    const v = byId('ds_example_sha1');
    const [dnskey, ds] = parseZoneText(v.text) as [RR<DNSKEYData>, RR<DSData>];
    assert.equal(keyTag(dnskey.rdata), 60485);
    assert.equal(toHex(dnskey.rdata), v.dnskey.rdata_hex);
    assert.equal(ds.data.keyTag, 60485);
    assert.equal(toHex(ds.data.digest), v.ds.digest_hex.toLowerCase());
    checkDs(ds, dnskey);
    roundTrip(dnskey);
    roundTrip(ds);
  });

  it('§6.1 canonical name order, exactly the RFC list', () => {
    const names: string[] = byId('canonical_name_order').names_in_order;
    const parsed = names.map((n) => Name.fromText(n));
    const shuffled = [...parsed].reverse();
    shuffled.push(shuffled.shift()!);
    shuffled.sort((a, b) => a.compare(b));
    assert.deepEqual(shuffled.map((n) => n.toText()), names.map((n) => Name.fromText(n).toText()));
    for (let i = 1; i < parsed.length; i++) assert.ok(parsed[i - 1]!.compare(parsed[i]!) < 0, `${names[i - 1]} < ${names[i]}`);
  });

  it('Appendix B: key tags for the RFC examples, and the algorithm 1 rule (B.1)', () => {
    for (const ex of byId('key_tag_algorithm').key_tag_examples_in_rfc4034) assert.ok([2642, 60485].includes(ex.key_tag));
    // RSA/MD5: the most significant 16 bits of the least significant 24 bits of the modulus.
    const rr = parseRR('example. 3600 IN DNSKEY 256 3 1 AQOeX7+baTmvpVHb2CcLnL1dMRWbuscRvHXlLnXwDzvqp4tZVKp1sZMepFb8MvxhhW3y/0QZsyCjczGJ1qk8vJe52iOhInKROVLRwxGpMfzPRLMlGybr51bOV/1se0ODacj3DomyB4QB5gKTYot/K9alk5/j8vfd4jWCWD+E1Sze0Q==');
    const b = rr.rdata;
    assert.equal(keyTag(b), (b[b.length - 3]! << 8) | b[b.length - 2]!);
    assert.equal(keyTag(b), 11486); // what ldns-read-zone prints for this key
    assert.equal(keyTag(fromHex('01000301')), 0);
  });
});

describe('RFC 4509 DS SHA-256', () => {
  for (const v of loadVector('rfc4509.json').vectors) {
    it(`${v.id}: key tag ${v.ds.key_tag}, digest matches`, () => {
      const dnskey = parseRR(v.dnskey_text) as RR<DNSKEYData>;
      const ds = parseRR(v.ds_text) as RR<DSData>;
      assert.equal(keyTag(dnskey.rdata), v.computed.key_tag);
      assert.equal(toHex(dnskey.rdata), v.dnskey.rdata_hex);
      assert.equal(ds.data.digestType, 2);
      checkDs(ds, dnskey);
      roundTrip(dnskey);
      roundTrip(ds);
    });
  }
});

describe('RFC 5702 and RFC 6605 signing examples', () => {
  for (const file of ['rfc5702.json', 'rfc6605.json']) {
    for (const v of loadVector(file).vectors) {
      it(`${file} ${v.id}: signedData equals signed_data_hex and the signature verifies`, () => {
        const dnskey = parseRR(v.dnskey_text) as RR<DNSKEYData>;
        assert.equal(toHex(dnskey.rdata), v.dnskey.rdata_hex);
        assert.equal(keyTag(dnskey.rdata), v.computed.key_tag);
        const rrsig = parseRR(v.rrsig_text) as RR<RRSIGData>;
        assert.equal(rrsig.data.keyTag, v.rrsig_fields.key_tag);
        assert.equal(rrsig.data.expiration, v.rrsig_fields.expiration.unix);
        const rrset = [parseRR(v.signed_rrset_text)];
        const data = signedData(rrsig, rrset);
        assert.equal(toHex(data), v.signed_data_hex);
        assert.equal(verifySig(dnskey.data, data, rrsig.data.signature), v.computed.rrsig_verifies);
        if (v.ds_text) checkDs(parseRR(v.ds_text) as RR<DSData>, dnskey);
        for (const rr of [dnskey, rrsig, ...rrset]) roundTrip(rr);
      });
    }
  }
});

describe('RFC 8080 EdDSA examples', () => {
  const v8080 = loadVector('rfc8080.json');
  for (const v of v8080.vectors) {
    it(`${v.id}: DNSKEY/DS parse and match; the RRSIG as printed is rejected; signedData verifies`, () => {
      const dnskey = parseRR(v.dnskey_text) as RR<DNSKEYData>;
      assert.equal(keyTag(dnskey.rdata), v.computed.key_tag);
      assert.equal(toHex(dnskey.rdata), v.dnskey.rdata_hex);
      const ds = parseRR(v.ds_text) as RR<DSData>;
      checkDs(ds, dnskey);
      // As printed: algorithm missing and a nested "(" — not valid presentation format.
      throwsWire(() => parseRR(v.rrsig_text), 'bad-text');
      const p = v.rrsig_as_printed;
      const fixed = (labels: number, sig: string) => parseRR(
        `${p.signer} 3600 IN RRSIG MX ${v.algorithm} ${labels} ${p.original_ttl} ${p.expiration.unix} ${p.inception.unix} ${p.key_tag} ${p.signer} ${sig}`,
      ) as RR<RRSIGData>;
      const rrset = [parseRR(v.signed_rrset_text)];
      const good = fixed(2, v.computed.derived_signature_with_labels_2_b64);
      assert.equal(sigTimeToText(good.data.expiration), p.expiration.utc.replace(/[-:TZ]/g, ''));
      assert.ok(verifySig(dnskey.data, signedData(good, rrset), good.data.signature));
      // Labels 3 > the 2 labels of example.com.: RFC 4035 §5.3.1 forbids using it.
      throwsWire(() => signedData(fixed(3, p.signature_b64), rrset), 'bad-rdata');
      for (const rr of [dnskey, ds, good, ...rrset]) roundTrip(rr);
    });
  }
});

describe('IANA root trust anchors', () => {
  for (const a of loadVector('iana-root-anchors.json').anchors) {
    it(`${a.name}: DNSKEY key tag ${a.key_tag}, DS digest matches`, () => {
      const dnskey = parseRR(a.dnskey.presentation) as RR<DNSKEYData>;
      const ds = parseRR(a.ds_presentation) as RR<DSData>;
      assert.ok(dnskey.name.isRoot());
      assert.equal(dnskey.ttl, 0);
      assert.equal(toHex(dnskey.rdata), a.dnskey.rdata_hex.toLowerCase());
      assert.equal(keyTag(dnskey.rdata), a.key_tag);
      assert.equal(ds.data.keyTag, a.key_tag);
      checkDs(ds, dnskey);
      roundTrip(dnskey);
      roundTrip(ds);
    });
  }

  it('the revoked form of a key has a different key tag (REVOKE bit is in the RDATA)', () => {
    const a = loadVector('iana-root-anchors.json').anchors[0];
    const k = parseRR(a.dnskey.presentation) as RR<DNSKEYData>;
    const revoked = parseRR(a.dnskey.presentation.replace(' 257 ', ' 385 '));
    assert.notEqual(keyTag(revoked.rdata), keyTag(k.rdata));
    assert.equal(toHex(revoked.rdata).slice(4), toHex(k.rdata).slice(4));
  });
});
