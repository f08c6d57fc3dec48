/**
 * bench/qps: dnsperf against dnssec-stubd and, in the same run, against Unbound configured as a
 * forwarder to the same upstream (the test world's recursive Unbound). Each server runs pinned to
 * CPU 1, dnsperf to CPU 0. Prints both QPS figures, their ratio and latency, and writes JSON.
 *
 *   node dist/bench/qps.js [--seconds 10] [--warmup 3] [--out bench/out/qps.json]
 *
 * Until the cache exists this measures dnssec-stubd's forwarding path (every query goes upstream),
 * against Unbound answering from its cache; the lasting target (cached answers, >= 0.7x Unbound) is
 * measured once the cache lands.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { getWorld, stopWorld, ZONES } from '../test/world/index.js';
import { freePort } from '../test/upstream/unbound-fixture.js';
import { dig } from '../test/support/dig.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

interface PerfResult { qps: number; avgLatencyMs: number; completedPct: number; sent: number; lost: number }

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

function dnsperf(port: number, file: string, seconds: number): PerfResult {
  const [cmd, args] = pinned(0, 'dnsperf', ['-s', '127.0.0.1', '-p', String(port), '-d', file, '-l', String(seconds), '-c', '4', '-q', '64', '-t', '2']);
  const out = execFileSync(cmd, args, { encoding: 'utf8' });
  const num = (re: RegExp): number => Number(re.exec(out)?.[1] ?? NaN);
  return {
    qps: num(/Queries per second:\s+([\d.]+)/),
    avgLatencyMs: num(/Average Latency \(s\):\s+([\d.]+)/) * 1000,
    completedPct: num(/Queries completed:\s+\d+ \(([\d.]+)%\)/),
    sent: num(/Queries sent:\s+(\d+)/),
    lost: num(/Queries lost:\s+(\d+)/),
  };
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

  // Queries: every positive or negative case of the world that is not bogus.
  const lines = Object.values(ZONES).flatMap((z) => z.queries.filter((q) => q.status !== 'bogus').map((q) => `${q.name} ${q.type}`));
  const qfile = join(dir, 'queries.txt');
  writeFileSync(qfile, lines.join('\n') + '\n');

  const ourPort = await freePort('127.0.0.1');
  const [dc, da] = pinned(1, process.execPath, [join(ROOT, 'bin', 'dnssec-stubd.js'), 'serve', '--listen', `127.0.0.1:${ourPort}`, '--upstream', `${world.upstream.host}:${world.upstream.port}`, '--log-level', 'warn']);
  const daemon = spawn(dc, da, { stdio: 'inherit' });

  const ubPort = await freePort('127.0.0.1');
  const ubConf = join(dir, 'unbound.conf');
  writeFileSync(ubConf, [
    'server:',
    `  interface: 127.0.0.1@${ubPort}`,
    '  access-control: 127.0.0.0/8 allow',
    '  do-not-query-localhost: no',
    '  num-threads: 1',
    '  module-config: "iterator"',
    '  local-zone: "test." nodefault',
    '  username: ""', '  chroot: ""', `  directory: "${dir}"`, '  pidfile: ""', '  use-syslog: no', '  logfile: ""', '  verbosity: 0',
    'forward-zone:', '  name: "."', `  forward-addr: ${upstream}`,
    '',
  ].join('\n'));
  const [uc, ua] = pinned(1, 'unbound', ['-d', '-c', ubConf]);
  const unbound = spawn(uc, ua, { stdio: 'inherit' });

  try {
    await waitAnswering(ourPort);
    await waitAnswering(ubPort);
    const results: Record<string, PerfResult> = {};
    for (const [label, port] of [['dnssec-stubd', ourPort], ['unbound', ubPort]] as const) {
      dnsperf(port, qfile, warmup);
      results[label] = dnsperf(port, qfile, seconds);
    }
    const ratio = results['dnssec-stubd']!.qps / results['unbound']!.qps;
    const report = {
      date: new Date().toISOString(),
      machine: `${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}, node ${process.version}`,
      mode: 'forwarding path (dnssec-stubd has no cache yet) vs Unbound forwarder with its cache',
      seconds,
      queries: lines.length,
      results,
      ratio: Number(ratio.toFixed(3)),
    };
    mkdirSync(dirname(values.out!), { recursive: true });
    writeFileSync(values.out!, JSON.stringify(report, null, 2) + '\n');
    for (const [k, r] of Object.entries(results)) {
      console.log(`${k.padEnd(13)} ${r.qps.toFixed(0).padStart(8)} qps  avg ${r.avgLatencyMs.toFixed(3)} ms  completed ${r.completedPct}%`);
    }
    console.log(`ratio dnssec-stubd/unbound: ${ratio.toFixed(3)}`);
  } finally {
    await stop(daemon);
    await stop(unbound);
    await stopWorld();
  }
}

await main();
