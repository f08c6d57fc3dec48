/** Canonical form and ordering (RFC 4034 §6, RFC 6840 §5.1) and the RRSIG signed data (§3.1.8.1). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  Name, canonicalOrder, canonicalRData, canonicalRRWire, compareBytes, makeRrsig, parseRR, parseZoneText, rrsigRDataWithoutSignature,
  signedData, signedOwner, type RR, type RRSIGData,
} from '../../src/wire/index.js';
import { throwsWire, toHex } from './helpers.js';

const hexOf = (s: string): string => Buffer.from(s).toString('hex');

describe('canonical RDATA', () => {
  const lowered = (text: string) => toHex(canonicalRData(parseRR(text)));
  it('lowercases names in the RFC 4034 §6.2 types (RRSIG signer, SRV target, DNAME, MX, SOA...)', () => {
    assert.equal(lowered('a. 1 IN MX 1 MAIL.Example.'), '0001' + '046d61696c076578616d706c6500');
    assert.equal(lowered('a. 1 IN DNAME Other.EXAMPLE.'), '056f74686572076578616d706c6500');
    assert.equal(lowered('a. 1 IN SRV 1 2 3 SRV.X.'), '000100020003' + '03737276017800');
    assert.equal(lowered('a. 1 IN SOA NS.X. Host.X. 1 2 3 4 5').slice(0, 20), '026e7301780004686f73');
    assert.ok(lowered('a. 1 IN RRSIG A 8 1 1 1 1 1 EXAMPLE. AQID').includes('076578616d706c6500'));
    assert.ok(lowered('a. 1 IN NAPTR 1 1 "S" "X" "" _SIP._UDP.X.').endsWith('045f736970045f75647001780' + '0'));
  });
  it('keeps case in NSEC next names (RFC 6840 §5.1), SVCB targets and unknown types', () => {
    assert.equal(lowered('a. 1 IN NSEC Next.Example. A'), '044e657874074578616d706c6500000140');
    assert.ok(lowered('a. 1 IN SVCB 1 Target.X.').includes('06546172676574'));
    assert.equal(lowered('a. 1 IN TYPE999 \\# 2 4142'), '4142');
  });
  it('never changes the record itself', () => {
    const rr = parseRR('a. 1 IN MX 1 MAIL.Example.');
    canonicalRData(rr);
    assert.ok(toHex(rr.rdata).includes(hexOf('MAIL')));
  });
});

describe('canonical RRset order (RFC 4034 §6.3)', () => {
  it('sorts by canonical RDATA octets, shorter prefix first, and removes duplicates', () => {
    const rrs = parseZoneText(`a. 1 IN TXT "ab"
a. 2 IN TXT "a"
a. 3 IN TXT "b"
a. 4 IN TXT "a"
a. 5 IN TXT "a" "b"`);
    assert.deepEqual(canonicalOrder(rrs).map((r) => r.ttl), [2, 5, 3, 1]);
  });
  it('names differing only in case are duplicates for lowercased types but not for NSEC', () => {
    const ns = parseZoneText('a. 1 IN NS NS1.X.\na. 1 IN NS ns1.x.\na. 1 IN NS ns0.x.');
    assert.deepEqual(canonicalOrder(ns).map((r) => r.name && toHex(r.rdata)), [toHex(ns[2]!.rdata), toHex(ns[0]!.rdata)]);
    const nsec = parseZoneText('a. 1 IN NSEC B.x. A\na. 1 IN NSEC b.x. A');
    assert.equal(canonicalOrder(nsec).length, 2);
  });
  it('compareBytes is unsigned octet order', () => {
    assert.ok(compareBytes(Uint8Array.of(0x7f), Uint8Array.of(0x80)) < 0);
    assert.ok(compareBytes(Uint8Array.of(1), Uint8Array.of(1, 0)) < 0);
    assert.equal(compareBytes(Uint8Array.of(1, 2), Uint8Array.of(1, 2)), 0);
  });
});

describe('canonical RR wire form and signedData', () => {
  it('lowercases the owner and substitutes the TTL', () => {
    const rr = parseRR('WWW.Example. 60 IN A 192.0.2.1');
    assert.equal(toHex(canonicalRRWire(rr, 3600)), '03777777076578616d706c6500' + '0001' + '0001' + '00000e10' + '0004' + 'c0000201');
  });

  const sigText = (labels: number, owner = 'a.z.w.example.') =>
    parseRR(`${owner} 3600 IN RRSIG MX 5 ${labels} 3600 20040509183619 20040409183619 38519 EXAMPLE. AQID`) as RR<RRSIGData>;

  it('RRSIG RDATA without signature has the signer lowercased', () => {
    const head = rrsigRDataWithoutSignature(sigText(4).data);
    assert.equal(toHex(head), '000f0504' + '00000e10' + '409e7a23' + '4076ed23' + '9677' + '076578616d706c6500');
  });

  it('wildcard: fewer RRSIG labels than owner labels make the owner "*." + the rightmost labels', () => {
    assert.equal(signedOwner(Name.fromText('a.z.w.example.'), 2).toText(), '*.w.example.');
    assert.equal(signedOwner(Name.fromText('*.w.example.'), 2).toText(), '*.w.example.');
    assert.equal(signedOwner(Name.fromText('x.'), 1).toText(), 'x.');
    const rrset = parseZoneText('a.z.w.Example. 300 IN MX 1 ai.example.\na.z.w.Example. 300 IN MX 1 AI.example.');
    const data = signedData(sigText(2), rrset);
    const head = rrsigRDataWithoutSignature(sigText(2).data);
    const rest = toHex(data.subarray(head.length));
    assert.equal(rest, '012a0177076578616d706c6500' + '000f0001' + '00000e10' + '000e' + '0001' + '02616907' + '6578616d706c6500');
  });

  it('refuses labels above the owner count, empty sets and mixed RRsets', () => {
    const rr = parseZoneText('a.z.w.example. 1 IN MX 1 x.');
    throwsWire(() => signedData(sigText(5), rr), 'bad-rdata');
    throwsWire(() => signedData(sigText(4), []), 'bad-rdata');
    throwsWire(() => signedData(sigText(4), parseZoneText('a.z.w.example. 1 IN A 192.0.2.1')), 'bad-rdata');
    throwsWire(() => signedData(sigText(4), [...rr, ...parseZoneText('b.z.w.example. 1 IN MX 1 x.')]), 'bad-rdata');
    assert.equal(signedData(sigText(4).data, rr).length, signedData(sigText(4), rr).length);
  });

  it('makeRrsig: the fields from the RRset and the parameters, the signature over exactly signedData', () => {
    const rrset = parseZoneText('*.w.Example. 300 IN MX 1 ai.example.\n*.w.Example. 300 IN MX 2 b.example.');
    let seen: Uint8Array | undefined;
    const sig = makeRrsig(rrset, { algorithm: 13, keyTag: 4711, signer: Name.fromText('example.'), inception: 1000, expiration: 2000 }, (d) => {
      seen = d;
      return Uint8Array.of(1, 2, 3);
    });
    assert.equal(sig.name.toText(), '*.w.Example.');
    assert.deepEqual({ ...sig.data, signer: sig.data.signer.toText(), signature: [...sig.data.signature] }, {
      typeCovered: 15, algorithm: 13, labels: 2, originalTtl: 300, expiration: 2000, inception: 1000, keyTag: 4711,
      signer: 'example.', signature: [1, 2, 3],
    });
    assert.deepEqual(seen, signedData(sig, rrset));
    assert.equal(makeRrsig(rrset, { algorithm: 13, keyTag: 1, signer: Name.fromText('example.'), inception: 0, expiration: 1, labels: 3 }, () => new Uint8Array(1)).data.labels, 3);
    throwsWire(() => makeRrsig([], { algorithm: 13, keyTag: 1, signer: Name.root, inception: 0, expiration: 1 }, () => new Uint8Array(1)), 'bad-rdata');
  });
});
