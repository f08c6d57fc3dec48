/**
 * Cross-checks against real tools (local only, no network): BIND's named-rrchecker turns our text
 * output into wire octets that must equal ours, and ldns-read-zone's reading of our text must parse
 * back to the same RDATA. The tools are part of the test setup (scripts/install-test-deps.sh installs
 * them): a missing tool fails the test instead of skipping it.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { RRType, classToText, parseZoneText, rdataToText, rrToText, typeToText } from '../../src/wire/index.js';
import { corpusRecords } from '../../bench/corpus.js';
import { loadVector, toHex } from './helpers.js';

const RRCHECKER = '/usr/bin/named-rrchecker';
const LDNS = '/usr/bin/ldns-read-zone';

/** The tool must be there: scripts/install-test-deps.sh installs its Debian package. */
function requireTool(path: string, pkg: string): void {
  assert.ok(existsSync(path), `${path} is missing: install the Debian package ${pkg} (bash scripts/install-test-deps.sh does)`);
}

function records() {
  const v = loadVector('rfc5155.json');
  return [...corpusRecords(), ...parseZoneText(v.zone.text)];
}

describe('cross-check with BIND and ldns', () => {
  it('named-rrchecker -u gives the same RDATA octets for our text', () => {
    requireTool(RRCHECKER, 'bind9');
    let checked = 0;
    for (const rr of records()) {
      const input = `${classToText(rr.class)} ${typeToText(rr.type)} ${rdataToText(rr)}\n`;
      const out = execFileSync(RRCHECKER, ['-u'], { input, encoding: 'utf8' });
      const m = /\\# (\d+)\s*([0-9A-Fa-f ]*)/.exec(out);
      assert.ok(m, `named-rrchecker output for ${input}: ${out}`);
      assert.equal(m[2]!.replace(/\s+/g, '').toLowerCase(), toHex(rr.rdata), input);
      checked++;
    }
    assert.ok(checked > 50);
  });

  it('ldns-read-zone reads our text to records that parse back to the same RDATA', () => {
    requireTool(LDNS, 'ldnsutils');
    // ldns-read-zone keeps one SOA only (it prints the zone's); leave SOAs out.
    const rrs = records().filter((rr) => rr.class === 1 && rr.type !== RRType.SOA);
    const dir = mkdtempSync(join(tmpdir(), 'wire-ldns-'));
    try {
      const file = join(dir, 'zone.txt');
      writeFileSync(file, rrs.map(rrToText).join('\n') + '\n');
      const out = execFileSync(LDNS, [file], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
      const back = parseZoneText(out);
      assert.equal(back.length, rrs.length);
      back.forEach((rr, i) => {
        assert.ok(rr.name.equals(rrs[i]!.name), `owner ${i}`);
        assert.equal(toHex(rr.rdata), toHex(rrs[i]!.rdata), `${rrToText(rrs[i]!)} vs ldns ${rrToText(rr)}`);
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
