/**
 * Upstream faults (issue 14): two daemons in this process ask the world's Unbound through a FaultRelay
 * (test/support/fault-relay.ts) whose fault is switched at run time; one has only that upstream ("solo"), the
 * other has a second, healthy relay at lower priority ("pair"). For each fault, from the moment it starts:
 *
 *  - every client answer is the correct one (the world's validating Unbound's rcode, AD bit and records) or a
 *    SERVFAIL with EDE 22 (No Reachable Authority) / 23 (Network Error): never BOGUS, never no answer;
 *  - the pair daemon answers every question correctly (failover to the healthy upstream);
 *  - once the fault ends, both are back to normal within one probe interval (plus the probe timer's tick): the
 *    faulty upstream DNSSEC-CAPABLE, not held down, and a new question answered SECURE through it.
 *
 * Questions are asked in two waves per fault, right after it starts and one probe interval later (the daemon
 * has then noticed), each on flushed caches so that the chain of trust's DS/DNSKEY fetches go through the fault
 * too. The spoof flood's forged packets must all be ignored, and upstream queries must come from fresh source
 * ports. The matrix (outcomes, latencies, recovery times) is printed, and written to $STUBD_FAULT_MATRIX when set.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { dig, type DigResult } from '../support/dig.js';
import { FaultRelay, faultLabel, type Fault } from '../support/fault-relay.js';
import { bogusLogs, edeCodes, startFailoverDaemon } from '../daemon/failover-support.js';
import type { TestDaemon } from '../support/daemon.js';
import { waitFor } from '../support/wait.js';
import { getWorld, stopWorld, type WorldInfo } from '../world/index.js';
import { daemonAddr } from '../world/net.js';

const PROBE_MS = 1500;
/**
 * The next probe of an upstream found UNREACHABLE or NOT-DNSSEC-CAPABLE starts one interval after the last one
 * started (health.ts), at the probe timer's next tick (a quarter of the interval): one interval, plus the tick
 * and the probe itself, on a loaded machine.
 */
const RECOVERY_LIMIT_MS = PROBE_MS + 1000;
/** Spurious timeouts a loaded machine may cause where the fault itself causes none (each fault causes 72 / 12 when it does). */
const SPURIOUS_TIMEOUTS = 4;

const FAULTS: readonly Fault[] = [
  { kind: 'none' },
  { kind: 'drop', share: 1 },
  { kind: 'drop', share: 0.3 },
  { kind: 'delay', ms: 2000 },
  { kind: 'garbage' },
  { kind: 'garbled' },
  { kind: 'wrong-id' },
  { kind: 'wrong-question' },
  { kind: 'other-question' },
  { kind: 'spoof-flood', forged: 40 },
  { kind: 'tc-loop' },
  { kind: 'tcp-reset' },
  { kind: 'formerr-edns' },
  { kind: 'oversize' },
];

/** Faults the daemon must see through without waiting for a timeout: a broken answer with our ID ends the exchange at once. */
const NO_TIMEOUTS: ReadonlySet<Fault['kind']> = new Set(['none', 'garbled', 'wrong-question', 'other-question', 'spoof-flood', 'tc-loop', 'tcp-reset', 'formerr-edns', 'oversize']);

/** Secure, insecure, NXDOMAIN, NSEC3, CNAME/DNAME chains, a DNSKEY RRset that needs TCP; across many zones. */
const QUESTIONS: readonly [string, string][] = [
  ['www.alg8.test.', 'A'], ['www.alg13.test.', 'AAAA'], ['mail.alg14.test.', 'A'], ['alg15.test.', 'MX'],
  ['nx.alg16.test.', 'A'], ['www.nsec3-salt.test.', 'A'], ['nx.nsec3-nosalt.test.', 'A'], ['www.unsigned.test.', 'A'],
  ['chain1.cname.test.', 'A'], ['www.dname.cname.test.', 'A'], ['keytrap-keys.test.', 'DNSKEY'], ['dane.test.', 'MX'],
];

let world: WorldInfo;
let faulty: FaultRelay;
let healthy: FaultRelay;
let solo: TestDaemon;
let pair: TestDaemon;
/** The correct answer to each question, from the world's validating Unbound. */
const expected = new Map<string, Expected>();
const rows: Row[] = [];

interface Expected { status: string; ad: boolean; records: string[] }
type Outcome = { kind: 'correct' } | { kind: 'servfail'; ede: number[] } | { kind: 'bad'; detail: string };
interface Wave { outcomes: Outcome[]; ms: number[] }
interface Row { fault: string; solo: Wave[]; pair: Wave[]; recoverySolo: number; recoveryPair: number; timeouts: number[]; note: string }

const key = (name: string, type: string): string => `${name} ${type}`;
/** A stub's patience: 5 s, one retry (a datagram lost on a loaded machine is not a daemon's fault). */
const digArgs = (name: string, type: string): string[] => [name, type, '+dnssec', '+time=5', '+tries=2'];

/** The answer section without TTLs and signatures, sorted. */
function records(r: DigResult): string[] {
  return r.answers.map((l) => l.split(/\s+/)).filter((f) => f[3] !== 'RRSIG').map((f) => [f[0]!.toLowerCase(), ...f.slice(2)].join(' ')).sort();
}

function judge(r: DigResult, want: Expected): Outcome {
  if (r.status === 'SERVFAIL') {
    const ede = edeCodes(r);
    return ede.length > 0 && ede.every((c) => c === 22 || c === 23) ? { kind: 'servfail', ede } : { kind: 'bad', detail: `SERVFAIL, EDE ${ede.join(',') || 'none'}: ${r.ede.join(' | ')}` };
  }
  if (r.status !== want.status) return { kind: 'bad', detail: `${r.status ?? 'no answer'} instead of ${want.status}` };
  if (r.flags.has('ad') !== want.ad) return { kind: 'bad', detail: `AD ${r.flags.has('ad')} instead of ${want.ad}` };
  const got = records(r);
  if (got.join('\n') !== want.records.join('\n')) return { kind: 'bad', detail: `records ${JSON.stringify(got)} instead of ${JSON.stringify(want.records)}` };
  return { kind: 'correct' };
}

async function wave(d: TestDaemon): Promise<Wave> {
  d.daemon.flush();
  const results = await Promise.all(QUESTIONS.map(async ([name, type]) => {
    const t0 = Date.now();
    const r = await dig(d.port, digArgs(name, type)).catch(() => undefined);
    const ms = Date.now() - t0;
    const outcome: Outcome = r ? judge(r, expected.get(key(name, type))!) : { kind: 'bad', detail: 'no answer' };
    return { outcome: outcome.kind === 'bad' ? { ...outcome, detail: `${name} ${type}: ${outcome.detail}` } : outcome, ms };
  }));
  return { outcomes: results.map((x) => x.outcome), ms: results.map((x) => x.ms) };
}

function upstreamOf(d: TestDaemon, label: string): { downUntil: number | null; ignored: Readonly<Record<string, number>>; timeouts: number } {
  const u = d.daemon.stack.router!.snapshot()[0]!.upstreams.find((x) => x.label === label)!;
  return { downUntil: u.downUntil, ignored: u.counters.ignored, timeouts: u.counters.timeouts };
}

let seq = 0;
/** Milliseconds from the end of the fault until the faulty upstream is DNSSEC-CAPABLE, up, and answers a new question SECURE. */
async function recovery(d: TestDaemon, endedAt: number): Promise<number> {
  const ok = await waitFor(`${faulty.label} back to normal`, async () => {
    const h = d.health(faulty.label);
    const u = upstreamOf(d, faulty.label);
    if (h.state !== 'DNSSEC-CAPABLE' || (u.downUntil !== null && u.downUntil > Date.now())) return false;
    const name = `recover-${++seq}.alg8.test.`;
    const r = await dig(d.port, [name, 'A', '+dnssec', '+time=5']);
    return r.status === 'NXDOMAIN' && r.flags.has('ad') && faulty.count(name, 'A') > 0;
  }, 20_000, 50).then(() => true, () => false);
  return ok ? Date.now() - endedAt : Infinity;
}

before(async () => {
  world = await getWorld();
  const backend = { address: world.upstream.host, port: world.upstream.port };
  faulty = await FaultRelay.start({ address: daemonAddr(41, 1), backend });
  healthy = await FaultRelay.start({ address: daemonAddr(41, 2), backend });
  const config = (ups: FaultRelay[]): object => ({
    upstreams: ups.map((u, i) => ({ address: u.address, port: u.port, priority: i + 1 })),
    upstream: { timeoutMs: 600, deadlineMs: 3000, probeIntervalMs: PROBE_MS, bogusConfirmations: 2 },
    // Every new name goes upstream (no RFC 8198 synthesis from proofs held); no start-up self-test.
    cache: { aggressiveNsec: false },
    server: { warmupQueries: 0 },
  });
  [solo, pair] = await Promise.all([startFailoverDaemon(world, config([faulty])), startFailoverDaemon(world, config([faulty, healthy]))]);
  await Promise.all([solo.probed(), pair.probed()]);
  const v = world.validatingUnbound;
  for (const [name, type] of QUESTIONS) {
    const r = await dig(v.port, digArgs(name, type), v.host);
    expected.set(key(name, type), { status: r.status!, ad: r.flags.has('ad'), records: records(r) });
  }
});

after(async () => {
  const table = matrix();
  console.log(table);
  if (process.env['STUBD_FAULT_MATRIX']) writeFileSync(process.env['STUBD_FAULT_MATRIX'], table);
  await Promise.all([solo?.stop(), pair?.stop()]);
  await Promise.all([faulty?.stop(), healthy?.stop()]);
  await stopWorld();
});

const count = (ws: Wave[], k: Outcome['kind']): number => ws.reduce((n, w) => n + w.outcomes.filter((o) => o.kind === k).length, 0);
const maxMs = (w: Wave): number => Math.max(...w.ms);

function matrix(): string {
  const lines = [
    '| fault | solo: correct / SERVFAIL 22-23 / other | solo: slowest answer, wave 1 / 2 | pair: correct / other | pair: slowest answer, wave 1 / 2 | timeouts: solo / pair | back to normal after the fault: solo / pair |',
    '|---|---|---|---|---|---|---|',
  ];
  for (const r of rows) {
    lines.push(`| ${r.fault} | ${count(r.solo, 'correct')} / ${count(r.solo, 'servfail')} / ${count(r.solo, 'bad')} | ` +
      `${maxMs(r.solo[0]!)} / ${maxMs(r.solo[1]!)} ms | ${count(r.pair, 'correct')} / ${count(r.pair, 'bad') + count(r.pair, 'servfail')} | ` +
      `${maxMs(r.pair[0]!)} / ${maxMs(r.pair[1]!)} ms | ${r.timeouts.join(' / ')} | ${r.recoverySolo} / ${r.recoveryPair} ms${r.note ? ` (${r.note})` : ''} |`);
  }
  const ports = faulty.udpSourcePorts;
  let next = 0;
  for (let i = 1; i < ports.length; i++) if (Math.abs(ports[i]! - ports[i - 1]!) <= 1) next++;
  lines.push('', `UDP queries to the faulty relay: ${ports.length}, from ${new Set(ports).size} distinct source ports, ${next} from the port next to the one before.`);
  return lines.join('\n');
}

describe('upstream faults: correct or SERVFAIL 22/23, never BOGUS, failover, recovery within one probe interval', () => {
  for (const fault of FAULTS) {
    it(faultLabel(fault), async () => {
      const ignoredBefore = upstreamOf(pair, faulty.label).ignored['wrong-id']! + upstreamOf(solo, faulty.label).ignored['wrong-id']!;
      const forgedBefore = faulty.counts.forged;
      const timeoutsBefore = [solo, pair].map((d) => upstreamOf(d, faulty.label).timeouts);
      faulty.fault = fault;
      const first = await Promise.all([wave(solo), wave(pair)]);
      await new Promise((r) => setTimeout(r, PROBE_MS));
      const second = await Promise.all([wave(solo), wave(pair)]);
      faulty.fault = { kind: 'none' };
      const endedAt = Date.now();
      const timeouts = [solo, pair].map((d, i) => upstreamOf(d, faulty.label).timeouts - timeoutsBefore[i]!);
      const [recoverySolo, recoveryPair] = await Promise.all([recovery(solo, endedAt), recovery(pair, endedAt)]);
      const row: Row = { fault: faultLabel(fault), solo: [first[0], second[0]], pair: [first[1], second[1]], recoverySolo, recoveryPair, timeouts, note: '' };
      if (fault.kind === 'spoof-flood') {
        const ignored = upstreamOf(pair, faulty.label).ignored['wrong-id']! + upstreamOf(solo, faulty.label).ignored['wrong-id']! - ignoredBefore;
        const forged = faulty.counts.forged - forgedBefore;
        row.note = `${forged} forged packets, ${ignored} ignored for their ID, the others dropped by the kernel for their source port`;
        assert.ok(forged > 0);
        assert.ok(ignored >= forged / 4, `${ignored} of ${forged} forged packets seen and ignored`);
      }
      rows.push(row);

      const bad = [...row.solo, ...row.pair].flatMap((w) => w.outcomes.filter((o) => o.kind === 'bad'));
      assert.deepEqual(bad, [], 'every answer correct or SERVFAIL with EDE 22/23');
      assert.equal(count(row.pair, 'servfail'), 0, 'with a healthy second upstream every answer is correct');
      if (NO_TIMEOUTS.has(fault.kind)) assert.ok(timeouts.every((n) => n <= SPURIOUS_TIMEOUTS), `exchanges with the faulty upstream that waited for their timeout: ${timeouts.join(', ')}`);
      assert.deepEqual(bogusLogs(solo.logs), []);
      assert.deepEqual(bogusLogs(pair.logs), []);
      assert.ok(recoverySolo <= RECOVERY_LIMIT_MS, `solo back to normal after ${recoverySolo} ms`);
      assert.ok(recoveryPair <= RECOVERY_LIMIT_MS, `pair back to normal after ${recoveryPair} ms`);
    });
  }

  it('the faults were felt: the faulty relay changed answers, and the healthy one answered for it', () => {
    assert.ok(faulty.counts.faulted > 100, JSON.stringify(faulty.counts));
    assert.ok(faulty.counts.dropped > 20, JSON.stringify(faulty.counts));
    assert.ok(faulty.counts.tcpQueries > 20, JSON.stringify(faulty.counts));
    assert.ok(healthy.counts.udpQueries > 100, JSON.stringify(healthy.counts));
  });

  it('every upstream query over UDP comes from a fresh, unpredictable source port', () => {
    const ports = faulty.udpSourcePorts;
    assert.ok(ports.length > 500, `${ports.length} queries`);
    const distinct = new Set(ports).size;
    let sequential = 0;
    for (let i = 1; i < ports.length; i++) if (Math.abs(ports[i]! - ports[i - 1]!) <= 1) sequential++;
    assert.ok(distinct >= ports.length * 0.9, `${distinct} distinct source ports in ${ports.length} queries`);
    assert.ok(sequential <= ports.length * 0.02, `${sequential} of ${ports.length} queries from the port next to the one before`);
  });
});
