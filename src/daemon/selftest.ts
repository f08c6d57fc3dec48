/**
 * Running the start-up self-test (src/selftest: the tree signed at start, its in-process upstream and
 * its questions) through private stacks built like the daemon's own (stack.ts), with the tree's anchor
 * and upstream: its own listener on 127.0.0.1, answer cache, RFC 8198 store, resolver, chain of trust,
 * crypto backend and upstream pool. Nothing reaches the daemon's caches; no packet leaves 127.0.0.1.
 */
import type { Clock } from '../clock.js';
import type { Config } from '../config/schema.js';
import { startServer } from '../server/server.js';
import { LOOPBACK, askProbes, checkLabels, questions, serveTree, type SelfTestReport } from '../selftest/checks.js';
import { SelfTestTree } from '../selftest/tree.js';
import { UpstreamPool } from '../upstream/pool.js';
import { buildStack } from './stack.js';

/** The self-test never holds the start for longer than this (it normally takes about half a second). */
const SELFTEST_DEADLINE_MS = 10_000;

/**
 * Run the self-test with about `queries` client queries (several passes over the tree's kinds of
 * answers, each pass with new names). Never throws for a failed answer: the report says.
 */
export async function runSelfTest(cfg: Config, clock: Clock, queries: number, opts: { tree?: SelfTestTree } = {}): Promise<SelfTestReport> {
  const started = Date.now();
  const tree = opts.tree ?? new SelfTestTree(clock.now());
  const upstream = await serveTree(tree);
  const pool = new UpstreamPool([{ address: LOOPBACK, port: upstream.port, priority: 1 }], { clock, attemptTimeoutsMs: [1000] });
  const anchors = [{ zone: tree.anchorZone, ds: [], dnskeys: [tree.anchor] }];
  // Two stacks: one without the RFC 8198 store, so that every new name is asked upstream and validated in
  // full (wildcard and denial proofs on live answers), and one as configured (answers synthesized from what
  // the first pass proved, when aggressiveNsec is on). Small caches, no prefetch.
  const stack = async (withAggressive: boolean): Promise<{ port: number; close(): Promise<void> }> => {
    const private_ = { ...cfg, cache: { ...cfg.cache, maxBytes: 8 << 20, prefetch: false, aggressiveNsec: withAggressive }, prefetch: { ...cfg.prefetch, mail: false } };
    const { cached } = buildStack(private_, [], { clock, anchors, pool });
    const server = await startServer({ listen: [{ address: LOOPBACK, port: 0 }], handler: cached.handler, fastPath: cached.fastPath, allow: ['127.0.0.0/8'] });
    return { port: server.addresses.find((a) => a.transport === 'udp')!.port, close: () => server.close() };
  };
  const failures: string[] = [];
  let asked = 0;
  const deadline = started + SELFTEST_DEADLINE_MS;
  const labelOf = new Map<string, string>();
  try {
    // Each pass: a few questions per zone, with new names; each list is asked twice (the second time from the cache).
    const perPass = questions(tree, 1, '').length;
    const passes = Math.max(1, Math.ceil(queries / (4 * perPass)));
    for (const withAggressive of [false, cfg.cache.aggressiveNsec]) {
      const s = await stack(withAggressive);
      try {
        const probes = questions(tree, passes, withAggressive ? 'b' : 'a');
        for (const p of probes) labelOf.set(p.name, p.label);
        for (const list of [probes, probes]) {
          failures.push(...(await askProbes(s.port, list, 16, deadline)));
          asked += list.length;
        }
      } finally {
        await s.close();
      }
    }
  } finally {
    upstream.close();
  }
  // A self-test that gave up proves nothing about the zones it did not reach.
  const incomplete = failures.some((f) => f.startsWith('gave up'));
  const failedLabels = new Set(failures.map((f) => labelOf.get(f.split(' ')[0]!)));
  const failed = checkLabels(tree).filter((l) => incomplete || failedLabels.has(l));
  const passed = checkLabels(tree).filter((l) => !failed.includes(l));
  return { queries: asked, failures: failures.slice(0, 10), passed, failed, ms: Date.now() - started };
}
