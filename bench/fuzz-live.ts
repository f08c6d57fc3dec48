/**
 * bench/fuzz-live: the seeded live fuzz (bench/fuzz-live-core.ts) against a daemon started as `serve` in a child
 * process on the test world: malformed and mutated messages over UDP (`--cases`) and TCP (a tenth as many more),
 * a canary question (a secure A record, checked for its data and AD) from another address between them.
 *
 *   node dist/bench/fuzz-live.js [--cases 1000000] [--seed 1] [--window 128] [--out bench/out/fuzz-live.json]
 *
 * Fails (exit 1) when the daemon exits, a reply breaks the oracle, a canary is answered wrongly, or the daemon
 * logs an error (a handler failure, an unexpected exception: its log level is `error`).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { getWorld, stopWorld } from '../test/world/index.js';
import { runLiveFuzz, type LiveFuzzStats } from './fuzz-live-core.js';
import { CANARY, ROOT, UdpClient, canaryProblem, startLiveDaemon } from './live-daemon.js';

const { values: args } = parseArgs({
  options: {
    cases: { type: 'string', default: '1000000' },
    seed: { type: 'string', default: '1' },
    window: { type: 'string', default: '128' },
    out: { type: 'string', default: join(ROOT, 'bench', 'out', 'fuzz-live.json') },
  },
});

async function main(): Promise<number> {
  const world = await getWorld();
  const d = await startLiveDaemon(world, { logLevel: 'error' });
  const client = new UdpClient('127.0.0.44');
  await client.open();
  const rss: number[] = [d.rssKb()];
  let stats: LiveFuzzStats | undefined;
  try {
    const canary = async (): Promise<string | undefined> => {
      if (!d.alive()) return 'the daemon is gone';
      return canaryProblem((await client.ask(d.port, CANARY.name, 'A', { timeoutMs: 5000 })).message);
    };
    const t0 = Date.now();
    stats = await runLiveFuzz({
      port: d.port, seed: Number(args.seed), cases: Number(args.cases), window: Number(args.window), canary, canaryEvery: 10_000,
      onProgress: (s) => {
        if (s.cases % 100_000 !== 0) return;
        rss.push(d.rssKb());
        console.log(`  ${s.cases} cases, ${Math.round(s.cases / ((Date.now() - t0) / 1000))}/s, replies ${s.replies}, silent ${s.silent}, findings ${s.findings.length}, canary failures ${s.canaryFailures.length}, daemon RSS ${(d.rssKb() / 1024).toFixed(0)} MiB`);
      },
    });
    rss.push(d.rssKb());
  } finally {
    client.close();
  }
  const alive = d.alive();
  await d.stop();
  await stopWorld();
  const errors = d.output().split('\n').filter((l) => /"level":(50|60)/.test(l));
  const s = stats!;
  const secs = s.elapsedMs / 1000;
  const summary = {
    when: new Date().toISOString(), seed: Number(args.seed), cases: s.cases, udp: s.udp, tcp: s.tcp, seconds: +secs.toFixed(1),
    casesPerSecond: Math.round(s.cases / secs), replies: s.replies, silentOk: s.silentOk, silent: s.silent, byRcode: s.byRcode,
    findings: s.findings, canaries: s.canaries, canaryFailures: s.canaryFailures, daemonAlive: alive, errorLines: errors.slice(0, 20),
    rssMiB: rss.map((k) => +(k / 1024).toFixed(0)),
  };
  console.log(JSON.stringify(summary, null, 2));
  mkdirSync(dirname(args.out!), { recursive: true });
  writeFileSync(args.out!, JSON.stringify(summary, null, 2));
  // Silence where a reply was due: UDP may lose a datagram, but more than 0.1% is a finding too.
  const bad = !alive || s.findings.length > 0 || s.canaryFailures.length > 0 || errors.length > 0 || s.silent > s.cases / 1000;
  console.log(bad ? 'FAIL' : 'ok');
  return bad ? 1 : 0;
}

process.exit(await main());
