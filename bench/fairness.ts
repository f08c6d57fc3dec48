/**
 * bench/fairness: one client floods random names while another asks cached and new names; the other client's
 * latency with and without the admission bounds (src/resolver/admission.ts).
 *
 *   node dist/bench/fairness.js [--seconds 20] [--outstanding 2000] [--qps 0] [--rate 50] [--modes off,default]
 *                               [--out bench/out/fairness.json]
 *
 * For each mode a daemon is started as `serve` (pinned to CPU 1; world upstream and anchor; no self-test):
 *   - off: server.maxResolutions and maxResolutionsPerClient 0 (no admission at all: what there was before);
 *   - uncapped: both 1,000,000 (turns, no bounds); default: the default bounds (1024 resolutions, 256 per
 *     client); small: 256 and 32.
 * The well-behaved client (127.0.0.33, a Node UDP client, DO=1) first warms its cached names (the world's
 * non-bogus query cases, twice), then asks, evenly spaced at `--rate` per second, by turns: a cached name, a new
 * random name in an unsigned zone (a resolution upstream each time), and a new random name in a signed zone
 * (an NXDOMAIN that RFC 8198 may synthesize). It does so alone first (baseline, 10 s), then while dnsperf
 * floods from 127.0.0.22 (`--outstanding` queries in flight, random names under the unsigned zones: the
 * water-torture pattern) for `--seconds`; with `--qps N` dnsperf sends at most N per second (an open-loop
 * flood when `--outstanding` is large), else as fast as answers come back (closed loop). Reported per phase and kind: p50/p99 latency, answers, SERVFAILs,
 * timeouts (5 s); for the flood: dnsperf's QPS and response codes.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { getWorld, stopWorld, ZONES, type WorldInfo } from '../test/world/index.js';
import { prng } from './fuzz-core.js';
import { ROOT, UdpClient, edeCodes, quantile, randomLabel, startLiveDaemon, type LiveDaemon, type Timed } from './live-daemon.js';

const { values: args } = parseArgs({
  options: {
    seconds: { type: 'string', default: '20' },
    outstanding: { type: 'string', default: '2000' },
    rate: { type: 'string', default: '50' },
    modes: { type: 'string', default: 'off,default' },
    qps: { type: 'string', default: '0' },
    out: { type: 'string', default: join(ROOT, 'bench', 'out', 'fairness.json') },
  },
});
const SECONDS = Number(args.seconds);
const OUTSTANDING = Number(args.outstanding);
const RATE = Number(args.rate);
const QPS = Number(args.qps);
const BASELINE_S = 10;

const MODES: Record<string, Record<string, number>> = {
  off: { maxResolutions: 0, maxResolutionsPerClient: 0 },
  uncapped: { maxResolutions: 1_000_000, maxResolutionsPerClient: 1_000_000 },
  default: {},
  small: { maxResolutions: 256, maxResolutionsPerClient: 32 },
};

/** Zones whose random names need a resolution each (no validated denial to synthesize from). */
const UNSIGNED = ['unsigned.test.'];
const SIGNED = ['alg13.test.', 'alg8.test.', 'nsec3-nosalt.test.', 'alg15.test.'];

type Kind = 'cached' | 'new-unsigned' | 'new-signed';
interface Sample { kind: Kind; ms: number; rcode: number | undefined; ede: number[] }

function cachedNames(): { name: string; type: string }[] {
  const out: { name: string; type: string }[] = [];
  for (const z of Object.values(ZONES)) {
    if (z.kind === 'keytrap' || z.kind === 'bogus') continue;
    for (const q of z.queries) if (q.status !== 'bogus' && q.type !== 'ANY') out.push({ name: q.name, type: q.type });
  }
  return out;
}

function dnsperf(port: number, file: string, seconds: number): Promise<string> {
  const pin = cpus().length > 1 ? ['taskset', '-c', '0'] : [];
  const argv = [...pin, 'dnsperf', '-a', '127.0.0.22', '-s', '127.0.0.1', '-p', String(port), '-d', file, '-D',
    '-q', String(OUTSTANDING), '-l', String(seconds), '-t', '5', ...(QPS > 0 ? ['-Q', String(QPS)] : [])];
  return new Promise((resolve, reject) => {
    execFile(argv[0]!, argv.slice(1), { maxBuffer: 64 << 20 }, (err, stdout, stderr) => (err && !stdout ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout)));
  });
}

function floodSummary(text: string): { qps: number; sent: number; completed: number; rcodes: string } {
  const num = (re: RegExp): number => Number(re.exec(text)?.[1]?.replace(/,/g, '') ?? NaN);
  return {
    qps: num(/Queries per second:\s+([\d.]+)/),
    sent: num(/Queries sent:\s+(\d+)/),
    completed: num(/Queries completed:\s+(\d+)/),
    rcodes: /Response codes:\s+(.*)/.exec(text)?.[1] ?? '',
  };
}

/** The well-behaved client for `seconds`: one query every 1000/RATE ms, kinds by turns. */
async function wellBehaved(d: LiveDaemon, client: UdpClient, seconds: number, rand: () => number, names: { name: string; type: string }[]): Promise<Sample[]> {
  const samples: Promise<Sample>[] = [];
  const kinds: Kind[] = ['cached', 'new-unsigned', 'new-signed'];
  const interval = 1000 / RATE;
  const start = performance.now();
  for (let i = 0; performance.now() - start < seconds * 1000; i++) {
    const kind = kinds[i % 3]!;
    let name: string;
    let type = 'A';
    if (kind === 'cached') {
      const n = names[Math.floor(rand() * names.length)]!;
      name = n.name;
      type = n.type;
    } else {
      const zones = kind === 'new-unsigned' ? UNSIGNED : SIGNED;
      name = `wb-${randomLabel(rand, 10)}.${zones[Math.floor(rand() * zones.length)]}`;
    }
    samples.push(client.ask(d.port, name, type, { timeoutMs: 5000 }).then((t: Timed) => ({
      kind, ms: t.ms, rcode: t.message?.rcode, ede: t.message ? edeCodes(t.message) : [],
    })));
    const next = start + (i + 1) * interval;
    const wait = next - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  }
  return Promise.all(samples);
}

interface KindStats { n: number; p50: number; p99: number; max: number; answered: number; servfail: number; refusedByBound: number; timeouts: number }

function summarize(samples: Sample[]): Record<Kind, KindStats> {
  const out = {} as Record<Kind, KindStats>;
  for (const kind of ['cached', 'new-unsigned', 'new-signed'] as Kind[]) {
    const s = samples.filter((x) => x.kind === kind);
    const ok = s.filter((x) => x.rcode !== undefined).map((x) => x.ms);
    out[kind] = {
      n: s.length,
      p50: +quantile(ok, 0.5).toFixed(2),
      p99: +quantile(ok, 0.99).toFixed(2),
      max: +Math.max(...ok).toFixed(1),
      answered: s.filter((x) => x.rcode === 0 || x.rcode === 3).length,
      servfail: s.filter((x) => x.rcode === 2).length,
      refusedByBound: s.filter((x) => x.rcode === 2 && x.ede.includes(0)).length,
      timeouts: s.filter((x) => x.rcode === undefined).length,
    };
  }
  return out;
}

async function runMode(world: WorldInfo, mode: string, floodFile: string): Promise<unknown> {
  const d = await startLiveDaemon(world, { server: MODES[mode], cpu: 1 });
  const client = new UdpClient('127.0.0.33');
  await client.open();
  const rand = prng(0xfa1e + mode.length);
  const names = cachedNames();
  try {
    for (let pass = 0; pass < 2; pass++) await Promise.all(names.map((n) => client.ask(d.port, n.name, n.type, { timeoutMs: 10_000 })));
    const baseline = summarize(await wellBehaved(d, client, BASELINE_S, rand, names));
    console.log(`${mode}: baseline`, JSON.stringify(baseline));
    const rssBefore = d.rssKb();
    const flood = dnsperf(d.port, floodFile, SECONDS);
    await new Promise((r) => setTimeout(r, 2000));
    const during = summarize(await wellBehaved(d, client, SECONDS - 4, rand, names));
    const floodOut = floodSummary(await flood);
    console.log(`${mode}: during the flood`, JSON.stringify(during));
    console.log(`${mode}: flood`, JSON.stringify(floodOut));
    if (!d.alive()) throw new Error(`the daemon died:\n${d.output()}`);
    return { mode, server: MODES[mode], baseline, during, flood: floodOut, rssKb: { before: rssBefore, after: d.rssKb() } };
  } finally {
    client.close();
    await d.stop();
  }
}

async function main(): Promise<void> {
  const world = await getWorld();
  try {
    const dir = mkdtempSync(join(tmpdir(), 'fairness-'));
    const floodFile = join(dir, 'flood.txt');
    const rand = prng(0xf100d);
    const lines: string[] = [];
    for (let i = 0; i < 400_000; i++) lines.push(`fl-${randomLabel(rand, 12)}.${UNSIGNED[i % UNSIGNED.length]} A`);
    writeFileSync(floodFile, `${lines.join('\n')}\n`);
    const results = [];
    console.log(`fairness: ${SECONDS} s flood, ${OUTSTANDING} outstanding, well-behaved client at ${RATE} q/s; load ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
    for (const mode of args.modes!.split(',')) results.push(await runMode(world, mode, floodFile));
    mkdirSync(dirname(args.out!), { recursive: true });
    writeFileSync(args.out!, JSON.stringify({ when: new Date().toISOString(), seconds: SECONDS, outstanding: OUTSTANDING, rate: RATE, results }, null, 2));
    console.log(`written to ${args.out}`);
  } finally {
    await stopWorld();
  }
}

await main();
