/**
 * The chain of trust's key cache is bounded by the heap its entries are charged, not only by their count (issue
 * 14, "every structure bounded"): a zone's DNSKEY RRset can be near 64 KiB, so 10,000 names of zones with many
 * large keys would hold far more than 10,000 typical ones.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../src/clock.js';
import { KeyCache, nodeCharge, type ChainNode } from '../../src/validator/keycache.js';
import { Name, RRType, makeRR, type DNSKEYData, type RR } from '../../src/wire/index.js';

const T0 = 1_800_000_000_000;

function zoneNode(zone: string, keys: number, keyOctets: number): ChainNode {
  const name = Name.fromText(zone);
  const rrs = Array.from({ length: keys }, (_, i): RR<DNSKEYData> => {
    const publicKey = new Uint8Array(keyOctets).fill(i + 1);
    return makeRR(name, RRType.DNSKEY, 3600, { flags: 256, protocol: 3, algorithm: 8, publicKey });
  });
  const trail = [{ step: 'keys' as const, zone, security: 'secure' as const, keyTags: [1], via: 'ds' as const }];
  return { kind: 'zone', name, keys: { security: 'secure', zone: name, keys: rrs, validUntil: T0 + 3_600_000, trail }, validUntil: T0 + 3_600_000 };
}

describe('KeyCache bounds', () => {
  it('charges a typical zone about 2-3 KiB, and a zone of many large keys what its keys take', () => {
    const typical = nodeCharge(zoneNode('example.org.', 2, 260));
    assert.ok(typical > 1500 && typical < 3500, `typical zone: ${typical}`);
    const heavy = nodeCharge(zoneNode('heavy.example.', 60, 1000));
    assert.ok(heavy > 60 * 2000, `60 keys of 1,000 octets: ${heavy}`);
    const inside: ChainNode = { kind: 'inside', name: Name.fromText('www.heavy.example.'), zone: (zoneNode('heavy.example.', 60, 1000) as Extract<ChainNode, { kind: 'zone' }>).keys, trail: [], validUntil: T0 + 1000 };
    assert.ok(nodeCharge(inside) < 1000, 'a name inside a zone shares the zone\'s keys: not charged again');
  });

  it('by bytes: zones of large keys are let go, least recently used first, to stay within the bound', () => {
    const clock = new ManualClock(T0);
    const maxBytes = 1024 * 1024;
    const c = new KeyCache(clock, 10_000, maxBytes);
    const per = nodeCharge(zoneNode('z0.example.', 20, 1000));
    for (let i = 0; i < 100; i++) c.set(zoneNode(`z${i}.example.`, 20, 1000));
    assert.ok(c.bytes <= maxBytes, `${c.bytes} charged, bound ${maxBytes}`);
    assert.equal(c.size, Math.floor(maxBytes / per), 'as many as fit');
    assert.ok(c.get(Name.fromText('z99.example.')), 'the latest kept');
    assert.equal(c.get(Name.fromText('z0.example.')), undefined, 'the oldest let go');
  });

  it('by count as before, for small entries', () => {
    const c = new KeyCache(new ManualClock(T0), 5);
    for (let i = 0; i < 20; i++) c.set(zoneNode(`s${i}.example.`, 1, 64));
    assert.equal(c.size, 5);
    assert.ok(c.bytes < 5 * 2000);
  });

  it('an entry larger than the whole bound is not kept', () => {
    const c = new KeyCache(new ManualClock(T0), 10, 50_000);
    c.set(zoneNode('small.example.', 1, 64));
    c.set(zoneNode('huge.example.', 60, 1000));
    assert.equal(c.get(Name.fromText('huge.example.')), undefined);
    assert.ok(c.get(Name.fromText('small.example.')), 'the others stay');
  });
});
