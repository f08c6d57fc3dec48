/**
 * Helpers of the benches that run against a live daemon (bench/fairness, bench/hostile, bench/fuzz-live): the
 * daemon as `serve` starts it, in a child process on the test world's upstream and root anchor, and a UDP client
 * bound to a loopback address of its own that times each answer. Loopback only.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as dgram from 'node:dgram';
import * as net from 'node:net';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../test/upstream/unbound-fixture.js';
import type { WorldInfo } from '../test/world/index.js';
import { EdnsOptionCode, Name, Rcode, makeQuery, parseMessage, serializeMessage, type Message } from '../src/wire/index.js';
import { worldAddr } from '../test/world/net.js';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface LiveDaemon {
  readonly port: number;
  readonly proc: ChildProcess;
  /** Everything it printed. */
  output(): string;
  /** Resident set size now, in KiB (0 once it is gone). */
  rssKb(): number;
  alive(): boolean;
  stop(): Promise<void>;
}

export interface LiveDaemonOptions {
  /** The config's `server` section (merged over warmupQueries 0). */
  server?: Record<string, unknown>;
  /** Other top-level config keys (e.g. allow). */
  extra?: Record<string, unknown>;
  /** Pin the daemon to this CPU (taskset), when the machine has more than one. */
  cpu?: number;
  logLevel?: string;
}

/** Start `dnssec-stubd serve` on 127.0.0.1 (a free port) with the world's upstream and anchor; resolves once it answers. */
export async function startLiveDaemon(world: WorldInfo, opts: LiveDaemonOptions = {}): Promise<LiveDaemon> {
  const port = await freePort('127.0.0.1');
  const dir = mkdtempSync(join(tmpdir(), 'stubd-live-'));
  const config = {
    listen: [{ address: '127.0.0.1', port }],
    upstreams: [{ address: world.upstream.host, port: world.upstream.port }],
    trustAnchors: [world.rootAnchorFile],
    stateDir: join(dir, 'state'),
    http: { listen: 'off' },
    logLevel: opts.logLevel ?? 'warn',
    ...opts.extra,
    server: { warmupQueries: 0, ...opts.server },
  };
  const file = join(dir, 'config.json');
  writeFileSync(file, JSON.stringify(config, null, 2));
  const args = [join(ROOT, 'bin', 'dnssec-stubd.js'), 'serve', '--config', file];
  const pinned = opts.cpu !== undefined && (await import('node:os')).cpus().length > 1;
  const proc = pinned ? spawn('taskset', ['-c', String(opts.cpu), process.execPath, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
    : spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout!.setEncoding('utf8').on('data', (d: string) => { out += d; });
  proc.stderr!.setEncoding('utf8').on('data', (d: string) => { out += d; });
  let exited = false;
  const gone = new Promise<void>((r) => proc.once('exit', () => { exited = true; r(); }));
  const daemon: LiveDaemon = {
    port, proc,
    output: () => out,
    rssKb: () => {
      try {
        // The daemon: the launcher's child when it applies the heap limits (src/cli/relaunch.ts), else the launched process.
        const kids = readFileSync(`/proc/${proc.pid}/task/${proc.pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
        const pid = kids.length === 1 ? kids[0] : proc.pid;
        return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
      } catch {
        return 0;
      }
    },
    alive: () => !exited,
    stop: async () => {
      if (!exited) proc.kill('SIGTERM');
      await Promise.race([gone, new Promise((r) => setTimeout(r, 5000))]);
      if (!exited) proc.kill('SIGKILL');
      await gone;
    },
  };
  const probe = new UdpClient('127.0.0.1');
  await probe.open();
  try {
    const until = Date.now() + 60_000;
    for (;;) {
      if (exited) throw new Error(`the daemon exited during startup:\n${out}`);
      const r = await probe.ask(port, 'test.', 'SOA', { timeoutMs: 500 });
      if (r.message) break;
      if (Date.now() > until) throw new Error(`the daemon on port ${port} never answered:\n${out}`);
    }
  } finally {
    probe.close();
  }
  return daemon;
}

export interface Timed {
  /** Time to the answer (or to the timeout), ms. */
  ms: number;
  message?: Message;
}

const TYPES: Record<string, number> = { A: 1, NS: 2, SOA: 6, MX: 15, TXT: 16, AAAA: 28, DS: 43, DNSKEY: 48, TLSA: 52, ANY: 255 };

/** A UDP client bound to one loopback address, many queries outstanding, each answer matched by ID and timed. */
export class UdpClient {
  private sock: dgram.Socket | undefined;
  private nextId = 1;
  private readonly waiting = new Map<number, (m: Message | undefined) => void>();

  constructor(readonly address: string) {}

  async open(): Promise<void> {
    const sock = dgram.createSocket({ type: 'udp4', recvBufferSize: 4 << 20 });
    await new Promise<void>((r) => sock.bind(0, this.address, r));
    sock.on('message', (b) => {
      let m: Message;
      try {
        m = parseMessage(b);
      } catch {
        return;
      }
      const w = this.waiting.get(m.id);
      if (w) w(m);
    });
    this.sock = sock;
  }

  /** Ask `name type` (DO=1); resolves with the answer or, after `timeoutMs`, without one. */
  ask(port: number, name: string, type: string, opts: { timeoutMs?: number; dnssecOk?: boolean; host?: string } = {}): Promise<Timed> {
    const sock = this.sock!;
    let id = this.nextId;
    for (let i = 0; i < 65536 && this.waiting.has(id); i++) id = (id % 65535) + 1;
    this.nextId = (id % 65535) + 1;
    const q = makeQuery(Name.fromText(name), TYPES[type] ?? Number(type), {
      id, edns: { udpSize: 1232, version: 0, dnssecOk: opts.dnssecOk ?? true, z: 0, options: [] },
    });
    const bytes = serializeMessage(q).bytes;
    const t0 = performance.now();
    return new Promise<Timed>((resolve) => {
      const done = (m: Message | undefined): void => {
        clearTimeout(timer);
        this.waiting.delete(id);
        resolve(m ? { ms: performance.now() - t0, message: m } : { ms: performance.now() - t0 });
      };
      const timer = setTimeout(() => done(undefined), opts.timeoutMs ?? 5000);
      this.waiting.set(id, done);
      sock.send(bytes, port, opts.host ?? '127.0.0.1');
    });
  }

  close(): void {
    this.sock?.close();
    this.sock = undefined;
  }
}

/** The EDE codes of a reply. */
export function edeCodes(m: Message): number[] {
  return (m.edns?.options ?? []).filter((o) => o.code === EdnsOptionCode.EDE && o.data.length >= 2).map((o) => (o.data[0]! << 8) | o.data[1]!);
}

/** The q-th quantile (0..1) of `xs` (nearest rank), NaN when empty. */
export function quantile(xs: readonly number[], q: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))]!;
}

/** A random DNS label of `n` letters and digits. */
export function randomLabel(rand: () => number, n = 12): string {
  const abc = 'abcdefghijklmnopqrstuvwxyz0123456789';
  let s = '';
  for (let i = 0; i < n; i++) s += abc[Math.floor(rand() * abc.length)];
  return s;
}

/** The world's secure canary: ns1.nsd.test A worldAddr(0, 3) (NOERROR with AD when validation works). */
export const CANARY = { name: 'ns1.nsd.test.', address: worldAddr(0, 3) } as const;

/** What is wrong with a canary answer (none, NOERROR without AD, another address...); undefined when it is right. */
export function canaryProblem(m: Message | undefined): string | undefined {
  if (!m) return 'no answer';
  const ok = m.rcode === Rcode.NOERROR && m.flags.ad && m.answer.some((a) => (a.data as { address?: string }).address === CANARY.address);
  return ok ? undefined : `rcode ${m.rcode}, AD ${m.flags.ad}, ${m.answer.length} records`;
}

/** The canary's answer is right: NOERROR, AD, its address. */
export const canaryOk = (m: Message | undefined): boolean => canaryProblem(m) === undefined;

/** A connection flood under way: the sockets still open, and the attempts that connected or failed so far. */
export interface ConnectionFlood {
  readonly open: Set<net.Socket>;
  readonly counts: { connected: number; failed: number };
  /** Resolves when every attempt has connected, failed or been closed. */
  readonly done: Promise<void>;
}

/**
 * `total` TCP connects to 127.0.0.1:`port` from `from`, `wave` at a time (the next wave once each of this one has
 * connected, failed or been closed), each held open until the daemon closes it or the caller destroys `open`.
 */
export function floodConnections(port: number, total: number, from: string, wave = 500): ConnectionFlood {
  const open = new Set<net.Socket>();
  const counts = { connected: 0, failed: 0 };
  const done = (async () => {
    for (let started = 0; started < total; started += wave) {
      await Promise.all(Array.from({ length: Math.min(wave, total - started) }, () => new Promise<void>((res) => {
        const s = net.connect({ port, host: '127.0.0.1', localAddress: from });
        open.add(s);
        s.once('connect', () => { counts.connected++; res(); });
        s.once('error', () => { counts.failed++; res(); });
        s.once('close', () => { open.delete(s); res(); });
      })));
    }
  })();
  return { open, counts, done };
}

/** The bare node:dgram responder (bench/bare-responder.ts), once bound. */
export interface BareResponder {
  readonly port: number;
  readonly proc: ChildProcess;
  stop(): void;
}

/**
 * Start the bare node:dgram responder (bench/bare-responder.ts: sets QR, sends the datagram back) pinned to `cpu`
 * (-1: not pinned), on a free port of 127.0.0.1; resolves once it is bound. The runtime's own floor: bench/qps's
 * reference for throughput, bench/soak's for latency.
 */
export async function startBareResponder(cpu: number): Promise<BareResponder> {
  const port = await freePort('127.0.0.1');
  const argv = [process.execPath, join(ROOT, 'dist', 'bench', 'bare-responder.js'), '--listen', `127.0.0.1:${port}`];
  const proc = cpus().length > 1 && cpu >= 0 ? spawn('taskset', ['-c', String(cpu), ...argv], { stdio: ['ignore', 'pipe', 'inherit'] })
    : spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    proc.stdout!.on('data', (d: Buffer) => {
      if (d.toString().includes('ready')) resolve();
    });
    proc.once('exit', (code) => reject(new Error(`bare responder exited (${code})`)));
  });
  return { port, proc, stop: () => void proc.kill('SIGTERM') };
}
