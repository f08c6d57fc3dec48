/**
 * README's "Monitoring" section against the real thing: its metrics table must list exactly the families a
 * running daemon's GET /metrics serves (after real traffic), each with the type and help text of the output
 * and the labels its samples carry; prom-client's default process metrics go in one row. Every route of the
 * HTTP API is named in the section. On a mismatch the test prints the table as it should be.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { API_ROUTES } from '../../src/http/api.js';
import { DEFAULT_METRIC_PREFIXES, METRIC_DOCS } from '../../src/metrics/index.js';
import { useWorldDaemon } from '../support/world-daemon.js';
import { dig } from '../support/dig.js';
import { P, ROOT, scrapeMetrics, type Exposition } from './exposition.js';

const w = useWorldDaemon({ cli: { http: ['127.0.0.1:0'] } });

/** The "## Monitoring" section of README.md (up to the next "## " heading). */
function section(): string {
  const text = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const start = text.indexOf('\n## Monitoring\n');
  assert.ok(start >= 0, 'README.md has a "## Monitoring" section');
  const end = text.indexOf('\n## ', start + 1);
  return text.slice(start, end < 0 ? undefined : end);
}

const DEFAULTS_ROW = `| ${DEFAULT_METRIC_PREFIXES.map((p) => `\`${P}${p}*\``).join(', ')} | counter, gauge, histogram | various | prom-client's default process metrics (CPU, memory, file descriptors, event loop lag, heap, GC), with the same prefix |`;

const cell = (s: string): string => s.replace(/\|/g, '\\|');

/** The table the README should hold, from the daemon's output (names, types, help; labels as declared and seen). */
function expectedTable(x: Exposition): string[] {
  const rows = ['| metric | type | labels | meaning |', '|---|---|---|---|'];
  for (const [name, type] of x.types) {
    if (DEFAULT_METRIC_PREFIXES.some((p) => name.startsWith(P + p))) continue;
    const doc = METRIC_DOCS.find((d) => P + d.name === name);
    const labels = doc?.labels ?? [];
    rows.push(`| \`${name}\` | ${type} | ${labels.length ? labels.map((l) => `\`${l}\``).join(', ') : '—'} | ${cell(x.help.get(name) ?? '')} |`);
  }
  rows.push(DEFAULTS_ROW);
  return rows;
}

describe('README "Monitoring"', () => {
  it('the metrics table is what GET /metrics serves: every family, its type, labels and help', async () => {
    // traffic, so that the families fed by query events and upstream exchanges have samples
    assert.ok((await dig(w.port, ['www.alg13.test.', 'A', '+dnssec'])).flags.has('ad'));
    assert.equal((await dig(w.port, ['www.bogus-expired.test.', 'A', '+dnssec'])).status, 'SERVFAIL');
    const { x } = await scrapeMetrics(`http://127.0.0.1:${w.daemon.httpAddresses[0]!.port}`);

    // what the declarations say agrees with the output
    const own = [...x.types.keys()].filter((n) => !DEFAULT_METRIC_PREFIXES.some((p) => n.startsWith(P + p)));
    assert.deepEqual(own, METRIC_DOCS.map((d) => P + d.name), 'every family of the output is declared in METRIC_DOCS, in that order');
    for (const d of METRIC_DOCS) {
      const name = P + d.name;
      assert.equal(x.types.get(name), d.type, name);
      const seen = new Set(x.samples.filter((s) => s.name === name || s.name.startsWith(`${name}_`)).flatMap((s) => Object.keys(s.labels)).filter((l) => l !== 'le'));
      assert.deepEqual([...seen].sort(), [...d.labels].sort(), `${name}: the labels its samples carry`);
    }

    const want = expectedTable(x);
    const lines = (readFileSync(join(ROOT, 'README.md'), 'utf8').includes('\n## Monitoring\n') ? section() : '').split('\n').filter((l) => l.startsWith('|'));
    const got = lines.slice(lines.findIndex((l) => l.startsWith('| metric |'))).slice(0, want.length);
    if (JSON.stringify(got) !== JSON.stringify(want)) console.log(`# README.md's metrics table (in "## Monitoring") should be:\n${want.join('\n')}`);
    assert.deepEqual(got, want);
  });

  it('names every route of the HTTP API, with a curl example for the main ones', () => {
    const s = section();
    for (const r of API_ROUTES) assert.ok(s.includes(`${r.method} ${r.url}`), `${r.method} ${r.url}`);
    for (const c of ['curl -s 127.0.0.1:8053/status | jq', '/readyz', '/resolve?name=', '-X POST 127.0.0.1:8053/cache/flush', '-X POST 127.0.0.1:8053/upstreams/probe', 'Authorization: Bearer']) {
      assert.ok(s.includes(c), c);
    }
  });
});
