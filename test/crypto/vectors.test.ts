/**
 * RFC signature examples verified by both backends: RFC 5702 (RSA/SHA-256, RSA/SHA-512), RFC 6605
 * (ECDSA P-256, P-384), RFC 8080 (Ed25519, Ed448), and every RRSIG of the signed zones and responses
 * of RFC 4035 (RSASHA1) and RFC 5155 (RSASHA1-NSEC3-SHA1). Signed data comes from src/wire. Then
 * one flipped bit of data, signature or key must never verify, and nothing may throw.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  RRType, canonicalRRWire, keyTag, parseRR, rrsigRDataWithoutSignature, signedData,
  type DNSKEYData, type RR, type RRSIGData,
} from '../../src/wire/index.js';
import {
  BACKENDS, flipBit, fromB64, loadVector, prng, signatureCases, toHex, verifyNoThrow, zoneRecords, type SigCase,
} from './helpers.js';

function checkCase(c: SigCase, seed: number): void {
  const rnd = prng(seed);
  for (const v of BACKENDS) {
    assert.ok(v.supports(c.algorithm), `${v.name} supports ${c.algorithm}`);
    assert.deepEqual(verifyNoThrow(v, c.algorithm, c.key, c.data, c.signature), { kind: 'valid' }, `${v.name}: ${c.label}`);
    const tampered: [string, Uint8Array, Uint8Array, Uint8Array][] = [
      ['data', c.key, flipBit(c.data, rnd.int(c.data.length * 8)), c.signature],
      ['signature', c.key, c.data, flipBit(c.signature, rnd.int(c.signature.length * 8))],
      ['key', flipBit(c.key, rnd.int(c.key.length * 8)), c.data, c.signature],
      ['last data bit', c.key, flipBit(c.data, c.data.length * 8 - 1), c.signature],
      ['first signature bit', c.key, c.data, flipBit(c.signature, 7)],
    ];
    for (const [what, key, data, sig] of tampered) {
      const r = verifyNoThrow(v, c.algorithm, key, data, sig);
      assert.notEqual(r.kind, 'valid', `${v.name}: ${c.label} with a flipped ${what} bit`);
      assert.ok(['invalid', 'bad-key', 'bad-signature'].includes(r.kind), `${v.name}: ${what}: ${JSON.stringify(r)}`);
    }
  }
}

function rrsigFromVector(v: any): { dnskey: RR<DNSKEYData>; rrset: RR[]; rrsig: RR<RRSIGData> } {
  return {
    dnskey: parseRR(v.dnskey_text) as RR<DNSKEYData>,
    rrset: [parseRR(v.signed_rrset_text)],
    rrsig: parseRR(v.rrsig_text) as RR<RRSIGData>,
  };
}

describe('RFC 5702 RSA/SHA-2 examples', () => {
  for (const v of loadVector('rfc5702.json').vectors) {
    it(`§${v.section} ${v.id} (algorithm ${v.algorithm}, ${v.computed.modulus_bits}-bit key)`, () => {
      const { dnskey, rrset, rrsig } = rrsigFromVector(v);
      assert.equal(keyTag(dnskey.rdata), rrsig.data.keyTag);
      const data = signedData(rrsig, rrset);
      assert.equal(toHex(data), v.signed_data_hex);
      checkCase({ label: v.id, algorithm: v.algorithm, key: dnskey.data.publicKey, data, signature: rrsig.data.signature }, 5702);
    });
  }
});

describe('RFC 6605 ECDSA examples', () => {
  for (const v of loadVector('rfc6605.json').vectors) {
    it(`§${v.section} ${v.id} (algorithm ${v.algorithm})`, () => {
      const { dnskey, rrset, rrsig } = rrsigFromVector(v);
      const data = signedData(rrsig, rrset);
      assert.equal(toHex(data), v.signed_data_hex);
      checkCase({ label: v.id, algorithm: v.algorithm, key: dnskey.data.publicKey, data, signature: rrsig.data.signature }, 6605);
    });
  }
});

describe('RFC 8080 EdDSA examples', () => {
  for (const v of loadVector('rfc8080.json').vectors) {
    const f = v.rrsig_as_printed;
    const head = `example.com. 3600 IN RRSIG MX ${v.algorithm}`;
    const tail = `${f.original_ttl} ${f.expiration.unix} ${f.inception.unix} ${f.key_tag} ${f.signer}`;
    it(`§${v.section} ${v.id}: the signature re-made with Labels = 2 (see the vector's erratum note)`, () => {
      const dnskey = parseRR(v.dnskey_text) as RR<DNSKEYData>;
      const rrsig = parseRR(`${head} 2 ${tail} ${v.computed.derived_signature_with_labels_2_b64}`) as RR<RRSIGData>;
      const data = signedData(rrsig, [parseRR(v.signed_rrset_text)]);
      checkCase({ label: v.id, algorithm: v.algorithm, key: dnskey.data.publicKey, data, signature: rrsig.data.signature }, 8080);
    });
    it(`§${v.section} ${v.id}: the printed signature (Labels = 3) is good cryptography over Labels = 3`, () => {
      // signedData() rightly refuses Labels > the owner's label count, so the octets are built by hand.
      const dnskey = parseRR(v.dnskey_text) as RR<DNSKEYData>;
      const rrsig = parseRR(`${head} 3 ${tail} ${f.signature_b64}`) as RR<RRSIGData>;
      const head3 = rrsigRDataWithoutSignature(rrsig.data);
      const rr = canonicalRRWire(parseRR(v.signed_rrset_text), rrsig.data.originalTtl);
      const data = new Uint8Array([...head3, ...rr]);
      checkCase({ label: `${v.id} as printed`, algorithm: v.algorithm, key: dnskey.data.publicKey, data, signature: fromB64(f.signature_b64) }, 8081);
    });
  }
});

function zoneAndResponses(file: string, expectZone: number, expectResponses: number): void {
  const vec = loadVector(file);
  const zone = zoneRecords(vec.zone.records_normalized);
  const keys = zone.filter((r) => r.type === RRType.DNSKEY) as RR<DNSKEYData>[];
  assert.equal(keys.length, 2);
  it(`Appendix A: all ${expectZone} RRSIGs of the signed zone verify`, () => {
    const cases = signatureCases(zone, keys, 'zone');
    assert.equal(cases.length, expectZone);
    cases.forEach((c, i) => checkCase(c, i));
  });
  it(`Appendix B: all ${expectResponses} RRSIGs of the example responses verify`, () => {
    let n = 0;
    for (const item of vec.responses.items) {
      for (const [section, lines] of Object.entries(item.records_normalized as Record<string, string[]>)) {
        const cases = signatureCases(zoneRecords(lines), keys, `${item.section} ${section}`);
        cases.forEach((c, i) => checkCase(c, 1000 + n + i));
        n += cases.length;
      }
    }
    assert.equal(n, expectResponses);
  });
}

describe('RFC 4035 signed zone (RSASHA1)', () => zoneAndResponses('rfc4035.json', 27, 23));
describe('RFC 5155 signed zone (RSASHA1-NSEC3-SHA1)', () => zoneAndResponses('rfc5155.json', 30, 21));
