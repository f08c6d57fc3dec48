/**
 * bench/qps: cached-answer throughput and latency of dnssec-stubd against Unbound configured as a
 * validating forwarder (module-config "validator iterator", the world's root anchor, forwarding to the
 * world's recursive Unbound, local-zone "test." nodefault), all with a warm cache.
 *
 *   node dist/bench/qps.js [--seconds 10] [--warmup 3] [--reps 3] [--rates 40000] [--out bench/out/qps.json]
 *
 * Servers: dnssec-stubd as `serve` starts it (default Node/V8 settings), dnssec-stubd with
 * `--max-semi-space-size=4` (shorter young-generation GC pauses, see RESULTS.md; settable through
 * NODE_OPTIONS), and Unbound with 1 thread. Each server runs pinned to CPU 1 (taskset), the clients
 * to CPU 0; one server is measured at a time. Queries: every non-bogus query case of the test world (positive, NXDOMAIN, NODATA,
 * wildcard, CNAME, DNAME, insecure, ...), each server asked the whole list twice first (warm, validated).
 *
 * 1. Throughput: dnsperf, 4 clients, 64 queries outstanding each, `--seconds` per run, with DO=1 (EDNS,
 *    as a DANE MTA asks) and without EDNS; `--reps` rounds with the servers taking turns, the median
 *    run of each server and its ratio to Unbound's median.
 * 2. Latency at a fixed rate, 0.7 x Unbound's DO QPS (the target rate): bench/latency.c (built here with
 *    cc) sends evenly spaced queries and takes the kernel's receive timestamps (SO_TIMESTAMPNS), so its
 *    own scheduling does not count; dnsperf 2.10 has no percentiles and its -v per-query times carry a
 *    ~3 ms tail of their own on a 2-CPU machine. Without cc, bench/latency.js (Node, an upper bound).
 *    `--reps` runs per server; the median p99 is reported with every run. Also at the `--rates` given
 *    (default 40000): rates all three servers sustain, to see latency apart from saturation.
 * The world upstream's query counter is read around each throughput run: a warm cache asks (almost)
 * nothing; negative answers (TTL 300 at most) and answers bound by their keys' validity expire during a
 * long run and are asked again, by Unbound as well.
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { getWorld, stopWorld, ZONES } from '../test/world/index.js';
import { upstreamStats } from '../test/world/tools.js';
import { freePort } from '../test/upstream/unbound-fixture.js';
import { dig } from '../test/support/dig.js';
import { Name, makeQuery, serializeMessage, typeFromText } from '../src/wire/index.js';
import type { LatencyReport } from './latency.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const TUNED_GC = ['--max-semi-space-size=4'];

interface PerfResult { qps: number; avgLatencyMs: number; completedPct: number; sent: number; lost: number; upstreamQueries: number }
type Mode = 'do' | 'plain';
interface Server { label: string; port: number; proc: ChildProcess }

function pinned(cpu: number, cmd: string, args: string[]): [string, string[]] {
  return cpus().length > 1 ? ['taskset', ['-c', String(cpu), cmd, ...args]] : [cmd, args];
}

async function waitAnswering(port: number): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const r = await dig(port, ['www.alg8.test', 'A', '+time=1']).catch(() => undefined);
    if (r?.status === 'NOERROR') return;
    await new Promise((res) => setTimeout(res, 100));
  }
  throw new Error(`server on port ${port} never answered`);
}

function dnsperf(port: number, file: string, mode: Mode, extra: string[]): string {
  const [cmd, args] = pinned(0, 'dnsperf', ['-s', '127.0.0.1', '-p', String(port), '-d', file, ...(mode === 'do' ? ['-D'] : []), ...extra]);
  return execFileSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
}

async function throughput(port: number, file: string, seconds: number, mode: Mode): Promise<PerfResult> {
  const world = await getWorld();
  const before = (await upstreamStats(world))['total.num.queries'] ?? 0;
  const out = dnsperf(port, file, mode, ['-l', String(seconds), '-c', '4', '-q', '64', '-t', '2']);
  const after = (await upstreamStats(world))['total.num.queries'] ?? 0;
  const num = (re: RegExp): number => Number(re.exec(out)?.[1] ?? NaN);
  return {
    qps: num(/Queries per second:\s+([\d.]+)/),
    avgLatencyMs: num(/Average Latency \(s\):\s+([\d.]+)/) * 1000,
    completedPct: num(/Queries completed:\s+\d+ \(([\d.]+)%\)/),
    sent: num(/Queries sent:\s+(\d+)/),
    lost: num(/Queries lost:\s+(\d+)/),
    upstreamQueries: after - before,
  };
}

/** The latency client: bench/latency.c built with cc, else the Node one. */
function latencyClient(dir: string): { kind: 'c' | 'node'; run(port: number, rate: number, seconds: number): LatencyReport } {
  const bin = join(dir, 'latency');
  const cc = spawnSync('cc', ['-O2', '-o', bin, join(ROOT, 'bench', 'latency.c')], { stdio: 'inherit' });
  const packets = join(dir, 'queries.bin');
  const text = join(dir, 'queries.txt');
  if (cc.status === 0) {
    return {
      kind: 'c',
      run: (port, rate, seconds) => JSON.parse(execFileSync(...pinned(0, bin, [String(port), packets, String(rate), String(seconds)]), { encoding: 'utf8' })) as LatencyReport,
    };
  }
  console.warn('cc failed: measuring latency with the Node client (an upper bound)');
  return {
    kind: 'node',
    run: (port, rate, seconds) => JSON.parse(execFileSync(...pinned(0, process.execPath, [join(ROOT, 'dist', 'bench', 'latency.js'),
      '--port', String(port), '--file', text, '--rate', String(rate), '--seconds', String(seconds), '--do', '--json']), { encoding: 'utf8' })) as LatencyReport,
  };
}

function stop(p: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (p.exitCode !== null) return resolve();
    p.once('exit', () => resolve());
    p.kill('SIGTERM');
  });
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      seconds: { type: 'string', default: '10' },
      warmup: { type: 'string', default: '3' },
      reps: { type: 'string', default: '3' },
      rates: { type: 'string', default: '40000' },
      out: { type: 'string', default: join(ROOT, 'bench', 'out', 'qps.json') },
    },
  });
  const seconds = Number(values.seconds);
  const warmup = Number(values.warmup);
  const reps = Number(values.reps);
  const world = await getWorld();
  const dir = mkdtempSync(join(tmpdir(), 'stubd-qps-'));

  const lines = Object.values(ZONES).flatMap((z) => z.queries.filter((q) => q.status !== 'bogus').map((q) => `${q.name} ${q.type}`));
  const qfile = join(dir, 'queries.txt');
  writeFileSync(qfile, lines.join('\n') + '\n');
  writeFileSync(join(dir, 'queries.bin'), Buffer.concat(lines.flatMap((l) => {
    const [name, type] = l.split(' ');
    const q = serializeMessage(makeQuery(Name.fromText(name!), typeFromText(type!)!, { id: 0, edns: { udpSize: 1232, version: 0, dnssecOk: true, z: 0, options: [] } })).bytes;
    return [Buffer.from([q.length >> 8, q.length & 0xff]), Buffer.from(q)];
  })));
  const client = latencyClient(dir);

  const daemon = async (label: string, nodeFlags: string[]): Promise<Server> => {
    const port = await freePort('127.0.0.1');
    const [c, a] = pinned(1, process.execPath, [...nodeFlags, join(ROOT, 'bin', 'dnssec-stubd.js'), 'serve', '--listen', `127.0.0.1:${port}`,
      '--upstream', `${world.upstream.host}:${world.upstream.port}`, '--trust-anchor', world.rootAnchorFile, '--log-level', 'warn']);
    return { label, port, proc: spawn(c, a, { stdio: 'inherit' }) };
  };
  const ubPort = await freePort('127.0.0.1');
  const ubConf = join(dir, 'unbound.conf');
  writeFileSync(ubConf, [
    'server:',
    `  interface: 127.0.0.1@${ubPort}`,
    '  access-control: 127.0.0.0/8 allow',
    '  do-not-query-localhost: no',
    '  num-threads: 1',
    '  module-config: "validator iterator"',
    `  trust-anchor-file: "${world.rootAnchorFile}"`,
    '  local-zone: "test." nodefault',
    '  username: ""', '  chroot: ""', `  directory: "${dir}"`, '  pidfile: ""', '  use-syslog: no', '  logfile: ""', '  verbosity: 0',
    'forward-zone:', '  name: "."', `  forward-addr: ${world.upstream.host}@${world.upstream.port}`,
    '',
  ].join('\n'));
  const [uc, ua] = pinned(1, 'unbound', ['-d', '-c', ubConf]);
  const servers: Server[] = [
    await daemon('dnssec-stubd', []),
    await daemon('dnssec-stubd tuned GC', TUNED_GC),
    { label: 'unbound', port: ubPort, proc: spawn(uc, ua, { stdio: 'inherit' }) },
  ];
  try {
    for (const s of servers) {
      await waitAnswering(s.port);
      // Warm the cache (twice through the list, with and without DO) and check it validates.
      for (const mode of ['do', 'plain'] as const) dnsperf(s.port, qfile, mode, ['-n', '2', '-c', '1', '-q', '20', '-t', '5']);
      const r = await dig(s.port, ['www.alg13.test', 'A', '+dnssec']);
      if (!r.flags.has('ad')) throw new Error(`${s.label} does not validate: ${r.text}`);
    }
    // Throughput: `reps` rounds, the servers taking turns within each (so that a noisy moment of the
    // machine does not hit one server only); the median run of each server counts.
    const runs: Record<string, Record<Mode, PerfResult[]>> = {};
    for (let i = 0; i < reps; i++) {
      for (const mode of ['do', 'plain'] as const) {
        for (const s of servers) {
          if (i === 0) await throughput(s.port, qfile, warmup, mode);
          ((runs[s.label] ??= { do: [], plain: [] })[mode]).push(await throughput(s.port, qfile, seconds, mode));
        }
      }
    }
    const medianRun = (xs: PerfResult[]): PerfResult => [...xs].sort((a, b) => a.qps - b.qps)[Math.floor(xs.length / 2)]!;
    const results: Record<string, Record<Mode, PerfResult & { allQps: number[] }>> = {};
    for (const [label, r] of Object.entries(runs)) {
      results[label] = {
        do: { ...medianRun(r.do), allQps: r.do.map((x) => Math.round(x.qps)) },
        plain: { ...medianRun(r.plain), allQps: r.plain.map((x) => Math.round(x.qps)) },
      };
    }
    const ratio = (label: string, mode: Mode): number => Number((results[label]![mode].qps / results['unbound']![mode].qps).toFixed(3));
    const rate = Math.round(0.7 * results['unbound']!.do.qps);
    const rates = [rate, ...values.rates!.split(',').filter(Boolean).map(Number)];
    type Latency = { rate: number; medianP99Ms: number; runs: LatencyReport[] };
    const latency: Record<string, Latency[]> = {};
    for (const r of rates) {
      const here: Record<string, Latency> = {};
      for (let i = 0; i < reps; i++) {
        for (const s of servers) (here[s.label] ??= { rate: r, medianP99Ms: NaN, runs: [] }).runs.push(client.run(s.port, r, seconds));
      }
      for (const [label, l] of Object.entries(here)) {
        l.medianP99Ms = median(l.runs.map((x) => x.p99Ms));
        (latency[label] ??= []).push(l);
      }
    }

    const report = {
      date: new Date().toISOString(),
      machine: `${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}, node ${process.version}`,
      mode: 'warm cache: dnssec-stubd vs Unbound validating forwarder',
      seconds,
      queries: lines.length,
      results,
      ratio: Object.fromEntries(servers.filter((s) => s.label !== 'unbound').map((s) => [s.label, { do: ratio(s.label, 'do'), plain: ratio(s.label, 'plain') }])),
      latencyClient: client.kind,
      latencyRate: rate,
      latency,
    };
    mkdirSync(dirname(values.out!), { recursive: true });
    writeFileSync(values.out!, JSON.stringify(report, null, 2) + '\n');
    for (const mode of ['do', 'plain'] as const) {
      for (const s of servers) {
        const r = results[s.label]![mode];
        const vs = s.label === 'unbound' ? '' : `  ratio ${ratio(s.label, mode).toFixed(3)}`;
        console.log(`${mode.padEnd(5)} ${s.label.padEnd(22)} ${r.qps.toFixed(0).padStart(8)} qps (median of ${r.allQps.join(', ')})  avg ${r.avgLatencyMs.toFixed(3)} ms  upstream queries ${r.upstreamQueries}${vs}`);
      }
    }
    for (const [k, ls] of Object.entries(latency)) {
      for (const l of ls) {
        const runs = l.runs.map((r) => `p50 ${r.p50Ms.toFixed(3)} p99 ${r.p99Ms.toFixed(3)} p99.9 ${r.p999Ms.toFixed(3)} max ${r.maxMs.toFixed(2)} lost ${r.lost}`).join(' | ');
        console.log(`latency at ${l.rate} qps (DO, ${client.kind} client) ${k.padEnd(22)} median p99 ${l.medianP99Ms.toFixed(3)} ms  [${runs}]`);
      }
    }
  } finally {
    for (const s of servers) await stop(s.proc);
    await stopWorld();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
