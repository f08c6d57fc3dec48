/**
 * Trust anchor files as a new user writes them (issue 14): a DS whose digest cannot be of its type is refused
 * when the file is read, naming the file and line; the trail of the shipped anchors names each key once.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ManualClock } from '../../src/clock.js';
import { AnchorFileError, anchorsFromZoneText, readAnchorFile } from '../../src/anchors/load.js';
import { loadConfig } from '../../src/config/load.js';
import { addressCheckers } from '../../src/config/fields.js';
import { ConfigError } from '../../src/config/schema.js';
import { loadTrustAnchors } from '../../src/daemon/index.js';
import { validateKeysWithAnchor } from '../../src/validator/dnskey.js';
import { Name, RRType, makeRR, type DNSKEYData } from '../../src/wire/index.js';
import { makeCtx } from '../validator/prim-helpers.js';

const ROOT_ZONE = fileURLToPath(new URL('../../../trust-anchors/root.zone', import.meta.url));
const clock = new ManualClock(Date.parse('2026-11-28T00:00:00Z'));
const KSK2024_DS = '. IN DS 38696 8 2 683D2D0ACB8C9B712A1948B27F741219298D0A450D612C483AF444A4C0FB2B16';

describe('trust anchor digests', () => {
  it('the shipped root.zone passes', () => {
    assert.equal(readAnchorFile(ROOT_ZONE, clock)[0]!.ds.length, 2);
  });

  it('a DS with a 3-byte SHA-256 digest is refused, naming the file and line', () => {
    const text = `; my anchors\n${KSK2024_DS}\n. IN DS 20326 8 2 E06D44\n`;
    assert.throws(() => anchorsFromZoneText(text, '/etc/anchors.zone'), (e: unknown) => {
      assert.ok(e instanceof AnchorFileError);
      assert.equal(e.file, '/etc/anchors.zone:3');
      assert.match(e.message, /^\/etc\/anchors\.zone:3: DS 20326 8 2 has a 3-byte digest; digest type 2 \(SHA-256\) digests are 32 bytes \(64 hex digits\)/);
      return true;
    });
  });

  it('every known digest type has its length checked; unknown types are left to the validator', () => {
    const hex = (bytes: number): string => 'AB'.repeat(bytes);
    for (const [type, bytes] of [[1, 20], [2, 32], [4, 48]] as const) {
      assert.equal(anchorsFromZoneText(`. DS 1 8 ${type} ${hex(bytes)}`)[0]!.ds.length, 1, `type ${type}`);
      assert.throws(() => anchorsFromZoneText(`. DS 1 8 ${type} ${hex(bytes - 1)}`), new RegExp(`digests are ${bytes} bytes`));
      assert.throws(() => anchorsFromZoneText(`. DS 1 8 ${type} ${hex(bytes + 1)}`), new RegExp(`digests are ${bytes} bytes`));
    }
    assert.equal(anchorsFromZoneText(`. DS 1 8 200 ${hex(5)}`)[0]!.ds.length, 1);
  });

  it('in root-anchors.xml too, naming the KeyDigest and its line', () => {
    const xml = `<?xml version="1.0" encoding="UTF-8"?>\n<TrustAnchor id="x" source="x">\n<Zone>.</Zone>\n` +
      `<KeyDigest id="Klajeyz" validFrom="2017-02-02T00:00:00+00:00">\n<KeyTag>20326</KeyTag><Algorithm>8</Algorithm>` +
      `<DigestType>2</DigestType><Digest>E06D44B8</Digest></KeyDigest>\n</TrustAnchor>\n`;
    const f = join(mkdtempSync(join(tmpdir(), 'stubd-anchor-')), 'root-anchors.xml');
    writeFileSync(f, xml);
    assert.throws(() => readAnchorFile(f, clock), (e: unknown) => e instanceof AnchorFileError && e.message.startsWith(`${f}:4: KeyDigest Klajeyz: DS 20326 8 2 has a 4-byte digest`));
  });

  it('the daemon refuses to start with it: a configuration error naming trustAnchors, the file and the line', () => {
    const f = join(mkdtempSync(join(tmpdir(), 'stubd-anchor-')), 'anchors.zone');
    writeFileSync(f, `${KSK2024_DS.slice(0, -10)}\n`);
    const cfg = loadConfig({ trustAnchor: [f] }, addressCheckers);
    assert.throws(() => loadTrustAnchors(cfg, clock), (e: unknown) =>
      e instanceof ConfigError && e.field === 'trustAnchors' && e.message.includes(`${f}:1: DS 38696 8 2 has a 27-byte digest`));
  });
});

describe('the trail of the shipped anchors', () => {
  it('names each anchored key once although it is anchored by its DS and its DNSKEY', () => {
    const [root] = readAnchorFile(ROOT_ZONE, clock);
    // A DNSKEY RRset of the root without any anchored key and without signatures: bogus, the anchor step first.
    assert.equal(root!.ds.length + root!.dnskeys.length, 4, 'each key anchored twice (DS and DNSKEY)');
    const other = root!.dnskeys[0]!;
    const fake = makeRR<DNSKEYData>(Name.root, RRType.DNSKEY, 3600, { ...other.data, publicKey: other.data.publicKey.slice(1) });
    const z = validateKeysWithAnchor(root!, { name: Name.root, type: RRType.DNSKEY, class: 1, rrs: [fake], sigs: [] }, makeCtx(clock.now()));
    assert.equal(z.security, 'bogus');
    const step = z.trail[0]!;
    assert.equal(step.step, 'anchor');
    assert.deepEqual(step.step === 'anchor' && step.keyTags, [20326, 38696]);
  });
});
