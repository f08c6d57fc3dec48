/**
 * The processes bench/mta puts in front of its hierarchy's upstream: the RTT relay (delay-proxy.ts) and the
 * resolvers under test, each a fresh process: dnssec-stubd (`serve`, its default config but for the bench's
 * anchor, upstream and the MTA prefetch key) and Unbound as a validating forwarder (as bench/cold runs it, the
 * bench root's anchor). Whether this daemon knows the MTA prefetch is asked of `check-config`: a key the
 * config does not know is an error there, so the bench runs (and says so) without it.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../test/upstream/unbound-fixture.js';
import { ask } from './client.js';

/** <repo>/dist/bench -> <repo> */
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface Endpoint { host: string; port: number }
export interface Running {
  label: string;
  endpoint: Endpoint;
  proc: ChildProcess;
  /** dnssec-stubd's HTTP API (its /metrics), when on. */
  http?: Endpoint;
}

/** The prefetch setting, e.g. `prefetch.mail` -> { prefetch: { mail: on } }. */
export function prefetchConfig(key: string, on: boolean): Record<string, unknown> {
  const parts = key.split('.');
  let v: unknown = on;
  for (let i = parts.length - 1; i >= 0; i--) v = { [parts[i]!]: v };
  return v as Record<string, unknown>;
}

/** Whether `dnssec-stubd check-config` accepts the key (the prefetch exists in this build). */
export function daemonKnows(key: string, dir: string, anchor: string): boolean {
  const file = join(dir, 'probe-config.json');
  writeFileSync(file, JSON.stringify({ ...prefetchConfig(key, true), upstreams: [{ address: '127.0.0.1', port: 53 }], trustAnchors: [anchor], http: { listen: 'off' }, stateDir: join(dir, 'probe-state') }));
  const r = spawnSync(process.execPath, [join(ROOT, 'bin', 'dnssec-stubd.js'), 'check-config', '--config', file], { encoding: 'utf8', timeout: 60_000 });
  return r.status === 0;
}

/**
 * How the resolvers are pinned: `all`, the whole process (every thread) on CPU 1, as bench/cold's default;
 * `main`, only the serving thread once it answers (dnssec-stubd's `serve` process, a child of the launcher when
 * it relaunches itself; Unbound's one thread), V8's compiler and GC threads free to use CPU 0 as on a mail
 * server with more than one core; `none`.
 */
export type Pin = 'all' | 'main' | 'none';

function pinned(cmd: string, args: string[], cpu: number, pin: boolean): [string, string[]] {
  return pin && cpus().length > 1 ? ['taskset', ['-c', String(cpu), cmd, ...args]] : [cmd, args];
}

/** With `main`: the main thread (its TID is the pid) of the process that serves, to CPU 1. */
function pinMain(r: Running, pin: Pin): void {
  if (pin !== 'main' || cpus().length < 2 || r.proc.pid === undefined) return;
  const kids = spawnSync('pgrep', ['-P', String(r.proc.pid)], { encoding: 'utf8' }).stdout.split('\n').filter((x) => /^\d+$/.test(x));
  for (const pid of [String(r.proc.pid), ...kids]) spawnSync('taskset', ['-p', '-c', '1', pid], { stdio: 'ignore' });
}

/** The relay adding `rttMs` per exchange, pinned to CPU 0 (the resolvers run on CPU 1). */
export async function startRelay(upstream: Endpoint, rttMs: number, pin = true): Promise<Running> {
  const port = await freePort('127.0.0.1');
  const [c, a] = pinned(process.execPath, [join(ROOT, 'dist', 'bench', 'delay-proxy.js'), '--listen', `127.0.0.1:${port}`,
    '--upstream', `${upstream.host}:${upstream.port}`, '--rtt', String(rttMs)], 0, pin);
  const proc = spawn(c, a, { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    proc.stdout!.on('data', (d: Buffer) => { if (d.toString().includes('ready')) resolve(); });
    proc.once('exit', (code) => reject(new Error(`delay proxy exited (${code})`)));
  });
  return { label: `relay-${rttMs}ms`, endpoint: { host: '127.0.0.1', port }, proc };
}

/** Listening on TCP and answering a question over UDP (a name outside the bench's domains). */
async function waitReady(r: Running, probeName: string): Promise<void> {
  const until = Date.now() + 90_000;
  for (;;) {
    if (r.proc.exitCode !== null) throw new Error(`${r.label} exited during start-up (${r.proc.exitCode})`);
    const listening = await new Promise<boolean>((resolve) => {
      const s = connect(r.endpoint.port, r.endpoint.host, () => { s.destroy(); resolve(true); });
      s.on('error', () => resolve(false));
    });
    if (listening && (await ask(r.endpoint.host, r.endpoint.port, probeName, 'SOA', 2000).then(() => true, () => false))) return;
    if (Date.now() > until) throw new Error(`${r.label} never answered on ${r.endpoint.port}`);
    await new Promise((res) => setTimeout(res, 100));
  }
}

export interface StartOpts {
  upstream: Endpoint;
  anchor: string;
  dir: string;
  /** Asked once started, before the run: the root's chain is then held by both, as in a running resolver. */
  probeName: string;
  pin: Pin;
  /** More config for dnssec-stubd (e.g. the check's `server.warmupQueries: 0`). */
  extra?: Record<string, unknown>;
  /** dnssec-stubd with its HTTP API and metrics on (a free port), to read the prefetch's counters. */
  metrics?: boolean;
}

/** dnssec-stubd, fresh; `prefetch`: the config key and its value, or undefined when this build has none. */
export async function startOurs(o: StartOpts, label: string, prefetch: { key: string; on: boolean } | undefined): Promise<Running> {
  const port = await freePort('127.0.0.1');
  const state = join(o.dir, `${label}-${port}`);
  mkdirSync(state, { recursive: true });
  const config = join(state, 'config.json');
  const http = o.metrics ? { host: '127.0.0.1', port: await freePort('127.0.0.1') } : undefined;
  writeFileSync(config, JSON.stringify({
    listen: [{ address: '127.0.0.1', port }], upstreams: [{ address: o.upstream.host, port: o.upstream.port }], trustAnchors: [o.anchor],
    stateDir: join(state, 'state'), http: { listen: http ? [{ address: http.host, port: http.port }] : 'off' }, logLevel: 'warn', ...o.extra, ...(prefetch ? prefetchConfig(prefetch.key, prefetch.on) : {}),
  }, null, 2));
  const [c, a] = pinned(process.execPath, [join(ROOT, 'bin', 'dnssec-stubd.js'), 'serve', '--config', config], 1, o.pin === 'all');
  const r: Running = { label, endpoint: { host: '127.0.0.1', port }, proc: spawn(c, a, { stdio: ['ignore', 'inherit', 'inherit'] }), ...(http ? { http } : {}) };
  await waitReady(r, o.probeName);
  pinMain(r, o.pin);
  return r;
}

/** Unbound as a validating forwarder (bench/cold's configuration: aggressive NSEC on, its default). */
export async function startUnbound(o: StartOpts): Promise<Running> {
  const port = await freePort('127.0.0.1');
  const conf = join(o.dir, `unbound-${port}.conf`);
  writeFileSync(conf, [
    'server:', `  interface: 127.0.0.1@${port}`, '  access-control: 127.0.0.0/8 allow', '  do-not-query-localhost: no',
    '  num-threads: 1', '  module-config: "validator iterator"', `  trust-anchor-file: "${o.anchor}"`,
    '  username: ""', '  chroot: ""', `  directory: "${o.dir}"`, '  pidfile: ""', '  use-syslog: no', '  logfile: ""', '  verbosity: 0',
    '  qname-minimisation: no', '  aggressive-nsec: yes',
    'forward-zone:', '  name: "."', `  forward-addr: ${o.upstream.host}@${o.upstream.port}`, '',
  ].join('\n'));
  const [c, a] = pinned('unbound', ['-d', '-c', conf], 1, o.pin === 'all');
  const r: Running = { label: 'unbound', endpoint: { host: '127.0.0.1', port }, proc: spawn(c, a, { stdio: ['ignore', 'ignore', 'pipe'] }) };
  // its start and stop lines only: kept for the error when it does not start
  let err = '';
  r.proc.stderr!.setEncoding('utf8').on('data', (d: string) => { err = (err + d).slice(-4000); });
  await waitReady(r, o.probeName).catch((e: unknown) => { throw new Error(`${(e as Error).message}\n${err}`); });
  pinMain(r, o.pin);
  return r;
}

/** The daemon's counters of the MTA prefetch and of admission, from its /metrics (empty without the API). */
export async function prefetchCounters(r: Running): Promise<Record<string, number>> {
  if (!r.http) return {};
  const res = await fetch(`http://${r.http.host}:${r.http.port}/metrics`);
  const out: Record<string, number> = {};
  for (const line of (await res.text()).split('\n')) {
    const m = /^dnssec_stubd_((?:mail_prefetch|admission)_\S+)\s+(\S+)$/.exec(line);
    if (m) out[m[1]!] = Number(m[2]);
  }
  return out;
}

export function stop(r: Running): Promise<void> {
  const p = r.proc;
  return new Promise((resolve) => {
    if (p.exitCode !== null || p.signalCode !== null) return resolve();
    const kill = setTimeout(() => p.kill('SIGKILL'), 10_000);
    p.once('exit', () => { clearTimeout(kill); resolve(); });
    p.kill('SIGTERM');
  });
}

/** The machine, for the report. */
export function machine(): string {
  return `${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}, node ${process.version}`;
}
