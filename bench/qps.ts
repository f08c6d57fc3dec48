/**
 * bench/qps: cached-answer throughput and latency of dnssec-stubd against Unbound configured as a
 * validating forwarder (module-config "validator iterator", the world's root anchor, forwarding to the
 * world's recursive Unbound, local-zone "test." nodefault), both with a warm cache.
 *
 *   node dist/bench/qps.js [--seconds 10] [--warmup 3] [--out bench/out/qps.json]
 *
 * Queries: every non-bogus query case of the test world (positive, NXDOMAIN, NODATA, wildcard, CNAME,
 * DNAME, insecure...), each server asked the whole list twice first (warm cache, validated).
 * Each server runs pinned to CPU 1 (taskset), dnsperf to CPU 0; only one server is measured at a time.
 *
 * 1. Throughput: dnsperf, 4 clients, 64 queries outstanding each, `--seconds` per run, queries with DO=1
 *    (EDNS, as a DANE MTA asks) and without EDNS. QPS of both servers and the ratio.
 * 2. Latency at a fixed rate: dnsperf -Q at 0.7 x Unbound's DO QPS (the target rate), with -v: one line
 *    per answer with its latency (dnsperf 2.10 has no percentile output); p50/p99/p99.9 from those.
 * The world upstream's query counter is read before and after: a warm cache sends (almost) nothing.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { getWorld, stopWorld, ZONES } from '../test/world/index.js';
import { upstreamStats } from '../test/world/tools.js';
import { freePort } from '../test/upstream/unbound-fixture.js';
import { dig } from '../test/support/dig.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

interface PerfResult { qps: number; avgLatencyMs: number; completedPct: number; sent: number; lost: number }
interface LatencyResult { rate: number; answers: number; lost: number; p50Ms: number; p99Ms: number; p999Ms: number; maxMs: number }
type Mode = 'do' | 'plain';

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

const modeArgs = (mode: Mode): string[] => (mode === 'do' ? ['-D'] : []);

function dnsperf(port: number, file: string, mode: Mode, extra: string[]): string {
  const [cmd, args] = pinned(0, 'dnsperf', ['-s', '127.0.0.1', '-p', String(port), '-d', file, ...modeArgs(mode), ...extra]);
  return execFileSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
}

function throughput(port: number, file: string, seconds: number, mode: Mode): PerfResult {
  const out = dnsperf(port, file, mode, ['-l', String(seconds), '-c', '4', '-q', '64', '-t', '2']);
  const num = (re: RegExp): number => Number(re.exec(out)?.[1] ?? NaN);
  return {
    qps: num(/Queries per second:\s+([\d.]+)/),
    avgLatencyMs: num(/Average Latency \(s\):\s+([\d.]+)/) * 1000,
    completedPct: num(/Queries completed:\s+\d+ \(([\d.]+)%\)/),
    sent: num(/Queries sent:\s+(\d+)/),
    lost: num(/Queries lost:\s+(\d+)/),
  };
}

/** dnsperf at a fixed rate with per-answer output written to a file (not through this process). */
function latency(port: number, file: string, seconds: number, rate: number, dir: string): LatencyResult {
  const outFile = join(dir, `latency-${port}.txt`);
  const fd = openSync(outFile, 'w');
  const [cmd, args] = pinned(0, 'dnsperf', ['-s', '127.0.0.1', '-p', String(port), '-d', file, ...modeArgs('do'), '-l', String(seconds), '-Q', String(rate), '-c', '4', '-q', '200', '-t', '2', '-v']);
  try {
    execFileSync(cmd, args, { stdio: ['ignore', fd, 'inherit'] });
  } finally {
    closeSync(fd);
  }
  const text = readFileSync(outFile, 'utf8');
  const ms: number[] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith('> ')) continue;
    const v = Number(line.slice(line.lastIndexOf(' ') + 1));
    if (Number.isFinite(v)) ms.push(v * 1000);
  }
  ms.sort((a, b) => a - b);
  const pct = (p: number): number => ms[Math.min(ms.length - 1, Math.floor(p * ms.length))] ?? NaN;
  const lost = Number(/Queries lost:\s+(\d+)/.exec(text)?.[1] ?? NaN);
  return { rate, answers: ms.length, lost, p50Ms: pct(0.5), p99Ms: pct(0.99), p999Ms: pct(0.999), maxMs: ms[ms.length - 1] ?? NaN };
}

function stop(p: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (p.exitCode !== null) return resolve();
    p.once('exit', () => resolve());
    p.kill('SIGTERM');
  });
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { seconds: { type: 'string', default: '10' }, warmup: { type: 'string', default: '3' }, out: { type: 'string', default: join(ROOT, 'bench', 'out', 'qps.json') } } });
  const seconds = Number(values.seconds);
  const warmup = Number(values.warmup);
  const world = await getWorld();
  const upstream = `${world.upstream.host}@${world.upstream.port}`;
  const dir = mkdtempSync(join(tmpdir(), 'stubd-qps-'));

  const lines = Object.values(ZONES).flatMap((z) => z.queries.filter((q) => q.status !== 'bogus').map((q) => `${q.name} ${q.type}`));
  const qfile = join(dir, 'queries.txt');
  writeFileSync(qfile, lines.join('\n') + '\n');

  const ourPort = await freePort('127.0.0.1');
  const [dc, da] = pinned(1, process.execPath, [join(ROOT, 'bin', 'dnssec-stubd.js'), 'serve', '--listen', `127.0.0.1:${ourPort}`,
    '--upstream', `${world.upstream.host}:${world.upstream.port}`, '--trust-anchor', world.rootAnchorFile, '--log-level', 'warn']);
  const daemon = spawn(dc, da, { stdio: 'inherit' });

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
    'forward-zone:', '  name: "."', `  forward-addr: ${upstream}`,
    '',
  ].join('\n'));
  const [uc, ua] = pinned(1, 'unbound', ['-d', '-c', ubConf]);
  const unbound = spawn(uc, ua, { stdio: 'inherit' });

  const servers = [['dnssec-stubd', ourPort], ['unbound', ubPort]] as const;
  try {
    await waitAnswering(ourPort);
    await waitAnswering(ubPort);
    // Warm both caches (twice through the list, with and without DO) and check they validate.
    for (const [, port] of servers) {
      for (const mode of ['do', 'plain'] as const) dnsperf(port, qfile, mode, ['-n', '2', '-c', '1', '-q', '20', '-t', '5']);
      const r = await dig(port, ['www.alg13.test', 'A', '+dnssec']);
      if (!r.flags.has('ad')) throw new Error(`port ${port} does not validate: ${r.text}`);
    }
    const before = (await upstreamStats(world))['total.num.queries'] ?? 0;
    const results: Record<string, Record<Mode, PerfResult>> = {};
    for (const mode of ['do', 'plain'] as const) {
      for (const [label, port] of servers) {
        throughput(port, qfile, warmup, mode);
        (results[label] ??= {} as Record<Mode, PerfResult>)[mode] = throughput(port, qfile, seconds, mode);
      }
    }
    const upstreamQueries = ((await upstreamStats(world))['total.num.queries'] ?? 0) - before;
    const ratio = (mode: Mode): number => results['dnssec-stubd']![mode].qps / results['unbound']![mode].qps;
    const rate = Math.round(0.7 * results['unbound']!.do.qps);
    const lat: Record<string, LatencyResult> = {};
    for (const [label, port] of servers) lat[label] = latency(port, qfile, seconds, rate, dir);

    const report = {
      date: new Date().toISOString(),
      machine: `${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}, node ${process.version}`,
      mode: 'warm cache: dnssec-stubd vs Unbound validating forwarder',
      seconds,
      queries: lines.length,
      results,
      ratio: { do: Number(ratio('do').toFixed(3)), plain: Number(ratio('plain').toFixed(3)) },
      upstreamQueriesDuringThroughput: upstreamQueries,
      latencyAtFixedRate: lat,
    };
    mkdirSync(dirname(values.out!), { recursive: true });
    writeFileSync(values.out!, JSON.stringify(report, null, 2) + '\n');
    for (const mode of ['do', 'plain'] as const) {
      for (const [k] of servers) {
        const r = results[k]![mode];
        console.log(`${mode.padEnd(5)} ${k.padEnd(13)} ${r.qps.toFixed(0).padStart(8)} qps  avg ${r.avgLatencyMs.toFixed(3)} ms  completed ${r.completedPct}%`);
      }
      console.log(`${mode.padEnd(5)} ratio dnssec-stubd/unbound: ${ratio(mode).toFixed(3)}`);
    }
    console.log(`upstream queries during the throughput runs: ${upstreamQueries}`);
    for (const [k, l] of Object.entries(lat)) {
      console.log(`latency at ${l.rate} qps (DO) ${k.padEnd(13)} p50 ${l.p50Ms.toFixed(3)} ms  p99 ${l.p99Ms.toFixed(3)} ms  p99.9 ${l.p999Ms.toFixed(3)} ms  max ${l.maxMs.toFixed(3)} ms  (${l.answers} answers, ${l.lost} lost)`);
    }
  } finally {
    await stop(daemon);
    await stop(unbound);
    await stopWorld();
  }
}

await main();
