/**
 * TLSA examples of RFC 6698, 7671 and 7672: complete records parse to the vector's fields and wire
 * octets and round-trip; records the RFCs cut short with "..." (or "?") are refused with WireError.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RRType, parseRR, parseZoneText, type RR, type TLSAData } from '../../src/wire/index.js';
import { loadVector, roundTrip, throwsWire, toHex } from './helpers.js';

interface TlsaVec { owner: string; usage: number | null; selector: number | null; matching_type: number | null; data_hex: string | null; truncated_in_rfc?: boolean }

function matches(rr: RR, t: TlsaVec): boolean {
  const d = (rr as RR<TLSAData>).data;
  return rr.type === RRType.TLSA && rr.name.toText() === t.owner && d.usage === t.usage && d.selector === t.selector &&
    d.matchingType === t.matching_type && toHex(d.data) === t.data_hex?.toLowerCase();
}

const isCut = (line: string): boolean => line.includes('...') || /TLSA\s+\?/.test(line);

/** Parse an example block: whole (must fail when it holds cut records), then without the cut lines. */
function parseExample(text: string, records: TlsaVec[]): RR[] {
  const cut = records.some((r) => r.truncated_in_rfc);
  if (cut) throwsWire(() => parseZoneText(text, { defaultTtl: 3600 }), 'bad-text');
  const kept = text.split('\n').filter((l) => !isCut(l)).join('\n');
  const rrs = parseZoneText(kept, { defaultTtl: 3600 });
  for (const rr of rrs) roundTrip(rr);
  for (const t of records.filter((r) => !r.truncated_in_rfc)) assert.ok(rrs.some((rr) => matches(rr, t)), `TLSA at ${t.owner}`);
  return rrs;
}

describe('RFC 6698 TLSA', () => {
  const v = loadVector('rfc6698.json');
  for (const item of v.section_2_3_examples.items) {
    it(`§2.3: ${item.description.slice(0, 60)}`, () => {
      if (item.parsed.truncated_in_rfc) {
        throwsWire(() => parseRR(item.text), 'bad-text');
        return;
      }
      const rr = parseRR(item.text) as RR<TLSAData>;
      assert.ok(matches(rr, item.parsed));
      assert.equal(toHex(rr.rdata), item.rdata_wire_hex);
      roundTrip(rr);
    });
  }

  it('Appendix A records cut with "..." are refused', () => {
    for (const item of v.appendix_a_examples_truncated.items) throwsWire(() => parseRR(item.text), 'bad-text');
  });

  it('Appendix C association data in every selector/matching type, split over lines', () => {
    for (const e of v.appendix_c.entries) {
      const chunks = e.association_data_hex.match(/.{1,56}/g).join('\n    ');
      const rr = parseRR(`_443._tcp.dane.example. 3600 IN TLSA ( 3 ${e.selector} ${e.matching_type}\n    ${chunks} )`) as RR<TLSAData>;
      assert.equal(toHex(rr.data.data), e.association_data_hex.toLowerCase());
      assert.equal(toHex(rr.rdata), `03${toHex(Uint8Array.of(e.selector, e.matching_type))}${e.association_data_hex.toLowerCase()}`);
      roundTrip(rr);
    }
  });
});

for (const file of ['rfc7671.json', 'rfc7672.json']) {
  describe(`${file} TLSA examples`, () => {
    const v = loadVector(file);
    v.examples.forEach((ex: { section: string; text: string; tlsa_records: TlsaVec[] }, i: number) => {
      it(`§${ex.section} example ${i + 1}`, () => {
        parseExample(ex.text, ex.tlsa_records);
      });
    });
    if (v.complete_tlsa_records) {
      it('complete TLSA records rebuild to the same fields', () => {
        for (const t of v.complete_tlsa_records as TlsaVec[]) {
          const rr = parseRR(`${t.owner} 300 IN TLSA ${t.usage} ${t.selector} ${t.matching_type} ${t.data_hex}`);
          assert.ok(matches(rr, t));
          roundTrip(rr);
        }
      });
    }
  });
}
