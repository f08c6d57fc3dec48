/**
 * The zones of the mail world, built from the MAIL table (mail.ts) as ZoneCases that zones.ts adds to ZONES:
 * every MX, A/AAAA and TLSA RRset of the table with the verdict a correct validator must reach (tag 'mail').
 * TLSA association data are placeholders here; the generator fills in the digests of the certificates.
 */
import { MAIL, tlsaText, type MailHost, type Verdict } from './mail.js';
import type { Mutation, QueryCase, ServerId, Status, ZoneCase } from './zones.js';

const TLD = 'test.';
const CHILD = '_25._tcp.tlsa-insecure.dhost.test.';

function rel(name: string, zone: string): string {
  if (name === zone) return '@';
  if (!name.endsWith(`.${zone}`)) throw new Error(`${name} is not in ${zone}`);
  return name.slice(0, -zone.length - 1);
}

function q(name: string, type: string, v: Verdict, extra: Partial<QueryCase> = {}): QueryCase {
  const c: QueryCase = { name, type, rcode: v.rcode, status: v.status, tags: ['mail'], ...extra };
  if (v.nodata) c.nodata = true;
  return c;
}

interface MailZoneDef {
  name: string;
  parent?: string;
  server: ServerId;
  signed: boolean;
  expected: Status;
  description: string;
  mutations?: Mutation[];
}

function mailZone(d: MailZoneDef): ZoneCase {
  const z: ZoneCase = {
    name: d.name, kind: 'mail', description: d.description, parent: d.parent ?? TLD, server: d.server,
    signer: d.signed ? 'dnssec-signzone' : 'none', denial: d.signed ? 'nsec' : 'none', validity: 'normal',
    ds: d.signed ? 'normal' : 'none', mutations: d.mutations ?? [], records: [], expected: d.expected, queries: [],
  };
  if (d.signed) z.algorithm = 13;
  const apex = d.signed ? 'secure' : 'insecure';
  z.queries.push(q(d.name, 'SOA', { status: apex, rcode: 'NOERROR' }, { tags: ['mail', 'apex'] }));
  if (d.signed) z.queries.push(q(d.name, 'DNSKEY', { status: 'secure', rcode: 'NOERROR' }, { tags: ['mail', 'apex'] }));
  return z;
}

const zones: Record<string, ZoneCase> = {
  'dmx.test.': mailZone({ name: 'dmx.test.', server: 'nsd', signed: true, expected: 'secure',
    description: 'Mail world: owners of SECURE MX RRsets (ECDSA P-256, NSEC)' }),
  'umx.test.': mailZone({ name: 'umx.test.', server: 'named', signed: false, expected: 'insecure',
    description: 'Mail world: owners of INSECURE MX RRsets (unsigned, delegated without DS)' }),
  'bmx.test.': mailZone({ name: 'bmx.test.', server: 'named', signed: true, expected: 'bogus',
    description: 'Mail world: owners of BOGUS MX RRsets (every MX RRSIG corrupted after signing)',
    mutations: [{ op: 'corrupt-rrsig', type: 'MX' }] }),
  'dhost.test.': mailZone({ name: 'dhost.test.', server: 'nsd', signed: true, expected: 'secure',
    description: 'Mail world: SECURE MX hosts with their TLSA variants (the TLSA of tlsa-bogus has a corrupted RRSIG; ' +
      '_25._tcp.tlsa-insecure is an unsigned child zone, delegated without DS)',
    mutations: [{ op: 'corrupt-rrsig', type: 'TLSA', owner: '_25._tcp.tlsa-bogus' }] }),
  'uhost.test.': mailZone({ name: 'uhost.test.', server: 'named', signed: false, expected: 'insecure',
    description: 'Mail world: INSECURE MX host (unsigned zone; its TLSA is insecure too)' }),
  'bhost.test.': mailZone({ name: 'bhost.test.', server: 'nsd', signed: true, expected: 'bogus',
    description: 'Mail world: BOGUS MX host (every A RRSIG corrupted after signing; its TLSA is secure)',
    mutations: [{ op: 'corrupt-rrsig', type: 'A' }] }),
  [CHILD]: mailZone({ name: CHILD, parent: 'dhost.test.', server: 'named', signed: false, expected: 'insecure',
    description: 'Mail world: unsigned child zone of dhost.test. (no DS, the parent\'s NSEC proves it) holding the TLSA of ' +
      'tlsa-insecure.dhost.test.: the TLSA is INSECURE while the host\'s A is SECURE' }),
};

function zoneOf(name: string): ZoneCase {
  const z = Object.values(zones).filter((c) => name === c.name || name.endsWith(`.${c.name}`))
    .sort((a, b) => b.name.length - a.name.length)[0];
  if (!z) throw new Error(`no mail zone holds ${name}`);
  return z;
}

function addHost(h: MailHost): void {
  const z = zones[h.zone]!;
  const r = rel(h.name, h.zone);
  if (h.cname) z.records.push(`${r} CNAME ${h.cname}`);
  for (const a of h.a) z.records.push(`${r} A ${a}`);
  for (const a of h.aaaa) z.records.push(`${r} AAAA ${a}`);
  const addrNote = h.cname ? { expectAnswer: [h.cname] } : {};
  z.queries.push(q(h.name, 'A', h.expect.A, { ...addrNote, ...(h.a.length ? { expectAnswer: [...h.a, ...(h.cname ? [h.cname] : [])] } : {}) }));
  z.queries.push(q(h.name, 'AAAA', h.expect.AAAA, h.aaaa.length ? { expectAnswer: h.aaaa } : addrNote));
  // the TLSA lives in the zone that holds its owner (the unsigned child for tlsa-insecure)
  const tz = zoneOf(h.tlsaOwner);
  for (const t of h.tlsa) tz.records.push(`${rel(h.tlsaOwner, tz.name)} TLSA ${tlsaText(t)}`);
  const tlsaSig = h.tlsa.map((t) => `${t.usage} ${t.selector} ${t.matching}`);
  tz.queries.push(q(h.tlsaOwner, 'TLSA', h.expect.TLSA, tlsaSig.length ? { expectAnswer: tlsaSig.map((s) => `TLSA ${s}`) } : {}));
}

for (const h of MAIL.hosts) addHost(h);
// the cname host's target already has A secure; its target address is part of the answer
{
  const cq = zones['dhost.test.']!.queries.find((c) => c.name === 'cname.dhost.test.' && c.type === 'A')!;
  cq.expectAnswer = ['ok.dhost.test.', MAIL.hosts.find((h) => h.name === 'ok.dhost.test.')!.a[0]!];
  cq.note = 'CNAME to ok.dhost.test. in the same zone';
}

for (const d of MAIL.domains) {
  const z = zones[d.zone]!;
  const r = rel(d.name, d.zone);
  for (const m of d.mx) z.records.push(`${r} MX ${m.preference} ${m.host}`);
  z.queries.push(q(d.name, 'MX', d.expect.MX, d.mx.length ? { expectAnswer: d.mx.map((m) => `MX ${m.preference} ${m.host}`) } : {}));
}

zones['dhost.test.']!.queries.push(q(CHILD, 'DS', { status: 'secure', rcode: 'NOERROR', nodata: true },
  { note: 'insecure delegation of the TLSA zone: the NSEC at the delegation has NS but no DS bit' }));

/** Every mail zone (the generator orders them by depth: the child before dhost.test.). */
export const MAIL_ZONES: ZoneCase[] = Object.values(zones);
