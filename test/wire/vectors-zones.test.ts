/**
 * The signed example zones and responses of RFC 4035 (NSEC) and RFC 5155 (NSEC3): the zone text
 * parses as a master file (omitted owners and TTLs, parentheses, comments), every record round-trips,
 * every RRSIG the vectors mark verified verifies over signedData() (wildcard expansions included),
 * and the NSEC / NSEC3 chains read back as the vectors list them.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  RRType, base32hex, keyTag, parseRR, parseZoneText, rdataToText, signedData, typeFromText,
  type DNSKEYData, type NSEC3Data, type NSECData, type RR, type RRSIGData,
} from '../../src/wire/index.js';
import { loadVector, roundTrip, throwsWire, toHex, verifySig } from './helpers.js';

interface Check { rrsig_owner: string; type_covered: string; key_tag: number; verified: boolean }

/** Verify every RRSIG in `records` with `keys`; returns "owner/TYPE/tag" -> verified. */
function verifyAll(records: RR[], keys: RR<DNSKEYData>[]): Map<string, boolean> {
  const out = new Map<string, boolean>();
  for (const sig of records.filter((r) => r.type === RRType.RRSIG) as RR<RRSIGData>[]) {
    const rrset = records.filter((r) => r.type === sig.data.typeCovered && r.name.equals(sig.name) && r.class === sig.class);
    const key = keys.find((k) => keyTag(k.rdata) === sig.data.keyTag && k.data.algorithm === sig.data.algorithm && k.name.equals(sig.data.signer));
    const id = `${sig.name.key}/${rdataToText(sig).split(' ')[0]}/${sig.data.keyTag}`;
    out.set(id, !!key && rrset.length > 0 && verifySig(key.data, signedData(sig, rrset), sig.data.signature));
  }
  return out;
}

function expectChecks(results: Map<string, boolean>, checks: Check[]): void {
  assert.ok(checks.length > 0);
  for (const c of checks) {
    const id = `${c.rrsig_owner.toLowerCase()}/${c.type_covered}/${c.key_tag}`;
    assert.equal(results.get(id), c.verified, `RRSIG ${id}`);
  }
}

/** Response text of the RFC appendices: drop the one-line question section, keep the records. */
function responseRecords(text: string): RR[] {
  const lines = text.split('\n');
  const q = lines.findIndex((l) => /^;; Question/.test(l));
  if (q >= 0) lines.splice(q + 1, 1);
  return parseZoneText(lines.join('\n'), { defaultTtl: 3600 });
}

function sameRecords(a: RR[], b: RR[]): void {
  assert.equal(a.length, b.length);
  a.forEach((rr, i) => {
    assert.ok(rr.name.equals(b[i]!.name) && rr.type === b[i]!.type && rr.ttl === b[i]!.ttl && rr.class === b[i]!.class, `record ${i}`);
    assert.equal(toHex(rr.rdata), toHex(b[i]!.rdata), `RDATA of record ${i}`);
  });
}

for (const file of ['rfc4035.json', 'rfc5155.json']) {
  const v = loadVector(file);
  describe(`${file} Appendix A zone and Appendix B responses`, () => {
    const zone = parseZoneText(v.zone.text);
    const keys = zone.filter((r) => r.type === RRType.DNSKEY) as RR<DNSKEYData>[];

    it('zone text parses to exactly the normalized records', () => {
      sameRecords(zone, v.zone.records_normalized.map((t: string) => parseRR(t)));
    });

    it('every zone record round-trips text -> wire -> text -> wire', () => {
      for (const rr of zone) roundTrip(rr);
    });

    it('DNSKEY key tags match the vector', () => {
      const want = v.dnskeys.map((k: { computed_key_tag: number }) => k.computed_key_tag).sort();
      assert.deepEqual(keys.map((k) => keyTag(k.rdata)).sort(), want);
      for (const k of v.dnskeys) assert.ok(keys.some((z) => toHex(z.rdata) === k.rdata_hex));
    });

    it('zone RRSIGs verify over signedData()', () => {
      const res = verifyAll(zone, keys);
      expectChecks(res, v.zone.rrsig_checks);
      assert.equal([...res.values()].filter(Boolean).length, v.zone.rrsig_checks.filter((c: Check) => c.verified).length);
    });

    for (const item of v.responses.items) {
      it(`B ${item.section} ${item.title}: records parse, round-trip and RRSIGs verify`, () => {
        let text: string = item.text;
        if ((item.notes ?? []).some((n: string) => n.includes("has no opening '('"))) {
          // RFC 5155 B.6 as printed: a ")" without "(" — a strict parser must refuse it.
          throwsWire(() => responseRecords(text), 'bad-text');
          text = text.replace('RRSIG NSEC3 7 2 3600\n', 'RRSIG NSEC3 7 2 3600 (\n');
        }
        const recs = responseRecords(text);
        const norm = item.records_normalized;
        sameRecords(recs, [...norm.answer, ...norm.authority, ...norm.additional].map((t: string) => parseRR(t)));
        for (const rr of recs) roundTrip(rr);
        expectChecks(verifyAll(recs, keys), item.rrsig_checks);
      });
    }

    if (v.zone.nsec_chain) {
      it('NSEC chain: next names and type bit maps', () => {
        const nsecs = zone.filter((r) => r.type === RRType.NSEC) as RR<NSECData>[];
        assert.equal(nsecs.length, v.zone.nsec_chain.length);
        for (const c of v.zone.nsec_chain) {
          const n = nsecs.find((r) => r.name.toText() === c.owner)!;
          assert.equal(n.data.next.toText(), c.next);
          assert.deepEqual(n.data.types, c.types.map((t: string) => typeFromText(t)).sort((a: number, b: number) => a - b));
        }
      });
    }

    if (v.zone.nsec3_chain_sorted) {
      it('NSEC3 chain: hashes, Opt-Out and type bit maps; NSEC3PARAM', () => {
        const n3 = zone.filter((r) => r.type === RRType.NSEC3) as RR<NSEC3Data>[];
        assert.equal(n3.length, v.zone.nsec3_chain_sorted.length);
        const p = v.nsec3_parameters;
        for (const c of v.zone.nsec3_chain_sorted) {
          const r = n3.find((x) => x.name.toText().split('.')[0] === c.owner_hash)!;
          assert.equal(base32hex(r.data.nextHashed), c.next_hash);
          assert.equal((r.data.flags & 1) === 1, c.opt_out);
          assert.equal(r.data.iterations, p.iterations);
          assert.equal(toHex(r.data.salt), p.salt_hex);
          assert.deepEqual(r.data.types, c.types.map((t: string) => typeFromText(t)).sort((a: number, b: number) => a - b));
        }
        const param = zone.find((r) => r.type === RRType.NSEC3PARAM)!;
        assert.equal(rdataToText(param), `1 0 12 ${p.salt_hex.toUpperCase()}`);
      });
    }
  });
}
