/**
 * A small private DNS tree whose root rolls its KSK, for the RFC 5011 world tests (issue 11): keys made with
 * BIND's dnssec-keygen, zones signed with dnssec-signzone, the root served by NSD, the children by named, and a
 * recursive, non-validating Unbound (`module-config: "iterator"`, root hints naming only this root) as the
 * daemon's upstream. Nothing of the shared test world (test/world) is changed; its process helpers are reused.
 *
 *   D.(200+N).1:53  NSD      the root `.` (`a.root-servers.rollover.`), one zone file per stage, `nsd-control reload`
 *   D.(200+N).2:53  named    `example.` (signed, ECDSA P-256, DS in the root) and `unsigned.` (no DS: insecure)
 *   D.(200+N).3:53  Unbound  upstream: iterator only, passes RRSIG/NSEC through for DO, works with CD
 * where D is the daemons' block of STUBD_WORLD_NET (127.55 by default; test/world/net.ts), so that two checkouts
 * on two blocks can run the rollover tests at once. `www.example.` and `www.unsigned.` point into D.200.0/24.
 *
 * The root's stages (RFC 5011 §6.1 with the old key revoked, as the real root did in 2017-2019):
 *   1  KSK1 only
 *   2  KSK2 published, the DNSKEY RRset signed by KSK1 and KSK2
 *   3  KSK1 revoked (dnssec-revoke: flag 0x0080, new key tag) and signing the RRset itself, next to KSK2
 *   4  KSK1 removed, KSK2 alone
 * All four root files are signed up front (inception now - 1 day, expiration now + 100 days, so that a daemon
 * under libfaketime a couple of months ahead still finds them valid); TTLs are 5 s. `setStage` copies one in,
 * reloads NSD, waits until it serves that stage's serial and flushes the upstream's cache.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { daemonAddr } from '../world/net.js';
import { run, runOk } from '../world/proc.js';
import { dnskeyWire, dsFromDnskey, dsText, keyTag } from '../world/rr.js';
import { startProcesses, stopProcessesSync, type ProcRecord, type ProcSpec } from '../world/servers.js';

const DAY = 86_400;
const TTL = 5;

export type Stage = 1 | 2 | 3 | 4;

export interface Key {
  /** dnssec-keygen's file base name (K<zone>+<alg>+<tag>). */
  base: string;
  /** The DNSKEY record in zone-file form. */
  text: string;
  /** RFC 4034 Appendix B key tag of the record as published. */
  tag: number;
}

export interface RolloverWorld {
  dir: string;
  /** The root server, the children's server and the upstream (port 53 each). */
  root: { host: string; port: number };
  children: { host: string; port: number };
  upstream: { host: string; port: number };
  ksk1: Key;
  /** KSK1 with the REVOKE bit (stage 3): same public key, tag + 128. */
  ksk1Revoked: Key;
  ksk2: Key;
  zsk: Key;
  /** Anchor files in zone-file form holding one DNSKEY each. */
  anchorFiles: { ksk1: string; ksk2: string };
  /** The stage being served. */
  stage: Stage;
  /** Serve a later stage: copy its signed file in, reload NSD, wait for its serial, flush the upstream's cache. */
  setStage(stage: Stage): Promise<void>;
  /** The root DNSKEY RRset as the upstream returns it now (DO+CD): key tags of the DNSKEYs and of the RRSIGs. */
  upstreamRootKeys(): Promise<{ keys: number[]; sigs: number[] }>;
  /** The upstream Unbound's cache (`unbound-control dump_cache`). */
  upstreamCache(): Promise<string>;
  /** Stop every process (synchronous); the directory is removed unless STUBD_KEEP_ROLLOVER_WORLD is set. */
  stop(): void;
}

const ts = (unix: number): string => new Date(unix * 1000).toISOString().replace(/[-:T]/g, '').slice(0, 14);

function readKey(file: string): Key {
  const line = readFileSync(file, 'utf8').split('\n').find((l) => l.trim() !== '' && !l.startsWith(';'))!;
  const t = line.trim().split(/\s+/);
  const rdata = t.slice(t.indexOf('DNSKEY') + 1);
  return { base: basename(file, '.key'), text: `${t[0]}\t${TTL}\tIN\tDNSKEY\t${rdata.join(' ')}`, tag: keyTag(dnskeyWire(rdata)) };
}

const rdataOf = (k: Key): string[] => k.text.split(/\s+/).slice(4);

async function keygen(dir: string, zone: string, alg: string, bits: number | undefined, ksk: boolean): Promise<Key> {
  const args = ['-q', '-K', dir, '-a', alg, '-n', 'ZONE', '-L', String(TTL)];
  if (bits) args.push('-b', String(bits));
  if (ksk) args.push('-f', 'KSK');
  args.push(zone);
  const base = (await runOk('dnssec-keygen', args, { cwd: dir })).stdout.trim();
  return readKey(join(dir, `${base}.key`));
}

function copyKey(k: Key, from: string, to: string): void {
  for (const ext of ['.key', '.private']) copyFileSync(join(from, `${k.base}${ext}`), join(to, `${k.base}${ext}`));
}

async function signzone(keyDir: string, zone: string, unsigned: string, out: string, now: number): Promise<void> {
  // -x: the DNSKEY RRset is signed by the KSKs only (as the real root), so each stage shows which KSKs sign.
  await runOk('dnssec-signzone', ['-K', keyDir, '-d', keyDir, '-o', zone, '-f', out, '-O', 'full', '-N', 'keep', '-x',
    '-s', ts(now - DAY), '-e', ts(now + 100 * DAY), unsigned], { cwd: keyDir, timeoutMs: 60_000 });
}

function nsdConf(d: string, host: string): string {
  return `# rollover test world: the root
server:
	server-count: 1
	ip-address: ${host}@53
	do-ip4: yes
	do-ip6: no
	username: ""
	chroot: ""
	zonesdir: "${d}"
	database: ""
	zonelistfile: "${d}/zone.list"
	xfrdfile: "${d}/xfrd.state"
	xfrdir: "${d}/xfr"
	pidfile: "${d}/nsd.pid"
	logfile: "${d}/nsd.log"
	verbosity: 1
	hide-version: yes
	reuseport: no
	refuse-any: no
	zonefiles-check: yes
	zonefiles-write: 0
remote-control:
	control-enable: yes
	control-interface: "${d}/nsd.ctl"
zone:
	name: "."
	zonefile: "${d}/root.zone"
`;
}

function namedConf(d: string, host: string, zones: Array<{ name: string; file: string }>): string {
  return `// rollover test world: the children
options {
	directory "${d}";
	pid-file "${d}/named.pid";
	session-keyfile "${d}/session.key";
	managed-keys-directory "${d}";
	listen-on port 53 { ${host}; };
	listen-on-v6 { none; };
	recursion no;
	allow-query { 127.0.0.0/8; };
	allow-transfer { none; };
	notify no;
	dnssec-validation no;
	version none;
	hostname none;
	server-id none;
	max-udp-size 1232;
};
controls { };
logging {
	channel main { file "${d}/named.log" versions 2 size 5m; severity info; print-time yes; print-severity yes; print-category yes; };
	category default { main; };
	category lame-servers { null; };
};
${zones.map((z) => `zone "${z.name}" { type primary; file "${z.file}"; };\n`).join('')}`;
}

function unboundConf(d: string, host: string, hints: string): string {
  return `# rollover test world: the daemon's upstream, recursive and non-validating
server:
	verbosity: 1
	username: ""
	chroot: ""
	directory: "${d}"
	pidfile: "${d}/unbound.pid"
	use-syslog: no
	logfile: "${d}/unbound.log"
	log-time-ascii: yes
	interface: ${host}@53
	outgoing-interface: ${host}
	port: 53
	do-ip4: yes
	do-ip6: no
	do-udp: yes
	do-tcp: yes
	access-control: 0.0.0.0/0 refuse
	access-control: 127.0.0.0/8 allow
	do-not-query-localhost: no
	root-hints: "${hints}"
	module-config: "iterator"
	qname-minimisation: no
	num-threads: 1
	so-reuseport: no
	outgoing-range: 256
	infra-host-ttl: 60
	infra-keep-probing: yes
	prefetch: no
	edns-buffer-size: 1232
	harden-dnssec-stripped: no
	aggressive-nsec: no
remote-control:
	control-enable: yes
	control-interface: "${d}/control.sock"
	control-use-cert: no
`;
}

/** The SOA serial a server gives for `zone` (no recursion), or undefined. */
async function servedSerial(host: string, zone: string): Promise<number | undefined> {
  const r = await run('dig', [`@${host}`, '-p', '53', zone, 'SOA', '+norecurse', '+short', '+tries=1', '+time=1'], { timeoutMs: 5000 });
  const serial = Number(r.stdout.trim().split(/\s+/)[2]);
  return Number.isInteger(serial) ? serial : undefined;
}

/** Address `d` of rollover tree `net` (1, 2, ...), in the daemons' block of the test world's STUBD_WORLD_NET. */
export function rolloverAddr(net: number, d: number): string {
  return daemonAddr(200 + net, d);
}

/**
 * Make the keys, sign the zones (every root stage up front), start NSD, named and Unbound on rolloverAddr(`net`, 1-3).
 * Every process is stopped again on failure, and when this process exits.
 */
export async function startRolloverWorld(net: number): Promise<RolloverWorld> {
  if (!Number.isInteger(net) || net < 1 || net > 54) throw new Error(`rollover tree ${net}: 1-54`);
  const root = { host: rolloverAddr(net, 1), port: 53 };
  const children = { host: rolloverAddr(net, 2), port: 53 };
  const upstream = { host: rolloverAddr(net, 3), port: 53 };
  const dir = mkdtempSync(join(tmpdir(), `stubd-rollover-${net}-`));
  const now = Math.floor(Date.now() / 1000);
  const sub = (...p: string[]): string => {
    const d = join(dir, ...p);
    mkdirSync(d, { recursive: true });
    return d;
  };

  // --- keys: root KSK1, KSK2 (RSASHA256 2048, as the real root) and ZSK; KSK1's revoked form by dnssec-revoke
  const rootKeys = sub('keys', 'root');
  const ksk1 = await keygen(rootKeys, '.', 'RSASHA256', 2048, true);
  const zsk = await keygen(rootKeys, '.', 'RSASHA256', 1024, false);
  const revDir = sub('keys', 'root-revoked');
  copyKey(ksk1, rootKeys, revDir);
  const revBase = basename((await runOk('dnssec-revoke', ['-r', '-K', revDir, ksk1.base], { cwd: revDir })).stdout.trim());
  const ksk1Revoked = readKey(join(revDir, `${revBase}.key`));
  let ksk2: Key | undefined;
  for (let i = 0; i < 5 && !ksk2; i++) {
    const k = await keygen(rootKeys, '.', 'RSASHA256', 2048, true);
    // distinct key tags in every form (with and without the REVOKE bit), so each signature names one key
    if (![ksk1.tag, ksk1Revoked.tag, zsk.tag].includes(k.tag) && ![ksk1.tag, zsk.tag].includes((k.tag + 128) & 0xffff)) ksk2 = k;
  }
  if (!ksk2) throw new Error('could not make a KSK2 with a key tag of its own');

  // --- children on named: example. signed (its DS goes into the root), unsigned. not
  const namedDir = sub('run', 'named');
  const exKeys = sub('keys', 'example');
  const exKsk = await keygen(exKeys, 'example.', 'ECDSAP256SHA256', undefined, true);
  const exZsk = await keygen(exKeys, 'example.', 'ECDSAP256SHA256', undefined, false);
  const child = (zone: string, host: string, extra: string[]): string[] => [
    `$ORIGIN ${zone}`, `$TTL ${TTL}`,
    `@\tIN\tSOA\tns.${zone} hostmaster.${zone} 1 3600 900 604800 ${TTL}`,
    `@\tIN\tNS\tns.${zone}`,
    `ns\tIN\tA\t${children.host}`,
    `www\tIN\tA\t${host}`,
    ...extra,
  ];
  const exUnsigned = join(exKeys, 'example.unsigned');
  writeFileSync(exUnsigned, [...child('example.', daemonAddr(200, 1), []), exKsk.text, exZsk.text, ''].join('\n'));
  const exFile = join(namedDir, 'example.zone');
  await signzone(exKeys, 'example.', exUnsigned, exFile, now);
  const unsignedFile = join(namedDir, 'unsigned.zone');
  writeFileSync(unsignedFile, [...child('unsigned.', daemonAddr(200, 2), []), ''].join('\n'));

  // --- the root, one signed file per stage
  const rootNs = 'a.root-servers.rollover.';
  const rootBody = (serial: number): string[] => [
    '$ORIGIN .', `$TTL ${TTL}`,
    `.\tIN\tSOA\t${rootNs} hostmaster.rollover. ${serial} 3600 900 604800 ${TTL}`,
    `.\tIN\tNS\t${rootNs}`,
    `${rootNs}\tIN\tA\t${root.host}`,
    'example.\tIN\tNS\tns.example.',
    `ns.example.\tIN\tA\t${children.host}`,
    dsText('example.', dsFromDnskey('example.', rdataOf(exKsk), 2), TTL),
    'unsigned.\tIN\tNS\tns.unsigned.',
    `ns.unsigned.\tIN\tA\t${children.host}`,
  ];
  const stageKeys: Record<Stage, Array<{ key: Key; from: string }>> = {
    1: [{ key: ksk1, from: rootKeys }, { key: zsk, from: rootKeys }],
    2: [{ key: ksk1, from: rootKeys }, { key: ksk2, from: rootKeys }, { key: zsk, from: rootKeys }],
    3: [{ key: ksk1Revoked, from: revDir }, { key: ksk2, from: rootKeys }, { key: zsk, from: rootKeys }],
    4: [{ key: ksk2, from: rootKeys }, { key: zsk, from: rootKeys }],
  };
  const stageFile = (s: Stage): string => join(dir, 'stages', `root.stage${s}.zone`);
  sub('stages');
  for (const s of [1, 2, 3, 4] as const) {
    const kd = sub('stages', `keys${s}`);
    for (const { key, from } of stageKeys[s]) copyKey(key, from, kd);
    const unsigned = join(kd, 'root.unsigned');
    writeFileSync(unsigned, [...rootBody(s), ...stageKeys[s].map(({ key }) => key.text), ''].join('\n'));
    await signzone(kd, '.', unsigned, stageFile(s), now);
  }

  const anchorFiles = { ksk1: join(dir, 'anchor-ksk1.zone'), ksk2: join(dir, 'anchor-ksk2.zone') };
  writeFileSync(anchorFiles.ksk1, `; the rollover world's root KSK1 (tag ${ksk1.tag})\n${ksk1.text}\n`);
  writeFileSync(anchorFiles.ksk2, `; the rollover world's root KSK2 (tag ${ksk2.tag})\n${ksk2.text}\n`);
  const hints = join(dir, 'root.hints');
  writeFileSync(hints, `.\t3600000\tIN\tNS\t${rootNs}\n${rootNs}\t3600000\tIN\tA\t${root.host}\n`);

  // --- processes
  const nsdDir = sub('run', 'nsd');
  sub('run', 'nsd', 'xfr');
  copyFileSync(stageFile(1), join(nsdDir, 'root.zone'));
  const nsdConfFile = join(nsdDir, 'nsd.conf');
  writeFileSync(nsdConfFile, nsdConf(nsdDir, root.host));
  const namedConfFile = join(namedDir, 'named.conf');
  writeFileSync(namedConfFile, namedConf(namedDir, children.host, [{ name: 'example.', file: exFile }, { name: 'unsigned.', file: unsignedFile }]));
  const unboundDir = sub('run', 'unbound');
  const unboundConfFile = join(unboundDir, 'unbound.conf');
  writeFileSync(unboundConfFile, unboundConf(unboundDir, upstream.host, hints));
  const control = ['unbound-control', '-c', unboundConfFile];
  const specs: ProcSpec[] = [
    { name: 'rollover-nsd', kind: 'auth', cmd: 'nsd', args: ['-d', '-c', nsdConfFile], runDir: nsdDir, config: nsdConfFile,
      log: join(nsdDir, 'nsd.stderr'), ...root, probe: { qname: '.', qtype: 'SOA', rd: false } },
    { name: 'rollover-named', kind: 'auth', cmd: 'named', args: ['-f', '-4', '-n', '1', '-c', namedConfFile], runDir: namedDir,
      config: namedConfFile, log: join(namedDir, 'named.stderr'), ...children, probe: { qname: 'example.', qtype: 'SOA', rd: false } },
    { name: 'rollover-unbound', kind: 'resolver', cmd: 'unbound', args: ['-d', '-c', unboundConfFile], runDir: unboundDir,
      config: unboundConfFile, log: join(unboundDir, 'unbound.stderr'), ...upstream, probe: { qname: 'example.', qtype: 'SOA', rd: true }, control },
  ];
  let procs: ProcRecord[] = [];
  let stopped = false;
  // named only binds addresses on an interface: startProcesses adds the /32 to lo; it is taken away again if it was not there
  const addedAddress = !spawnSync('ip', ['-4', '-o', 'addr', 'show', 'dev', 'lo'], { encoding: 'utf8' }).stdout.includes(` ${children.host}/`);
  const stop = (): void => {
    if (stopped) return;
    stopped = true;
    process.off('exit', stop);
    stopProcessesSync(procs);
    if (addedAddress) spawnSync('ip', ['addr', 'del', `${children.host}/32`, 'dev', 'lo']);
    if (!process.env['STUBD_KEEP_ROLLOVER_WORLD']) rmSync(dir, { recursive: true, force: true });
  };
  process.on('exit', stop);
  try {
    procs = await startProcesses(specs, (recs) => { procs = [...recs]; });
  } catch (err) {
    stop();
    throw err;
  }

  const world: RolloverWorld = {
    dir, root, children, upstream, ksk1, ksk1Revoked, ksk2, zsk, anchorFiles, stage: 1, stop,
    async setStage(stage) {
      if (stage < world.stage) throw new Error(`stages only go forward (serving ${world.stage}, asked for ${stage})`);
      copyFileSync(stageFile(stage), join(nsdDir, 'root.zone'));
      await runOk('nsd-control', ['-c', nsdConfFile, 'reload', '.'], { timeoutMs: 10_000 });
      const until = Date.now() + 10_000;
      while ((await servedSerial(root.host, '.')) !== stage) {
        if (Date.now() > until) throw new Error(`NSD does not serve root stage ${stage} after reload:\n${readFileSync(join(nsdDir, 'nsd.log'), 'utf8').slice(-2000)}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      await runOk(control[0]!, [...control.slice(1), 'flush_zone', '.'], { timeoutMs: 10_000 });
      world.stage = stage;
    },
    async upstreamCache() {
      return (await runOk(control[0]!, [...control.slice(1), 'dump_cache'], { timeoutMs: 10_000 })).stdout;
    },
    async upstreamRootKeys() {
      const r = await runOk('dig', [`@${upstream.host}`, '-p', '53', '.', 'DNSKEY', '+dnssec', '+cd', '+tries=2', '+time=2', '+nocmd', '+noall', '+answer', '+nosplit'], { timeoutMs: 10_000 });
      const lines = r.stdout.split('\n').map((l) => l.trim().split(/\s+/)).filter((t) => t.length > 4);
      return {
        keys: lines.filter((t) => t[3] === 'DNSKEY').map((t) => keyTag(dnskeyWire(t.slice(4)))).sort((a, b) => a - b),
        sigs: lines.filter((t) => t[3] === 'RRSIG' && t[4] === 'DNSKEY').map((t) => Number(t[10])).sort((a, b) => a - b),
      };
    },
  };
  return world;
}

/** libfaketime's preload library (the multi-threaded one: Node runs threads), or undefined when not installed. */
export function libfaketime(): string | undefined {
  const candidates = ['x86_64-linux-gnu', 'aarch64-linux-gnu', 'arm-linux-gnueabihf', 'i386-linux-gnu']
    .map((a) => `/usr/lib/${a}/faketime/libfaketimeMT.so.1`)
    .concat(['/usr/lib/faketime/libfaketimeMT.so.1', '/usr/local/lib/faketime/libfaketimeMT.so.1']);
  return candidates.find((p) => existsSync(p));
}
