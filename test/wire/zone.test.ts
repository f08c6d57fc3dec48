/** Presentation format: tokenizer and master-file parsing (RFC 1035 §5.1, RFC 2308 $TTL). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  Name, RRClass, RRType, WireError, parseRR, parseZoneText, rdataToText, rrToText, tokenize, ttlFromText,
} from '../../src/wire/index.js';
import { throwsWire } from './helpers.js';

describe('tokenizer', () => {
  it('comments, parentheses across lines, blank-start entries', () => {
    const e = tokenize('a 1 IN TXT ( "x ; y" ; comment\n  "(z)" ) ; end\n  b\n\n; only a comment\nc');
    assert.deepEqual(e.map((x) => x.tokens.map((t) => t.text)), [['a', '1', 'IN', 'TXT', 'x ; y', '(z)'], ['b'], ['c']]);
    assert.deepEqual(e.map((x) => [x.line, x.blankStart]), [[1, false], [3, true], [6, false]]);
  });
  it('keeps escapes for the RDATA parser and marks quoted tokens', () => {
    const [e] = tokenize('a\\ b "q\\"x" \\( "" k="v w"');
    assert.deepEqual(e!.tokens, [
      { text: 'a\\ b', quoted: false }, { text: 'q\\"x', quoted: true }, { text: '\\(', quoted: false },
      { text: '', quoted: true }, { text: 'k=v w', quoted: true },
    ]);
  });
  it('a quote inside a token (not after "=") is an ordinary character', () => {
    assert.deepEqual(tokenize('sp"q x')[0]!.tokens.map((t) => t.text), ['sp"q', 'x']);
  });
  it('parentheses glued to tokens', () => {
    assert.deepEqual(tokenize('x DNSKEY (256 3 8 AAAA);{id = 1}')[0]!.tokens.map((t) => t.text), ['x', 'DNSKEY', '256', '3', '8', 'AAAA']);
  });
  it('refuses nested or unbalanced parentheses and unterminated quotes, naming the line', () => {
    for (const bad of ['a ( ( b ) )', 'a )', 'a (\nb', 'a "b', 'a "b\nc"', 'a \\']) {
      const e = throwsWire(() => tokenize(bad), 'bad-text');
      assert.match(e.message, /^line \d+:/);
    }
  });
  it('"ANY" is the class when a type follows it, else the type', () => {
    const rr = parseRR('a. 1 ANY NS b.');
    assert.deepEqual([rr.class, rr.type], [RRClass.ANY, RRType.NS]);
    assert.equal(rrToText(rr), 'a.\t1\tANY\tNS\tb.');
    const q = parseRR('a. 1 IN ANY \\# 0');
    assert.deepEqual([q.class, q.type], [RRClass.IN, RRType.ANY]);
  });
  it('CRLF line ends', () => {
    assert.equal(tokenize('a 1 A 1.2.3.4\r\nb 1 A 1.2.3.5\r\n').length, 2);
  });
});

describe('TTLs', () => {
  it('seconds and BIND-style units', () => {
    assert.equal(ttlFromText('3600'), 3600);
    assert.equal(ttlFromText('1h30m'), 5400);
    assert.equal(ttlFromText('1W2d3H4m5S'), 604800 + 2 * 86400 + 3 * 3600 + 245);
    assert.equal(ttlFromText('4294967295'), 0xffffffff);
    for (const bad of ['4294967296', '1x', 'h', '1h 2m', '-1']) throwsWire(() => ttlFromText(bad), 'bad-text');
  });
});

describe('master files', () => {
  const zone = `$ORIGIN example.
$TTL 1h
@        IN  SOA ns1 hostmaster ( 1 2 3 4 5 )
         NS  ns1            ; owner, TTL, class omitted
         600 MX 10 mail     ; TTL only
mail     IN 700 A 192.0.2.1 ; class before TTL
         A   192.0.2.2
sub      CH  TXT "ch"
         TXT "still CH"
$ORIGIN sub.example.
www      300 A 192.0.2.3
@        A   192.0.2.4
abs.other. A 192.0.2.5
$TTL 60
x        A   192.0.2.6
`;
  const rrs = parseZoneText(zone);

  it('fills in owners, TTLs, classes and origins as RFC 1035 §5.1 says', () => {
    const got = rrs.map((r) => `${r.name.toText()} ${r.ttl} ${r.class} ${r.type}`);
    assert.deepEqual(got, [
      'example. 3600 1 6', 'example. 3600 1 2', 'example. 600 1 15', 'mail.example. 700 1 1', 'mail.example. 3600 1 1',
      'sub.example. 3600 3 16', 'sub.example. 3600 3 16', 'www.sub.example. 300 3 1', 'sub.example. 3600 3 1',
      'abs.other. 3600 3 1', 'x.sub.example. 60 3 1',
    ]);
    assert.equal(rdataToText(rrs[0]!), 'ns1.example. hostmaster.example. 1 2 3 4 5');
    assert.equal(rdataToText(rrs[2]!), '10 mail.example.');
  });

  it('without $TTL an omitted TTL is the last explicit one; with neither, an error', () => {
    const r = parseZoneText('a. 5 IN A 192.0.2.1\n   A 192.0.2.2');
    assert.deepEqual(r.map((x) => x.ttl), [5, 5]);
    throwsWire(() => parseZoneText('a. IN A 192.0.2.1'), 'bad-text');
    assert.equal(parseZoneText('a. IN A 192.0.2.1', { defaultTtl: 9 })[0]!.ttl, 9);
  });

  it('origin option, "@" and relative names', () => {
    const r = parseZoneText('@ 1 NS ns\nns 1 A 192.0.2.1', { origin: 'zone.test.' });
    assert.equal(rrToText(r[0]!), 'zone.test.\t1\tIN\tNS\tns.zone.test.');
    assert.equal(r[1]!.name.toText(), 'ns.zone.test.');
    assert.equal(parseZoneText('"@" 1 A 192.0.2.1', { origin: Name.fromText('z.') })[0]!.name.toText(), '\\@.z.');
  });

  it('errors name the line; unsupported directives and a first record without owner are refused', () => {
    const e = throwsWire(() => parseZoneText('a. 1 A 192.0.2.1\n\nb. 1 A 300.1.1.1'), 'bad-text');
    assert.match(e.message, /^line 3: /);
    throwsWire(() => parseZoneText('$INCLUDE other.zone'), 'bad-text');
    throwsWire(() => parseZoneText('$GENERATE 1-2 a$ A 1.2.3.4'), 'bad-text');
    throwsWire(() => parseZoneText('  1 IN A 192.0.2.1'), 'bad-text');
    throwsWire(() => parseZoneText('a. 1 IN'), 'bad-text');
    assert.match(throwsWire(() => parseZoneText('a. 1 A 1.2.3.4\nb. 1 A ' + 'x'.repeat(64) + '.'), 'bad-text').message, /^line 2/);
  });

  it('label too long keeps its error code through the line prefix', () => {
    const e = throwsWire(() => parseZoneText(`${'x'.repeat(64)}. 1 A 192.0.2.1`));
    assert.equal(e.code, 'label-too-long');
    assert.ok(e instanceof WireError);
  });
});

describe('parseRR', () => {
  it('parses one record, with or without leading blanks, TTL defaulting to 0', () => {
    const rr = parseRR('  . IN DS 20326 8 2 E06D44B80B8F1D39A95C0B0D7C65D08458E880409BBC683457104237C7F8EC8D');
    assert.ok(rr.name.isRoot());
    assert.equal(rr.ttl, 0);
    assert.equal(rr.type, RRType.DS);
    assert.equal(rr.class, RRClass.IN);
    assert.equal(parseRR('a 5 IN A 192.0.2.1', { origin: 'b.' }).name.toText(), 'a.b.');
  });
  it('refuses several records or a directive', () => {
    throwsWire(() => parseRR('a. 1 A 192.0.2.1\nb. 1 A 192.0.2.2'), 'bad-text');
    throwsWire(() => parseRR('$TTL 5'), 'bad-text');
    throwsWire(() => parseRR(''), 'bad-text');
  });
  it('owner names with escapes round-trip through rrToText', () => {
    const rr = parseRR('a\\.b.\\000\\255\\ \\"\\;\\(.example. 1 IN A 192.0.2.1');
    assert.equal(rr.name.labels[0]!.length, 3);
    assert.equal(rr.name.labels[1]!.length, 6);
    const text = rrToText(rr);
    assert.ok(parseRR(text).name.equals(rr.name));
    assert.equal(parseRR(text).name.toText(), rr.name.toText());
  });
});
