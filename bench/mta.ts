/**
 * bench/mta (issue 15): what an MTA doing DANE asks for new destinations, answered by dnssec-stubd with its MTA
 * prefetch on and off and by Unbound as a validating forwarder, in the same run.
 *
 * The hierarchy is bench/mta's own (mta-zones.ts, mta-world.ts: root, two TLDs, 100 + 100 mail domains,
 * five providers, on 127.58.0.0/17), never the shared test world. Its iterating Unbound is warmed first with every
 * question and every DS/DNSKEY, so each resolver meets an upstream answering from its cache; a relay
 * (delay-proxy.ts) adds the upstream round trip (2 and 10 ms). Each resolver is a fresh process, in one of two
 * states: `fresh`, it has answered only `hosting-bench. SOA` and `mail-bench. SOA` (the root's and the TLDs'
 * keys held; the domains and the providers new to it, and dnssec-stubd's code not yet optimized by V8's JIT
 * for this work); `warm`, it has also resolved 100 other mail domains at the same providers, as the client
 * asks (the providers' keys held and the code warm, as in a resolver that has been running; the measured
 * domains and their own hosts are still new). The Postfix-like client (mta-client.ts) then resolves the 100
 * measured domains, 20 in flight; time per domain from its MX query to its last answer; upstream queries from
 * the upstream Unbound's counter, read once background queries have stopped (mta-run.ts).
 * Every answer is checked against the hierarchy (a wrong answer is a failed run, whatever its speed).
 * dnssec-stubd runs with its HTTP API on (and so its metrics), whose mail prefetch counters (started, hits,
 * wasted, skipped by cause) go into the report.
 *
 *   node dist/bench/mta.js [--domains 100] [--reps 5] [--rtt 2,10] [--states fresh,warm] [--in-flight 20] [--prefetch-key prefetch.mail]
 *                          [--pin all|main|none] [--out bench/out/mta[-inflightN][-pinX].json]
 * The resolvers run pinned to CPU 1 (all their threads; `--pin main`: only the serving thread, see
 * mta-resolvers.ts), the relay to CPU 0; the CPU time each resolver used during the run is reported beside its
 * times.
 *   node dist/bench/mta.js --check      the smoke check (mta-check.ts), exit 1 on a wrong answer
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { checkMta } from './mta-check.js';
import { daemonKnows, machine, startOurs, startRelay, startUnbound, stop, type Pin, type Running, type StartOpts } from './mta-resolvers.js';
import { measure, prepare, quantile, warmUpstream, type Run, type State } from './mta-run.js';
import { startMtaWorld } from './mta-world.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const ratio = (a: number, b: number): number => Number((a / b).toFixed(3));
const med = (xs: number[]): number => quantile(xs, 0.5);

async function check(key: string): Promise<void> {
  const c = await checkMta({ prefetchKey: key, log: (s) => console.error(`[mta-world] ${s}`) });
  for (const l of c.lines) console.log(l);
  console.log(`MTA prefetch (${key}) in this build: ${c.prefetch ? 'yes, on' : 'no'}`);
  for (const p of c.problems) console.log(`PROBLEM ${p}`);
  process.exitCode = c.problems.length === 0 ? 0 : 1;
}

/** Per (state, rtt, server): the medians over the repetitions. */
function summarize(runs: Run[]) {
  const keys = [...new Set(runs.map((r) => `${r.state}|${r.rttMs}|${r.server}`))];
  return keys.map((k) => {
    const mine = runs.filter((r) => `${r.state}|${r.rttMs}|${r.server}` === k);
    const { state, rttMs, server } = mine[0]!;
    return { state, rttMs, server, medianMs: med(mine.map((r) => r.medianMs)), p90Ms: med(mine.map((r) => r.p90Ms)), upstreamQueries: med(mine.map((r) => r.upstreamQueries)),
      wallMs: med(mine.map((r) => r.wallMs)), cpuMs: med(mine.map((r) => r.cpuMs)), problems: mine.reduce((n, r) => n + r.problems, 0),
      allMedianMs: mine.map((r) => r.medianMs), allQueries: mine.map((r) => r.upstreamQueries),
      byProvider: Object.fromEntries(Object.keys(mine[0]!.byProvider).map((p) => [p, med(mine.map((r) => r.byProvider[p]!))])),
      counters: Object.fromEntries(Object.keys(mine[0]!.counters).map((c) => [c, med(mine.map((r) => r.counters[c] ?? 0))])) };
  });
}

async function bench(): Promise<void> {
  const { values } = parseArgs({ options: {
    domains: { type: 'string', default: '100' }, reps: { type: 'string', default: '5' }, rtt: { type: 'string', default: '2,10' },
    states: { type: 'string', default: 'fresh,warm' }, 'in-flight': { type: 'string', default: '20' }, 'prefetch-key': { type: 'string', default: 'prefetch.mail' },
    pin: { type: 'string', default: 'all' }, out: { type: 'string' }, check: { type: 'boolean', default: false },
  } });
  const key = values['prefetch-key'];
  if (values.check) return check(key);
  const count = Number(values.domains);
  const reps = Number(values.reps);
  const rtts = values.rtt.split(',').map(Number);
  const states = values.states.split(',') as State[];
  if (states.some((s) => s !== 'fresh' && s !== 'warm')) throw new Error(`--states: fresh and/or warm, got ${values.states}`);
  const inFlight = Number(values['in-flight']);
  const pin = values.pin as Pin;
  if (!['all', 'main', 'none'].includes(pin)) throw new Error(`--pin: all, main or none, got ${pin}`);
  const out = values.out ?? join(ROOT, 'bench', 'out', `mta${inFlight === 20 ? '' : `-inflight${inFlight}`}${pin === 'all' ? '' : `-pin${pin}`}.json`);
  const world = await startMtaWorld('bench', count, { warmup: count, log: (s) => console.error(`[mta-world] ${s}`) });
  const dir = mkdtempSync(join(tmpdir(), 'stubd-mta-'));
  const loadBefore = readFileSync('/proc/loadavg', 'utf8').trim();
  const runs: Run[] = [];
  let prefetch = false;
  try {
    prefetch = daemonKnows(key, dir, world.rootAnchorFile);
    console.error(`MTA prefetch (${key}) in this build: ${prefetch ? 'yes: measured on and off' : 'no: the daemon is measured with its defaults'}`);
    await warmUpstream(world);
    for (const rttMs of rtts) {
      const relay = await startRelay(world.upstream, rttMs, pin !== 'none');
      try {
        const o: StartOpts = { upstream: relay.endpoint, anchor: world.rootAnchorFile, dir, probeName: 'hosting-bench.', pin, metrics: true };
        const starters: Array<() => Promise<Running>> = [
          () => startOurs(o, prefetch ? 'dnssec-stubd' : 'dnssec-stubd (no MTA prefetch)', prefetch ? { key, on: true } : undefined),
          ...(prefetch ? [() => startOurs(o, 'dnssec-stubd prefetch off', { key, on: false })] : []),
          () => startUnbound(o),
        ];
        for (let rep = 0; rep < reps; rep++) for (const state of states) {
          // the servers take turns, starting with a different one each repetition
          for (let k = 0; k < starters.length; k++) {
            const server = await starters[(k + rep) % starters.length]!();
            try {
              await prepare(world, server, state, inFlight);
              const r = await measure(world, server, { state, rttMs, rep }, inFlight);
              runs.push(r);
              const pf = Object.entries(r.counters).filter(([c, v]) => c.startsWith('mail_prefetch') && v > 0).map(([c, v]) => `${c.replace('mail_prefetch_', '')} ${v}`).join(', ');
              console.error(`${state} rtt ${rttMs} ms rep ${rep + 1}/${reps} ${r.server}: median ${r.medianMs} ms/domain, p90 ${r.p90Ms}, wall ${r.wallMs} ms, CPU ${r.cpuMs} ms, upstream ${r.upstreamQueries}, wrong answers ${r.problems}${pf ? `; prefetch ${pf}` : ''}`);
            } finally {
              await stop(server);
            }
          }
        }
      } finally {
        await stop(relay);
      }
    }
  } finally {
    world.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  const loadAfter = readFileSync('/proc/loadavg', 'utf8').trim();
  const results = summarize(runs);
  const ratios = results.filter((r) => r.server !== 'unbound').map((a) => {
    const u = results.find((r) => r.state === a.state && r.rttMs === a.rttMs && r.server === 'unbound')!;
    return { state: a.state, rttMs: a.rttMs, server: a.server, medianPerDomain: ratio(a.medianMs, u.medianMs), upstreamQueries: ratio(a.upstreamQueries, u.upstreamQueries), cpu: ratio(a.cpuMs, u.cpuMs) };
  });
  const report = { date: new Date().toISOString(), machine: machine(), loadavg: { before: loadBefore, after: loadAfter }, domains: count, reps, inFlight, pin,
    prefetchKey: key, prefetchInBuild: prefetch, target: 'at 10 ms: median per domain <= 0.6x unbound, upstream queries <= 1.3x', results, ratios, runs };
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, JSON.stringify(report, null, 2) + '\n');
  const at = (r: { state: string; rttMs: number; server: string }): string => `${r.state.padEnd(5)} rtt ${String(r.rttMs).padStart(2)} ms  ${r.server.padEnd(28)}`;
  for (const r of results) {
    console.log(`${at(r)} median ${r.medianMs} ms/domain (${r.allMedianMs.join('/')}), p90 ${r.p90Ms}, wall ${r.wallMs} ms, CPU ${r.cpuMs} ms, upstream queries ${r.upstreamQueries} (${r.allQueries.join('/')}), wrong answers ${r.problems}`);
  }
  for (const r of results) console.log(`${at(r)} median by provider: ${Object.entries(r.byProvider).map(([p, v]) => `${p.split('.')[0]} ${v}`).join(', ')}`);
  for (const r of results.filter((x) => Object.keys(x.counters).some((c) => c.startsWith('mail_prefetch')))) {
    console.log(`${at(r)} prefetch counters (median): ${Object.entries(r.counters).filter(([c]) => c.startsWith('mail_prefetch')).map(([c, v]) => `${c.replace('mail_prefetch_', '')} ${v}`).join(', ')}`);
  }
  for (const r of ratios) console.log(`${r.state} rtt ${r.rttMs} ms: ${r.server} / unbound: median time per domain ${r.medianPerDomain}x, upstream queries ${r.upstreamQueries}x (CPU time ${r.cpu}x)`);
  console.log(`load average before ${loadBefore}, after ${loadAfter}; ${out}`);
  for (const r of runs) for (const w of r.wrong) console.log(`WRONG ${r.state} ${r.rttMs} ms ${r.server}: ${w}`);
}

await bench();
