/**
 * bench/soak: the daemon at 80% of its measured capacity for minutes, a mix of cached names, new names, water
 * torture, bogus names and TCP clients; its cached-name latency, memory and answers every interval (issue 14).
 *
 *   node dist/bench/soak.js [--minutes 10] [--cache-mib 64] [--heap derived|none] [--profile mix|flood]
 *                           [--fraction 0.8] [--capacity 0] [--flood-qps 4200] [--interval 10] [--probe-rate 100]
 *                           [--capacity-by formula|queue] [--pin cpu1|none] [--daemon-root DIR] [--node-flags '...']
 *                           [--out bench/out/soak.json]
 *
 * The daemon is `bin/dnssec-stubd.js serve` as an operator starts it (pinned to CPU 1; the world's upstream and
 * anchor; the HTTP API on for /metrics; the default self-test, which warms the code, awaited by /readyz), so the launcher's heap flags apply (`--heap none`: as
 * before them, NODE_OPTIONS=--max-semi-space-size=4 and DNSSEC_STUBD_HEAP=off). The cached names (the world's
 * non-bogus query cases) are asked twice first.
 *
 * Profile `mix` (the issue's soak): capacity first, unless `--capacity` gives it: dnsperf on the cached names
 * (4 clients, 64 outstanding each, 5 s), then on the miss streams' names (200 outstanding, 10 s); the mix's
 * capacity from the two (CPU time per query adds up; see capacity()). A miss costs some 20 hits, so 80% of the
 * cached-name capacity with a quarter of misses would be an overload, not a soak. Then for `--minutes`, at
 * `--fraction` of the mix's capacity in all, one dnsperf per stream (each from its own address, pinned to CPU 0,
 * with -Q its share): cached names 70%, new names across the
 * world's zones 8% (wildcard expansions and NXDOMAINs), random-subdomain names under an unsigned, an NSEC and
 * an NSEC3 zone 10% (water torture), bogus names 4% (the bogus zones' cases and random names under them), TCP
 * clients 8% (dnsperf -m tcp, 8 connections; cached names and new wildcard names). Profile `flood` (the memory
 * curve): only random names under the unsigned zone, at `--flood-qps` (the issue's 4,200 qps flood).
 *
 * Every `--interval` seconds: the cached-name latency of a separate light client (127.0.0.16, `--probe-rate`
 * queries/s, p50/p99/max; and the same from a C client, dnsperf -v from 127.0.0.17 pinned to CPU 0, whose figures
 * hold no delay of the bench's own event loop), the listener's UDP receive queue (/proc/net/udp every 10 ms), the daemon's RSS (/proc) and heap (/metrics: used, total), the answers by rcode in the
 * interval, the cache's and RFC 8198 store's bytes, the chain's names, and what explains a latency tail: the
 * event loop's delay (p99, max) and GC pauses (prom-client's), the main thread's CPU time and its wait for a CPU
 * (/proc/PID/schedstat: other processes on its core). After the load: 30 s idle, read again.
 * `--capacity-by queue`: after the formula, the capacity as the daemon meets it (queueCapacity: the highest rate
 * of the whole mix answered in full with the listener's receive queue mostly empty); `--fraction` applies to it.
 * `--pin none`: the daemon not pinned (its GC and compiler threads then run beside it, as on a mail server).
 * `--daemon-root DIR`: run the daemon of another checkout's build (an A/B of two versions; the world, the load
 * and the probe stay this checkout's). `--node-flags`: node/V8 flags for the daemon (an A/B of V8 settings, or
 * `--trace-gc-nvp` to see where GC time goes); what the daemon printed is written beside `--out` (.daemon.log).
 * Pass: the daemon never died, cached p99 < 5 ms in every interval, RSS under the documented bound
 * (src/config/heap.ts: heapPlan(config).rssBoundMiB).
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { defaultConfig } from '../src/config/schema.js';
import { heapPlan } from '../src/config/heap.js';
import { getWorld, stopWorld } from '../test/world/index.js';
import { prng } from './fuzz-core.js';
import { ROOT, UdpClient, quantile, startBareResponder } from './live-daemon.js';
import {
  DnsperfProbe, LatencyProbe, RxQueueSampler, cachedNames, cpuTicks, dnsperf, perfSummary, procMemKb, schedMs, scrape, startSoakDaemon, streamLines, writeStream,
  type HeapMode, type MetricsReading, type ProbeFigures, type PerfSummary, type SoakDaemon, type Stream,
} from './soak-load.js';

const { values: args } = parseArgs({
  options: {
    minutes: { type: 'string', default: '10' },
    'cache-mib': { type: 'string', default: '64' },
    heap: { type: 'string', default: 'derived' },
    profile: { type: 'string', default: 'mix' },
    fraction: { type: 'string', default: '0.8' },
    capacity: { type: 'string', default: '0' },
    'flood-qps': { type: 'string', default: '4200' },
    interval: { type: 'string', default: '10' },
    'probe-rate': { type: 'string', default: '100' },
    out: { type: 'string', default: join(ROOT, 'bench', 'out', 'soak.json') },
    'daemon-root': { type: 'string' },
    'node-flags': { type: 'string', default: '' },
    'capacity-by': { type: 'string', default: 'formula' },
    pin: { type: 'string', default: 'cpu1' },
  },
});
const SECONDS = Math.round(Number(args.minutes) * 60);
const CACHE_MIB = Number(args['cache-mib']);
const HEAP = args.heap as HeapMode;
const PROFILE = args.profile as 'mix' | 'flood';
const INTERVAL = Number(args.interval);
const P99_LIMIT_MS = 5;
const SHARES: Record<Stream['name'], number> = { cached: 0.70, new: 0.08, torture: 0.10, bogus: 0.04, tcp: 0.08 };
const FROM: Record<Stream['name'], string> = { cached: '127.0.0.11', new: '127.0.0.12', torture: '127.0.0.13', bogus: '127.0.0.14', tcp: '127.0.0.15' };
if (!['derived', 'none'].includes(HEAP) || !['mix', 'flood'].includes(PROFILE) || !['formula', 'queue'].includes(args['capacity-by']!) || !['cpu1', 'none'].includes(args.pin!)) {
  throw new Error('--heap derived|none, --profile mix|flood, --capacity-by formula|queue, --pin cpu1|none');
}

const MiB = 1024 * 1024;
const ms = (x: number): string => (Number.isFinite(x) ? x.toFixed(2) : '-');
const load = (): string => loadavg().map((x) => x.toFixed(2)).join(' ');

interface Interval {
  t: number; load: string; alive: boolean;
  rssMiB: number; hwmMiB: number; launcherRssMiB: number;
  heapUsedMiB: number; heapTotalMiB: number; externalMiB: number;
  cacheMiB: number; cacheEntries: number; proofMiB: number; chainNames: number;
  cached: ProbeFigures;
  /** The same from the C probe (dnsperf -v, pinned to CPU 0). */
  cachedC: ProbeFigures;
  /**
   * The machine's floor: the same C probe against the bare node:dgram responder (bench/bare-responder.ts), pinned
   * as the daemon is, in the same interval. What the daemon cannot go under on this machine at this moment.
   */
  control: ProbeFigures;
  /** The listener's UDP receive queue in octets, sampled every 10 ms; busy: the share of samples not empty. */
  rxQueue: { n: number; p50: number; p99: number; max: number; busy: number };
  rcodes: Record<string, number>;
  /** The daemon's event-loop delay (p99, max) and GC in the interval: seconds paused, pauses over 10 ms. */
  loopP99Ms: number; loopMaxMs: number; gcMs: number; gcOver10ms: number;
  gcByKind: Record<string, { count: number; ms: number; over10ms: number }>;
  /** The daemon's main thread in the interval: CPU time, and time runnable but waiting for its CPU (ms). */
  cpuMs: number; waitMs: number;
  /** Per CPU, the share of its time the hypervisor stole in the interval (/proc/stat). */
  steal: number[];
}

/** The share of the mix's queries that are cached names: the cached stream and three quarters of TCP's. */
const HIT_SHARE = SHARES.cached + 0.75 * SHARES.tcp;

/**
 * The mix's capacity, from two closed-loop dnsperf runs: cached names (4 x 64 outstanding, 5 s) and the miss
 * streams' names interleaved in their shares (200 outstanding from one address, under the per-client admission
 * bound, 10 s). CPU time per query adds up: 1 / (h / hits + (1 - h) / misses), h the cached share.
 */
async function capacity(d: SoakDaemon, dir: string): Promise<{ hits: number; misses: number; mix: number }> {
  if (Number(args.capacity) > 0) return { hits: NaN, misses: NaN, mix: Number(args.capacity) };
  const file = writeStream(dir, 'cached', cachedNames().length, prng(1));
  const h = perfSummary(await dnsperf(d.port, '127.0.0.10', file, 0, ['-c', '4', '-q', '64', '-l', '5']));
  const rand = prng(2);
  const missLines: string[] = [];
  const parts = (['new', 'torture', 'bogus'] as const).map((k) => ({ k, lines: streamLines(k, 120_000, rand) }));
  for (let i = 0; missLines.length < 200_000; i++) {
    for (const { k, lines } of parts) for (let j = 0; j < SHARES[k] * 100; j++) missLines.push(lines[(i * 10 + j) % lines.length]!);
  }
  const missFile = join(dir, 'misses.txt');
  writeFileSync(missFile, `${missLines.join('\n')}\n`);
  const m = perfSummary(await dnsperf(d.port, '127.0.0.9', missFile, 0, ['-q', '200', '-l', '10']));
  const mix = 1 / (HIT_SHARE / h.qps + (1 - HIT_SHARE) / m.qps);
  console.log(`capacity: cached names ${h.qps.toFixed(0)} qps (dnsperf 4 x 64 outstanding, 5 s; ${h.lost} lost); misses ${m.qps.toFixed(0)} qps`
    + ` (new, torture, bogus names, 200 outstanding, 10 s; ${m.rcodes}); the mix (${(HIT_SHARE * 100).toFixed(0)}% cached) ${mix.toFixed(0)} qps; load ${load()}`);
  return { hits: h.qps, misses: m.qps, mix };
}

/** The streams of the profile and their dnsperf runs. */
function streams(dir: string, target: number, seed = 0x50a6): Stream[] {
  const rand = prng(seed);
  if (PROFILE === 'flood') {
    const qps = Number(args['flood-qps']);
    return [{ name: 'torture', from: FROM.torture, qps, transport: 'udp', file: writeStream(dir, 'torture', Math.min(3_000_000, qps * SECONDS), rand) }];
  }
  return (Object.keys(SHARES) as Stream['name'][]).map((name) => {
    const qps = Math.max(1, Math.round(target * SHARES[name]));
    const lines = name === 'cached' ? cachedNames().length : Math.min(3_000_000, qps * SECONDS);
    return { name, from: FROM[name], qps, transport: name === 'tcp' ? 'tcp' : 'udp', file: writeStream(dir, name, lines, rand) };
  });
}

function runStream(d: SoakDaemon, s: Stream, seconds = SECONDS): Promise<string> {
  const shape = s.transport === 'tcp' ? ['-m', 'tcp', '-c', '8', '-q', '64'] : s.name === 'cached' ? ['-c', '4', '-q', '200'] : ['-q', '500'];
  return dnsperf(d.port, s.from, s.file, 0, [...shape, '-Q', String(s.qps), '-l', String(seconds)]);
}

/** A rate the daemon keeps up with: every query answered, and its UDP receive queue empty most of the time. */
const QUEUE_BUSY_LIMIT = 0.2;
const TRIAL_SECONDS = 15;

/**
 * The mix's capacity as the daemon meets it (`--capacity-by queue`): the highest rate, by bisection below `upper`
 * (the formula's figure), at which the whole mix runs for TRIAL_SECONDS with every query answered and the
 * listener's receive queue not empty in fewer than QUEUE_BUSY_LIMIT of the samples. The formula adds costs
 * measured apart and overestimates the mix (RESULTS: "The cached tail"); a queue that stays full is a daemon
 * reading no faster than queries come, whatever the figure says. The trials' names are not the soak's.
 */
async function queueCapacity(d: SoakDaemon, dir: string, upper: number): Promise<number> {
  let lo = 0;
  let hi = upper;
  for (let step = 0; step < 5; step++) {
    const rate = (lo + hi) / 2;
    const list = streams(dir, rate, 0x7e57 + step);
    const rxq = new RxQueueSampler(d.port);
    rxq.start();
    const perf = await Promise.all(list.map((s) => runStream(d, s, TRIAL_SECONDS).then(perfSummary)));
    rxq.stop();
    const q = rxq.take();
    const asked = list.reduce((a, s) => a + s.qps, 0);
    const got = perf.reduce((a, p) => a + p.qps, 0);
    const lost = perf.reduce((a, p) => a + p.lost, 0);
    const holds = lost === 0 && got >= 0.97 * asked && q.busy < QUEUE_BUSY_LIMIT;
    console.log(`capacity trial ${step + 1}: ${rate.toFixed(0)} qps asked, ${got.toFixed(0)} answered, ${lost} lost; rx queue not empty ${(q.busy * 100).toFixed(0)}%, max ${(q.max / 1024).toFixed(0)} KiB: ${holds ? 'holds' : 'does not hold'}`);
    if (holds) lo = rate;
    else hi = rate;
  }
  return lo;
}

function delta(now: Record<string, number>, before: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(now)) if (v - (before[k] ?? 0) > 0) out[k] = v - (before[k] ?? 0);
  return out;
}

interface Prev { rcodes: Record<string, number>; gc: MetricsReading['gc']; sched: { cpu: number; wait: number }; ticks: ReturnType<typeof cpuTicks> }

interface Probes { node: LatencyProbe; c: DnsperfProbe; control: DnsperfProbe }

async function reading(d: SoakDaemon, t: number, probes: Probes, rxq: RxQueueSampler, prev: Prev): Promise<Interval> {
  const m: MetricsReading | undefined = await scrape(d.httpPort);
  const mem = procMemKb(d.pid);
  const launcher = d.launcherPid === d.pid ? 0 : procMemKb(d.launcherPid).rss;
  const rcodes = m ? delta(m.rcodes, prev.rcodes) : {};
  const sched = schedMs(d.pid);
  const cpuMs = sched.cpu - prev.sched.cpu;
  const waitMs = sched.wait - prev.sched.wait;
  prev.sched = sched;
  const ticks = cpuTicks();
  const steal = ticks.map((c, i) => {
    const p = prev.ticks[i];
    return p && c.total > p.total ? (c.steal - p.steal) / (c.total - p.total) : NaN;
  });
  prev.ticks = ticks;
  let gcMs = NaN;
  let gcOver10ms = NaN;
  const gcByKind: Interval['gcByKind'] = {};
  if (m) {
    gcMs = 0;
    gcOver10ms = 0;
    for (const [k, g] of Object.entries(m.gc)) {
      const p = prev.gc[k] ?? { count: 0, sum: 0, over10ms: 0 };
      gcByKind[k] = { count: g.count - p.count, ms: (g.sum - p.sum) * 1000, over10ms: g.over10ms - p.over10ms };
      gcMs += gcByKind[k]!.ms;
      gcOver10ms += gcByKind[k]!.over10ms;
    }
    prev.rcodes = m.rcodes;
    prev.gc = m.gc;
  }
  return {
    t, load: load(), alive: d.alive(),
    rssMiB: mem.rss / 1024, hwmMiB: mem.hwm / 1024, launcherRssMiB: launcher / 1024,
    heapUsedMiB: (m?.heapUsed ?? NaN) / MiB, heapTotalMiB: (m?.heapTotal ?? NaN) / MiB, externalMiB: (m?.external ?? NaN) / MiB,
    cacheMiB: (m?.cacheBytes ?? NaN) / MiB, cacheEntries: m?.cacheEntries ?? NaN, proofMiB: (m?.proofBytes ?? 0) / MiB, chainNames: m?.chainNames ?? NaN,
    cached: probes.node.take(), cachedC: probes.c.take(), control: probes.control.take(), rxQueue: rxq.take(), rcodes, loopP99Ms: (m?.loopP99 ?? NaN) * 1000, loopMaxMs: (m?.loopMax ?? NaN) * 1000, gcMs, gcOver10ms, gcByKind, cpuMs, waitMs, steal,
  };
}

function line(r: Interval): string {
  const codes = Object.entries(r.rcodes).map(([k, v]) => `${k} ${v}`).join(', ');
  return `t=${String(r.t).padStart(4)}s rss ${r.rssMiB.toFixed(0)} MiB (hwm ${r.hwmMiB.toFixed(0)}) heap ${r.heapUsedMiB.toFixed(0)}/${r.heapTotalMiB.toFixed(0)} MiB`
    + ` | cached p50 ${ms(r.cached.p50)} p99 ${ms(r.cached.p99)} max ${ms(r.cached.max)} ms (n ${r.cached.n}, lost ${r.cached.lost})`
    + ` C probe p50 ${ms(r.cachedC.p50)} p99 ${ms(r.cachedC.p99)} max ${ms(r.cachedC.max)} ms (n ${r.cachedC.n}, lost ${r.cachedC.lost})`
    + ` | control (bare responder) p50 ${ms(r.control.p50)} p99 ${ms(r.control.p99)} max ${ms(r.control.max)} ms`
    + ` | rx queue p99 ${(r.rxQueue.p99 / 1024).toFixed(0)} max ${(r.rxQueue.max / 1024).toFixed(0)} KiB, not empty ${(r.rxQueue.busy * 100).toFixed(0)}%`
    + ` | loop p99 ${ms(r.loopP99Ms)} max ${ms(r.loopMaxMs)} ms, gc ${r.gcMs.toFixed(0)} ms (${r.gcOver10ms} > 10 ms), cpu ${r.cpuMs.toFixed(0)} ms, waited ${r.waitMs.toFixed(0)} ms, steal ${r.steal.map((x) => `${(x * 100).toFixed(1)}%`).join('/')} | ${codes || 'no answers'} | cache ${r.cacheMiB.toFixed(1)} MiB ${r.cacheEntries}, 8198 ${r.proofMiB.toFixed(2)} MiB, keys ${r.chainNames} | load ${r.load}${r.alive ? '' : ' | DEAD'}`;
}

async function main(): Promise<void> {
  const world = await getWorld();
  const dir = mkdtempSync(join(tmpdir(), 'soak-'));
  const cfg = defaultConfig();
  cfg.cache.maxBytes = CACHE_MIB * MiB;
  const plan = heapPlan(cfg);
  const d = await startSoakDaemon(world, CACHE_MIB, HEAP, args.pin === 'none' ? -1 : 1, args['daemon-root'] ?? ROOT, args['node-flags']!.split(/\s+/).filter(Boolean));
  console.log(`soak: profile ${PROFILE}, ${SECONDS} s, cache ${CACHE_MIB} MiB, heap ${HEAP} (derived: --max-old-space-size=${plan.oldSpaceMiB}, RSS bound ${plan.rssBoundMiB} MiB);`
    + ` daemon pid ${d.pid}${d.pid === d.launcherPid ? '' : ` (launcher ${d.launcherPid})`}; load ${load()}`);
  const names = cachedNames();
  const warm = new UdpClient('127.0.0.10');
  await warm.open();
  for (let pass = 0; pass < 2; pass++) await Promise.all(names.map((n) => warm.ask(d.port, n.split(' ')[0]!, n.split(' ')[1]!, { timeoutMs: 10_000 })));
  warm.close();
  const cap = PROFILE === 'mix' ? await capacity(d, dir) : { hits: NaN, misses: NaN, mix: NaN };
  if (PROFILE === 'mix' && args['capacity-by'] === 'queue') {
    const formula = cap.mix;
    cap.mix = await queueCapacity(d, dir, formula);
    console.log(`capacity by the receive queue: ${cap.mix.toFixed(0)} qps (the formula's ${formula.toFixed(0)}: ${(cap.mix / formula).toFixed(2)}x)`);
  }
  const target = PROFILE === 'mix' ? Number(args.fraction) * cap.mix : Number(args['flood-qps']);
  const list = streams(dir, target);
  console.log(`streams: ${list.map((s) => `${s.name} ${s.qps} qps (${s.transport}, from ${s.from})`).join('; ')}`);
  const probe = new LatencyProbe('127.0.0.16', d.port, names, Number(args['probe-rate']));
  const probeFile = join(dir, 'probe-names.txt');
  writeFileSync(probeFile, names.join('\n') + '\n');
  const rxq = new RxQueueSampler(d.port);
  const bare = await startBareResponder(args.pin === 'none' ? -1 : 1);
  const probes: Probes = {
    node: probe,
    c: new DnsperfProbe('127.0.0.17', d.port, probeFile, Number(args['probe-rate']), SECONDS + 40, 0),
    control: new DnsperfProbe('127.0.0.18', bare.port, probeFile, Number(args['probe-rate']), SECONDS + 40, 0),
  };
  const first = await scrape(d.httpPort);
  const prev: Prev = { rcodes: first?.rcodes ?? {}, gc: first?.gc ?? {}, sched: schedMs(d.pid), ticks: cpuTicks() };
  const start0 = await reading(d, 0, probes, rxq, prev);
  await probe.start();
  probes.c.start();
  probes.control.start();
  rxq.start();
  const intervals: Interval[] = [];
  const runs = list.map((s) => runStream(d, s).then(perfSummary, (err: Error) => ({ error: err.message })));
  const t0 = performance.now();
  for (let k = 1; k * INTERVAL <= SECONDS; k++) {
    await new Promise((r) => setTimeout(r, t0 + k * INTERVAL * 1000 - performance.now()));
    const r = await reading(d, k * INTERVAL, probes, rxq, prev);
    intervals.push(r);
    console.log(line(r));
  }
  const perf = await Promise.all(runs);
  for (const [i, s] of list.entries()) {
    const p = perf[i] as PerfSummary | { error: string };
    console.log(`dnsperf ${s.name}: ${'error' in p ? p.error : `${p.qps.toFixed(0)} qps of ${s.qps}, sent ${p.sent}, completed ${p.completed}, lost ${p.lost}; ${p.rcodes}`}`);
  }
  await new Promise((r) => setTimeout(r, 30_000));
  const idle = await reading(d, SECONDS + 30, probes, rxq, prev);
  console.log(`idle 30 s after the load: ${line(idle)}`);
  probe.stop();
  probes.c.stop();
  probes.control.stop();
  bare.stop();
  rxq.stop();
  const alive = d.alive();
  const exit = await d.stop();
  const worstP99 = Math.max(...intervals.map((r) => r.cached.p99));
  const worstP99C = Math.max(...intervals.map((r) => r.cachedC.p99));
  const over = intervals.filter((r) => !(r.cached.p99 < P99_LIMIT_MS)).length;
  const maxRss = Math.max(...intervals.map((r) => r.hwmMiB), idle.hwmMiB);
  const total = perf.reduce((a, p) => a + ('error' in p ? 0 : p.qps), 0);
  console.log(`ratio: achieved ${total.toFixed(0)} qps / target ${target.toFixed(0)} = ${(total / target).toFixed(2)}${PROFILE === 'mix' ? ` (target = ${args.fraction} x the mix's capacity ${cap.mix.toFixed(0)})` : ''}`);
  console.log(`limit: RSS peak (VmHWM) ${maxRss.toFixed(0)} MiB / bound ${plan.rssBoundMiB} MiB = ${(maxRss / plan.rssBoundMiB).toFixed(2)}; after 30 s idle ${idle.rssMiB.toFixed(0)} MiB; heap used ${idle.heapUsedMiB.toFixed(0)} of ${idle.heapTotalMiB.toFixed(0)} MiB`);
  console.log(`limit: cached p99 worst interval ${ms(worstP99)} ms (limit ${P99_LIMIT_MS} ms; ${over} of ${intervals.length} intervals over)`);
  console.log(`limit: cached p99 worst interval, C probe ${ms(worstP99C)} ms (${intervals.filter((r) => !(r.cachedC.p99 < P99_LIMIT_MS)).length} of ${intervals.length} intervals over)`);
  const control = intervals.map((r) => r.control.p99);
  console.log(`control: the bare responder's p99 (the same C probe, pinned as the daemon) ${ms(Math.min(...control))}-${ms(Math.max(...control))} ms, `
    + `over ${P99_LIMIT_MS} ms in ${control.filter((x) => !(x < P99_LIMIT_MS)).length} of ${intervals.length} intervals; `
    + `C probe p99 / control p99 per interval, median ${quantile(intervals.map((r) => r.cachedC.p99 / r.control.p99), 0.5).toFixed(2)}x`);
  const pass = { alive, p99: over === 0, rss: maxRss < plan.rssBoundMiB };
  console.log(`PASS criteria: no crash ${pass.alive ? 'PASS' : 'FAIL'}; cached p99 < ${P99_LIMIT_MS} ms every interval ${pass.p99 ? 'PASS' : 'FAIL'}; RSS under ${plan.rssBoundMiB} MiB ${pass.rss ? 'PASS' : 'FAIL'} (exit ${exit})`);
  if (!alive) console.log(d.output().slice(-4000));
  mkdirSync(dirname(args.out!), { recursive: true });
  // What the daemon printed (its log at level error, and whatever `--node-flags` made V8 print).
  writeFileSync(args.out!.replace(/\.json$/, '') + '.daemon.log', d.output());
  writeFileSync(args.out!, JSON.stringify({
    when: new Date().toISOString(), profile: PROFILE, seconds: SECONDS, cacheMiB: CACHE_MIB, heap: HEAP, plan, capacity: cap, target,
    streams: list.map((s, i) => ({ name: s.name, from: s.from, qps: s.qps, transport: s.transport, result: perf[i] })),
    start: start0, intervals, idle, pass, worstP99, maxRssMiB: maxRss,
  }, null, 1));
  console.log(`written to ${args.out}`);
  await stopWorld();
}

await main();
