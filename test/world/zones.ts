/**
 * Single source of truth for the test world's DNS hierarchy.
 *
 * Every zone of the fake hierarchy (root ".", TLD "test." and all the
 * second/third level test zones) is declared here as a ZoneCase: how it is
 * signed, where it is served, how the parent delegates to it (DS mode), which
 * post-signing mutations make it bogus, and which queries a test should send
 * with the DNSSEC verdict a correct validator must reach.
 *
 * The generator (generate.ts) turns this list into zone files; the content
 * hash of this module and of the generator decides when the cached signed
 * zones must be rebuilt.
 *
 * Addresses inside the zone data are all in 127.X.100.0/24 (A) or the
 * IPv4-mapped form of it (AAAA), so that nothing ever tries to reach a
 * non-loopback address even if a test connects to a looked-up host. The mail
 * world's hosts (mail.ts) are in 127.X.102.0/24. 127.X is the world's block
 * (net.ts: 127.54 unless STUBD_WORLD_NET says otherwise).
 */
import { MAIL_ZONES } from './mail-zones.js';
import { worldAddr, worldAddr6 } from './net.js';

export type Status = 'secure' | 'insecure' | 'bogus';
export type Rcode = 'NOERROR' | 'NXDOMAIN';
/** Which authoritative server instance serves a zone. */
export type ServerId = 'nsd-root' | 'nsd-tld' | 'nsd' | 'named';
export type Signer = 'dnssec-signzone' | 'ldns-signzone' | 'none';
/**
 * How the parent publishes DS for this zone.
 *  - normal: SHA-256 DS of the zone's KSK(s)
 *  - none: no DS (insecure delegation, proven by the parent's NSEC/NSEC3)
 *  - foreign-key: DS of a throw-away key that the child never uses
 *  - unknown-digest: DS with digest type 200 (unassigned) only
 */
export type DsMode = 'normal' | 'none' | 'foreign-key' | 'unknown-digest';
export type Validity = 'normal' | 'expired' | 'future';

export interface Nsec3Params {
  /** hex salt, '' for no salt */
  salt: string;
  iterations: number;
  optOut: boolean;
}

export type Mutation =
  /** replace the RDATA of owner/type (after signing) */
  | { op: 'modify-rdata'; owner: string; type: string; rdata: string }
  /** remove the RRSIG(s) covering owner/type */
  | { op: 'strip-rrsig'; owner: string; type: string }
  /** flip bits in the signatures of every RRSIG covering `type` (any owner unless given) */
  | { op: 'corrupt-rrsig'; type: string; owner?: string }
  /**
   * Rewrite DNSKEY and RRSIG algorithm numbers to `algorithm` (key tags are
   * recomputed, signatures are left as garbage). For 253 (PRIVATEDNS) the
   * public key is prefixed with a wire-format domain name per RFC 4034 A.1.1.
   */
  | { op: 'rewrite-algorithm'; algorithm: number }
  /**
   * KeyTrap (CVE-2023-50387): insert `count` copies of each RRSIG covering
   * owner/type with the same key tag, algorithm, signer and validity but a
   * different bit flipped in each signature, all placed before the real RRSIG
   * (which stays, last). NSD serves them in that order and Unbound does not
   * rotate RRSIGs, so a validator meets every bad copy first.
   */
  | { op: 'add-bad-rrsigs'; owner: string; type: string; count: number };

export interface KnownDeviation {
  /** what delv (BIND 9.18) actually reports when it differs from `status` */
  delv?: Status;
  /** what the validating Unbound actually reports when it differs from `status` */
  validatingUnbound?: Status;
  reason: string;
}

export interface QueryCase {
  name: string;          // absolute, trailing dot
  type: string;          // mnemonic, e.g. 'A', 'TLSA'
  /** rcode from the non-validating upstream (with CD=1 for bogus data) */
  rcode: Rcode;
  /** NOERROR with an empty answer section */
  nodata?: boolean;
  /** the verdict a correct validator must reach */
  status: Status;
  /** substrings that must appear in the answer section (non-validating upstream) */
  expectAnswer?: string[];
  tags?: string[];
  note?: string;
  /** recorded disagreement of a reference validator with `status` */
  deviation?: KnownDeviation;
}

export type ZoneKind =
  | 'root' | 'tld' | 'algorithm' | 'denial' | 'cname' | 'insecure' | 'child'
  | 'bogus' | 'unknown' | 'dane' | 'keytrap' | 'mail';

export interface ZoneCase {
  name: string;               // absolute, trailing dot; key of ZONES
  kind: ZoneKind;
  description: string;
  parent: string | null;      // null for the root
  server: ServerId;
  signer: Signer;
  /** DNSSEC algorithm number of the keys actually generated */
  algorithm?: number;
  /** RSA modulus size (KSK and ZSK); ignored for EC/EdDSA */
  keyBits?: number;
  kskBits?: number;
  denial: 'nsec' | 'nsec3' | 'none';
  nsec3?: Nsec3Params;
  /**
   * KeyTrap (CVE-2023-50387): this many extra DNSKEYs with the ZSK's flags,
   * algorithm and key tag but garbage public keys (two key bytes of the same
   * parity swapped, which keeps the RFC 4034 Appendix B tag), added to the
   * zone before signing (the DNSKEY RRset is validly signed over all of them)
   * and served before the real ZSK.
   */
  fakeKeys?: number;
  validity: Validity;
  ds: DsMode;
  mutations: Mutation[];
  /** zone file lines relative to the origin, without SOA/NS/DNSKEY (added by the generator) */
  records: string[];
  /** overall status of the zone's apex data */
  expected: Status;
  queries: QueryCase[];
  notes?: string[];
}

// --------------------------------------------------------------------------
// Fixed infrastructure of the hierarchy
// --------------------------------------------------------------------------

export const TLD = 'test.';

export interface ServerDef {
  id: ServerId;
  software: 'nsd' | 'named';
  host: string;
  port: number;
  /** the NS name used in delegations to zones served here */
  nsName: string;
}

export const SERVERS: Record<ServerId, ServerDef> = {
  'nsd-root': { id: 'nsd-root', software: 'nsd', host: worldAddr(0, 1), port: 53, nsName: 'a.root-servers.test.' },
  'nsd-tld': { id: 'nsd-tld', software: 'nsd', host: worldAddr(0, 2), port: 53, nsName: 'ns1.nic.test.' },
  nsd: { id: 'nsd', software: 'nsd', host: worldAddr(0, 3), port: 53, nsName: 'ns1.nsd.test.' },
  named: { id: 'named', software: 'named', host: worldAddr(0, 4), port: 53, nsName: 'ns1.bind.test.' },
};

export const RESOLVERS = {
  upstream: { host: worldAddr(1, 1), port: 53 },
  validating: { host: worldAddr(1, 2), port: 53 },
};

/** Values used in the standard record set (all on loopback). */
export const DATA = {
  www: worldAddr(100, 1),
  www6: worldAddr6(100, 1),
  ent: worldAddr(100, 3),
  wild: worldAddr(100, 4),
  mail: worldAddr(100, 25),
  mail6: worldAddr6(100, 25),
  modified: worldAddr(100, 66),
  /** replaced by the generator with the SHA-256 of the DANE test cert's SPKI */
  tlsaPlaceholder: '{{DANE_SPKI_SHA256}}',
  /** TLSA RDATA that the bogus-modified zone is changed to after signing */
  tlsaModified: '3 1 1 ' + 'ab'.repeat(32),
};

// --------------------------------------------------------------------------
// Builders
// --------------------------------------------------------------------------

function standardRecords(zone: string): string[] {
  return [
    '@ MX 10 mail',
    `@ TXT "dnssec-stubd test zone ${zone}"`,
    `www A ${DATA.www}`,
    `www AAAA ${DATA.www6}`,
    `mail A ${DATA.mail}`,
    `mail AAAA ${DATA.mail6}`,
    `a.b.ent A ${DATA.ent}`,            // ent. and b.ent. are empty non-terminals
    `*.wild A ${DATA.wild}`,
    '*.wild TXT "wildcard"',
    'alias CNAME www',
  ];
}

/**
 * The standard query set for a zone built from standardRecords(). `status`
 * is the verdict of every query; override individual ones with `overrides`
 * keyed by "relname TYPE" (relname '@' for the apex).
 */
function standardQueries(zone: string, status: Status, signed: boolean,
  overrides: Record<string, Partial<QueryCase>> = {}): QueryCase[] {
  const q = (rel: string, type: string, extra: Partial<QueryCase> = {}): QueryCase => {
    const name = rel === '@' ? zone : `${rel}.${zone}`;
    const base: QueryCase = { name, type, rcode: 'NOERROR', status, ...extra };
    return { ...base, ...(overrides[`${rel} ${type}`] ?? {}) };
  };
  const list: QueryCase[] = [
    q('@', 'SOA', { tags: ['apex'] }),
    q('@', 'MX', { expectAnswer: [`mail.${zone}`] }),
    q('www', 'A', { expectAnswer: [DATA.www], tags: ['positive'] }),
    q('www', 'AAAA', { expectAnswer: [DATA.www6], tags: ['positive'] }),
    q('alias', 'A', { expectAnswer: [DATA.www], tags: ['cname'] }),
    q('nx', 'A', { rcode: 'NXDOMAIN', tags: ['nxdomain'] }),
    q('www', 'TXT', { nodata: true, tags: ['nodata'] }),
    q('ent', 'A', { nodata: true, tags: ['nodata', 'ent'] }),
    q('x.wild', 'TXT', { expectAnswer: ['wildcard'], tags: ['wildcard'] }),
    q('x.y.wild', 'A', { expectAnswer: [DATA.wild], tags: ['wildcard'] }),
    q('x.wild', 'AAAA', { nodata: true, tags: ['wildcard', 'nodata'] }),
  ];
  if (signed) list.splice(1, 0, q('@', 'DNSKEY', { tags: ['apex'] }));
  return list;
}

interface ZoneOpts extends Partial<ZoneCase> {
  name: string;
  kind: ZoneKind;
  description: string;
  server: ServerId;
  /** extra records appended to the standard set */
  extraRecords?: string[];
  extraQueries?: QueryCase[];
  queryOverrides?: Record<string, Partial<QueryCase>>;
  /** status of the standard queries (defaults to `expected`) */
  queryStatus?: Status;
  /** do not add the standard records/queries */
  bare?: boolean;
}

function zone(o: ZoneOpts): ZoneCase {
  const signer: Signer = o.signer ?? 'dnssec-signzone';
  const signed = signer !== 'none';
  const expected: Status = o.expected ?? 'secure';
  const records = [...(o.bare ? [] : standardRecords(o.name)), ...(o.records ?? []), ...(o.extraRecords ?? [])];
  const queries = [
    ...(o.bare ? [] : standardQueries(o.name, o.queryStatus ?? expected, signed, o.queryOverrides)),
    ...(o.queries ?? []),
    ...(o.extraQueries ?? []),
  ];
  const z: ZoneCase = {
    name: o.name,
    kind: o.kind,
    description: o.description,
    parent: o.parent === undefined ? TLD : o.parent,
    server: o.server,
    signer,
    denial: signed ? (o.denial ?? 'nsec') : 'none',
    validity: o.validity ?? 'normal',
    ds: o.ds ?? (signed ? 'normal' : 'none'),
    mutations: o.mutations ?? [],
    records,
    expected,
    queries,
  };
  if (signed) z.algorithm = o.algorithm ?? 13;
  if (o.keyBits !== undefined) z.keyBits = o.keyBits;
  if (o.kskBits !== undefined) z.kskBits = o.kskBits;
  if (o.nsec3) z.nsec3 = o.nsec3;
  if (o.fakeKeys !== undefined) z.fakeKeys = o.fakeKeys;
  if (o.notes) z.notes = o.notes;
  return z;
}

/** delv (BIND 9.18) reason strings for recorded deviations */
const OPTOUT_DELV = 'delv (BIND 9.18) reports "fully validated" although the proof relies on an opt-out NSEC3 covering the next closer name';
const CNAME_DELV = 'delv (BIND 9.18) does not follow the CNAME: it validates only the (correctly signed) CNAME RRset at the query name';

const NO_SALT: Nsec3Params = { salt: '', iterations: 0, optOut: false };

/** An unsigned child zone below a signed parent, served by the other software. */
function insecureChild(name: string, parent: string, server: ServerId, description: string): ZoneCase {
  return zone({ name, parent, kind: 'child', server, signer: 'none', ds: 'none', expected: 'insecure', description });
}

// --------------------------------------------------------------------------
// The zones
// --------------------------------------------------------------------------

const list: ZoneCase[] = [];

// Root and TLD --------------------------------------------------------------

list.push(zone({
  name: '.', parent: null, kind: 'root', server: 'nsd-root', bare: true,
  algorithm: 8, keyBits: 1024, kskBits: 2048, denial: 'nsec',
  description: 'Fake root zone (RSASHA256, 2048-bit KSK / 1024-bit ZSK, NSEC). Its KSK is the trust anchor.',
  records: [],
  queries: [
    { name: '.', type: 'SOA', rcode: 'NOERROR', status: 'secure', tags: ['apex'] },
    { name: '.', type: 'DNSKEY', rcode: 'NOERROR', status: 'secure', tags: ['apex'] },
    { name: 'test.', type: 'DS', rcode: 'NOERROR', status: 'secure' },
    { name: 'no-such-tld.', type: 'A', rcode: 'NXDOMAIN', status: 'secure', tags: ['nxdomain'] },
  ],
}));

list.push(zone({
  name: TLD, parent: '.', kind: 'tld', server: 'nsd-tld', bare: true, algorithm: 13, denial: 'nsec',
  description: 'TLD "test." (ECDSAP256SHA256, NSEC). Holds the name server host names and all DS records of the second-level zones.',
  records: [
    // host names of the authoritative servers (authoritative data here, glue in the root)
    `a.root-servers A ${SERVERS['nsd-root'].host}`,
    `ns1.nic A ${SERVERS['nsd-tld'].host}`,
    `ns1.nsd A ${SERVERS.nsd.host}`,
    `ns1.bind A ${SERVERS.named.host}`,
  ],
  queries: [
    { name: 'test.', type: 'SOA', rcode: 'NOERROR', status: 'secure', tags: ['apex'] },
    { name: 'test.', type: 'DNSKEY', rcode: 'NOERROR', status: 'secure', tags: ['apex'] },
    { name: 'ns1.nsd.test.', type: 'A', rcode: 'NOERROR', status: 'secure', expectAnswer: [SERVERS.nsd.host] },
    { name: 'alg8.test.', type: 'DS', rcode: 'NOERROR', status: 'secure' },
    { name: 'unsigned.test.', type: 'DS', rcode: 'NOERROR', nodata: true, status: 'secure', tags: ['nodata'], note: 'NSEC proof that the insecure delegation has no DS' },
    { name: 'no-such-zone.test.', type: 'A', rcode: 'NXDOMAIN', status: 'secure', tags: ['nxdomain'] },
  ],
}));

// One zone per algorithm -----------------------------------------------------

const ALGS: Array<{ alg: number; name: string; server: ServerId; denial: 'nsec' | 'nsec3'; bits?: number }> = [
  { alg: 5, name: 'RSASHA1', server: 'nsd', denial: 'nsec', bits: 1024 },
  { alg: 7, name: 'NSEC3RSASHA1', server: 'nsd', denial: 'nsec3', bits: 1024 },
  { alg: 8, name: 'RSASHA256', server: 'nsd', denial: 'nsec', bits: 1024 },
  { alg: 10, name: 'RSASHA512', server: 'nsd', denial: 'nsec', bits: 1024 },
  { alg: 13, name: 'ECDSAP256SHA256', server: 'named', denial: 'nsec' },
  { alg: 14, name: 'ECDSAP384SHA384', server: 'named', denial: 'nsec' },
  { alg: 15, name: 'ED25519', server: 'named', denial: 'nsec' },
  { alg: 16, name: 'ED448', server: 'named', denial: 'nsec' },
];
for (const a of ALGS) {
  const o: ZoneOpts = {
    name: `alg${a.alg}.test.`, kind: 'algorithm', server: a.server, algorithm: a.alg, denial: a.denial,
    description: `Algorithm ${a.alg} (${a.name})${a.bits ? `, ${a.bits}-bit RSA` : ''}, ${a.denial.toUpperCase()}` +
      (a.denial === 'nsec3' ? ' (no salt, 0 iterations; alg 7 is the NSEC3-capable alias of RSASHA1)' : ''),
  };
  if (a.bits) o.keyBits = a.bits;
  if (a.denial === 'nsec3') o.nsec3 = NO_SALT;
  list.push(zone(o));
}

// NSEC3 variants ---------------------------------------------------------------

list.push(zone({
  name: 'nsec3-nosalt.test.', kind: 'denial', server: 'named', algorithm: 13, denial: 'nsec3', nsec3: NO_SALT,
  description: 'NSEC3, no salt, 0 additional iterations (RFC 9276 recommended parameters)',
}));
list.push(zone({
  name: 'nsec3-salt.test.', kind: 'denial', server: 'nsd', algorithm: 8, keyBits: 1024, denial: 'nsec3',
  nsec3: { salt: 'aabbccdd', iterations: 10, optOut: false },
  description: 'NSEC3 with salt aabbccdd and 10 additional iterations (RSASHA256)',
}));
list.push(zone({
  name: 'nsec3-optout.test.', kind: 'denial', server: 'named', algorithm: 13, denial: 'nsec3',
  nsec3: { salt: '', iterations: 0, optOut: true },
  description: 'NSEC3 opt-out (all NSEC3 records carry the opt-out flag) with an unsigned delegation child.nsec3-optout.test.',
  notes: [
    'RFC 5155 9.2: when the NSEC3 covering the next closer name has the opt-out flag, the response must not be ' +
    'treated as authenticated (an unsigned delegation may exist there). That applies to NXDOMAIN, wildcard answers ' +
    'and wildcard NODATA (all need a covering NSEC3 for the next closer) and to the DS NODATA of the opt-out ' +
    'delegation; plain NODATA and ENT NODATA use a matching NSEC3 and stay secure. Unbound implements this; ' +
    'delv (BIND 9.18) reports some of them as fully validated (recorded as deviations).',
  ],
  queryOverrides: {
    'nx A': { status: 'insecure', tags: ['nxdomain', 'optout'], deviation: { delv: 'secure', reason: OPTOUT_DELV } },
    'x.wild TXT': { status: 'insecure', tags: ['wildcard', 'optout'] },
    'x.y.wild A': { status: 'insecure', tags: ['wildcard', 'optout'] },
    'x.wild AAAA': { status: 'insecure', tags: ['wildcard', 'nodata', 'optout'], deviation: { delv: 'secure', reason: OPTOUT_DELV } },
  },
  extraQueries: [
    { name: 'child.nsec3-optout.test.', type: 'DS', rcode: 'NOERROR', nodata: true, status: 'insecure', tags: ['optout', 'nodata'],
      note: 'no DS for an opt-out delegation: proven only by the opt-out NSEC3 covering the next closer name (RFC 5155 8.6, 9.2)',
      deviation: { delv: 'secure', reason: OPTOUT_DELV } },
  ],
}));
list.push(insecureChild('child.nsec3-optout.test.', 'nsec3-optout.test.', 'nsd',
  'Unsigned child of the NSEC3 opt-out zone (delegation not covered by any NSEC3 record)'));
list.push(zone({
  name: 'nsec3-iter200.test.', kind: 'denial', server: 'nsd', algorithm: 13, denial: 'nsec3', signer: 'ldns-signzone',
  nsec3: { salt: 'cafe', iterations: 200, optOut: false },
  description: 'NSEC3 with 200 additional iterations, signed with ldns-signzone (dnssec-signzone 9.18 refuses more than 150).',
  notes: [
    'Positive answers are secure. Denial of existence uses NSEC3 above the 150-iteration limit of BIND 9.18 and ' +
    'Unbound 1.17 (val-nsec3-keysize-iterations); RFC 9276 3.2 lets validators treat such answers as insecure, ' +
    'which both reference validators do, so the expected verdict for negative answers is insecure.',
  ],
  queryOverrides: {
    'nx A': { status: 'insecure', note: 'NSEC3 iterations > 150: insecure per RFC 9276' },
    'www TXT': { status: 'insecure', note: 'NSEC3 iterations > 150: insecure per RFC 9276' },
    'ent A': { status: 'insecure', note: 'NSEC3 iterations > 150: insecure per RFC 9276' },
    'x.wild TXT': { status: 'insecure', note: 'wildcard expansion needs an NSEC3 proof (iterations > 150)' },
    'x.y.wild A': { status: 'insecure', note: 'wildcard expansion needs an NSEC3 proof (iterations > 150)' },
    'x.wild AAAA': { status: 'insecure', note: 'NSEC3 iterations > 150: insecure per RFC 9276' },
  },
}));

// CNAME / DNAME chains ------------------------------------------------------------

list.push(zone({
  name: 'cname.test.', kind: 'cname', server: 'nsd', algorithm: 13, denial: 'nsec',
  description: 'CNAME and DNAME chains from a secure zone into secure, insecure, bogus and non-existent targets',
  extraRecords: [
    'to-secure CNAME www.alg8.test.',
    'to-insecure CNAME www.unsigned.test.',
    'to-bogus CNAME www.bogus-expired.test.',
    'to-nx CNAME nothere.alg13.test.',
    'chain1 CNAME chain2',
    'chain2 CNAME chain3.alg14.test.',
    'dname DNAME alg15.test.',
  ],
  extraQueries: [
    { name: 'to-secure.cname.test.', type: 'A', rcode: 'NOERROR', status: 'secure', expectAnswer: ['www.alg8.test.', DATA.www], tags: ['cname'] },
    { name: 'to-insecure.cname.test.', type: 'A', rcode: 'NOERROR', status: 'insecure', expectAnswer: ['www.unsigned.test.', DATA.www], tags: ['cname'],
      deviation: { delv: 'secure', reason: CNAME_DELV } },
    { name: 'to-bogus.cname.test.', type: 'A', rcode: 'NOERROR', status: 'bogus', expectAnswer: ['www.bogus-expired.test.'], tags: ['cname'],
      deviation: { delv: 'secure', reason: CNAME_DELV } },
    { name: 'to-nx.cname.test.', type: 'A', rcode: 'NXDOMAIN', status: 'secure', expectAnswer: ['nothere.alg13.test.'], tags: ['cname', 'nxdomain'] },
    { name: 'chain1.cname.test.', type: 'A', rcode: 'NOERROR', status: 'secure', expectAnswer: ['chain2.cname.test.', 'chain3.alg14.test.', DATA.www], tags: ['cname'] },
    { name: 'www.dname.cname.test.', type: 'A', rcode: 'NOERROR', status: 'secure', expectAnswer: ['www.alg15.test.', DATA.www], tags: ['dname'] },
    { name: 'nx.dname.cname.test.', type: 'A', rcode: 'NXDOMAIN', status: 'secure', tags: ['dname', 'nxdomain'] },
  ],
}));
// target of chain2 above lives in alg14.test.
{
  const a14 = list.find((z) => z.name === 'alg14.test.')!;
  a14.records.push('chain3 CNAME www');
  a14.queries.push({ name: 'chain3.alg14.test.', type: 'A', rcode: 'NOERROR', status: 'secure', expectAnswer: [DATA.www], tags: ['cname'] });
}

// Insecure delegations ---------------------------------------------------------------

list.push(zone({
  name: 'unsigned.test.', kind: 'insecure', server: 'named', signer: 'none', ds: 'none', expected: 'insecure',
  description: 'Unsigned zone delegated from the NSEC-signed TLD without DS',
  extraRecords: [`_25._tcp.mail TLSA 3 1 1 ${DATA.tlsaPlaceholder}`],
  extraQueries: [
    { name: '_25._tcp.mail.unsigned.test.', type: 'TLSA', rcode: 'NOERROR', status: 'insecure', tags: ['dane'] },
  ],
}));
list.push(zone({
  name: 'insec-nsec.test.', kind: 'insecure', server: 'nsd', algorithm: 13, denial: 'nsec',
  description: 'Signed NSEC zone with an insecure delegation to child.insec-nsec.test. (no DS, NSEC proves it)',
  extraQueries: [
    { name: 'child.insec-nsec.test.', type: 'DS', rcode: 'NOERROR', nodata: true, status: 'secure', tags: ['nodata'], note: 'NSEC with NS but without DS bit' },
  ],
}));
list.push(insecureChild('child.insec-nsec.test.', 'insec-nsec.test.', 'named', 'Unsigned child of an NSEC parent'));
list.push(zone({
  name: 'insec-nsec3.test.', kind: 'insecure', server: 'named', algorithm: 13, denial: 'nsec3', nsec3: NO_SALT,
  description: 'Signed NSEC3 zone (no opt-out) with an insecure delegation to child.insec-nsec3.test.',
  extraQueries: [
    { name: 'child.insec-nsec3.test.', type: 'DS', rcode: 'NOERROR', nodata: true, status: 'secure', tags: ['nodata'], note: 'matching NSEC3 with NS but without DS bit' },
  ],
}));
list.push(insecureChild('child.insec-nsec3.test.', 'insec-nsec3.test.', 'nsd', 'Unsigned child of an NSEC3 (no opt-out) parent'));

// Bogus zones -------------------------------------------------------------------------

list.push(zone({
  name: 'bogus-expired.test.', kind: 'bogus', server: 'nsd', validity: 'expired', expected: 'bogus',
  description: 'All signatures expired (inception now-60d, expiration now-30d)',
}));
list.push(zone({
  name: 'bogus-future.test.', kind: 'bogus', server: 'named', validity: 'future', expected: 'bogus',
  description: 'All signatures not yet valid (inception now+365d)',
}));
list.push(zone({
  name: 'bogus-modified.test.', kind: 'bogus', server: 'nsd', expected: 'bogus', queryStatus: 'secure',
  description: 'www A and the TLSA at _25._tcp.mail changed after signing; all other data is secure',
  extraRecords: [`_25._tcp.mail TLSA 3 1 1 ${DATA.tlsaPlaceholder}`],
  mutations: [
    { op: 'modify-rdata', owner: 'www', type: 'A', rdata: DATA.modified },
    { op: 'modify-rdata', owner: '_25._tcp.mail', type: 'TLSA', rdata: DATA.tlsaModified },
  ],
  queryOverrides: {
    'www A': { status: 'bogus', expectAnswer: [DATA.modified] },
    'alias A': { status: 'bogus', expectAnswer: [DATA.modified], note: 'CNAME target is the modified RRset', deviation: { delv: 'secure', reason: CNAME_DELV } },
  },
  extraQueries: [
    { name: '_25._tcp.mail.bogus-modified.test.', type: 'TLSA', rcode: 'NOERROR', status: 'bogus', tags: ['dane'], expectAnswer: ['ab'.repeat(16).toUpperCase()] },
  ],
}));
list.push(zone({
  name: 'bogus-ds-mismatch.test.', kind: 'bogus', server: 'named', ds: 'foreign-key', expected: 'bogus',
  description: 'Parent DS references a key that the (correctly signed) child does not publish',
}));
list.push(zone({
  name: 'bogus-ds-unsigned.test.', kind: 'bogus', server: 'named', signer: 'none', ds: 'foreign-key', expected: 'bogus',
  description: 'Parent publishes a DS but the child zone is not signed at all',
}));
list.push(zone({
  name: 'bogus-no-rrsig.test.', kind: 'bogus', server: 'nsd', expected: 'bogus', queryStatus: 'secure',
  description: 'RRSIG of www A stripped after signing; other RRsets are secure',
  mutations: [{ op: 'strip-rrsig', owner: 'www', type: 'A' }],
  queryOverrides: {
    'www A': { status: 'bogus' },
    'alias A': { status: 'bogus', note: 'CNAME target www A has no RRSIG', deviation: { delv: 'secure', reason: CNAME_DELV } },
  },
}));
list.push(zone({
  name: 'bogus-nsec3-sig.test.', kind: 'bogus', server: 'named', denial: 'nsec3', nsec3: NO_SALT,
  expected: 'bogus', queryStatus: 'secure',
  description: 'Signatures over every NSEC3 record corrupted: positive answers secure, every denial/wildcard proof bogus',
  mutations: [{ op: 'corrupt-rrsig', type: 'NSEC3' }],
  queryOverrides: {
    'nx A': { status: 'bogus' },
    'www TXT': { status: 'bogus' },
    'ent A': { status: 'bogus' },
    'x.wild TXT': { status: 'bogus', note: 'wildcard expansion needs a (corrupted) NSEC3 proof' },
    'x.y.wild A': { status: 'bogus', note: 'wildcard expansion needs a (corrupted) NSEC3 proof' },
    'x.wild AAAA': { status: 'bogus' },
  },
}));
list.push(zone({
  name: 'bogus-nsec-sig.test.', kind: 'bogus', server: 'nsd', denial: 'nsec', expected: 'bogus', queryStatus: 'secure',
  description: 'Signatures over every NSEC record corrupted: positive answers secure, every denial/wildcard proof bogus',
  mutations: [{ op: 'corrupt-rrsig', type: 'NSEC' }],
  queryOverrides: {
    'nx A': { status: 'bogus' },
    'www TXT': { status: 'bogus' },
    'ent A': { status: 'bogus' },
    'x.wild TXT': { status: 'bogus', note: 'wildcard expansion needs a (corrupted) NSEC proof' },
    'x.y.wild A': { status: 'bogus', note: 'wildcard expansion needs a (corrupted) NSEC proof' },
    'x.wild AAAA': { status: 'bogus' },
  },
}));
list.push(zone({
  name: 'bogus-dnskey-sig.test.', kind: 'bogus', server: 'named', expected: 'bogus',
  description: 'Signatures over the DNSKEY RRset corrupted: the DNSKEY set cannot be authenticated, everything is bogus',
  mutations: [{ op: 'corrupt-rrsig', type: 'DNSKEY' }],
}));

// Unknown algorithm / digest (must be treated as insecure) ------------------------------

list.push(zone({
  name: 'unknown-alg253.test.', kind: 'unknown', server: 'nsd', expected: 'insecure',
  description: 'DNSKEY/RRSIG/DS use algorithm 253 (PRIVATEDNS, key prefixed with the name "unknown-algorithm.example."): unsupported algorithm => insecure (RFC 4035 5.2)',
  mutations: [{ op: 'rewrite-algorithm', algorithm: 253 }],
}));
list.push(zone({
  name: 'unknown-alg100.test.', kind: 'unknown', server: 'named', expected: 'insecure',
  description: 'DNSKEY/RRSIG/DS use unassigned algorithm 100: unsupported algorithm => insecure (RFC 4035 5.2)',
  mutations: [{ op: 'rewrite-algorithm', algorithm: 100 }],
}));
list.push(zone({
  name: 'unknown-digest.test.', kind: 'unknown', server: 'named', ds: 'unknown-digest', expected: 'insecure',
  description: 'Correctly signed zone, but the parent DS uses only digest type 200 (unassigned) => insecure (RFC 4035 5.2)',
}));

// KeyTrap (CVE-2023-50387) and NSEC3 hash floods (CVE-2023-50868) --------------------

/**
 * A non-existent name `depth` labels below nsec3-flood.test.: depth - 1 single letters and `last`
 * (2 * depth + 17 octets on the wire for a 1-letter `last`, 255 at most: depth <= 118).
 */
export function nsec3FloodName(depth: number, last = 'nx'): string {
  const labels = Array.from({ length: depth - 1 }, (_, i) => String.fromCharCode(97 + (i % 26)));
  return `${labels.join('.')}.${last}.nsec3-flood.test.`;
}
/**
 * Depth of the deep query case: the deepest name the validating Unbound 1.17.1 (Debian CVE-2023-50868
 * backport) answers on the first query (measured: 62 labels in ~1.9 s; from 63 labels on it does not
 * answer the first query at all and answers a retry secure in < 1 s).
 */
export const NSEC3_DEEP_DEPTH = 62;
/** Depth used by test/daemon/keytrap.test.ts: a validator re-hashing per NSEC3 record (2 x 101) exceeds 200, hash-once (102) does not. */
export const NSEC3_FLOOD_DEPTH = 100;
/** The most labels a name below nsec3-flood.test. can have (255 octets). */
export const NSEC3_MAX_DEPTH = 118;

const KEYTRAP_BUDGET = 'default limits: at most 8 signature verifications per RRset (maxSignaturesPerRRset)';

list.push(zone({
  name: 'keytrap-keys.test.', kind: 'keytrap', server: 'nsd', algorithm: 8, keyBits: 1024, denial: 'nsec', fakeKeys: 12, bare: true,
  expected: 'bogus',
  description: 'KeyTrap key-tag collision: 12 garbage RSA DNSKEYs share the ZSK\'s tag and algorithm (13 candidates per ZSK RRSIG; ' +
    'the DNSKEY RRset is signed over all of them by the unique-tag KSK); www A and *.flood A also carry 2 bad copies of ' +
    'their ZSK RRSIG before the real one',
  records: [
    `www A ${DATA.www}`,
    `mail A ${DATA.mail}`,
    `*.flood A ${DATA.wild}`,
  ],
  mutations: [
    { op: 'add-bad-rrsigs', owner: 'www', type: 'A', count: 2 },
    { op: 'add-bad-rrsigs', owner: '*.flood', type: 'A', count: 2 },
  ],
  notes: [
    'Zone file order: the 12 fake keys, then the real ZSK, then the KSK; every fake also sorts before the real ZSK in ' +
    'canonical order. The validating Unbound reads the NSD order; the upstream Unbound (rrset-roundrobin: yes, the default) ' +
    'rotates the DNSKEY RRset by the query ID, so the daemon sees the real ZSK at a random one of the 13 positions. A ' +
    'validator that tries maxKeysPerTag = 4 keys per (tag, algorithm) in the order received reaches the real key for a ' +
    'single-RRSIG RRset with probability 4/13: mail A (and SOA, NSEC) have only the real RRSIG, so their verdict depends on ' +
    'the rotation and they are no query case here (test/daemon/keytrap.test.ts only requires a prompt answer for them).',
    'Observed for mail A and SOA as well: the validating Unbound 1.17.1 (Debian KeyTrap backport) SERVFAILs with EDE 6 ' +
    '"too many RRSIG validations" (it stops after 8 failed verifications per RRset and the real key is 13th); delv (BIND ' +
    '9.18.49) reports "no valid signature found" after a single verification (+vtrace: one "verify rdataset" per RRset; ' +
    'BIND keeps RRsets in canonical order, where the first same-tag key is a fake).',
    'www A and *.flood A are order-independent: the two bad RRSIG copies (same tag, algorithm, signer, validity) come first ' +
    'and never verify; at 4 keys per tag they use 4 + 4 = 8 verifications, the per-RRset limit, before the real RRSIG is ' +
    'reached; without the per-tag limit the first bad copy alone uses the 8. Secure only when the limits allow the worst ' +
    'case 13 + 13 + 13 = 39 verifications (e.g. maxKeysPerTag 16, maxSignaturesPerRRset 64).',
  ],
  queries: [
    { name: 'keytrap-keys.test.', type: 'DNSKEY', rcode: 'NOERROR', status: 'secure', tags: ['apex', 'keytrap'],
      note: 'signed by the KSK only (dnssec-signzone -x), whose tag is unique: the colliding ZSK-tag keys are never tried' },
    { name: 'www.keytrap-keys.test.', type: 'A', rcode: 'NOERROR', status: 'bogus', expectAnswer: [DATA.www], tags: ['keytrap'],
      note: `2 bad + 1 real RRSIG x 13 same-tag keys: ${KEYTRAP_BUDGET} are spent on the bad copies` },
    { name: 'x.flood.keytrap-keys.test.', type: 'A', rcode: 'NOERROR', status: 'bogus', expectAnswer: [DATA.wild], tags: ['keytrap', 'wildcard'],
      note: `wildcard: any label gives a fresh (uncached) KeyTrap answer; ${KEYTRAP_BUDGET}` },
  ],
}));

list.push(zone({
  name: 'keytrap-sigs.test.', kind: 'keytrap', server: 'nsd', algorithm: 13, denial: 'nsec', bare: true, expected: 'bogus',
  description: 'KeyTrap signature flood: the apex SOA, www A and *.flood A carry 20 bad copies of their RRSIG (right tag, algorithm, ' +
    'signer and validity, one signature bit flipped each) before the real RRSIG, which comes last',
  records: [
    `www A ${DATA.www}`,
    `mail A ${DATA.mail}`,
    `*.flood A ${DATA.wild}`,
  ],
  mutations: [
    { op: 'add-bad-rrsigs', owner: '@', type: 'SOA', count: 20 },
    { op: 'add-bad-rrsigs', owner: 'www', type: 'A', count: 20 },
    { op: 'add-bad-rrsigs', owner: '*.flood', type: 'A', count: 20 },
  ],
  notes: [
    'With the default maxSignaturesPerRRset = 8 a validator gives up after 8 bad RRSIGs: bogus. The data itself is validly ' +
      'signed: with maxSignaturesPerRRset >= 21 the same answers are secure (test/daemon/keytrap.test.ts).',
    'The answers (21 RRSIGs, about 2.4 kB) exceed 1232 octets and come over TCP; NSD serves the RRSIGs in zone-file order ' +
      'and Unbound does not rotate RRSIGs, so the real one stays last.',
    'Both references agree (bogus): the validating Unbound 1.17.1 answers SERVFAIL with EDE 6 "too many RRSIG validations"; ' +
      'delv (BIND 9.18.49) reports "no valid signature found" after verifying only the first (bad) RRSIG.',
  ],
  queries: [
    { name: 'keytrap-sigs.test.', type: 'DNSKEY', rcode: 'NOERROR', status: 'secure', tags: ['apex', 'keytrap'] },
    { name: 'keytrap-sigs.test.', type: 'SOA', rcode: 'NOERROR', status: 'bogus', tags: ['apex', 'keytrap'], note: `20 bad + 1 real RRSIG; ${KEYTRAP_BUDGET}` },
    { name: 'www.keytrap-sigs.test.', type: 'A', rcode: 'NOERROR', status: 'bogus', expectAnswer: [DATA.www], tags: ['keytrap'],
      note: `20 bad + 1 real RRSIG; ${KEYTRAP_BUDGET}` },
    { name: 'mail.keytrap-sigs.test.', type: 'A', rcode: 'NOERROR', status: 'secure', expectAnswer: [DATA.mail], tags: ['keytrap'],
      note: 'control: same zone and keys, only the real RRSIG' },
    { name: 'x.flood.keytrap-sigs.test.', type: 'A', rcode: 'NOERROR', status: 'bogus', expectAnswer: [DATA.wild], tags: ['keytrap', 'wildcard'],
      note: `wildcard: any label gives a fresh (uncached) KeyTrap answer; ${KEYTRAP_BUDGET}` },
  ],
}));

list.push(zone({
  name: 'nsec3-flood.test.', kind: 'keytrap', server: 'named', algorithm: 13, denial: 'nsec3',
  nsec3: { salt: '', iterations: 150, optOut: false },
  description: `NSEC3 with 150 additional iterations (the most that is still validated) and a ${NSEC3_DEEP_DEPTH}-label non-existent name (hash flood)`,
  notes: [
    'Each NSEC3 hash is 151 SHA-1 computations (RFC 5155 5). For a name d labels below the apex that does not exist, the ' +
    'closest encloser is the apex and the next closer the label just below it; the NXDOMAIN answers here carry 2 NSEC3 ' +
    'records (the one matching the apex and one covering the next closer; one of them also covers the wildcard). Checking closest-encloser candidates ' +
    'bottom-up from the query name (RFC 5155 8.3), hashing each name once, takes d + 1 hashes (query name up to the apex) ' +
    '+ 1 for the wildcard = d + 2; top-down from the apex it takes 3. A validator that hashes every candidate again for ' +
    'each NSEC3 record in the answer needs 2 (d + 1) + 1.',
    `Deep query case: d = ${NSEC3_DEEP_DEPTH}: ${NSEC3_DEEP_DEPTH + 2} hashes hash-once, ${2 * (NSEC3_DEEP_DEPTH + 1) + 1} per-record: ` +
    'both within maxNsec3HashesPerQuery = 200 (counted per name hash): secure NXDOMAIN.',
    `test/daemon/keytrap.test.ts also sends d = ${NSEC3_FLOOD_DEPTH} (hash-once ${NSEC3_FLOOD_DEPTH + 2} <= 200 < per-record ` +
    `${2 * (NSEC3_FLOOD_DEPTH + 1) + 1}: secure only if each name is hashed once) and d = ${NSEC3_MAX_DEPTH}, the longest legal ` +
    `name (hash-once ${NSEC3_MAX_DEPTH + 2}): no legal query name can push a hash-once validator past 200. These deeper ` +
    'names are not query cases because the validating Unbound 1.17.1 (Debian backport of the CVE-2023-50868 fix) does not ' +
    `answer the first query for a name deeper than ${NSEC3_DEEP_DEPTH} labels here (it gives up after about 64 hash ` +
    'computations and sends nothing; a retry is answered secure from the hashes it cached), which a reference comparison ' +
    'without retry would read as an error. delv validates all of them.',
  ],
  extraQueries: [
    { name: nsec3FloodName(NSEC3_DEEP_DEPTH), type: 'A', rcode: 'NXDOMAIN', status: 'secure', tags: ['nxdomain', 'nsec3-flood'],
      note: `${NSEC3_DEEP_DEPTH} labels below the apex: ${NSEC3_DEEP_DEPTH + 2} NSEC3 hashes (151 SHA-1 each) bottom-up, within the budget of 200` },
  ],
}));

// DANE --------------------------------------------------------------------------------------

list.push(zone({
  name: 'dane.test.', kind: 'dane', server: 'nsd', algorithm: 13, denial: 'nsec',
  description: 'Signed mail domain: MX -> mail.dane.test with A/AAAA and TLSA 3 1 1 (SHA-256 of the SPKI of the generated test certificate); ' +
    'MX variants pointing into insecure and bogus zones and a host without TLSA',
  extraRecords: [
    `_25._tcp.mail TLSA 3 1 1 ${DATA.tlsaPlaceholder}`,
    'insecure-mx MX 10 mail.unsigned.test.',
    'bogus-mx MX 10 mail.bogus-modified.test.',
    'notlsa MX 10 mail-notlsa',
    `mail-notlsa A ${DATA.mail}`,
  ],
  extraQueries: [
    { name: 'dane.test.', type: 'MX', rcode: 'NOERROR', status: 'secure', expectAnswer: ['mail.dane.test.'], tags: ['dane'] },
    { name: 'mail.dane.test.', type: 'A', rcode: 'NOERROR', status: 'secure', expectAnswer: [DATA.mail], tags: ['dane'] },
    { name: '_25._tcp.mail.dane.test.', type: 'TLSA', rcode: 'NOERROR', status: 'secure', tags: ['dane'] },
    { name: 'insecure-mx.dane.test.', type: 'MX', rcode: 'NOERROR', status: 'secure', expectAnswer: ['mail.unsigned.test.'], tags: ['dane'] },
    { name: 'bogus-mx.dane.test.', type: 'MX', rcode: 'NOERROR', status: 'secure', expectAnswer: ['mail.bogus-modified.test.'], tags: ['dane'] },
    { name: '_25._tcp.mail-notlsa.dane.test.', type: 'TLSA', rcode: 'NXDOMAIN', status: 'secure', tags: ['dane', 'nxdomain'] },
  ],
}));

// The mail world (mail.ts, mail-zones.ts): MX domains, MX hosts with TLSA variants, served SMTP hosts --------------

list.push(...MAIL_ZONES);

export const ZONES: Record<string, ZoneCase> = Object.fromEntries(list.map((z) => [z.name, z]));

/** Zones in an order where every child comes before its parent (deepest first). */
export function zonesLeavesFirst(): ZoneCase[] {
  const depth = (n: string) => (n === '.' ? 0 : n.split('.').length - 1);
  return [...list].sort((a, b) => depth(b.name) - depth(a.name) || a.name.localeCompare(b.name));
}
