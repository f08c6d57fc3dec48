/**
 * The dnssec-stubd "test world": a signed DNS hierarchy on loopback served by
 * NSD and BIND, a non-validating recursive Unbound as the daemon's upstream
 * and a validating Unbound for reference verdicts.
 *
 *   const world = await getWorld();   // start or reuse
 *   ... world.upstream.host / port ...
 *   await stopWorld();                // release (stops it if this process started it and nobody else uses it)
 *
 * Reuse across processes: `node dist/test/world/cli.js start` starts the
 * world detached and writes <dir>/world.json. getWorld() reuses a running
 * world described by world.json (pid + UDP liveness check); otherwise it
 * starts one itself ("auto" mode), and the last process using an auto world
 * stops it when it exits. Processes using a world register in <dir>/users/.
 *
 * Directory: $STUBD_WORLD_DIR or <repo>/.world (git-ignored); off the default address block (STUBD_WORLD_NET,
 * net.ts) <repo>/.world-127.X, so that two blocks never share a directory. The block is part of the world's
 * hash through its content (SERVERS, RESOLVERS and every address in ZONES).
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { findHolders, worldClashMessage } from './clash.js';
import { probe } from './dnsprobe.js';
import { definitionsHash, ensureSigned } from './generate.js';
import { acquireDirLock, pidAlive } from './proc.js';
import { MAIL, tlsaText } from './mail.js';
import { defaultWorldDirName } from './net.js';
import { killStraysSync, mailPaths, recordAlive, startProcesses, stopProcessesSync, writeConfigs } from './servers.js';
import { RESOLVERS, SERVERS, ZONES, type ServerId } from './zones.js';

export type { Status, QueryCase, ZoneCase, Mutation, KnownDeviation, Rcode, DsMode, ServerId } from './zones.js';
export { ZONES, SERVERS, RESOLVERS, DATA } from './zones.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
/** <repo>/dist/test/world -> <repo> */
export const REPO_ROOT = path.resolve(HERE, '..', '..', '..');

export type { AuthServerInfo, Endpoint, MailInfo, WorldInfo } from './info.js';
export { MAIL, mailDomain, mailHost } from './mail.js';
export type { MailDomain, MailHost, Rfc7672, TlsaSpec, Verdict } from './mail.js';
import type { WorldInfo } from './info.js';

interface WorldFile extends WorldInfo {
  worldHash: string;
  ownerPid: number;
  startedAt: string;
}

export function worldDir(): string {
  return path.resolve(process.env['STUBD_WORLD_DIR'] ?? path.join(REPO_ROOT, defaultWorldDirName()));
}

const worldFile = (dir: string) => path.join(dir, 'world.json');
const usersDir = (dir: string) => path.join(dir, 'users');

/** Hash deciding whether a running world matches this code (signing + server configs). */
function worldHash(): string {
  const h = createHash('sha256').update(definitionsHash());
  for (const f of ['servers.js', 'server-conf.js', 'index.js', 'smtp-server.js', 'mail.js']) {
    const p = path.join(HERE, f);
    h.update(existsSync(p) ? readFileSync(p) : f);
  }
  return h.digest('hex').slice(0, 32);
}

function log(msg: string): void {
  if (process.env['STUBD_WORLD_QUIET'] !== '1') process.stderr.write(`[world] ${msg}\n`);
}

// ---------------------------------------------------------------------------
// lock (a directory, stale if its owner died)
// ---------------------------------------------------------------------------

async function withLock<T>(dir: string, fn: () => Promise<T>): Promise<T> {
  const release = await acquireDirLock(dir, 300_000, (owner, lock) => `timed out waiting for world lock ${lock} (held by pid ${owner})`);
  try {
    return await fn();
  } finally {
    release();
  }
}

// ---------------------------------------------------------------------------
// world.json and users
// ---------------------------------------------------------------------------

function readWorldFile(dir: string): WorldFile | null {
  try {
    return JSON.parse(readFileSync(worldFile(dir), 'utf8')) as WorldFile;
  } catch {
    return null;
  }
}

function writeWorldFile(dir: string, w: WorldFile): void {
  const tmp = `${worldFile(dir)}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(w, null, 2));
  renameSync(tmp, worldFile(dir));
}

function liveUsers(dir: string, exceptPid?: number): number[] {
  const d = usersDir(dir);
  if (!existsSync(d)) return [];
  const out: number[] = [];
  for (const e of readdirSync(d)) {
    const pid = Number(e);
    if (!Number.isInteger(pid)) continue;
    if (pid !== exceptPid && pidAlive(pid)) out.push(pid);
    else if (!pidAlive(pid)) rmSync(path.join(d, e), { force: true });
  }
  return out;
}

/** Are the world's processes running and answering? */
export async function worldAlive(w: WorldFile | WorldInfo): Promise<boolean> {
  if (!w.processes.every(recordAlive)) return false;
  // a world.json from before the mail world has no SMTP servers: not alive (restarted). No TCP probe here: it
  // would show up in sessions.jsonl; the server process exits when a listener fails.
  if (!w.mail?.smtp || !recordAlive(w.mail.smtp)) return false;
  const results = await Promise.all(w.processes.map((p) => {
    const rd = p.name.startsWith('unbound');
    return probe(p.host, p.port, rd ? '.' : (w.authServers.find((a) => a.id === p.name)?.zones[0] ?? '.'), 'SOA', { rd, timeoutMs: 1500 });
  }));
  return results.every((r) => r !== null);
}

function publicInfo(w: WorldFile): WorldInfo {
  const { worldHash: _h, ownerPid: _o, startedAt: _s, ...info } = w;
  // zone cases always come from the code (same hash as the running world)
  return { ...info, zones: ZONES };
}

// ---------------------------------------------------------------------------
// start / stop
// ---------------------------------------------------------------------------

async function startWorld(dir: string, mode: 'cli' | 'auto'): Promise<WorldFile> {
  const strays = killStraysSync(dir);
  if (strays.length) log(`killed stray world processes from an earlier run: ${strays.join(', ')}`);
  // nothing else may answer on our addresses
  const all = [...Object.values(SERVERS), RESOLVERS.upstream, RESOLVERS.validating];
  const busy = (await Promise.all(all.map(async (s) => ((await probe(s.host, s.port, '.', 'SOA', { timeoutMs: 300 })) ? `${s.host}:${s.port}` : null))))
    .filter((x): x is string => x !== null);
  if (busy.length) throw new Error(worldClashMessage(busy, dir, findHolders(busy)));

  const t0 = Date.now();
  const signed = await ensureSigned(dir, { log });
  log(signed.resigned ? `signed zones in ${signed.ms} ms (${signed.reason})` : 'using cached signed zones');
  const st = signed.state;
  const specs = writeConfigs(dir, st);
  const t1 = Date.now();
  const recs = await startProcesses(specs);
  log(`servers ready in ${Date.now() - t1} ms (total ${Date.now() - t0} ms)`);

  const smtp = recs.find((r) => r.name === 'smtp')!;
  const up = specs.find((s) => s.name === 'unbound-upstream')!;
  const val = specs.find((s) => s.name === 'unbound-validating')!;
  const w: WorldFile = {
    dir,
    upstream: { ...RESOLVERS.upstream },
    upstreamControl: up.control!,
    validatingUnbound: { ...RESOLVERS.validating, control: val.control! },
    authServers: (Object.keys(SERVERS) as ServerId[]).map((id) => ({
      ...SERVERS[id], id, zones: Object.values(st.zones).filter((z) => z.server === id).map((z) => z.name),
    })).map(({ id, software, host, port, nsName, zones }) => ({ id, software, host, port, nsName, zones })),
    rootAnchorFile: st.rootAnchorFile,
    delvAnchorFile: st.delvAnchorFile,
    rootAnchor: st.rootAnchor,
    rootHintsFile: st.rootHintsFile,
    delv: ['delv', `@${RESOLVERS.upstream.host}`, '-p', String(RESOLVERS.upstream.port), '-a', st.delvAnchorFile, '+root=.'],
    zones: ZONES,
    zoneFiles: Object.fromEntries(Object.values(st.zones).map((z) => [z.name, z.file])),
    dane: st.dane,
    signedAt: st.signedAt,
    signaturesExpireAt: new Date(st.expiresAt * 1000).toISOString(),
    definitionsHash: st.hash,
    mode,
    processes: recs.filter((r) => r !== smtp),
    mail: {
      ...st.mail,
      tlsa: Object.fromEntries(MAIL.hosts.map((h) => [h.name, h.tlsa.map((t) => tlsaText(t, st.mail.digests))])),
      ...mailPaths(dir),
      smtp,
    },
    tools: st.tools,
    worldHash: worldHash(),
    ownerPid: process.pid,
    startedAt: new Date().toISOString(),
  };
  writeWorldFile(dir, w);
  return w;
}

/** Stop a world's processes (synchronously) and remove world.json. */
function teardownSync(dir: string, w: WorldFile | null): void {
  if (w) stopProcessesSync(w.mail?.smtp ? [...w.processes, w.mail.smtp] : w.processes);
  killStraysSync(dir);
  rmSync(worldFile(dir), { force: true });
}

let current: { dir: string; info: WorldInfo } | null = null;
let handlersInstalled = false;

function register(dir: string): void {
  mkdirSync(usersDir(dir), { recursive: true });
  writeFileSync(path.join(usersDir(dir), String(process.pid)), '');
  if (handlersInstalled) return;
  handlersInstalled = true;
  process.on('exit', () => release(dir));
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(sig, () => {
      release(dir);
      process.kill(process.pid, sig);
    });
  }
}

/** Deregister this process; stop an auto world if nobody else uses it. Synchronous. */
function release(dir: string): void {
  if (!current || current.dir !== dir) return;
  current = null;
  rmSync(path.join(usersDir(dir), String(process.pid)), { force: true });
  const w = readWorldFile(dir);
  if (!w || w.mode !== 'auto') return;
  if (liveUsers(dir, process.pid).length > 0) return;
  // take the lock synchronously if free; if someone holds it they are about to (re)use the world
  const lock = path.join(dir, '.lock');
  try {
    mkdirSync(lock);
  } catch {
    let owner = 0;
    try { owner = Number(readFileSync(path.join(lock, 'pid'), 'utf8')); } catch { /* ignore */ }
    if (owner && pidAlive(owner)) return;
    rmSync(lock, { recursive: true, force: true });
    try { mkdirSync(lock); } catch { return; }
  }
  try {
    writeFileSync(path.join(lock, 'pid'), String(process.pid));
    teardownSync(dir, w);
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

/**
 * Start the world or reuse a running one. `mode: 'cli'` marks the world as
 * persistent (not stopped when this process exits).
 */
export async function getWorld(opts: { mode?: 'cli' | 'auto' } = {}): Promise<WorldInfo> {
  const dir = worldDir();
  const mode = opts.mode ?? 'auto';
  if (current && current.dir === dir && mode === 'auto') return current.info;
  const info = await withLock(dir, async () => {
    const existing = readWorldFile(dir);
    let startMode = mode;
    if (existing) {
      const alive = await worldAlive(existing);
      if (existing.worldHash === worldHash() && alive) {
        if (mode === 'cli' && existing.mode !== 'cli') {
          existing.mode = 'cli';
          writeWorldFile(dir, existing);
        }
        return publicInfo(existing);
      }
      if (alive) {
        log('running world is from other code: restarting it');
        // a persistent (cli) world stays persistent: whoever started it will stop it
        if (existing.mode === 'cli') startMode = 'cli';
      } else {
        log('world.json is stale (processes gone): cleaning up');
      }
      teardownSync(dir, existing);
    }
    return publicInfo(await startWorld(dir, startMode));
  });
  if (mode === 'auto') {
    current = { dir, info };
    register(dir);
  }
  return info;
}

/**
 * Release the world. By default this process deregisters and the world is
 * stopped only if it was started by getWorld() ('auto') and no other live
 * process uses it. `force: true` stops it unconditionally (cli.js stop).
 */
export async function stopWorld(opts: { force?: boolean } = {}): Promise<void> {
  const dir = worldDir();
  if (!opts.force) {
    release(dir);
    return;
  }
  current = null;
  rmSync(path.join(usersDir(dir), String(process.pid)), { force: true });
  await withLock(dir, async () => {
    teardownSync(dir, readWorldFile(dir));
  });
}

/** Status of the world in `dir` without starting anything. */
export async function worldStatus(): Promise<{ dir: string; running: boolean; world: WorldInfo | null; users: number[]; stale: boolean }> {
  const dir = worldDir();
  const w = readWorldFile(dir);
  if (!w) return { dir, running: false, world: null, users: [], stale: false };
  const alive = await worldAlive(w);
  return { dir, running: alive, world: publicInfo(w), users: liveUsers(dir), stale: w.worldHash !== worldHash() };
}

/** Re-sign unconditionally (stops a running world first). */
export async function resignWorld(): Promise<number> {
  const dir = worldDir();
  return withLock(dir, async () => {
    teardownSync(dir, readWorldFile(dir));
    const r = await ensureSigned(dir, { force: true, log });
    return r.ms;
  });
}

