import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ManualClock } from '../../src/clock.js';
import { AnchorFileError, anchorsFromXml, mergeAnchors, readAnchorFile } from '../../src/anchors/load.js';
import { keyTag } from '../../src/wire/index.js';
import { loadVector } from '../support/vectors.js';

const ROOT_ZONE = fileURLToPath(new URL('../../../trust-anchors/root.zone', import.meta.url));
const VECTORS = loadVector('iana-root-anchors.json') as {
  anchors: { key_tag: number; digest_hex: string; root_anchors_xml_validFrom: string; dnskey: { public_key_b64: string; flags: number } }[];
  root_anchors_xml_metadata: Record<string, { key_tag?: number; validFrom: string; validUntil?: string; digest?: string }>;
};
const clock = new ManualClock(Date.parse('2026-11-28T00:00:00Z'));

function xml(withKeys: boolean): string {
  const old = VECTORS.root_anchors_xml_metadata['KSK-2010 (historical)']!;
  const digests = [
    `<KeyDigest id="Kjqmt7v" validFrom="${old.validFrom}" validUntil="${old.validUntil}"><KeyTag>${old.key_tag}</KeyTag><Algorithm>8</Algorithm><DigestType>2</DigestType><Digest>${old.digest}</Digest></KeyDigest>`,
    ...VECTORS.anchors.map((a) => `<KeyDigest id="k${a.key_tag}" validFrom="${a.root_anchors_xml_validFrom}">
      <KeyTag>${a.key_tag}</KeyTag><Algorithm>8</Algorithm><DigestType>2</DigestType><Digest>${a.digest_hex}</Digest>
      ${withKeys ? `<PublicKey>${a.dnskey.public_key_b64}</PublicKey><Flags>${a.dnskey.flags}</Flags>` : ''}
    </KeyDigest>`),
  ];
  return `<?xml version="1.0" encoding="UTF-8"?>\n<TrustAnchor id="test" source="test"><Zone>.</Zone>\n${digests.join('\n')}\n</TrustAnchor>\n`;
}

describe('trust anchor files', () => {
  it('the shipped root.zone holds KSK-2017 and KSK-2024 as DS and DNSKEY', () => {
    const [root, ...rest] = readAnchorFile(ROOT_ZONE, clock);
    assert.equal(rest.length, 0);
    assert.ok(root!.zone.isRoot());
    assert.deepEqual(root!.ds.map((d) => d.data.keyTag).sort(), [20326, 38696]);
    assert.deepEqual(root!.dnskeys.map((k) => keyTag(k.rdata)).sort(), [20326, 38696]);
    for (const d of root!.ds) {
      const v = VECTORS.anchors.find((a) => a.key_tag === d.data.keyTag)!;
      assert.equal(Buffer.from(d.data.digest).toString('hex').toUpperCase(), v.digest_hex);
    }
  });

  it("IANA's root-anchors.xml: DS from every valid KeyDigest, DNSKEYs when PublicKey is given", () => {
    const withKeys = anchorsFromXml(xml(true), clock)[0]!;
    assert.deepEqual(withKeys.ds.map((d) => d.data.keyTag).sort(), [20326, 38696], 'KSK-2010 is past validUntil');
    assert.deepEqual(withKeys.dnskeys.map((k) => keyTag(k.rdata)).sort(), [20326, 38696]);
    const dsOnly = anchorsFromXml(xml(false), clock)[0]!;
    assert.equal(dsOnly.dnskeys.length, 0);
    // Before KSK-2024's validFrom only KSK-2017 (and KSK-2010 before 2019) counted.
    const early = anchorsFromXml(xml(false), new ManualClock(Date.parse('2018-01-01T00:00:00Z')))[0]!;
    assert.deepEqual(early.ds.map((d) => d.data.keyTag).sort(), [19036, 20326]);
  });

  it('readAnchorFile recognises XML by content; merge joins anchors of one zone', () => {
    const dir = mkdtempSync(join(tmpdir(), 'stubd-anchor-'));
    const x = join(dir, 'root-anchors.xml');
    writeFileSync(x, xml(false));
    const merged = mergeAnchors([readAnchorFile(x, clock), readAnchorFile(ROOT_ZONE, clock)]);
    assert.equal(merged.length, 1);
    assert.equal(merged[0]!.ds.length, 4);
    assert.equal(merged[0]!.dnskeys.length, 2);
  });

  it('bad files are named with the reason', () => {
    const dir = mkdtempSync(join(tmpdir(), 'stubd-anchor-'));
    const cases: [string, string, RegExp][] = [
      ['a.zone', 'example. IN A 192.0.2.1\n', /only DS and DNSKEY/],
      ['b.zone', '; nothing\n', /no DS or DNSKEY/],
      ['c.zone', '. IN DS 20326 8 2 ZZZZ\n', /c\.zone: /],
      ['d.xml', '<?xml version="1.0"?><TrustAnchor><Zone>.</Zone><KeyDigest id="x"><KeyTag>1</KeyTag><Digest>AB</Digest></KeyDigest></TrustAnchor>', /KeyDigest x: bad or missing <Algorithm>/],
    ];
    for (const [name, text, re] of cases) {
      const p = join(dir, name);
      writeFileSync(p, text);
      assert.throws(() => readAnchorFile(p, clock), (e: unknown) => e instanceof AnchorFileError && e.message.startsWith(p) && re.test(e.message));
    }
    assert.throws(() => readAnchorFile(join(dir, 'missing'), clock), /cannot read/);
  });
});
