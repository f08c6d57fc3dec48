/**
 * DS digests (RFC 4034 §5.4 SHA-1, RFC 4509 SHA-256, RFC 6605 SHA-256 and SHA-384, RFC 8080) and
 * NSEC3 hashes (RFC 5155 Appendix A and the hashes quoted in Appendix B), plus the JS hash fallback.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { describeHashes, dsDigest, dsDigestSupported, nsec3Hash } from '../../src/crypto/index.js';
import { jsDigest, opensslDigest } from '../../src/crypto/hash.js';
import { Name, base32hex, dsDigestInput, keyTag, parseRR, type DNSKEYData, type DSData, type RR } from '../../src/wire/index.js';
import { fromHex, loadVector, prng, toHex } from './helpers.js';

function checkDs(dnskeyText: string, dsText: string): void {
  const dnskey = parseRR(dnskeyText) as RR<DNSKEYData>;
  const ds = parseRR(dsText) as RR<DSData>;
  assert.equal(keyTag(dnskey.rdata), ds.data.keyTag);
  const d = dsDigest(ds.data.digestType, dsDigestInput(dnskey));
  assert.ok(d, `digest type ${ds.data.digestType} supported`);
  assert.equal(toHex(d), toHex(ds.data.digest));
}

describe('DS digests', () => {
  it('RFC 4034 §5.4: SHA-1', () => {
    const v = loadVector('rfc4034.json').vectors.find((x: { id: string }) => x.id === 'ds_example_sha1');
    const [dnskey, ds] = v.text.split(/\n\s*\n/);
    checkDs(dnskey, ds);
  });
  it('RFC 4509 §2.3: SHA-256 (and the SHA-1 digest of the same key)', () => {
    const v = loadVector('rfc4509.json').vectors[0];
    checkDs(v.dnskey_text, v.ds_text);
    const dnskey = parseRR(v.dnskey_text) as RR<DNSKEYData>;
    assert.equal(toHex(dsDigest(1, dsDigestInput(dnskey))!), v.computed.sha1_digest_for_same_key.toLowerCase());
  });
  it('RFC 6605 §6.1, §6.2: SHA-256 and SHA-384', () => {
    const vs = loadVector('rfc6605.json').vectors;
    assert.deepEqual(vs.map((v: { ds: { digest_type: number } }) => v.ds.digest_type), [2, 4]);
    for (const v of vs) checkDs(v.dnskey_text, v.ds_text);
  });
  it('RFC 8080 §6: SHA-256 of the Ed25519 and Ed448 keys', () => {
    for (const v of loadVector('rfc8080.json').vectors) checkDs(v.dnskey_text, v.ds_text);
  });
  it('digest types 0, 3 (GOST) and unknown ones are unsupported', () => {
    for (const t of [0, 3, 5, 255]) {
      assert.equal(dsDigest(t, new Uint8Array(4)), undefined);
      assert.equal(dsDigestSupported(t), false);
    }
    for (const t of [1, 2, 4]) assert.equal(dsDigestSupported(t), true);
  });
});

describe('NSEC3 hash (RFC 5155 §5)', () => {
  const v = loadVector('rfc5155.json');
  const salt = fromHex(v.nsec3_parameters.salt_hex);
  const hashOf = (name: string): string => base32hex(nsec3Hash(Name.fromText(name).toWire(true), salt, v.nsec3_parameters.iterations)!);

  it('reproduces the 12 hashed owner names of Appendix A (salt aabbccdd, 12 iterations)', () => {
    assert.equal(v.hash_table.entries.length, 12);
    for (const e of v.hash_table.entries) assert.equal(hashOf(e.name), e.hash, e.name);
  });
  it('reproduces the hashes quoted in the Appendix B responses', () => {
    let n = 0;
    for (const item of v.responses.items) {
      for (const h of item.nsec3_hashes_in_comments ?? []) {
        assert.equal(hashOf(h.name), h.hash, h.name);
        n++;
      }
    }
    assert.ok(n > 0);
  });
  it('every NSEC3 owner in the zone is the hash of a name in the table', () => {
    const table = new Set(v.hash_table.entries.map((e: { hash: string }) => e.hash));
    for (const link of v.zone.nsec3_chain_sorted) assert.ok(table.has(link.owner_hash), link.owner_hash);
  });
  it('follows the definition: 0 iterations is H(owner || salt), k is H(IH(k-1) || salt), empty salt', () => {
    const owner = Name.fromText('Example.').toWire(true);
    const h = (b: Uint8Array): Buffer => createHash('sha1').update(b).digest();
    let x = h(Buffer.concat([owner, salt]));
    assert.equal(toHex(nsec3Hash(owner, salt, 0)!), x.toString('hex'));
    for (let k = 1; k <= 3; k++) x = h(Buffer.concat([x, salt]));
    assert.equal(toHex(nsec3Hash(owner, salt, 3)!), x.toString('hex'));
    assert.equal(toHex(nsec3Hash(owner, new Uint8Array(0), 0)!), h(owner).toString('hex'));
  });
  it('is undefined for unknown hash algorithms and impossible iteration counts', () => {
    const owner = Name.fromText('example.').toWire(true);
    assert.equal(nsec3Hash(owner, salt, 12, 0), undefined);
    assert.equal(nsec3Hash(owner, salt, 12, 2), undefined);
    assert.equal(nsec3Hash(owner, salt, -1), undefined);
    assert.equal(nsec3Hash(owner, salt, 65536), undefined);
    assert.equal(nsec3Hash(owner, salt, 1.5), undefined);
    assert.equal(nsec3Hash(owner, salt, 65535)!.length, 20);
  });
});

describe('hash engines', () => {
  it('the JS digests equal the OpenSSL ones on random inputs', () => {
    const rnd = prng(42);
    for (let i = 0; i < 50; i++) {
      const data = rnd.bytes(rnd.int(300));
      for (const h of ['sha1', 'sha256', 'sha384', 'sha512'] as const) assert.equal(toHex(jsDigest(h, data)), toHex(opensslDigest(h, data)));
    }
  });
  it('reports which engine each hash uses', () => {
    const d = describeHashes();
    assert.deepEqual(Object.keys(d).sort(), ['sha1', 'sha256', 'sha384', 'sha512']);
    for (const e of Object.values(d)) assert.ok(e === 'openssl' || e === 'js');
  });
});
