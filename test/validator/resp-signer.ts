/**
 * Test-data builder for the response validator: a zone key (ECDSA P-256, algorithm 13, from
 * node:crypto) that signs RRsets over the canonical signed data of src/wire (RFC 4034 §3.1.8.1).
 */
import { ecKey, type SigningKey } from '../../src/crypto/sign.js';
import {
  Name, RRType, keyTag, makeRR, makeRrsig, parseRR, type DNSKEYData, type RR, type RRSIGData,
} from '../../src/wire/index.js';

/** Validation time used by the tests built with this signer: 2026-01-15T00:00:00Z. */
export const TEST_NOW = Date.UTC(2026, 0, 15);
const NOW_S = Math.floor(TEST_NOW / 1000);

export interface SignOptions {
  /** RRSIG Labels (default: the owner's label count, minus a leading "*"); smaller = wildcard expansion. */
  labels?: number;
  inception?: number;
  expiration?: number;
  /** Corrupt the signature (flip a bit). */
  corrupt?: boolean;
}

export class ZoneSigner {
  readonly zone: Name;
  readonly dnskey: RR<DNSKEYData>;
  readonly tag: number;
  private readonly key: SigningKey;

  constructor(zone: string) {
    this.zone = Name.fromText(zone);
    this.key = ecKey(13);
    this.dnskey = makeRR<DNSKEYData>(this.zone, RRType.DNSKEY, 3600, { flags: 257, protocol: 3, algorithm: 13, publicKey: this.key.dnskey });
    this.tag = keyTag(this.dnskey.rdata);
  }

  /** The RRSIG over one RRset (all records share owner, type and class). */
  sign(rrset: readonly RR[], o: SignOptions = {}): RR<RRSIGData> {
    const params = {
      algorithm: 13, keyTag: this.tag, signer: this.zone, expiration: o.expiration ?? NOW_S + 30 * 86400, inception: o.inception ?? NOW_S - 86400,
      ...(o.labels === undefined ? {} : { labels: o.labels }),
    };
    return makeRrsig(rrset, params, (data) => {
      const sig = this.key.sign(data);
      if (o.corrupt) sig[5] = sig[5]! ^ 0x01;
      return sig;
    });
  }

  /** Records from presentation lines, grouped into RRsets by (owner, type), each followed by its RRSIG. */
  signed(lines: readonly string[], o: SignOptions = {}): RR[] {
    const records = lines.map((l) => parseRR(l));
    const groups = new Map<string, RR[]>();
    for (const r of records) {
      const k = `${r.name.key}|${r.type}`;
      groups.set(k, [...(groups.get(k) ?? []), r]);
    }
    const out: RR[] = [];
    for (const g of groups.values()) out.push(...g, this.sign(g, o));
    return out;
  }

  /** An NSEC record with its RRSIG: `owner` -> `next`, with the listed types (RRSIG and NSEC added). */
  nsec(owner: string, next: string, types: string): RR[] {
    return this.signed([`${owner} 3600 IN NSEC ${next} ${types} RRSIG NSEC`.replace(/\s+/g, ' ')]);
  }
}
