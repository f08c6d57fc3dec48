/** The Prometheus text format read back, and promtool, for the metrics tests. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
export const P = 'dnssec_stubd_';

export interface Sample { name: string; labels: Record<string, string>; value: number }
export interface Exposition { types: Map<string, string>; help: Map<string, string>; samples: Sample[] }

/** GET `base`/metrics of a running daemon (status 200): the text and its parse. */
export async function scrapeMetrics(base: string): Promise<{ text: string; x: Exposition }> {
  const r = await fetch(`${base}/metrics`);
  assert.equal(r.status, 200);
  const text = await r.text();
  return { text, x: parse(text) };
}

/** Unescape a HELP text as the exposition format writes it (backslash and newline escaped). */
function unescapeHelp(s: string): string {
  return s.replace(/\\(\\|n)/g, (_m, c: string) => (c === 'n' ? '\n' : '\\'));
}

export function parse(text: string): Exposition {
  const out: Exposition = { types: new Map(), help: new Map(), samples: [] };
  for (const line of text.split('\n')) {
    if (line === '') continue;
    let m = /^# (HELP|TYPE) (\S+) (.*)$/.exec(line);
    if (m) {
      if (m[1] === 'TYPE') out.types.set(m[2]!, m[3]!);
      else out.help.set(m[2]!, unescapeHelp(m[3]!));
      continue;
    }
    m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    assert.ok(m, `cannot read the line "${line}"`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!;
    out.samples.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return out;
}

/** The one sample of `name` with exactly these labels (others may exist with more). */
export function value(x: Exposition, name: string, labels: Record<string, string> = {}): number | undefined {
  const found = x.samples.filter((s) => s.name === name && Object.keys(s.labels).length === Object.keys(labels).length && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  assert.ok(found.length <= 1, `${name} ${JSON.stringify(labels)}: ${found.length} samples`);
  return found[0]?.value;
}

/** A series as the exposition writes it: name{label="value",...}. */
export function seriesText(name: string, labels: Record<string, string> = {}): string {
  const l = Object.entries(labels).map(([k, v]) => `${k}="${v}"`).join(',');
  return l === '' ? name : `${name}{${l}}`;
}

/**
 * `value` for a series that must be there: a missing one fails, naming it and the series of that name that are
 * there (a renamed metric, or a label set that changed, is then a failure and not a silent 0).
 */
export function requiredValue(x: Exposition, name: string, labels: Record<string, string> = {}): number {
  const v = value(x, name, labels);
  if (v === undefined) {
    const others = x.samples.filter((s) => s.name === name).map((s) => seriesText(s.name, s.labels));
    assert.fail(`${seriesText(name, labels)} is missing from the scrape (${others.length > 0 ? `there: ${others.join(', ')}` : 'no series of that name'})`);
  }
  return v;
}

export function promtool(args: string[], input?: string): { status: number | null; out: string } {
  const r = spawnSync('promtool', args, { input, encoding: 'utf8', cwd: ROOT, timeout: 60_000 });
  assert.equal(r.error, undefined, `promtool did not run (${r.error?.message}): install Debian's prometheus package (scripts/install-test-deps.sh)`);
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}
