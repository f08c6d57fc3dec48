/**
 * One measured run of bench/mta: a resolver under test (already started and, in the `warm` state, warmed) gets
 * the Postfix-like client's questions for every measured domain; what is measured: time per domain, the
 * upstream's queries (its counter once background queries have stopped), the resolver's CPU time (its process
 * tree), dnssec-stubd's mail prefetch counters, and every answer against the hierarchy.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { ask, inParallel } from './client.js';
import { expectProblems, resolveAll } from './mta-client.js';
import { prefetchCounters, type Running } from './mta-resolvers.js';
import { upstreamQueries, type MtaWorld } from './mta-world.js';

export type State = 'fresh' | 'warm';

export interface Run {
  server: string; state: State; rttMs: number; rep: number;
  medianMs: number; p90Ms: number; meanMs: number; maxMs: number; wallMs: number;
  upstreamQueries: number; questions: number; problems: number;
  /** CPU time the resolver (its process tree, all threads) used during the run, ms. */
  cpuMs: number;
  /** Median time per domain of the domains at each provider. */
  byProvider: Record<string, number>;
  /** Changes of dnssec-stubd's mail prefetch and admission counters during the run (/metrics). */
  counters: Record<string, number>;
  /** Up to 5 wrong answers, for the report. */
  wrong: string[];
}

/** The q-th quantile (nearest rank), NaN when empty. */
export function quantile(xs: readonly number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))] ?? NaN;
}

const r1 = (x: number): number => Math.round(x * 10) / 10;

/** CPU time (user + system, all threads) of a process and its descendants (`serve` runs as a child), ms. */
export function cpuMsOf(pid: number | undefined): number {
  const stats = new Map<number, { ppid: number; ticks: number }>();
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const f = readFileSync(`/proc/${e}/stat`, 'utf8');
      const rest = f.slice(f.lastIndexOf(')') + 2).split(' ');
      // fields 4 (ppid), 14 and 15 (utime, stime, in clock ticks of 10 ms: USER_HZ is 100 on Linux)
      stats.set(Number(e), { ppid: Number(rest[1]), ticks: Number(rest[11]) + Number(rest[12]) });
    } catch { /* gone meanwhile */ }
  }
  const inTree = (p: number): boolean => {
    for (let q = p, hops = 0; q > 1 && hops < 64; q = stats.get(q)?.ppid ?? 0, hops++) if (q === pid) return true;
    return false;
  };
  let ticks = 0;
  for (const [p, st] of stats) if (inTree(p)) ticks += st.ticks;
  return ticks * 10;
}

/** Every question the client can ask (measured and warm-up domains) and every DS/DNSKEY, straight to the upstream. */
export async function warmUpstream(world: MtaWorld): Promise<void> {
  const def = world.def;
  const qs: Array<[string, string]> = [
    ...[...def.domains, ...def.warmup].map((d): [string, string] => [d.name, 'MX']),
    ...def.hosts.flatMap((h): Array<[string, string]> => [[h.name, 'A'], [h.name, 'AAAA'], [`_25._tcp.${h.name}`, 'TLSA']]),
    ...def.zones.flatMap((z): Array<[string, string]> => (z.name === '.' ? [[z.name, 'DNSKEY']] : [[z.name, 'DNSKEY'], [z.name, 'DS'], [z.name, 'SOA']])),
  ];
  await inParallel(qs, 20, async ([n, t]) => void (await ask(world.upstream.host, world.upstream.port, n, t).catch(() => undefined)));
}

/** The upstream's counter once it has not moved for 500 ms (a prefetch still running is counted), at most 10 s. */
async function settledQueries(world: MtaWorld): Promise<number> {
  let last = await upstreamQueries(world);
  for (let still = 0, i = 0; still < 2 && i < 40; i++) {
    await new Promise((r) => setTimeout(r, 250));
    const now = await upstreamQueries(world);
    still = now === last ? still + 1 : 0;
    last = now;
  }
  return last;
}

/** Bring a started resolver to `state`: the TLDs' keys (both states), then the warm-up domains (warm). */
export async function prepare(world: MtaWorld, server: Running, state: State, inFlight: number): Promise<void> {
  await ask(server.endpoint.host, server.endpoint.port, 'mail-bench.', 'SOA');
  if (state === 'warm') await resolveAll(server.endpoint, world.def.warmup.map((d) => d.name), inFlight);
}

export async function measure(world: MtaWorld, server: Running, at: { state: State; rttMs: number; rep: number }, inFlight: number): Promise<Run> {
  const domains = world.def.domains.map((d) => d.name);
  const before = await settledQueries(world);
  const counters0 = await prefetchCounters(server);
  const cpu0 = cpuMsOf(server.proc.pid);
  const t0 = performance.now();
  const got = await resolveAll(server.endpoint, domains, inFlight);
  const wallMs = performance.now() - t0;
  const used = (await settledQueries(world)) - before;
  const cpuMs = cpuMsOf(server.proc.pid) - cpu0;
  const counters1 = await prefetchCounters(server);
  const counters = Object.fromEntries(Object.entries(counters1).map(([k, v]) => [k, /_total(\{|$)/.test(k) ? v - (counters0[k] ?? 0) : v]));
  const problems = expectProblems(world.def, got);
  const ms = got.map((g) => g.ms);
  const providerOf = (d: string): string => world.def.hosts.find((h) => h.name === world.def.domains.find((x) => x.name === d)!.mx[0]!.host)!.provider;
  const byProvider: Record<string, number> = {};
  for (const p of [...new Set(domains.map(providerOf))].sort()) byProvider[p] = r1(quantile(got.filter((g) => providerOf(g.domain) === p).map((g) => g.ms), 0.5));
  return {
    server: server.label, ...at, medianMs: r1(quantile(ms, 0.5)), p90Ms: r1(quantile(ms, 0.9)), meanMs: r1(ms.reduce((a, b) => a + b, 0) / ms.length),
    maxMs: r1(Math.max(...ms)), wallMs: Math.round(wallMs), upstreamQueries: used, questions: got.reduce((n, g) => n + g.asked.length, 0),
    problems: problems.length, cpuMs, byProvider, counters, wrong: problems.slice(0, 5),
  };
}
