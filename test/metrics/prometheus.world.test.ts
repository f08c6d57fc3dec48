/**
 * A real Prometheus server (Debian's `prometheus` package) scrapes a real daemon's metrics: the daemon
 * forwards to the signed test world, createMetrics() is served by a small node:http server of this test
 * on 127.0.0.1 (the HTTP API's GET /metrics serves the same render()), Prometheus scrapes it every second
 * (loopback only, storage in a temporary directory), and after known traffic (secure answers, cache hits,
 * one BOGUS name) its query API returns the expected counter values.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createMetrics, type MetricsSource } from '../../src/metrics/index.js';
import { useWorldDaemon } from '../support/world-daemon.js';
import { dig } from '../support/dig.js';
import { freePort } from '../upstream/unbound-fixture.js';
import { seriesText } from './exposition.js';

const w = useWorldDaemon();

const SECURE = 'www.alg13.test.';
const BOGUS = 'www.bogus-expired.test.';
const N = 5;

let metrics: (MetricsSource & { close(): void }) | undefined;
let http: Server | undefined;
let prometheus: ChildProcess | undefined;
let promLog = '';
let dir: string | undefined;
let api = '';
let target = '';

interface Vector { metric: Record<string, string>; value: [number, string] }

async function query(q: string): Promise<Vector[]> {
  const res = await fetch(`${api}/api/v1/query?query=${encodeURIComponent(q)}`);
  const body = (await res.json()) as { status: string; error?: string; data: { resultType: string; result: Vector[] } };
  assert.equal(body.status, 'success', `${q}: ${body.error}`);
  assert.equal(body.data.resultType, 'vector');
  return body.data.result;
}

/** The value of a query that gives one series (undefined: no series). */
async function scalar(q: string): Promise<number | undefined> {
  const r = await query(q);
  assert.ok(r.length <= 1, `${q}: ${r.length} series`);
  return r[0] ? Number(r[0].value[1]) : undefined;
}

/** Poll until `q` has the value `want` (Prometheus scrapes every second); returns the last value seen. */
async function eventually(q: string, want: number, timeoutMs = 20_000): Promise<number | undefined> {
  const end = Date.now() + timeoutMs;
  let v: number | undefined;
  for (;;) {
    v = await scalar(q);
    if (v === want || Date.now() > end) return v;
    await new Promise((r) => setTimeout(r, 250));
  }
}

/**
 * The metrics read with counter() whose series appear only once something was counted: queries_total
 * (src/metrics/tally.ts: a series per transport, qtype and rcode seen), answer_ede_total (per EDE code seen) and
 * server_response_rcodes_total (src/server/stats.ts: per rcode sent). Every other one read there is always emitted
 * once the daemon listens (src/metrics/stats.ts and tally.ts: answers_total and resolutions_total for every status,
 * query_duration_seconds for every path, the cache's hits and misses, server_received_total for both transports).
 */
const SPARSE = new Set(['dnssec_stubd_queries_total', 'dnssec_stubd_answer_ede_total', 'dnssec_stubd_server_response_rcodes_total']);

/**
 * A counter's value now, for deltas: 0 when a SPARSE metric has no such series yet; any other series missing fails,
 * naming the query and the series of that metric Prometheus has (a renamed metric or label is not a silent 0).
 */
async function counter(q: string): Promise<number> {
  const v = await scalar(q);
  if (v !== undefined) return v;
  const name = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(q)![0];
  if (SPARSE.has(name)) return 0;
  const there = (await query(name)).map((r) => seriesText(name, Object.fromEntries(Object.entries(r.metric).filter(([k]) => k !== '__name__'))));
  assert.fail(`${q} has no series in Prometheus (${there.length > 0 ? `there: ${there.join(', ')}` : 'no series of that name'})\n${promLog}`);
}

/** Wait until Prometheus has scraped the exporter at least once after `since` (seconds). */
async function scrapedAfter(since: number): Promise<void> {
  const end = Date.now() + 20_000;
  while (Date.now() < end) {
    const r = await query(`timestamp(up{job="dnssec-stubd"})`);
    if (r[0] && Number(r[0].value[1]) > since) return;
    await new Promise((res) => setTimeout(res, 250));
  }
  assert.fail(`no scrape after ${since}\n${promLog}`);
}

describe('a real Prometheus scraping the daemon', () => {
  // Inside the describe: these run after useWorldDaemon's hooks have started the daemon.
  before(async () => {
    metrics = createMetrics(w.daemon);
    const source = metrics;
    http = createServer((req, res) => {
      if (req.url !== '/metrics') {
        res.writeHead(404).end();
        return;
      }
      source.render().then(
        (text) => res.writeHead(200, { 'Content-Type': source.contentType }).end(text),
        (err: Error) => res.writeHead(500).end(err.message),
      );
    });
    await new Promise<void>((resolve) => http!.listen(0, '127.0.0.1', resolve));
    target = `127.0.0.1:${(http.address() as { port: number }).port}`;

    dir = mkdtempSync(join(tmpdir(), 'stubd-prometheus-'));
    const config = join(dir, 'prometheus.yml');
    writeFileSync(config, [
      'global:',
      '  scrape_interval: 1s',
      '  scrape_timeout: 1s',
      '  evaluation_interval: 1s',
      'scrape_configs:',
      '  - job_name: dnssec-stubd',
      '    static_configs:',
      `      - targets: ['${target}']`,
      '',
    ].join('\n'));
    const port = await freePort('127.0.0.1');
    api = `http://127.0.0.1:${port}`;
    prometheus = spawn('prometheus', [
      `--config.file=${config}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--log.level=warn',
    ], { stdio: ['ignore', 'pipe', 'pipe'] });
    prometheus.stdout!.on('data', (b: Buffer) => (promLog += b.toString()));
    prometheus.stderr!.on('data', (b: Buffer) => (promLog += b.toString()));
    const spawnError = new Promise<Error>((resolve) => prometheus!.once('error', resolve));
    const end = Date.now() + 30_000;
    for (;;) {
      const ready = await Promise.race([
        fetch(`${api}/-/ready`).then((r) => r.ok, () => false),
        spawnError.then((e) => assert.fail(`prometheus did not start (${e.message}): install Debian's prometheus package (scripts/install-test-deps.sh)`)),
      ]);
      if (ready) break;
      assert.ok(prometheus.exitCode === null, `prometheus exited (${prometheus.exitCode}):\n${promLog}`);
      assert.ok(Date.now() < end, `prometheus not ready after 30 s:\n${promLog}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  });

  after(async () => {
    if (prometheus && prometheus.exitCode === null && prometheus.signalCode === null) {
      const p = prometheus;
      const exited = new Promise<void>((resolve) => p.once('exit', () => resolve()));
      p.kill('SIGTERM');
      const t = setTimeout(() => p.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(t);
    }
    if (http) await new Promise<void>((resolve) => http!.close(() => resolve()));
    metrics?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('scrapes the exporter on loopback: target up, the types in the metadata', async () => {
    assert.equal(await eventually(`up{job="dnssec-stubd",instance="${target}"}`, 1), 1, promLog);
    const res = await fetch(`${api}/api/v1/targets?state=active`);
    const targets = ((await res.json()) as { data: { activeTargets: { scrapeUrl: string; health: string; lastError: string }[] } }).data.activeTargets;
    assert.deepEqual(targets.map((t) => [t.scrapeUrl, t.health, t.lastError]), [[`http://${target}/metrics`, 'up', '']]);
    const meta = async (m: string): Promise<string | undefined> => {
      const r = await fetch(`${api}/api/v1/metadata?metric=${m}`);
      return ((await r.json()) as { data: Record<string, { type: string }[]> }).data[m]?.[0]?.type;
    };
    assert.equal(await meta('dnssec_stubd_queries_total'), 'counter');
    assert.equal(await meta('dnssec_stubd_query_duration_seconds'), 'histogram');
    assert.equal(await meta('dnssec_stubd_cache_entries'), 'gauge');
    assert.equal(await meta('dnssec_stubd_process_cpu_seconds_total'), 'counter');
  });

  it('the daemon\'s state: a DNSSEC-capable upstream, the root anchor trusted, the self-test passed', async () => {
    const up = `${w.world.upstream.host}:${w.world.upstream.port}`;
    assert.equal(await eventually(`dnssec_stubd_upstream_dnssec_state{upstream="${up}",zone=".",state="capable"}`, 1), 1);
    assert.equal(await scalar(`dnssec_stubd_upstream_dnssec_state{upstream="${up}",zone=".",state="not-capable"}`), 0);
    assert.ok((await scalar(`sum(dnssec_stubd_trust_anchor_keys{zone="."})`))! > 0);
    assert.equal(await scalar('dnssec_stubd_selftest_passed'), 1);
    assert.equal(await scalar('dnssec_stubd_crypto_backend_info{algorithm="13"}'), 1);
    assert.ok((await scalar('dnssec_stubd_process_resident_memory_bytes'))! > 0);
  });

  it(`after ${N} queries for a secure name and one for a bogus name, the query API has the counts`, async () => {
    w.daemon.flush();
    // Prometheus' view before the traffic (a SPARSE series not there yet counts as 0; any other must be there).
    await scrapedAfter(Date.now() / 1000);
    const q = {
      secureA: 'dnssec_stubd_queries_total{transport="udp",qtype="A",rcode="NOERROR"}',
      servfailA: 'dnssec_stubd_queries_total{transport="udp",qtype="A",rcode="SERVFAIL"}',
      tlsaTcp: 'dnssec_stubd_queries_total{transport="tcp",qtype="TLSA",rcode="NXDOMAIN"}',
      secure: 'dnssec_stubd_answers_total{status="secure"}',
      bogus: 'dnssec_stubd_answers_total{status="bogus"}',
      ede7: 'dnssec_stubd_answer_ede_total{code="7"}',
      cachePath: 'dnssec_stubd_query_duration_seconds_count{path="cache"}',
      upstreamPath: 'dnssec_stubd_query_duration_seconds_count{path="upstream"}',
      hits: 'dnssec_stubd_cache_hits_total',
      misses: 'dnssec_stubd_cache_misses_total',
      resolvedSecure: 'dnssec_stubd_resolutions_total{status="secure"}',
      resolvedBogus: 'dnssec_stubd_resolutions_total{status="bogus"}',
      received: 'dnssec_stubd_server_received_total{transport="udp"}',
      noerror: 'dnssec_stubd_server_response_rcodes_total{rcode="NOERROR"}',
    };
    const before: Record<string, number> = {};
    for (const [k, expr] of Object.entries(q)) before[k] = await counter(expr);

    for (let i = 0; i < N; i++) {
      const r = await dig(w.port, [SECURE, 'A', '+dnssec']);
      assert.equal(r.status, 'NOERROR');
      assert.ok(r.flags.has('ad'), 'AD: secure');
    }
    const b = await dig(w.port, [BOGUS, 'A', '+dnssec']);
    assert.equal(b.status, 'SERVFAIL');
    const t = await dig(w.port, ['nothere.alg13.test.', 'TLSA', '+dnssec', '+tcp']);
    assert.equal(t.status, 'NXDOMAIN');

    const expect: Record<keyof typeof q, number> = {
      secureA: N, servfailA: 1, tlsaTcp: 1, secure: N + 1, bogus: 1, ede7: 1,
      cachePath: N - 1, upstreamPath: 3, hits: N - 1, misses: 3, resolvedSecure: 2, resolvedBogus: 1, received: N + 1, noerror: N,
    };
    const got: Record<string, number | undefined> = {};
    const want: Record<string, number> = {};
    for (const [k, expr] of Object.entries(q) as [keyof typeof q, string][]) {
      want[k] = before[k]! + expect[k];
      got[k] = await eventually(expr, want[k]!);
    }
    // Every SPARSE series here is expected to grow, so this also proves it is there (absent: undefined, not the want).
    assert.deepEqual(got, want, promLog);

    // The histogram is usable as one: every path has its buckets, and the cache hits were fast.
    assert.equal(await scalar('count(dnssec_stubd_query_duration_seconds_bucket{path="cache"})'), 19);
    const fast = await scalar('dnssec_stubd_query_duration_seconds_bucket{path="cache",le="0.1"}');
    assert.equal(fast, before['cachePath']! + N - 1, 'cache hits answered within 100 ms');
    assert.ok((await scalar('histogram_quantile(0.5, sum by (le) (dnssec_stubd_query_duration_seconds_bucket{path="upstream"}))'))! > 0);
  });
});
