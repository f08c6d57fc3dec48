/**
 * The shipped root trust anchors (trust-anchors/root.zone): KSK-2017 (20326) and KSK-2024 (38696).
 * Each DNSKEY's key tag matches its DS, and SHA-256(owner wire || DNSKEY RDATA) equals the DS digest
 * (RFC 4034 §5.1.4), as published by IANA (shared/vectors/iana-root-anchors.json).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { algorithmSpec, dsDigest, parsePublicKey } from '../../src/crypto/index.js';
import {
  RRType, dsDigestInput, keyTag, parseZoneText, type DNSKEYData, type DSData, type RR,
} from '../../src/wire/index.js';
import { loadVector, toHex } from './helpers.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const zone = parseZoneText(readFileSync(join(ROOT, 'trust-anchors', 'root.zone'), 'utf8'), { defaultTtl: 0 });
const dnskeys = zone.filter((r) => r.type === RRType.DNSKEY) as RR<DNSKEYData>[];
const dss = zone.filter((r) => r.type === RRType.DS) as RR<DSData>[];
const iana = loadVector('iana-root-anchors.json');

describe('root trust anchors', () => {
  it('holds two DS and two DNSKEY records at the root', () => {
    assert.equal(dnskeys.length, 2);
    assert.equal(dss.length, 2);
    for (const rr of zone) assert.equal(rr.name.labelCount, 0);
    assert.deepEqual(dnskeys.map((k) => keyTag(k.rdata)), [20326, 38696]);
    assert.deepEqual(dss.map((d) => d.data.keyTag), [20326, 38696]);
  });

  for (const anchor of iana.anchors) {
    it(`${anchor.name} (${anchor.key_tag}): key tag, DS digest and key`, () => {
      const dnskey = dnskeys.find((k) => keyTag(k.rdata) === anchor.key_tag);
      const ds = dss.find((d) => d.data.keyTag === anchor.key_tag);
      assert.ok(dnskey && ds);
      assert.equal(toHex(dnskey.rdata), anchor.dnskey.rdata_hex);
      assert.equal(dnskey.data.flags, 257);
      assert.equal(dnskey.data.algorithm, 8);
      assert.equal(ds.data.algorithm, 8);
      assert.equal(ds.data.digestType, 2);
      const input = dsDigestInput(dnskey);
      assert.equal(input[0], 0, 'the root owner name is the single octet 0');
      const digest = dsDigest(ds.data.digestType, input);
      assert.equal(toHex(digest!), toHex(ds.data.digest));
      assert.equal(toHex(digest!).toUpperCase(), anchor.digest_hex);
      const parsed = parsePublicKey(algorithmSpec(8)!, dnskey.data.publicKey);
      assert.ok(parsed.ok && parsed.key.kind === 'rsa');
      assert.equal(parsed.key.bits, anchor.dnskey.modulus_bits);
      assert.equal(BigInt('0x' + toHex(parsed.key.exponent)), BigInt(anchor.dnskey.exponent));
    });
  }
});
