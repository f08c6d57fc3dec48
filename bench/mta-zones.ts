/**
 * The DNS hierarchy of bench/mta, as data: its own root, two TLDs (`mail-bench.` for the mail domains,
 * `hosting-bench.` for the providers and the name servers), N mail domains `dNNN.mail-bench.` (each its own
 * zone, most signed), whose two MX hosts sit at one of five providers `providerK.hosting-bench.` (signed with
 * different algorithms and denial, with and without TLSA at `_25._tcp.<host>`, one unsigned; hosts shared by
 * all customers at two, a domain's own hosts at three), and what a validating resolver must answer for each
 * name (what `mta-client.ts` checks).
 *
 * Kept apart from the shared test world (test/world, on its own address block): changing that world re-signs
 * and restarts it under other people's tests. Two instances, each on its own addresses in 127.58.0.0/16 (never used
 * elsewhere): `bench` (127.58.0-127.x, 100 domains and 100 warm-up domains) and `check` (127.58.128-255.x, a few domains, the smoke
 * test's, test/bench/mta-world.world.test.ts in the test command), so the test and a bench run never collide. The
 * addresses are fixed, the same in every checkout: one process on the machine runs an instance at a time (mta-world.ts).
 */

export type ServerRole = 'root' | 'tld' | 'mail' | 'providers';
export type Denial = 'nsec' | 'nsec3';

export interface MtaZone {
  name: string;
  role: ServerRole;
  /** DNSSEC algorithm number; undefined: unsigned, and the parent publishes no DS. */
  algorithm?: 8 | 13 | 15;
  denial: Denial;
  /** Records below the SOA/NS the generator adds (relative owners; `@` the apex). */
  records: string[];
}

export interface MtaHost {
  name: string;
  /** The provider's zone. */
  provider: string;
  a: string;
  aaaa: string;
  /** A/AAAA (and TLSA) come from a signed zone: answered with AD. */
  secure: boolean;
  /** TLSA RDATA at `_25._tcp.<name>`, if any. */
  tlsa?: string;
}

export interface MtaDomain {
  name: string;
  signed: boolean;
  /** MX hosts, most preferred first. */
  mx: Array<{ preference: number; host: string }>;
}

export interface MtaWorldDef {
  instance: 'bench' | 'check';
  /** 127.58.<net+x>.y: 0 for bench, 128 for check. */
  net: number;
  servers: Record<ServerRole, { host: string; nsName: string }>;
  upstream: { host: string; port: number };
  zones: MtaZone[];
  hosts: MtaHost[];
  domains: MtaDomain[];
  /**
   * Other domains `wNNN.mail-bench.` at the same providers, built the same way: what a resolver answers before
   * the measured ones in the bench's `warm` state (its code warm, the providers' keys held, as in a resolver
   * that has been running; the measured domains and their own hosts still new).
   */
  warmup: MtaDomain[];
}

interface ProviderDef {
  label: string;
  algorithm?: 8 | 13 | 15;
  denial: Denial;
  /**
   * `shared`: every customer's MX names mx1 and mx2 of the provider (as Google's aspmx hosts); `per-domain`:
   * each customer domain has its own two host names at the provider (as Microsoft 365's
   * `<domain>.mail.protection.outlook.com`), new to a resolver with the domain.
   */
  hosts: 'shared' | 'per-domain';
  /** Which of a domain's mx1, mx2 publish TLSA. */
  tlsa: Array<'mx1' | 'mx2'>;
}

/**
 * The providers: every case an MTA meets in the wild. The algorithms differ so that validation costs are not
 * all ECDSA's; provider5 is unsigned (the MTA asks no TLSA there), provider4 is signed without TLSA (a secure
 * NXDOMAIN each time), provider3 has TLSA on its first host only. Domains take the providers in turn.
 */
const PROVIDERS: ProviderDef[] = [
  { label: 'provider1', algorithm: 13, denial: 'nsec', hosts: 'per-domain', tlsa: ['mx1', 'mx2'] },
  { label: 'provider2', algorithm: 8, denial: 'nsec3', hosts: 'per-domain', tlsa: ['mx1', 'mx2'] },
  { label: 'provider3', algorithm: 15, denial: 'nsec', hosts: 'shared', tlsa: ['mx1'] },
  { label: 'provider4', algorithm: 13, denial: 'nsec3', hosts: 'per-domain', tlsa: [] },
  { label: 'provider5', denial: 'nsec', hosts: 'shared', tlsa: [] },
];

const MAIL_TLD = 'mail-bench.';
const HOST_TLD = 'hosting-bench.';

/** A made-up but fixed SHA-256 digest for a host's TLSA 3 1 1 (nobody connects: only DNS is measured). */
function digestOf(name: string): string {
  let h = 0x811c9dc5;
  const out: string[] = [];
  for (let i = 0; i < 32; i++) {
    for (const c of `${name}#${i}`) h = Math.imul(h ^ c.charCodeAt(0), 0x01000193) >>> 0;
    out.push((h & 0xff).toString(16).padStart(2, '0'));
  }
  return out.join('').toUpperCase();
}

/**
 * The hierarchy of one instance with `count` mail domains and `warmupCount` warm-up domains (providers in turn,
 * one in ten unsigned).
 */
export function mtaWorldDef(instance: 'bench' | 'check', count: number, warmupCount = 0): MtaWorldDef {
  const net = instance === 'bench' ? 0 : 128;
  const ip = (x: number, y: number): string => `127.58.${net + x}.${y}`;
  const servers: MtaWorldDef['servers'] = {
    root: { host: ip(0, 1), nsName: `a.root-servers.${HOST_TLD}` },
    tld: { host: ip(0, 2), nsName: `ns.tld.${HOST_TLD}` },
    mail: { host: ip(0, 3), nsName: `ns.mail.${HOST_TLD}` },
    providers: { host: ip(0, 4), nsName: `ns.providers.${HOST_TLD}` },
  };
  const hosts: MtaHost[] = [];
  const zones: MtaZone[] = [];
  const domains: MtaDomain[] = [];
  const records = new Map<ProviderDef, string[]>(PROVIDERS.map((p) => [p, []]));
  /** The host `label` of provider `k` (made once), its records added to the provider's zone. */
  const hostAt = (k: number, label: string, mx: 'mx1' | 'mx2'): string => {
    const p = PROVIDERS[k]!;
    const name = `${label}.${p.label}.${HOST_TLD}`;
    if (hosts.some((h) => h.name === name)) return name;
    const n = hosts.filter((h) => h.provider === `${p.label}.${HOST_TLD}`).length;
    const a = ip(100 + k, n + 1);
    const host: MtaHost = { name, provider: `${p.label}.${HOST_TLD}`, a, aaaa: `::ffff:${a}`, secure: p.algorithm !== undefined };
    records.get(p)!.push(`${label} A ${a}`, `${label} AAAA ${host.aaaa}`);
    if (p.tlsa.includes(mx)) {
      host.tlsa = `3 1 1 ${digestOf(name)}`;
      records.get(p)!.push(`_25._tcp.${label} TLSA ${host.tlsa}`);
    }
    hosts.push(host);
    return name;
  };
  const warmup: MtaDomain[] = [];
  for (const [prefix, n, list] of [['d', count, domains], ['w', warmupCount, warmup]] as const) {
    for (let i = 1; i <= n; i++) {
      const label = `${prefix}${String(i).padStart(3, '0')}`;
      const name = `${label}.${MAIL_TLD}`;
      const k = (i - 1) % PROVIDERS.length;
      // one in ten unsigned, at a signed provider (provider2): an insecure MX RRset whose hosts are secure
      const signed = i % 10 !== 7;
      const mx = (['mx1', 'mx2'] as const).map((m, j) => ({
        preference: 10 * (j + 1), host: hostAt(k, PROVIDERS[k]!.hosts === 'shared' ? m : `${label}-${m}`, m),
      }));
      list.push({ name, signed, mx });
      zones.push({ name, role: 'mail', ...(signed ? { algorithm: 13 as const } : {}), denial: 'nsec', records: mx.map((m) => `@ MX ${m.preference} ${m.host}`) });
    }
  }
  for (const p of PROVIDERS) {
    zones.push({ name: `${p.label}.${HOST_TLD}`, role: 'providers', ...(p.algorithm ? { algorithm: p.algorithm } : {}), denial: p.denial, records: records.get(p)! });
  }
  zones.push(
    { name: '.', role: 'root', algorithm: 13, denial: 'nsec', records: [] },
    // the name servers' addresses are authoritative data here; the root holds them as glue
    { name: HOST_TLD, role: 'tld', algorithm: 13, denial: 'nsec', records: (Object.values(servers)).map((s) => `${s.nsName} A ${s.host}`) },
    // a large TLD signs with RSA and NSEC3, as com. does
    { name: MAIL_TLD, role: 'tld', algorithm: 8, denial: 'nsec3', records: [] },
  );
  return { instance, net, servers, upstream: { host: ip(1, 1), port: 53 }, zones, hosts, domains, warmup };
}

/** The zone a name is delegated to in `def` from `parent`: the zones whose parent is `parent`. */
export function childrenOf(def: MtaWorldDef, parent: string): MtaZone[] {
  return def.zones.filter((z) => z.name !== '.' && parentOf(z.name) === parent);
}

/** `a.b.` -> `b.`, `b.` -> `.`. */
export function parentOf(name: string): string {
  const i = name.indexOf('.');
  return i === name.length - 1 ? '.' : name.slice(i + 1);
}

/** The host of `name` in `def`. */
export function hostOf(def: MtaWorldDef, name: string): MtaHost | undefined {
  const n = name.toLowerCase().replace(/\.?$/, '.');
  return def.hosts.find((h) => h.name === n);
}
