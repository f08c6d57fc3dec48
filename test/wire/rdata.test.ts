/** Typed RDATA codecs: strictness of the wire layouts, text forms, generic RFC 3597 handling. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  Name, RRType, base32hex, fromBase32hex, parseRR, rdataCodec, rdataToText, rrFromRData, rrToText, sigTimeFromText,
  sigTimeToText, type NSECData, type RR, type SVCBData,
} from '../../src/wire/index.js';
import { corpusRecords } from '../../bench/corpus.js';
import { fromHex, roundTrip, rrFromWire, rrWire, throwsWire, toHex } from './helpers.js';

const owner = Name.fromText('x.example.');
const fromRData = (type: number, hex: string): RR => rrFromRData(owner, type, 1, 300, fromHex(hex));

describe('corpus of every type', () => {
  it('every record round-trips text -> wire -> text -> wire', () => {
    const rrs = corpusRecords();
    assert.ok(rrs.length > 40);
    for (const rr of rrs) roundTrip(rr);
  });

  it('decoding the RDATA again gives the same typed view (encode/decode are inverse)', () => {
    for (const rr of corpusRecords()) {
      const again = rrFromRData(rr.name, rr.type, rr.class, rr.ttl, rr.rdata);
      assert.equal(rdataToText(again), rdataToText(rr));
    }
  });
});

describe('type bit maps (RFC 4034 §4.1.2)', () => {
  const next = '0161' + '00'; // "a."
  it('accepts a valid map, including an empty one', () => {
    assert.deepEqual((fromRData(RRType.NSEC, next + '000140').data as NSECData).types, [1]);
    assert.deepEqual((fromRData(RRType.NSEC, next).data as NSECData).types, []);
  });
  it('refuses windows out of order or repeated', () => {
    throwsWire(() => fromRData(RRType.NSEC, next + '010140' + '000140'), 'bad-rdata');
    throwsWire(() => fromRData(RRType.NSEC, next + '000140' + '000120'), 'bad-rdata');
  });
  it('refuses bitmap lengths 0 and 33, and maps overrunning the RDATA', () => {
    throwsWire(() => fromRData(RRType.NSEC, next + '0000'), 'bad-rdata');
    throwsWire(() => fromRData(RRType.NSEC, next + '0021' + '00'.repeat(33)), 'bad-rdata');
    throwsWire(() => fromRData(RRType.NSEC, next + '0002' + '40'), 'bad-rdata');
    throwsWire(() => fromRData(RRType.NSEC, next + '00'), 'bad-rdata');
  });
  it('accepts trailing zero octets and keeps the RDATA byte-exact', () => {
    const rr = fromRData(RRType.NSEC, next + '00034000' + '00');
    assert.deepEqual((rr.data as NSECData).types, [1]);
    assert.equal(toHex(rrFromWire(rrWire(rr)).rdata), next + '0003400000');
    // The typed text cannot say "with a trailing zero": the generic form keeps the octets.
    assert.equal(rdataToText(rr), '\\# 8 0161000003400000');
    roundTrip(rr);
  });
  it('NSEC3 uses the same rules', () => {
    const head = '01000000' + '00' + '01ff';
    throwsWire(() => fromRData(RRType.NSEC3, head + '010140' + '000140'), 'bad-rdata');
    assert.equal(rdataToText(fromRData(RRType.NSEC3, head + '000160' + '0101' + '80')), '1 0 0 - vs A NS URI');
  });
});

describe('NSEC3 and NSEC3PARAM', () => {
  it('refuses an empty next hashed owner, and a salt or hash overrunning the RDATA', () => {
    throwsWire(() => fromRData(RRType.NSEC3, '0100000000' + '00'), 'bad-rdata');
    throwsWire(() => fromRData(RRType.NSEC3, '0100000005aabb'), 'bad-rdata');
    throwsWire(() => fromRData(RRType.NSEC3, '010000000014aabb'), 'bad-rdata');
    throwsWire(() => fromRData(RRType.NSEC3PARAM, '01000000'), 'bad-rdata');
    throwsWire(() => fromRData(RRType.NSEC3PARAM, '0100000000ff'), 'rdata-length');
  });
  it('salt "-" is empty; next hash is base32hex without padding', () => {
    const rr = parseRR('h.example. 1 IN NSEC3 1 0 0 - 0p9mhaveqvm6t7vbl5lop2u3t2rp3tom');
    assert.equal(toHex(rr.rdata).slice(0, 12), '010000000014');
    throwsWire(() => parseRR('h.example. 1 IN NSEC3 1 0 0 - 0p9mhaveqvm6t7vbl5lop2u3t2rp3t'), 'bad-text');
    throwsWire(() => parseRR('h.example. 1 IN NSEC3PARAM 1 0 0 xyz'), 'bad-text');
  });
});

describe('base32hex (RFC 4648 §10 vectors, lowercase, unpadded)', () => {
  const vectors: [string, string][] = [['', ''], ['f', 'co'], ['fo', 'cpng'], ['foo', 'cpnmu'], ['foob', 'cpnmuog'], ['fooba', 'cpnmuoj1'], ['foobar', 'cpnmuoj1e8']];
  it('encodes and decodes', () => {
    for (const [plain, enc] of vectors) {
      assert.equal(base32hex(Buffer.from(plain)), enc);
      assert.equal(Buffer.from(fromBase32hex(enc.toUpperCase(), 't')).toString(), plain);
    }
  });
  it('refuses impossible lengths, foreign letters and non-zero padding bits', () => {
    for (const bad of ['c', 'cpn', 'cpnmuo', 'w0', 'cp']) throwsWire(() => fromBase32hex(bad, 't'), 'bad-text');
  });
});

describe('RRSIG times (RFC 4034 §3.2)', () => {
  it('YYYYMMDDHHmmSS and plain integers', () => {
    assert.equal(sigTimeFromText('20030322173103', 't'), 1048354263);
    assert.equal(sigTimeFromText('1048354263', 't'), 1048354263);
    assert.equal(sigTimeToText(1048354263), '20030322173103');
    assert.equal(sigTimeToText(0), '19700101000000');
    assert.equal(sigTimeToText(0xffffffff), '21060207062815');
    assert.equal(sigTimeFromText('21060207062816', 't'), 0); // wraps modulo 2^32
  });
  it('refuses impossible dates and out-of-range integers', () => {
    for (const bad of ['20030230000000', '20031301000000', '20030101240000', '19691231235959', '4294967296', '2003-01-01', '']) {
      throwsWire(() => sigTimeFromText(bad, 't'), 'bad-text');
    }
  });
  it('RRSIG text accepts algorithm mnemonics and multi-token signatures', () => {
    const rr = parseRR('a.example. 60 IN RRSIG A RSASHA256 2 60 20300101000000 20200101000000 1 example. AQID BAUG');
    assert.equal(rdataToText(rr), 'A 8 2 60 20300101000000 20200101000000 1 example. AQIDBAUG');
  });
  it('refuses an RRSIG shorter than its fixed part', () => {
    throwsWire(() => fromRData(RRType.RRSIG, '0001080200000e10'), 'bad-rdata');
  });
});

describe('generic RDATA (RFC 3597)', () => {
  it('unknown types and classes use TYPEnnn / CLASSnnn and \\# text', () => {
    const rr = parseRR('x.example. 5 CLASS32 TYPE731 \\# 3 abcdef');
    assert.equal(rrToText(rr), 'x.example.\t5\tCLASS32\tTYPE731\t\\# 3 ABCDEF');
    assert.equal(rrToText(parseRR('x.example. 5 IN TYPE731 \\# 0')), 'x.example.\t5\tIN\tTYPE731\t\\# 0');
    roundTrip(rr);
  });
  it('\\# for a known type is decoded and validated', () => {
    assert.equal(rdataToText(parseRR('x. 5 IN TYPE1 \\# 4 c0000201')), '192.0.2.1');
    assert.equal(rdataToText(parseRR('x. 5 IN MX \\# 7 000a 0161 0162 00')), '10 a.b.');
    throwsWire(() => parseRR('x. 5 IN A \\# 3 c00002'), 'bad-rdata');
    throwsWire(() => parseRR('x. 5 IN A \\# 4 c00002'), 'bad-text');
    throwsWire(() => parseRR('x. 5 IN MX \\# 5 000a c000 00'), ['bad-rdata', 'rdata-length']);
  });
  it('a known type without a parser, or an unknown mnemonic, is refused', () => {
    throwsWire(() => parseRR('x. 5 IN LOC 52 22 23.000 N 4 53 32.000 E -2.00m'), 'bad-text');
    throwsWire(() => parseRR('x. 5 IN BOGUSTYPE 1'), 'bad-text');
  });
});

describe('SVCB / HTTPS (RFC 9460)', () => {
  it('typed keys in text, sorted on the wire', () => {
    const rr = parseRR('_dns.example. 60 IN SVCB 1 dns.example. port=853 alpn="dot,doq" mandatory=port,alpn ipv6hint=::1');
    const d = rr.data as SVCBData;
    assert.deepEqual(d.params.map((p) => p.key), [0, 1, 3, 6]);
    assert.equal(rdataToText(rr), '1 dns.example. mandatory=alpn,port alpn=dot,doq port=853 ipv6hint=::1');
    roundTrip(rr);
  });
  it('escaped commas in alpn (value-list, RFC 9460 Appendix A.1) fall back to the generic form', () => {
    const rr = parseRR('x. 60 IN HTTPS 1 . alpn="f\\\\\\\\oo\\\\,bar,h2"');
    const v = (rr.data as SVCBData).params[0]!.value;
    assert.equal(Buffer.from(v).toString('latin1'), '\x08f\\oo,bar\x02h2');
    assert.equal(rdataToText(rr), '1 . key1="\\008f\\\\oo,bar\\002h2"');
    roundTrip(rr);
  });
  it('refuses keys out of order or repeated on the wire, and truncated params', () => {
    throwsWire(() => fromRData(RRType.SVCB, '0001' + '00' + '00030002' + '01bb' + '00010003' + '026832'), 'bad-rdata');
    throwsWire(() => fromRData(RRType.SVCB, '0001' + '00' + '00030002' + '01bb' + '00030002' + '01bb'), 'bad-rdata');
    throwsWire(() => fromRData(RRType.SVCB, '0001' + '00' + '00030002' + '01'), 'bad-rdata');
  });
  it('malformed values of known keys are kept raw and printed generically', () => {
    const rr = fromRData(RRType.HTTPS, '0001' + '00' + '00030001' + '01');
    assert.equal(rdataToText(rr), '1 . key3="\\001"');
    roundTrip(rr);
  });
  it('refuses repeated keys and values for no-default-alpn in text', () => {
    throwsWire(() => parseRR('x. 60 IN HTTPS 1 . port=1 port=2'), 'bad-text');
    throwsWire(() => parseRR('x. 60 IN HTTPS 1 . no-default-alpn=1'), 'bad-text');
    throwsWire(() => parseRR('x. 60 IN HTTPS 1 . alpn'), 'bad-text');
    throwsWire(() => parseRR('x. 60 IN HTTPS 1 . bogus=1'), 'bad-text');
  });
});

describe('other types', () => {
  it('CAA: tag must be letters and digits; the value is kept as octets', () => {
    throwsWire(() => fromRData(RRType.CAA, '0000'), 'bad-rdata');
    throwsWire(() => fromRData(RRType.CAA, '00026121'), 'bad-rdata');
    const rr = parseRR('x. 60 IN CAA 0 iodef "mailto:a@b.example"');
    assert.equal(toHex(rr.rdata), '0005696f646566' + Buffer.from('mailto:a@b.example').toString('hex'));
  });
  it('TLSA/DS/DNSKEY hex and base64 fields may be split by blanks', () => {
    const rr = parseRR('x. 60 IN TLSA 3 1 1 ( ab cd\n ef )');
    assert.equal(toHex(rr.rdata), '030101abcdef');
    throwsWire(() => parseRR('x. 60 IN TLSA 3 1 1 abc'), 'bad-text');
    throwsWire(() => fromRData(RRType.TLSA, '0301'), 'bad-rdata');
    throwsWire(() => fromRData(RRType.DS, '000105'), 'bad-rdata');
    throwsWire(() => fromRData(RRType.DNSKEY, '010003'), 'bad-rdata');
  });
  it('AAAA: RFC 5952 text, IPv4-mapped kept dotted; scope ids refused', () => {
    assert.equal(rdataToText(parseRR('x. 1 IN AAAA 2001:DB8:0:0:1:0:0:1')), '2001:db8::1:0:0:1');
    assert.equal(rdataToText(parseRR('x. 1 IN AAAA ::ffff:10.0.0.1')), '::ffff:10.0.0.1');
    throwsWire(() => parseRR('x. 1 IN AAAA fe80::1%eth0'), 'bad-text');
  });
  it('TXT: escapes, empty strings, 255-octet limit', () => {
    assert.equal(rdataToText(parseRR('x. 1 IN TXT "a\\"b" c\\032d ""')), '"a\\"b" "c d" ""');
    throwsWire(() => parseRR(`x. 1 IN TXT ${'a'.repeat(256)}`), 'bad-text');
    throwsWire(() => fromRData(RRType.TXT, ''), 'bad-rdata');
  });
});

describe('name handling inside RDATA', () => {
  it('compressible only for the RFC 1035 types; lowercased in canonical form only for the listed types', () => {
    const expect: Record<string, [boolean, boolean]> = {
      NS: [true, true], CNAME: [true, true], PTR: [true, true], SOA: [true, true], MX: [true, true], DNAME: [false, true],
      SRV: [false, true], RRSIG: [false, true], NSEC: [false, false], RP: [false, true], AFSDB: [false, true],
      KX: [false, true], NAPTR: [false, true], SVCB: [false, false], HTTPS: [false, false],
    };
    for (const [t, [comp, lower]] of Object.entries(expect)) {
      const c = rdataCodec(RRType[t as keyof typeof RRType])!;
      assert.equal(c.compressible, comp, `${t} compressible`);
      assert.equal(c.canonicalLowercase, lower, `${t} lowercase`);
      assert.ok(c.hasNames);
    }
    for (const t of ['NSEC3', 'DS', 'DNSKEY', 'TLSA', 'CAA', 'TXT'] as const) assert.equal(rdataCodec(RRType[t])!.hasNames, false);
  });
  it('standalone RDATA with a compression pointer is refused', () => {
    throwsWire(() => fromRData(RRType.NS, '0161c000'), ['forward-pointer', 'pointer-loop', 'bad-rdata']);
    throwsWire(() => fromRData(RRType.RP, '016100' + 'c000'), 'bad-rdata');
  });
});
