/**
 * bench/mta's own signed hierarchy (mta-zones.ts), made and served with the shared test world's tools: keys
 * by BIND's dnssec-keygen, zones signed by dnssec-signzone, as the test world's (test/world/signing.ts), served by
 * NSD (one instance per level: root, TLDs, mail domains, providers), and an iterating, non-validating Unbound on top
 * with the bench root as its only hint (the resolvers under test forward to it), both configured as the test
 * world's (test/world/server-conf.ts). The signed output is cached in bench/out/mta-world/<instance>/signed/, keyed
 * by a hash of the definitions and of the signing code (this file, mta-zones.ts, test/world/signing.ts and rr.ts),
 * and signed again when the signatures would expire within 7 days. One process on the machine at a time runs an
 * instance: its addresses are fixed (mta-zones.ts), the same for every checkout and every STUBD_WORLD_NET, so the
 * lock directory is the machine's (mtaWorldLockDir), not the checkout's. The instance is stopped by whoever started it.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { probe } from '../test/world/dnsprobe.js';
import { acquireDirLock, run } from '../test/world/proc.js';
import { dsFromDnskey, dsText } from '../test/world/rr.js';
import { nsdConf, unboundConf } from '../test/world/server-conf.js';
import { buildLeavesFirst, DAY, dnssecKeygen, dnssecSignzone, goodSignatures, isBelow, RESIGN_MARGIN_DAYS, RSA_ALGS, zoneId, type GeneratedKey } from '../test/world/signing.js';
import { killStraysSync, startProcesses, stopProcessesSync, type ProcRecord, type ProcSpec } from '../test/world/servers.js';
import { childrenOf, mtaWorldDef, type MtaWorldDef, type MtaZone } from './mta-zones.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
/** <repo>/dist/bench -> <repo> */
const ROOT = path.resolve(HERE, '..', '..');

interface Manifest {
  hash: string;
  signedAt: string;
  expiresAt: number;
  zoneFiles: Record<string, string>;
  rootAnchorFile: string;
  rootHintsFile: string;
}

export interface MtaWorld {
  def: MtaWorldDef;
  dir: string;
  upstream: { host: string; port: number };
  /** unbound-control argv prefix for the upstream. */
  control: string[];
  rootAnchorFile: string;
  signed: { resigned: boolean; ms: number };
  stop(): void;
}

export function mtaWorldDir(instance: string): string {
  return path.join(ROOT, 'bench', 'out', 'mta-world', instance);
}

/**
 * Where the lock of an instance's addresses lives: outside any checkout, so that two checkouts (the test command's
 * check in each, or a bench in one) take turns instead of the second failing on the first's servers. /tmp, not
 * os.tmpdir(): a TMPDIR of one checkout's run must not split the lock.
 */
export function mtaWorldLockDir(instance: string): string {
  return path.join('/tmp', `dnssec-stubd-mta-world-${instance}`);
}

/** The signing code's files (dist/bench or dist/test/world): a change to any of them signs again. */
const SIGNING_CODE = ['mta-world.js', 'mta-zones.js', '../test/world/signing.js', '../test/world/rr.js'];

function definitionsHash(def: MtaWorldDef): string {
  const h = createHash('sha256').update(JSON.stringify(def));
  for (const f of SIGNING_CODE) h.update(readFileSync(path.join(HERE, f)));
  return h.digest('hex').slice(0, 32);
}

/** A key of the zone's algorithm: RSA KSKs of 2048 bits, ZSKs of 1024. */
function keygen(keyDir: string, z: MtaZone, ksk: boolean): Promise<GeneratedKey> {
  return dnssecKeygen(keyDir, z.name, z.algorithm!, { ksk, ...(RSA_ALGS.has(z.algorithm!) ? { bits: ksk ? 2048 : 1024 } : {}) });
}

interface Built { file: string; ds: string[]; ksk: string[] }

async function buildZone(def: MtaWorldDef, dir: string, z: MtaZone, done: Map<string, Built>, now: number): Promise<void> {
  const ns = def.servers[z.role];
  const children = childrenOf(def, z.name);
  const cuts = children.map((c) => c.name);
  const glue = new Set<string>();
  const addGlue = (nsName: string): void => {
    if (!cuts.some((c) => isBelow(nsName, c))) return;
    const s = Object.values(def.servers).find((x) => x.nsName === nsName)!;
    glue.add(`${nsName}\t3600\tIN\tA\t${s.host}`);
  };
  const lines = [`$ORIGIN ${z.name}`, '$TTL 3600', `@\tIN\tSOA\t${ns.nsName} hostmaster.hosting-bench. ${now} 3600 900 604800 300`, `@\tIN\tNS\t${ns.nsName}`, ...z.records];
  addGlue(ns.nsName);
  for (const c of children) {
    const cns = def.servers[c.role].nsName;
    lines.push(`${c.name}\t3600\tIN\tNS\t${cns}`, ...done.get(c.name)!.ds);
    addGlue(cns);
  }
  lines.push(...glue);
  const file = path.join(dir, 'zones', `${zoneId(z.name)}.zone`);
  if (z.algorithm === undefined) {
    writeFileSync(file, lines.join('\n') + '\n');
    done.set(z.name, { file, ds: [], ksk: [] });
    return;
  }
  const keyDir = path.join(dir, 'keys', zoneId(z.name));
  mkdirSync(keyDir, { recursive: true });
  const ksk = await keygen(keyDir, z, true);
  const zsk = await keygen(keyDir, z, false);
  const unsigned = path.join(dir, 'work', `${zoneId(z.name)}.unsigned`);
  writeFileSync(unsigned, [...lines, ksk.dnskey, zsk.dnskey].join('\n') + '\n');
  await dnssecSignzone({ keyDir, zone: z.name, unsigned, out: file, ...goodSignatures(now),
    // RFC 9276: no salt, no extra iterations
    ...(z.denial === 'nsec3' ? { nsec3: { salt: '', iterations: 0 } } : {}) });
  done.set(z.name, { file, ds: [dsText(z.name, dsFromDnskey(z.name, ksk.rdata, 2))], ksk: [ksk.dnskey] });
}

/** The cached signed zones of `def`, signed again when stale. */
async function ensureSigned(def: MtaWorldDef, base: string): Promise<{ manifest: Manifest; resigned: boolean; ms: number }> {
  const t0 = Date.now();
  const dir = path.join(base, 'signed');
  const hash = definitionsHash(def);
  const now = Math.floor(Date.now() / 1000);
  try {
    const m = JSON.parse(readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as Manifest;
    if (m.hash === hash && m.expiresAt - now > RESIGN_MARGIN_DAYS * DAY && Object.values(m.zoneFiles).every((f) => existsSync(f))) {
      return { manifest: m, resigned: false, ms: Date.now() - t0 };
    }
  } catch { /* none yet */ }
  const tmp = `${dir}.new`;
  rmSync(tmp, { recursive: true, force: true });
  for (const d of ['keys', 'work', 'zones']) mkdirSync(path.join(tmp, d), { recursive: true });
  const done = new Map<string, Built>();
  await buildLeavesFirst(def.zones, 4, (z) => buildZone(def, tmp, z, done, now));
  const root = done.get('.')!;
  writeFileSync(path.join(tmp, 'root-anchor.zone'), ['; trust anchor of the bench/mta root', ...root.ksk, ...root.ds, ''].join('\n'));
  writeFileSync(path.join(tmp, 'root.hints'), [`.\t3600000\tIN\tNS\t${def.servers.root.nsName}`, `${def.servers.root.nsName}\t3600000\tIN\tA\t${def.servers.root.host}`, ''].join('\n'));
  const fin = (p: string): string => path.join(dir, path.relative(tmp, p));
  const manifest: Manifest = {
    hash, signedAt: new Date(now * 1000).toISOString(), expiresAt: goodSignatures(now).expiration,
    zoneFiles: Object.fromEntries([...done].map(([n, b]) => [n, fin(b.file)])),
    rootAnchorFile: path.join(dir, 'root-anchor.zone'), rootHintsFile: path.join(dir, 'root.hints'),
  };
  writeFileSync(path.join(tmp, 'manifest.json'), JSON.stringify(manifest, null, 2));
  rmSync(dir, { recursive: true, force: true });
  renameSync(tmp, dir);
  return { manifest, resigned: true, ms: Date.now() - t0 };
}

/**
 * The upstream: iterating only (no validation), DNSSEC records passed through for DO=1, as the test world's; with
 * room for the bench's 208 zones and its warm-up held for the whole run, and none of the world's "test." TLD.
 */
const UPSTREAM_SETTINGS = {
  'local-zone': null, 'num-queries-per-thread': 1024, 'msg-cache-size': '16m', 'rrset-cache-size': '32m',
  'infra-host-ttl': 600, 'infra-keep-probing': null, ede: null,
} as const;

/**
 * Sign (or reuse) and start an instance; `stop()` ends its processes and frees it. Waits up to `waitMs` for
 * another process using the same instance.
 */
export async function startMtaWorld(instance: 'bench' | 'check', domains: number, opts: { warmup?: number; waitMs?: number; log?: (s: string) => void } = {}): Promise<MtaWorld> {
  const def = mtaWorldDef(instance, domains, opts.warmup ?? 0);
  const base = mtaWorldDir(instance);
  // Held until stop() (or released at once when the start fails): one user of an instance's addresses at a time.
  const release = await acquireDirLock(mtaWorldLockDir(instance), opts.waitMs ?? 600_000,
    (owner, lock) => `bench/mta world "${instance}" (127.58.${def.net}.0/17) is in use by pid ${owner} (lock ${lock})`);
  try {
    const strays = killStraysSync(base);
    if (strays.length) opts.log?.(`killed stray bench/mta world processes: ${strays.join(', ')}`);
    const addrs = [...Object.values(def.servers).map((s) => s.host), def.upstream.host];
    const busy = (await Promise.all(addrs.map(async (h) => ((await probe(h, 53, '.', 'SOA', { timeoutMs: 300 })) ? h : null)))).filter((h) => h !== null);
    if (busy.length) throw new Error(`something already answers on ${busy.join(', ')} port 53 (127.58.0.0/16 is bench/mta's)`);
    const signed = await ensureSigned(def, base);
    opts.log?.(signed.resigned ? `signed ${def.zones.length} zones in ${signed.ms} ms` : 'using the cached signed zones');
    const m = signed.manifest;
    const runDir = path.join(base, 'run');
    const specs: ProcSpec[] = [];
    for (const [role, s] of Object.entries(def.servers)) {
      const d = path.join(runDir, `nsd-${role}`);
      mkdirSync(path.join(d, 'xfr'), { recursive: true });
      const zones = def.zones.filter((z) => z.role === role).map((z) => ({ name: z.name, file: m.zoneFiles[z.name]! }));
      const config = path.join(d, 'nsd.conf');
      writeFileSync(config, nsdConf({ header: `generated by bench/mta-world.ts - NSD ${role} of the ${instance} instance`, dir: d, host: s.host, port: 53, zones }));
      specs.push({ name: `nsd-${role}`, kind: 'auth', cmd: 'nsd', args: ['-d', '-c', config], runDir: d, config, log: path.join(d, 'nsd.stderr'),
        host: s.host, port: 53, probe: { qname: zones[0]!.name, qtype: 'SOA', rd: false } });
    }
    const d = path.join(runDir, 'unbound-upstream');
    mkdirSync(d, { recursive: true });
    const config = path.join(d, 'unbound.conf');
    writeFileSync(config, unboundConf({ header: `generated by bench/mta-world.ts - the ${instance} instance's upstream (iterator only)`, dir: d,
      host: def.upstream.host, port: def.upstream.port, rootHints: m.rootHintsFile, settings: UPSTREAM_SETTINGS }));
    const control = ['unbound-control', '-c', config];
    specs.push({ name: 'unbound-upstream', kind: 'resolver', cmd: 'unbound', args: ['-d', '-c', config], runDir: d, config,
      log: path.join(d, 'unbound.stderr'), host: def.upstream.host, port: def.upstream.port, probe: { qname: '.', qtype: 'SOA', rd: true }, control });
    const recs: ProcRecord[] = await startProcesses(specs);
    let stopped = false;
    const stop = (): void => {
      if (stopped) return;
      stopped = true;
      stopProcessesSync(recs);
      release();
    };
    process.once('exit', stop);
    return { def, dir: base, upstream: def.upstream, control, rootAnchorFile: m.rootAnchorFile, signed: { resigned: signed.resigned, ms: signed.ms }, stop };
  } catch (e) {
    release();
    throw e;
  }
}

/** Queries the upstream Unbound has received so far (its counters are never reset here). */
export async function upstreamQueries(world: MtaWorld): Promise<number> {
  const [cmd, ...args] = world.control;
  const r = await run(cmd!, [...args, 'stats_noreset'], { timeoutMs: 10_000 });
  const v = /^total\.num\.queries=(\d+)$/m.exec(r.stdout);
  if (r.code !== 0 || !v) throw new Error(`unbound-control stats_noreset failed: ${r.stdout}${r.stderr}`);
  return Number(v[1]);
}
