/**
 * Fairness under a flood (issue 14): one client (127.0.0.22, test/daemon/flooder.ts in its own process) asks
 * random names under an unsigned zone, each needing a resolution, faster than the daemon resolves them; another
 * client (127.0.0.33) meanwhile asks cached names and new ones. With the admission bounds (32 per client here)
 * the flood's excess is answered SERVFAIL with EDE 0 at once, and the other client gets every answer, none
 * refused, within bounds far below what an unbounded queue gives (bench/fairness: seconds, and timeouts).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { UdpClient, edeCodes, quantile, randomLabel } from '../../bench/live-daemon.js';
import { prng } from '../../bench/fuzz-core.js';
import { cpuTicks } from '../../bench/soak-load.js';
import { CANARY, useHostileDaemon } from './hostile-support.js';

const FLOODER = path.join(path.dirname(fileURLToPath(import.meta.url)), 'flooder.js');
const FLOOD_QPS = 3000;
const FLOOD_SECONDS = 8;

const CACHED = [
  { name: CANARY.name, type: 'A' }, { name: 'alg13.test.', type: 'SOA' }, { name: 'alg8.test.', type: 'MX' },
  { name: 'unsigned.test.', type: 'SOA' }, { name: 'test.', type: 'DNSKEY' }, { name: 'nsec3-nosalt.test.', type: 'SOA' },
];

interface Sample { kind: 'cached' | 'new'; ms: number; rcode: number | undefined; ede: number[] }

describe('a flood of random names from one client', () => {
  const d = useHostileDaemon({ maxResolutions: 256, maxResolutionsPerClient: 32 });

  it(`does not starve another client asking cached and new names (flood of ${FLOOD_QPS} q/s for ${FLOOD_SECONDS} s)`, async (t) => {
    const client = new UdpClient('127.0.0.33');
    await client.open();
    try {
      for (let pass = 0; pass < 2; pass++) await Promise.all(CACHED.map((c) => client.ask(d.port, c.name, c.type)));
      const ticks0 = cpuTicks();
      const flooder = spawn(process.execPath, [FLOODER, String(d.port), '127.0.0.22', 'unsigned.test.', String(FLOOD_QPS), String(FLOOD_SECONDS)], { stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      flooder.stdout!.setEncoding('utf8').on('data', (s: string) => { out += s; });
      const flooded = new Promise<void>((r) => flooder.once('exit', () => r()));
      await new Promise((r) => setTimeout(r, 1500));
      // 20 questions a second for 5 s, by turns a cached name and a new one (an unsigned zone's: a resolution each).
      const rand = prng(33);
      const asks: Promise<Sample>[] = [];
      for (let i = 0; i < 100; i++) {
        const cached = i % 2 === 0;
        const q = cached ? CACHED[i % CACHED.length]! : { name: `wb-${randomLabel(rand, 10)}.unsigned.test.`, type: 'A' };
        asks.push(client.ask(d.port, q.name, q.type, { timeoutMs: 5000 }).then((r) => ({
          kind: cached ? 'cached' : 'new', ms: r.ms, rcode: r.message?.rcode, ede: r.message ? edeCodes(r.message) : [],
        })));
        await new Promise((r) => setTimeout(r, 50));
      }
      const samples = await Promise.all(asks);
      await flooded;
      const flood = JSON.parse(out.trim().split('\n').pop()!) as { sent: number; replies: number; byRcode: Record<string, number>; refusedByBound: number };
      const lat = (kind: Sample['kind']): number[] => samples.filter((s) => s.kind === kind && s.rcode !== undefined).map((s) => s.ms);
      const summary = {
        cached: { p50: quantile(lat('cached'), 0.5), p99: quantile(lat('cached'), 0.99) },
        new: { p50: quantile(lat('new'), 0.5), p99: quantile(lat('new'), 0.99) },
        flood, admission: d.daemon.stats().cache.admission,
        // The hypervisor's share of each vCPU meanwhile (/proc/stat): a stalled machine, not the daemon, when high.
        steal: cpuTicks().map((c, i) => (ticks0[i] && c.total > ticks0[i]!.total ? +((c.steal - ticks0[i]!.steal) / (c.total - ticks0[i]!.total)).toFixed(3) : null)),
      };
      t.diagnostic(JSON.stringify(summary));
      const unanswered = samples.filter((s) => s.rcode === undefined);
      assert.equal(unanswered.length, 0, `${unanswered.length} of the well-behaved client's questions got no answer within 5 s`);
      const failed = samples.filter((s) => s.rcode !== 0 && s.rcode !== 3);
      assert.equal(failed.length, 0, `answers of the well-behaved client: ${JSON.stringify(failed.slice(0, 5))}`);
      assert.ok(summary.cached.p99 < 1500, `cached answers p99 ${summary.cached.p99.toFixed(0)} ms (bound 1.5 s; steal per vCPU ${JSON.stringify(summary.steal)})`);
      assert.ok(summary.new.p99 < 3000, `new names p99 ${summary.new.p99.toFixed(0)} ms (bound 3 s)`);
      // The bounds were what held the flood: it got SERVFAIL with EDE 0 past its 32.
      assert.ok(flood.refusedByBound > 0, `the flood was refused by the per-client bound (${JSON.stringify(flood)})`);
      const a = d.daemon.stats().cache.admission!;
      assert.ok(a.refused.client >= flood.refusedByBound);
      assert.equal(a.refused.global, 0, 'one flooding client never reaches the global bound');
    } finally {
      client.close();
    }
  });
});
