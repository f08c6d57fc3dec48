/** Names: decompression defenses, text escapes, canonical order and case handling. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Name, WireReader, WireWriter, parseMessage } from '../../src/wire/index.js';
import { fromHex, throwsWire, toHex } from './helpers.js';

const read = (hex: string, at = 0): Name => Name.read(new WireReader(fromHex(hex), at));

describe('name decompression defenses', () => {
  it('follows a valid backwards pointer and leaves the reader after it', () => {
    // "example." at 0, then "www" + pointer to 0 at offset 9.
    const r = new WireReader(fromHex('076578616d706c6500' + '03777777c000' + 'ff'), 9);
    assert.equal(Name.read(r).toText(), 'www.example.');
    assert.equal(r.off, 15);
  });

  it('refuses a pointer to itself', () => {
    throwsWire(() => read('c000'), 'pointer-loop');
  });

  it('refuses a forward pointer', () => {
    throwsWire(() => read('c002' + '0161' + '00'), 'forward-pointer');
  });

  it('refuses a pointer into the name being read (a loop through labels)', () => {
    // At 0: "a" then pointer to 0 -> would loop forever.
    throwsWire(() => read('0161c000'), ['pointer-loop', 'forward-pointer']);
    // Two names pointing at each other: name at 4 points to 0, the one at 0 points to 4.
    throwsWire(() => read('0162c004' + '0161c000', 4), ['pointer-loop', 'forward-pointer']);
  });

  it('refuses pointer chains that make no progress, however long', () => {
    // Every pointer points at the previous one: strictly backwards, but over 127 hops.
    const parts = ['00'];
    for (let i = 0; i < 300; i++) parts.push((0xc000 | (i === 0 ? 0 : 1 + (i - 1) * 2)).toString(16));
    const buf = fromHex(parts.join(''));
    throwsWire(() => Name.read(new WireReader(buf, buf.length - 2)), 'pointer-loop');
    // A short chain is fine.
    assert.ok(Name.read(new WireReader(buf, 5)).isRoot());
  });

  it('refuses names over 255 octets, also when built from pointers', () => {
    const label63 = '3f' + '61'.repeat(63);
    throwsWire(() => read(label63.repeat(4) + '00'), 'name-too-long'); // 4*64+1 = 257
    assert.equal(read(label63.repeat(3) + '3d' + '61'.repeat(61) + '00').wireLength, 255);
    // 3 labels of 63 at 0 (193 octets), then two more via a pointer: 64 + 193 > 255.
    const base = label63.repeat(3) + '00';
    throwsWire(() => read(base + label63 + 'c000', 193), 'name-too-long');
  });

  it('refuses label types 0x40 and 0x80', () => {
    throwsWire(() => read('4100'), 'bad-label-type');
    throwsWire(() => read('8100'), 'bad-label-type');
  });

  it('refuses truncation inside a label, a pointer, or before the root', () => {
    for (const h of ['', '03', '0377', '037777', '03777777', 'c0']) throwsWire(() => read(h), 'truncated');
  });

  it('every prefix of a valid packet throws WireError, never anything else', () => {
    const pkt = fromHex(
      'abcd81800001000100000000' + '076578616d706c6503636f6d0000010001' + 'c00c000100010000012c0004c0000201',
    );
    assert.equal(parseMessage(pkt).answer.length, 1);
    for (let n = 0; n < pkt.length; n++) throwsWire(() => parseMessage(pkt.subarray(0, n)));
  });
});

describe('name text form', () => {
  it('round-trips dots, backslashes, spaces, quotes and binary octets inside labels', () => {
    const labels = [Uint8Array.of(0x61, 0x2e, 0x62), Uint8Array.of(0x5c, 0x22, 0x20, 0x3b, 0x28, 0x29), Uint8Array.of(0, 1, 0xff, 0x40, 0x24)];
    const n = Name.fromLabels(labels);
    const text = n.toText();
    assert.equal(text, 'a\\.b.\\\\\\"\\032\\;\\(\\).\\000\\001\\255\\@\\$.');
    const back = Name.fromText(text);
    assert.deepEqual(back.labels.map(toHex), labels.map(toHex));
    assert.equal(back.labelCount, 3);
  });

  it('relative names, "@", and the root', () => {
    const origin = Name.fromText('example.com.');
    assert.equal(Name.fromText('www', origin).toText(), 'www.example.com.');
    assert.equal(Name.fromText('@', origin).toText(), 'example.com.');
    assert.equal(Name.fromText('www.', origin).toText(), 'www.');
    assert.ok(Name.fromText('.').isRoot());
  });

  it('refuses bad text names', () => {
    for (const t of ['a..b', '.a', 'a\\', 'a\\25', 'a\\256', 'x'.repeat(64), ('x'.repeat(63) + '.').repeat(4), 'caf\u00e9\u20ac']) {
      throwsWire(() => Name.fromText(t));
    }
  });
});

describe('name comparison and case', () => {
  it('equality ignores ASCII case only', () => {
    assert.ok(Name.fromText('WWW.Example.COM.').equals(Name.fromText('www.example.com.')));
    assert.ok(!Name.fromText('\\200.x.').equals(Name.fromText('\\224.x.')));
  });

  it('lower() and toWire(true) lowercase; the name itself keeps its case', () => {
    const n = Name.fromText('MiXed.Example.');
    assert.equal(n.lower().toText(), 'mixed.example.');
    assert.equal(toHex(n.toWire(true)), toHex(Name.fromText('mixed.example.').toWire()));
    assert.equal(n.toText(), 'MiXed.Example.');
  });

  it('wildcard, parent, suffix, subdomain', () => {
    const n = Name.fromText('*.a.example.');
    assert.ok(n.isWildcard());
    assert.equal(n.parent().toText(), 'a.example.');
    assert.equal(n.suffix(1).toText(), 'example.');
    assert.ok(n.isSubdomainOf(Name.fromText('EXAMPLE.')));
  });
});

describe('name compression on write', () => {
  it('reuses identical suffixes; a suffix differing in case is written out so case survives', () => {
    const w = new WireWriter();
    Name.fromText('example.com.').write(w, true);
    Name.fromText('www.example.com.').write(w, true);
    Name.fromText('WWW.EXAMPLE.com.').write(w, true);
    assert.equal(toHex(w.finish()), '076578616d706c6503636f6d00' + '03777777c000' + '03575757074558414d504c45c008');
  });
});
