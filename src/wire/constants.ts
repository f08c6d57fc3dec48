/** Numeric registries (IANA "Domain Name System (DNS) Parameters") and their mnemonics. */

export const RRType = {
  A: 1, NS: 2, CNAME: 5, SOA: 6, PTR: 12, HINFO: 13, MX: 15, TXT: 16, RP: 17, AFSDB: 18, SIG: 24, KEY: 25,
  AAAA: 28, LOC: 29, NXT: 30, SRV: 33, NAPTR: 35, KX: 36, CERT: 37, DNAME: 39, OPT: 41, APL: 42, DS: 43,
  SSHFP: 44, IPSECKEY: 45, RRSIG: 46, NSEC: 47, DNSKEY: 48, DHCID: 49, NSEC3: 50, NSEC3PARAM: 51, TLSA: 52,
  SMIMEA: 53, HIP: 55, CDS: 59, CDNSKEY: 60, OPENPGPKEY: 61, CSYNC: 62, ZONEMD: 63, SVCB: 64, HTTPS: 65,
  SPF: 99, TKEY: 249, TSIG: 250, IXFR: 251, AXFR: 252, ANY: 255, URI: 256, CAA: 257,
} as const;
export type RRTypeName = keyof typeof RRType;

export const RRClass = { IN: 1, CH: 3, HS: 4, NONE: 254, ANY: 255 } as const;

export const Opcode = { QUERY: 0, IQUERY: 1, STATUS: 2, NOTIFY: 4, UPDATE: 5 } as const;

export const Rcode = {
  NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5, YXDOMAIN: 6, YXRRSET: 7,
  NXRRSET: 8, NOTAUTH: 9, NOTZONE: 10, BADVERS: 16,
} as const;

export const EdnsOptionCode = { NSID: 3, CLIENT_SUBNET: 8, EXPIRE: 9, COOKIE: 10, KEEPALIVE: 11, PADDING: 12, EDE: 15 } as const;

/** Extended DNS Error codes (RFC 8914 §4 and the IANA registry). */
export const EdeCode = {
  OTHER: 0, UNSUPPORTED_DNSKEY_ALGORITHM: 1, UNSUPPORTED_DS_DIGEST_TYPE: 2, STALE_ANSWER: 3, FORGED_ANSWER: 4,
  DNSSEC_INDETERMINATE: 5, DNSSEC_BOGUS: 6, SIGNATURE_EXPIRED: 7, SIGNATURE_NOT_YET_VALID: 8, DNSKEY_MISSING: 9,
  RRSIGS_MISSING: 10, NO_ZONE_KEY_BIT_SET: 11, NSEC_MISSING: 12, CACHED_ERROR: 13, NOT_READY: 14, BLOCKED: 15,
  CENSORED: 16, FILTERED: 17, PROHIBITED: 18, STALE_NXDOMAIN_ANSWER: 19, NOT_AUTHORITATIVE: 20, NOT_SUPPORTED: 21,
  NO_REACHABLE_AUTHORITY: 22, NETWORK_ERROR: 23, INVALID_DATA: 24, SIGNATURE_EXPIRED_BEFORE_VALID: 25,
  TOO_EARLY: 26, UNSUPPORTED_NSEC3_ITERATIONS: 27,
} as const;

const typeNames = new Map<number, string>(Object.entries(RRType).map(([k, v]) => [v, k]));
const classNames = new Map<number, string>(Object.entries(RRClass).map(([k, v]) => [v, k]));
const rcodeNames = new Map<number, string>(Object.entries(Rcode).map(([k, v]) => [v, k]));

/** Mnemonic for a type, or TYPEnnn (RFC 3597). */
export function typeToText(t: number): string {
  return typeNames.get(t) ?? `TYPE${t}`;
}

/** Parse a type mnemonic or TYPEnnn; undefined when unknown. */
export function typeFromText(s: string): number | undefined {
  const u = s.toUpperCase();
  const known = (RRType as Record<string, number>)[u];
  if (known !== undefined) return known;
  const m = /^TYPE([0-9]{1,5})$/.exec(u);
  if (m && Number(m[1]) <= 0xffff) return Number(m[1]);
  return undefined;
}

export function classToText(c: number): string {
  return classNames.get(c) ?? `CLASS${c}`;
}

export function classFromText(s: string): number | undefined {
  const u = s.toUpperCase();
  const known = (RRClass as Record<string, number>)[u];
  if (known !== undefined) return known;
  const m = /^CLASS([0-9]{1,5})$/.exec(u);
  if (m && Number(m[1]) <= 0xffff) return Number(m[1]);
  return undefined;
}

export function rcodeToText(r: number): string {
  return rcodeNames.get(r) ?? `RCODE${r}`;
}
