/**
 * The parts of bench/soak: the daemon as an operator starts it (bin/dnssec-stubd.js serve, so the launcher's
 * heap flags apply), the query streams (name files for dnsperf, one dnsperf per stream, each from a loopback
 * address of its own so that the admission bounds see separate clients), the cached-name latency probe, and
 * the readings of the daemon's memory (/proc and its /metrics). Loopback only.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../test/upstream/unbound-fixture.js';
import { ZONES, type WorldInfo } from '../test/world/index.js';
import { ROOT, UdpClient, quantile, randomLabel } from './live-daemon.js';

export interface SoakDaemon {
  readonly port: number;
  readonly httpPort: number;
  /** The launcher's pid (what was spawned) and the daemon's (the pid file: the launcher's child, or itself). */
  readonly launcherPid: number;
  readonly pid: number;
  readonly proc: ChildProcess;
  alive(): boolean;
  output(): string;
  stop(): Promise<number | null>;
}

export type HeapMode = 'derived' | 'none';

/**
 * Start `serve` pinned to `cpu` (-1: not pinned), with the world's upstream and anchor, `cacheMiB` of answer cache, the HTTP API
 * (for /metrics) on a port of its own. `derived`: the launcher's flags; `none`: as units ran before them
 * (NODE_OPTIONS=--max-semi-space-size=4, DNSSEC_STUBD_HEAP=off). `daemonRoot`: the checkout whose build runs
 * (default this one; another build for an A/B of two versions under the same load). `nodeFlags`: node and V8 flags
 * for the daemon (the launcher passes them on to the daemon it starts), e.g. `--trace-gc-nvp` for an A/B of GC settings.
 */
export async function startSoakDaemon(world: WorldInfo, cacheMiB: number, heap: HeapMode, cpu: number, daemonRoot = ROOT, nodeFlags: readonly string[] = []): Promise<SoakDaemon> {
  const port = await freePort('127.0.0.1');
  const httpPort = await freePort('127.0.0.1');
  const dir = mkdtempSync(join(tmpdir(), 'stubd-soak-'));
  const pidFile = join(dir, 'daemon.pid');
  const config = {
    listen: [{ address: '127.0.0.1', port }],
    upstreams: [{ address: world.upstream.host, port: world.upstream.port }],
    trustAnchors: [world.rootAnchorFile],
    stateDir: join(dir, 'state'),
    http: { listen: [{ address: '127.0.0.1', port: httpPort }] },
    logLevel: 'error',
    cache: { maxBytes: cacheMiB * 1024 * 1024 },
  };
  const file = join(dir, 'config.json');
  writeFileSync(file, JSON.stringify(config, null, 2));
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env['NODE_OPTIONS'];
  if (heap === 'none') Object.assign(env, { NODE_OPTIONS: '--max-semi-space-size=4', DNSSEC_STUBD_HEAP: 'off' });
  const argv = [process.execPath, ...nodeFlags, join(daemonRoot, 'bin', 'dnssec-stubd.js'), 'serve', '--config', file, '--pid-file', pidFile];
  const proc = cpus().length > 1 && cpu >= 0 ? spawn('taskset', ['-c', String(cpu), ...argv], { stdio: ['ignore', 'pipe', 'pipe'], env })
    : spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], env });
  let out = '';
  proc.stdout!.setEncoding('utf8').on('data', (d: string) => { out += d; });
  proc.stderr!.setEncoding('utf8').on('data', (d: string) => { out += d; });
  let exitCode: number | null | undefined;
  const gone = new Promise<void>((r) => proc.once('exit', (code) => { exitCode = code; r(); }));
  const until = Date.now() + 60_000;
  while (!existsSync(pidFile) || readFileSync(pidFile, 'utf8').trim() === '') {
    if (exitCode !== undefined) throw new Error(`the daemon exited during startup:\n${out}`);
    if (Date.now() > until) throw new Error(`no pid file after 60 s:\n${out}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const pid = Number(readFileSync(pidFile, 'utf8').trim());
  // Ready as an operator's daemon is: the self-test (the default 3,000 queries, which also warms the code that
  // validates) passed and the listeners open.
  while ((await fetch(`http://127.0.0.1:${httpPort}/readyz`).then((r) => r.status, () => 0)) !== 200) {
    if (exitCode !== undefined) throw new Error(`the daemon exited during startup:\n${out}`);
    if (Date.now() > until) throw new Error(`not ready after 60 s:\n${out}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    port, httpPort, launcherPid: proc.pid!, pid, proc,
    alive: () => exitCode === undefined && existsSync(`/proc/${pid}`),
    output: () => out,
    stop: async () => {
      if (exitCode === undefined) proc.kill('SIGTERM');
      await Promise.race([gone, new Promise((r) => setTimeout(r, 10_000))]);
      if (exitCode === undefined) proc.kill('SIGKILL');
      await gone;
      return exitCode ?? null;
    },
  };
}

/** VmRSS and VmHWM of a process, KiB (0 once it is gone). */
export function procMemKb(pid: number): { rss: number; hwm: number } {
  try {
    const s = readFileSync(`/proc/${pid}/status`, 'utf8');
    return { rss: Number(/VmRSS:\s+(\d+)/.exec(s)?.[1] ?? 0), hwm: Number(/VmHWM:\s+(\d+)/.exec(s)?.[1] ?? 0) };
  } catch {
    return { rss: 0, hwm: 0 };
  }
}

/**
 * The main thread's CPU time and the time it waited for a CPU while runnable (/proc/PID/schedstat), ms: the
 * wait is what other processes on its CPU cost it.
 */
export function schedMs(pid: number): { cpu: number; wait: number } {
  try {
    const [cpu, wait] = readFileSync(`/proc/${pid}/schedstat`, 'utf8').trim().split(/\s+/).map(Number);
    return { cpu: cpu! / 1e6, wait: wait! / 1e6 };
  } catch {
    return { cpu: NaN, wait: NaN };
  }
}

/**
 * Per CPU, the clock ticks so far in all and those stolen by the hypervisor (/proc/stat's `steal`: the vCPU was
 * runnable but the host ran something else). Steal is a floor under any latency on a VM: no process in it runs then.
 */
export function cpuTicks(): { total: number; steal: number }[] {
  const out: { total: number; steal: number }[] = [];
  try {
    for (const l of readFileSync('/proc/stat', 'utf8').split('\n')) {
      const m = /^cpu(\d+)\s+(.*)$/.exec(l);
      if (!m) continue;
      // user nice system idle iowait irq softirq steal guest guest_nice (guest time is inside user already)
      const f = m[2]!.trim().split(/\s+/).map(Number);
      out[Number(m[1])] = { total: f.slice(0, 8).reduce((a, b) => a + b, 0), steal: f[7] ?? 0 };
    }
  } catch {
    // not Linux: no figure
  }
  return out;
}

/** The readings of one /metrics scrape that the soak keeps. */
export interface MetricsReading {
  heapUsed: number; heapTotal: number; external: number; rss: number;
  cacheBytes: number; cacheEntries: number; proofBytes: number; chainNames: number;
  /** Client queries answered, by rcode name, summed over transports and types. */
  rcodes: Record<string, number>;
  /** The event loop's delay since the last scrape (prom-client resets it at each), seconds. */
  loopP99: number; loopMax: number;
  /** GC pauses so far, by kind (major, minor, incremental, weakcb): count, seconds, and count over 10 ms. */
  gc: Record<string, { count: number; sum: number; over10ms: number }>;
}

export async function scrape(httpPort: number): Promise<MetricsReading | undefined> {
  let text: string;
  try {
    const r = await fetch(`http://127.0.0.1:${httpPort}/metrics`, { signal: AbortSignal.timeout(5000) });
    text = await r.text();
  } catch {
    return undefined;
  }
  const one = (name: string): number => Number(new RegExp(`^dnssec_stubd_${name}(?:\\{\\})? ([\\d.e+-]+)$`, 'm').exec(text)?.[1] ?? NaN);
  const rcodes: Record<string, number> = {};
  for (const m of text.matchAll(/^dnssec_stubd_queries_total\{[^}]*rcode="([^"]+)"[^}]*\} ([\d.e+]+)$/gm)) rcodes[m[1]!] = (rcodes[m[1]!] ?? 0) + Number(m[2]);
  return {
    heapUsed: one('nodejs_heap_size_used_bytes'), heapTotal: one('nodejs_heap_size_total_bytes'),
    external: one('nodejs_external_memory_bytes'), rss: one('process_resident_memory_bytes'),
    cacheBytes: one('cache_bytes'), cacheEntries: one('cache_entries'), proofBytes: one('rfc8198_bytes'), chainNames: one('chain_cached_names'),
    rcodes, loopP99: one('nodejs_eventloop_lag_p99_seconds'), loopMax: one('nodejs_eventloop_lag_max_seconds'), gc: gcPauses(text),
  };
}

function gcPauses(text: string): MetricsReading['gc'] {
  const out: MetricsReading['gc'] = {};
  const kind = (k: string): { count: number; sum: number; over10ms: number } => (out[k] ??= { count: 0, sum: 0, over10ms: 0 });
  let le10: Record<string, number> = {};
  for (const m of text.matchAll(/^dnssec_stubd_nodejs_gc_duration_seconds_(bucket|sum|count)\{([^}]*)\} ([\d.e+-]+)$/gm)) {
    const labels = m[2]!;
    const k = /kind="([^"]+)"/.exec(labels)?.[1] ?? '?';
    const v = Number(m[3]);
    if (m[1] === 'sum') kind(k).sum = v;
    else if (m[1] === 'count') kind(k).count = v;
    else if (/le="0.01"/.test(labels)) le10 = { ...le10, [k]: v };
  }
  for (const [k, g] of Object.entries(out)) g.over10ms = g.count - (le10[k] ?? 0);
  return out;
}

export interface Stream {
  /** What it asks. */
  name: 'cached' | 'new' | 'torture' | 'bogus' | 'tcp';
  /** Its source address (a client of its own for the admission bounds). */
  from: string;
  qps: number;
  transport: 'udp' | 'tcp';
  file: string;
}

/** The world's names that stay cached: the query cases of every zone but the bogus and KeyTrap ones. */
export function cachedNames(): string[] {
  const out: string[] = [];
  for (const z of Object.values(ZONES)) {
    if (z.kind === 'keytrap' || z.kind === 'bogus') continue;
    for (const q of z.queries) if (q.status !== 'bogus' && q.type !== 'ANY') out.push(`${q.name} ${q.type}`);
  }
  return out;
}

const NORMAL_KINDS = new Set(['algorithm', 'denial', 'cname', 'insecure', 'mail', 'dane', 'tld']);
/** Water torture targets: an unsigned zone (every name goes upstream), an NSEC and an NSEC3 zone (RFC 8198 may answer). */
const TORTURE = ['unsigned.test.', 'alg13.test.', 'nsec3-nosalt.test.'];

/**
 * The lines of one stream's dnsperf file. `new`: names not asked before across the world's zones, half of them
 * wildcard expansions (`<random>.wild.<zone>`, data), half random names (NXDOMAIN); `torture`: random labels
 * under TORTURE; `bogus`: the bogus zones' own query cases and random names under them; `tcp`: cached names
 * and, every fourth, a new one.
 */
export function streamLines(kind: Stream['name'], count: number, rand: () => number): string[] {
  const zones = Object.values(ZONES).filter((z) => NORMAL_KINDS.has(z.kind)).map((z) => z.name);
  const bogusZones = Object.values(ZONES).filter((z) => z.kind === 'bogus');
  const bogusCases = bogusZones.flatMap((z) => z.queries.filter((q) => q.status === 'bogus').map((q) => `${q.name} ${q.type}`));
  const cached = cachedNames();
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const types = ['A', 'AAAA', 'MX', 'TXT'];
  const out: string[] = [];
  for (let i = 0; i < count; i++) {
    switch (kind) {
      case 'cached': out.push(cached[i % cached.length]!); break;
      case 'new': out.push(i % 2 ? `n${randomLabel(rand, 10)}.wild.${pick(zones)} ${pick(['A', 'TXT'])}` : `n${randomLabel(rand, 10)}.${pick(zones)} ${pick(types)}`); break;
      case 'torture': out.push(`${randomLabel(rand, 12)}.${TORTURE[i % TORTURE.length]} A`); break;
      case 'bogus': out.push(i % 2 ? pick(bogusCases) : `b${randomLabel(rand, 10)}.${pick(bogusZones).name} A`); break;
      case 'tcp': out.push(i % 4 === 3 ? `t${randomLabel(rand, 10)}.wild.${pick(zones)} TXT` : cached[i % cached.length]!); break;
    }
  }
  return out;
}

export interface PerfSummary { qps: number; sent: number; completed: number; lost: number; rcodes: string }

export function perfSummary(text: string): PerfSummary {
  const num = (re: RegExp): number => Number(re.exec(text)?.[1]?.replace(/,/g, '') ?? NaN);
  return {
    qps: num(/Queries per second:\s+([\d.]+)/), sent: num(/Queries sent:\s+(\d+)/),
    completed: num(/Queries completed:\s+(\d+)/), lost: num(/Queries lost:\s+(\d+)/),
    rcodes: /Response codes:\s+(.*)/.exec(text)?.[1] ?? '',
  };
}

/** dnsperf pinned to `cpu`: `extra` flags, DO=1, 5 s timeout. */
export function dnsperf(port: number, from: string, file: string, cpu: number, extra: string[]): Promise<string> {
  const pin = cpus().length > 1 ? ['taskset', '-c', String(cpu)] : [];
  const argv = [...pin, 'dnsperf', '-a', from, '-s', '127.0.0.1', '-p', String(port), '-d', file, '-D', '-t', '5', ...extra];
  return new Promise((resolve, reject) => {
    execFile(argv[0]!, argv.slice(1), { maxBuffer: 64 << 20 }, (err, stdout, stderr) => (err && !stdout ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout)));
  });
}

/** Write a stream's file under `dir` (`count` lines). */
export function writeStream(dir: string, kind: Stream['name'], count: number, rand: () => number): string {
  const file = join(dir, `${kind}.txt`);
  writeFileSync(file, `${streamLines(kind, count, rand).join('\n')}\n`);
  return file;
}

/** A probe's figures over an interval: latencies in ms, queries without an answer, SERVFAIL answers. */
export interface ProbeFigures { n: number; p50: number; p99: number; max: number; lost: number; servfail: number }

/** What a probe counts over an interval, read and reset by take(). */
abstract class ProbeTally {
  protected samples: number[] = [];
  protected lost = 0;
  protected servfail = 0;

  /** The figures since the last call (then reset). */
  take(): ProbeFigures {
    const s = this.samples;
    const r = { n: s.length, p50: quantile(s, 0.5), p99: quantile(s, 0.99), max: s.length ? Math.max(...s) : NaN, lost: this.lost, servfail: this.servfail };
    this.samples = [];
    this.lost = 0;
    this.servfail = 0;
    return r;
  }
}

/**
 * The cached-name latency probe: one query every 1000/rate ms from its own address, cached names in turn
 * (DO=1). Its figures include this process's event-loop delay: an upper bound of the daemon's.
 */
export class LatencyProbe extends ProbeTally {
  private readonly client: UdpClient;
  private timer: NodeJS.Timeout | undefined;
  private i = 0;

  constructor(from: string, private readonly port: number, private readonly names: readonly string[], private readonly rate: number) {
    super();
    this.client = new UdpClient(from);
  }

  async start(): Promise<void> {
    await this.client.open();
    this.timer = setInterval(() => {
      const [name, type] = this.names[this.i++ % this.names.length]!.split(' ');
      void this.client.ask(this.port, name!, type!, { timeoutMs: 2000 }).then((t) => {
        if (!t.message) this.lost++;
        else {
          this.samples.push(t.ms);
          if (t.message.rcode === 2) this.servfail++;
        }
      });
    }, 1000 / this.rate);
  }

  stop(): void {
    clearInterval(this.timer);
    this.client.close();
  }
}

/**
 * The same probe as a C client: one dnsperf at `rate` queries/s from `from`, pinned to `cpu`, `-v` printing each
 * query's latency as it completes. Its figures hold no delay of the bench's own event loop (the Node probe's do,
 * and the bench process is not pinned); both run in every soak, each from its own address.
 */
export class DnsperfProbe extends ProbeTally {
  private proc: ChildProcess | undefined;
  private partial = '';

  constructor(private readonly from: string, private readonly port: number, private readonly file: string, private readonly rate: number,
    private readonly seconds: number, private readonly cpu: number) {
    super();
  }

  start(): void {
    const args = ['-s', '127.0.0.1', '-p', String(this.port), '-a', this.from, '-d', this.file, '-Q', String(this.rate), '-l', String(this.seconds),
      '-c', '1', '-q', '20', '-t', '2', '-v'];
    this.proc = cpus().length > 1 ? spawn('taskset', ['-c', String(this.cpu), 'dnsperf', ...args], { stdio: ['ignore', 'pipe', 'ignore'] })
      : spawn('dnsperf', args, { stdio: ['ignore', 'pipe', 'ignore'] });
    this.proc.stdout!.setEncoding('utf8').on('data', (d: string) => {
      const lines = (this.partial + d).split('\n');
      this.partial = lines.pop()!;
      for (const l of lines) {
        // "> NOERROR www.alg8.test. A 0.001867" (seconds), or "[Timeout] Query timed out: msg id 7".
        if (l.startsWith('> ')) {
          const f = l.split(' ');
          this.samples.push(Number(f[f.length - 1]) * 1000);
          if (f[1] === 'SERVFAIL') this.servfail++;
        } else if (l.startsWith('[Timeout]')) this.lost++;
      }
    });
  }

  stop(): void {
    this.proc?.kill('SIGINT');
  }
}

/**
 * The daemon's UDP listener's receive queue (the octets waiting to be read), sampled every `everyMs` from
 * /proc/net/udp: where a cached query waits when the daemon reads slower than queries come. A DNS query of the
 * soak is about 40-60 octets of payload, but the kernel counts each datagram's whole buffer (skb truesize, about
 * 1 KiB on loopback), so the octets say how full the buffer is rather than how many queries wait.
 */
export class RxQueueSampler {
  private timer: NodeJS.Timeout | undefined;
  private samples: number[] = [];
  private readonly portHex: string;

  constructor(port: number, private readonly everyMs = 10) {
    this.portHex = `:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  }

  start(): void {
    this.timer = setInterval(() => this.sample(), this.everyMs);
  }

  private sample(): void {
    let text: string;
    try {
      text = readFileSync('/proc/net/udp', 'utf8');
    } catch {
      return;
    }
    for (const line of text.split('\n')) {
      const f = line.trim().split(/\s+/);
      // sl local_address rem_address st tx_queue:rx_queue ...; the listener is bound, not connected.
      if (f[1]?.endsWith(this.portHex) && f[2] === '00000000:0000') {
        this.samples.push(parseInt(f[4]!.split(':')[1]!, 16));
        return;
      }
    }
  }

  /** The queue's octets since the last call (then reset): p50, p99, max, and the share of samples not empty. */
  take(): { n: number; p50: number; p99: number; max: number; busy: number } {
    const s = this.samples;
    const r = { n: s.length, p50: quantile(s, 0.5), p99: quantile(s, 0.99), max: s.length ? Math.max(...s) : NaN, busy: s.length ? s.filter((x) => x > 0).length / s.length : NaN };
    this.samples = [];
    return r;
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
