/** DNSSEC canonical form (RFC 4034 §6 as amended by RFC 6840 §5.1) and the data an RRSIG signs (§3.1.8.1). */
import { RRType, typeToText } from './constants.js';
import { WireError } from './errors.js';
import { Name } from './name.js';
import { rdataCodec } from './rdata.js';
import type { RRSIGData } from './rdata-dnssec.js';
import { encodeRData, makeRR, type RR } from './record.js';
import { WireWriter } from './writer.js';

/**
 * Canonical RDATA: the exact uncompressed octets, with embedded names lowercased only for the
 * types of RFC 4034 §6.2 item 3 minus NSEC (RFC 6840 §5.1) — so not NSEC, NSEC3, SVCB or unknown types.
 */
export function canonicalRData(rr: RR): Uint8Array {
  const codec = rdataCodec(rr.type);
  if (!codec || !codec.hasNames || !codec.canonicalLowercase) return rr.rdata;
  return encodeRData(rr.type, rr.data, { compress: false, lower: true });
}

/** Lexicographic octet comparison, a shorter prefix first (RFC 4034 §6.3). */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

/**
 * Canonical wire form of one record (RFC 4034 §6.2): lowercased uncompressed owner, type, class,
 * TTL (`ttl`, normally the RRSIG's Original TTL), RDLENGTH, canonical RDATA. `owner` overrides the
 * record's owner (the wildcard case of signedData).
 */
export function canonicalRRWire(rr: RR, ttl: number = rr.ttl, owner: Name = rr.name): Uint8Array {
  const rdata = canonicalRData(rr);
  const w = new WireWriter(owner.wireLength + 10 + rdata.length);
  w.bytes(owner.toWire(true));
  w.u16(rr.type);
  w.u16(rr.class);
  w.u32(ttl);
  w.u16(rdata.length);
  w.bytes(rdata);
  return w.finish();
}

/** An RRset in canonical order (RFC 4034 §6.3): sorted by canonical RDATA, duplicates removed. */
export function canonicalOrder<T extends RR>(rrset: readonly T[]): T[] {
  const keyed = rrset.map((rr) => ({ rr, key: canonicalRData(rr) }));
  keyed.sort((a, b) => compareBytes(a.key, b.key));
  const out: T[] = [];
  let prev: Uint8Array | undefined;
  for (const k of keyed) {
    if (prev && compareBytes(prev, k.key) === 0) continue;
    out.push(k.rr);
    prev = k.key;
  }
  return out;
}

/** The RRSIG RDATA without its signature, signer name lowercased (RFC 4034 §3.1.8.1, RFC 6840 §5.1). */
export function rrsigRDataWithoutSignature(sig: RRSIGData): Uint8Array {
  const w = new WireWriter(18 + sig.signer.wireLength);
  w.u16(sig.typeCovered);
  w.u8(sig.algorithm);
  w.u8(sig.labels);
  w.u32(sig.originalTtl);
  w.u32(sig.expiration);
  w.u32(sig.inception);
  w.u16(sig.keyTag);
  w.bytes(sig.signer.toWire(true));
  return w.finish();
}

/**
 * The owner name the signature covers (RFC 4035 §5.3.2): the owner itself, or "*." plus its
 * rightmost `labels` labels when the RRSIG Labels field is smaller (wildcard expansion).
 * Throws WireError when Labels exceeds the owner's label count.
 */
export function signedOwner(owner: Name, labels: number): Name {
  const n = owner.labelCount;
  if (labels === n) return owner;
  if (labels > n) throw new WireError('bad-rdata', `RRSIG labels ${labels} exceeds the ${n} labels of ${owner.toText()}`);
  return owner.suffix(labels).prepend(Uint8Array.of(0x2a));
}

/**
 * The octets an RRSIG signs (RFC 4034 §3.1.8.1): RRSIG RDATA minus signature, then every record of
 * the RRset in canonical form and order with the Original TTL, the owner replaced by the wildcard
 * name when the signature came from a wildcard. The RRset must match the RRSIG's type covered and
 * share one owner and class; otherwise WireError.
 */
export function signedData(rrsig: RR<RRSIGData> | RRSIGData, rrset: readonly RR[]): Uint8Array {
  const sig: RRSIGData = 'data' in rrsig ? rrsig.data : rrsig;
  const first = rrset[0];
  if (!first) throw new WireError('bad-rdata', 'signedData of an empty RRset');
  for (const rr of rrset) {
    if (rr.type !== sig.typeCovered) {
      throw new WireError('bad-rdata', `RRset of type ${typeToText(rr.type)} under an RRSIG covering ${typeToText(sig.typeCovered)}`);
    }
    if (rr.class !== first.class || !rr.name.equals(first.name)) throw new WireError('bad-rdata', 'records of different RRsets given as one RRset');
  }
  const owner = signedOwner(first.name, sig.labels);
  const parts = [rrsigRDataWithoutSignature(sig), ...canonicalOrder(rrset).map((rr) => canonicalRRWire(rr, sig.originalTtl, owner))];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** What an RRSIG over an RRset says besides its signature (the rest comes from the RRset). */
export interface RrsigParams {
  readonly algorithm: number;
  readonly keyTag: number;
  readonly signer: Name;
  /** Seconds since the epoch. */
  readonly inception: number;
  readonly expiration: number;
  /** RRSIG Labels (default: the owner's label count, a leading "*" not counted); fewer = a wildcard expansion. */
  readonly labels?: number;
}

/**
 * The RRSIG over an RRset (one owner, type and class): `sign` applied to its signed data (RFC 4034
 * §3.1.8.1). For the start-up self-test's tree and for tests: the daemon itself never signs.
 */
export function makeRrsig(rrset: readonly RR[], p: RrsigParams, sign: (data: Uint8Array) => Uint8Array): RR<RRSIGData> {
  const first = rrset[0];
  if (!first) throw new WireError('bad-rdata', 'an RRSIG over an empty RRset');
  const unsigned: RRSIGData = {
    typeCovered: first.type, algorithm: p.algorithm,
    labels: p.labels ?? (first.name.isWildcard() ? first.name.labelCount - 1 : first.name.labelCount),
    originalTtl: first.ttl, expiration: p.expiration, inception: p.inception, keyTag: p.keyTag, signer: p.signer,
    signature: new Uint8Array(0),
  };
  return makeRR<RRSIGData>(first.name, RRType.RRSIG, first.ttl, { ...unsigned, signature: sign(signedData(unsigned, rrset)) });
}

/** DS digest input (RFC 4034 §5.1.4): canonical owner name then the DNSKEY RDATA. */
export function dsDigestInput(dnskey: RR): Uint8Array {
  const owner = dnskey.name.toWire(true);
  const out = new Uint8Array(owner.length + dnskey.rdata.length);
  out.set(owner);
  out.set(dnskey.rdata, owner.length);
  return out;
}
