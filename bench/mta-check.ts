/**
 * The smoke check of bench/mta (`node dist/bench/mta.js --check`, and test/bench/mta-world.world.test.ts): the
 * `check` instance of the bench hierarchy (10 domains, every provider, one unsigned domain) is signed and
 * served, and the Postfix-like client asks everything through the 2 ms relay of a fresh dnssec-stubd (with the
 * MTA prefetch on when this build has it) and of a fresh validating Unbound; every answer must be what the
 * hierarchy holds (rcode, AD, data), and the upstream's query counter must move.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expectProblems, resolveAll } from './mta-client.js';
import { daemonKnows, startOurs, startRelay, startUnbound, stop, type Running, type StartOpts } from './mta-resolvers.js';
import { startMtaWorld, upstreamQueries } from './mta-world.js';

export interface CheckResult {
  problems: string[];
  /** What was checked, one line per resolver. */
  lines: string[];
  prefetch: boolean;
}

export async function checkMta(opts: { prefetchKey?: string; domains?: number; log?: (s: string) => void } = {}): Promise<CheckResult> {
  const key = opts.prefetchKey ?? 'prefetch.mail';
  const world = await startMtaWorld('check', opts.domains ?? 10, { waitMs: 120_000, ...(opts.log ? { log: opts.log } : {}) });
  const dir = mkdtempSync(join(tmpdir(), 'stubd-mta-check-'));
  const started: Running[] = [];
  const problems: string[] = [];
  const lines: string[] = [];
  try {
    const relay = await startRelay(world.upstream, 2, false);
    started.push(relay);
    const prefetch = daemonKnows(key, dir, world.rootAnchorFile);
    const o: StartOpts = { upstream: relay.endpoint, anchor: world.rootAnchorFile, dir, probeName: 'hosting-bench.', pin: 'none', extra: { server: { warmupQueries: 0 } } };
    const domains = world.def.domains.map((d) => d.name);
    for (const start of [() => startOurs(o, 'dnssec-stubd', prefetch ? { key, on: true } : undefined), () => startUnbound(o)]) {
      const r = await start();
      started.push(r);
      const before = await upstreamQueries(world);
      const runs = await resolveAll(r.endpoint, domains, 5);
      const used = (await upstreamQueries(world)) - before;
      const mine = expectProblems(world.def, runs);
      problems.push(...mine.map((p) => `${r.label}: ${p}`));
      if (used <= 0) problems.push(`${r.label}: the upstream's query counter did not move (${used})`);
      const asked = runs.reduce((n, x) => n + x.asked.length, 0);
      lines.push(`${r.label}: ${domains.length} domains, ${asked} questions, ${asked - mine.length} answered as expected, ${used} upstream queries`);
      await stop(r);
    }
    return { problems, lines, prefetch };
  } finally {
    await Promise.all(started.map(stop));
    world.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
