/**
 * The mail world (contract: /work/notes/mail-world.md): mail domains whose MX RRsets are secure, insecure or
 * bogus, MX hosts with every TLSA variant a DANE client (RFC 7672) must handle, and an SMTP server with
 * STARTTLS on port 25 of each host's address (test/world/smtp-server.ts), started with the world.
 *
 *   import { MAIL, mailHost } from './world/mail.js';
 *   for (const h of MAIL.hosts) ... h.name, h.listen, h.behaviour, h.expect.TLSA.status, h.rfc7672 ...
 *   world.mail.tlsa[h.name]       // the TLSA RDATA as published (digests of the generated certificates)
 *   world.mail.certs.ee.certFile  // certificate files (absolute), world.mail.deliveriesFile, ...
 *
 * The zones built from this table are in mail-zones.ts, the certificates in mail-certs.ts. Addresses are
 * 127.X.102.N (and ::ffff:127.X.102.N for AAAA) of the world's block (net.ts), all on loopback.
 */
import { worldAddr, worldAddr6 } from './net.js';
import type { SmtpBehaviour } from './smtp-server.js';
import type { Rcode, Status } from './zones.js';

export type { SmtpBehaviour } from './smtp-server.js';

/** The certificate (and chain) a host presents after STARTTLS. */
export type CertId = 'ee' | 'ta201';

/**
 * What the association data of a TLSA record is computed from (mail-certs.ts):
 *  ee-spki-sha256 / ee-spki-sha512: the EE certificate's SubjectPublicKeyInfo, ee-cert-sha256: the whole EE
 *  certificate (DER), other-spki-sha256: a key no server uses, ca-cert-sha256: the test CA's certificate,
 *  short-20: the first 20 octets of ee-spki-sha256 (a SHA-256 digest of the wrong length: malformed).
 */
export type TlsaData = 'ee-spki-sha256' | 'ee-spki-sha512' | 'ee-cert-sha256' | 'other-spki-sha256' | 'ca-cert-sha256' | 'short-20';

export interface TlsaSpec { usage: number; selector: number; matching: number; data: TlsaData }

/** A verdict a correct validator reaches for one name and type. */
export interface Verdict { status: Status; rcode: Rcode; nodata?: boolean }

/**
 * What an RFC 7672 client (e.g. Postfix with smtp_tls_security_level = dane) does with mail for a host or
 * domain: `verified` delivers over TLS with the certificate authenticated by DANE, `encrypted` delivers over
 * TLS without authentication (no usable secure TLSA: opportunistic TLS, or mandatory TLS when all TLSA
 * records are unusable), `deferred` must not deliver now (bogus data, failed authentication, no STARTTLS
 * where DANE applies, no banner), `bounced` never (null MX).
 */
export type Rfc7672Result = 'verified' | 'encrypted' | 'deferred' | 'bounced';
export interface Rfc7672 { result: Rfc7672Result; why: string }

export interface MailHost {
  /** absolute host name */
  name: string;
  /** zone holding the host's address records */
  zone: string;
  a: string[];
  aaaa: string[];
  /** CNAME target (the host has no address records of its own) */
  cname?: string;
  /** IPv4 addresses the SMTP server listens on (port MAIL.port); empty for a CNAME */
  listen: string[];
  behaviour: SmtpBehaviour | null;
  /** certificate presented after STARTTLS; null when the host never gets that far */
  cert: CertId | null;
  /** _25._tcp.<name> */
  tlsaOwner: string;
  /** the TLSA RRset as published (empty: none) */
  tlsa: TlsaSpec[];
  expect: { A: Verdict; AAAA: Verdict; TLSA: Verdict };
  /** does the presented certificate match a usable TLSA record (DANE-EE/DANE-TA)? */
  certMatches: boolean;
  rfc7672: Rfc7672;
}

export interface MailDomain {
  /** absolute domain name (MX owner) */
  name: string;
  zone: string;
  /** the MX RRset; empty: no MX, the domain is its own mail host (RFC 5321 5.1) */
  mx: Array<{ preference: number; host: string }>;
  expect: { MX: Verdict };
  rfc7672: Rfc7672 & { host?: string };
}

const v4 = (n: number): string => worldAddr(102, n);
const v6 = (n: number): string => worldAddr6(102, n);

const SECURE_NODATA: Verdict = { status: 'secure', rcode: 'NOERROR', nodata: true };
const SECURE_NX: Verdict = { status: 'secure', rcode: 'NXDOMAIN' };
const INSECURE: Verdict = { status: 'insecure', rcode: 'NOERROR' };
const BOGUS: Verdict = { status: 'bogus', rcode: 'NOERROR' };

const EE311: TlsaSpec = { usage: 3, selector: 1, matching: 1, data: 'ee-spki-sha256' };

interface HostDef {
  label: string; zone: string; addr?: number; aaaaOnly?: boolean; cname?: string;
  behaviour?: SmtpBehaviour; cert?: CertId; tlsa: TlsaSpec[];
  expect?: Partial<MailHost['expect']>; certMatches: boolean; rfc7672: Rfc7672;
}

function host(d: HostDef): MailHost {
  const name = `${d.label}.${d.zone}`;
  const a = d.addr !== undefined && !d.aaaaOnly ? [v4(d.addr)] : [];
  const aaaa = d.addr !== undefined && d.aaaaOnly ? [v6(d.addr)] : [];
  const zoneStatus: Status = d.zone === 'uhost.test.' ? 'insecure' : 'secure';
  const addr = (has: boolean): Verdict => (has ? { status: zoneStatus, rcode: 'NOERROR' } : { status: zoneStatus, rcode: 'NOERROR', nodata: true });
  const h: MailHost = {
    name, zone: d.zone, a, aaaa,
    listen: d.addr !== undefined ? [v4(d.addr)] : [],
    behaviour: d.behaviour ?? (d.cname ? null : 'normal'),
    cert: d.cert ?? (d.cname || d.behaviour === 'nostarttls' || d.behaviour === 'silent' ? null : 'ee'),
    tlsaOwner: `_25._tcp.${name}`,
    tlsa: d.tlsa,
    expect: {
      A: addr(a.length > 0 || d.cname !== undefined),
      AAAA: addr(aaaa.length > 0),
      TLSA: d.tlsa.length ? { status: zoneStatus, rcode: 'NOERROR' } : SECURE_NX,
      ...d.expect,
    },
    certMatches: d.certMatches,
    rfc7672: d.rfc7672,
  };
  if (d.cname) h.cname = d.cname;
  return h;
}

const VERIFIED: Rfc7672 = { result: 'verified', why: 'secure A and usable secure TLSA that the presented certificate matches' };

const HOSTS: MailHost[] = [
  host({ label: 'ok', zone: 'dhost.test.', addr: 10, tlsa: [EE311], certMatches: true, rfc7672: VERIFIED }),
  host({ label: 'badcert', zone: 'dhost.test.', addr: 11, tlsa: [{ ...EE311, data: 'other-spki-sha256' }], certMatches: false,
    rfc7672: { result: 'deferred', why: 'usable secure TLSA 3 1 1 of another key: the presented certificate does not match' } }),
  host({ label: 'notlsa', zone: 'dhost.test.', addr: 12, tlsa: [], certMatches: false,
    rfc7672: { result: 'encrypted', why: 'no TLSA (secure NXDOMAIN): opportunistic TLS (RFC 7672 2.2)' } }),
  host({ label: 'tlsa-bogus', zone: 'dhost.test.', addr: 13, tlsa: [EE311], expect: { TLSA: BOGUS }, certMatches: true,
    rfc7672: { result: 'deferred', why: 'TLSA RRset bogus (RRSIG corrupted): the client must not deliver (RFC 7672 2.2)' } }),
  host({ label: 'tlsa-insecure', zone: 'dhost.test.', addr: 14, tlsa: [EE311], expect: { TLSA: INSECURE }, certMatches: true,
    rfc7672: { result: 'encrypted', why: 'TLSA in an unsigned child zone (insecure): no DANE, opportunistic TLS (RFC 7672 2.2)' } }),
  host({ label: 'v301', zone: 'dhost.test.', addr: 15, tlsa: [{ usage: 3, selector: 0, matching: 1, data: 'ee-cert-sha256' }], certMatches: true, rfc7672: VERIFIED }),
  host({ label: 'v312', zone: 'dhost.test.', addr: 16, tlsa: [{ usage: 3, selector: 1, matching: 2, data: 'ee-spki-sha512' }], certMatches: true, rfc7672: VERIFIED }),
  host({ label: 'ta201', zone: 'dhost.test.', addr: 17, cert: 'ta201', tlsa: [{ usage: 2, selector: 0, matching: 1, data: 'ca-cert-sha256' }], certMatches: true,
    rfc7672: { result: 'verified', why: 'DANE-TA 2 0 1 of the test CA; the chain [leaf, CA] is presented and the leaf names ta201.dhost.test' } }),
  host({ label: 'unusable', zone: 'dhost.test.', addr: 18, certMatches: false,
    tlsa: [{ usage: 0, selector: 0, matching: 1, data: 'ee-cert-sha256' }, { usage: 1, selector: 1, matching: 1, data: 'ee-spki-sha256' }],
    rfc7672: { result: 'encrypted', why: 'only PKIX-TA/PKIX-EE records, unusable for SMTP (RFC 7672 3.1.3): TLS is mandatory, without authentication (RFC 7672 2.2)' } }),
  host({ label: 'malformed', zone: 'dhost.test.', addr: 19, certMatches: false, tlsa: [{ ...EE311, data: 'short-20' }],
    rfc7672: { result: 'encrypted', why: 'the only TLSA record has a 20-octet SHA-256 digest (malformed, unusable): mandatory TLS without authentication' } }),
  host({ label: 'aaaa-only', zone: 'dhost.test.', addr: 20, aaaaOnly: true, tlsa: [EE311], certMatches: true,
    rfc7672: { result: 'verified', why: `AAAA ${v6(20)} only (reaches the IPv4 listener through an IPv6 socket); usable TLSA` } }),
  host({ label: 'nostarttls', zone: 'dhost.test.', addr: 21, behaviour: 'nostarttls', tlsa: [EE311], certMatches: false,
    rfc7672: { result: 'deferred', why: 'usable secure TLSA but STARTTLS is not offered: DANE requires TLS (RFC 7672 2.2)' } }),
  host({ label: 'silent', zone: 'dhost.test.', addr: 22, behaviour: 'silent', tlsa: [EE311], certMatches: false,
    rfc7672: { result: 'deferred', why: 'accepts TCP and never sends a banner' } }),
  host({ label: 'cname', zone: 'dhost.test.', cname: 'ok.dhost.test.', tlsa: [], certMatches: true,
    rfc7672: { result: 'verified', why: 'CNAME to ok.dhost.test.: the target\'s TLSA applies (RFC 7672 2.2.3), none at _25._tcp.cname' } }),
  host({ label: 'host', zone: 'uhost.test.', addr: 30, tlsa: [EE311], certMatches: true,
    rfc7672: { result: 'encrypted', why: 'A insecure: DANE does not apply to the host (RFC 7672 2.2.2), opportunistic TLS' } }),
  host({ label: 'host', zone: 'bhost.test.', addr: 31, tlsa: [EE311], expect: { A: BOGUS }, certMatches: true,
    rfc7672: { result: 'deferred', why: 'A bogus (RRSIG corrupted): no address can be trusted' } }),
];

interface DomainDef { label: string; zone: 'dmx.test.' | 'umx.test.' | 'bmx.test.'; mx?: Array<[number, string]>; rfc7672?: MailDomain['rfc7672'] }

function domain(d: DomainDef): MailDomain {
  const mx = (d.mx ?? [[10, `${d.label}.dhost.test.`]]).map(([preference, h]) => ({ preference, host: h }));
  const status: Status = d.zone === 'dmx.test.' ? 'secure' : d.zone === 'umx.test.' ? 'insecure' : 'bogus';
  let rfc7672: MailDomain['rfc7672'];
  if (d.rfc7672) rfc7672 = d.rfc7672;
  else if (status === 'bogus') rfc7672 = { result: 'deferred', why: 'MX RRset bogus (RRSIG corrupted)' };
  else {
    const target = HOSTS.find((h) => h.name === mx[0]!.host);
    if (!target) throw new Error(`mail domain ${d.label}.${d.zone}: no host ${mx[0]!.host}`);
    // RFC 7672 2.2.1: a client MAY still use the secure TLSA records of a host named by an insecure MX RRset, and
    // Postfix's `dane` level does (posttls-finger: "MX RRset insecure: log verified as trusted"): the host decides.
    rfc7672 = status === 'secure'
      ? { ...target.rfc7672, host: target.name }
      : { ...target.rfc7672, host: target.name, why: `MX RRset insecure, the host's own records still apply (RFC 7672 2.2.1, as Postfix): ${target.rfc7672.why}` };
  }
  return { name: `${d.label}.${d.zone}`, zone: d.zone, mx, expect: { MX: { status, rcode: 'NOERROR' } }, rfc7672 };
}

const DHOST_LABELS = ['ok', 'badcert', 'notlsa', 'tlsa-bogus', 'tlsa-insecure', 'v301', 'v312', 'ta201', 'unusable', 'malformed',
  'aaaa-only', 'nostarttls', 'silent', 'cname'];

const DOMAINS: MailDomain[] = [
  ...DHOST_LABELS.map((label) => domain({ label, zone: 'dmx.test.' })),
  domain({ label: 'a-insecure', zone: 'dmx.test.', mx: [[10, 'host.uhost.test.']] }),
  domain({ label: 'a-bogus', zone: 'dmx.test.', mx: [[10, 'host.bhost.test.']] }),
  domain({ label: 'multi', zone: 'dmx.test.', mx: [[10, 'silent.dhost.test.'], [20, 'ok.dhost.test.']],
    rfc7672: { result: 'verified', host: 'ok.dhost.test.', why: 'MX 10 silent.dhost.test. never answers; MX 20 ok.dhost.test. is verified' } }),
  domain({ label: 'nullmx', zone: 'dmx.test.', mx: [[0, '.']], rfc7672: { result: 'bounced', why: 'null MX (RFC 7505): the domain accepts no mail' } }),
  ...['ok', 'badcert', 'notlsa', 'tlsa-bogus', 'tlsa-insecure'].map((label) => domain({ label, zone: 'umx.test.' })),
  domain({ label: 'a-insecure', zone: 'umx.test.', mx: [[10, 'host.uhost.test.']] }),
  domain({ label: 'a-bogus', zone: 'umx.test.', mx: [[10, 'host.bhost.test.']] }),
  domain({ label: 'ok', zone: 'bmx.test.', mx: [[10, 'ok.dhost.test.']] }),
  {
    name: 'ok.dhost.test.', zone: 'dhost.test.', mx: [], expect: { MX: SECURE_NODATA },
    rfc7672: { result: 'verified', host: 'ok.dhost.test.', why: 'no MX (secure NODATA): the domain is its own host (RFC 5321 5.1, RFC 7672 2.2.1)' },
  },
];

export const MAIL = {
  /** SMTP port of every host */
  port: 25,
  /** the zones of the mail world and their overall status */
  zones: {
    'dmx.test.': 'secure', 'umx.test.': 'insecure', 'bmx.test.': 'bogus',
    'dhost.test.': 'secure', 'uhost.test.': 'insecure', 'bhost.test.': 'bogus',
    '_25._tcp.tlsa-insecure.dhost.test.': 'insecure',
  } as Record<string, Status>,
  hosts: HOSTS,
  domains: DOMAINS,
  /** files, relative to the world directory (absolute ones: WorldInfo.mail) */
  files: {
    /** certificates and keys (PEM), generated and cached with the signed zones */
    certDir: 'signed/mail',
    deliveries: 'mail/deliveries.jsonl',
    sessions: 'mail/sessions.jsonl',
    messages: 'mail/messages',
  },
  /** limits of the SMTP servers */
  smtp: { idleTimeoutMs: 60_000, maxLineOctets: 4096, maxMessageOctets: 10 * 1024 * 1024, maxRecipients: 100, maxErrors: 20 },
} as const;

/** The host of that name (absolute or not); throws for a name not in the table. */
export function mailHost(name: string): MailHost {
  const n = name.endsWith('.') ? name : `${name}.`;
  const h = HOSTS.find((x) => x.name === n.toLowerCase());
  if (!h) throw new Error(`no mail host ${name} (known: ${HOSTS.map((x) => x.name).join(' ')})`);
  return h;
}

/** The mail domain of that name (absolute or not); throws for a name not in the table. */
export function mailDomain(name: string): MailDomain {
  const n = name.endsWith('.') ? name : `${name}.`;
  const d = DOMAINS.find((x) => x.name === n.toLowerCase());
  if (!d) throw new Error(`no mail domain ${name}`);
  return d;
}

/** The zone-file placeholder for TLSA data (replaced by the generator with the digest from mail-certs.ts). */
export function tlsaPlaceholder(data: TlsaData): string {
  return `{{MAIL:${data}}}`;
}

/** TLSA RDATA text of a spec with the digests filled in (`digests` from WorldInfo.mail.digests). */
export function tlsaText(t: TlsaSpec, digests?: Record<TlsaData, string>): string {
  return `${t.usage} ${t.selector} ${t.matching} ${digests ? digests[t.data] : tlsaPlaceholder(t.data)}`;
}
