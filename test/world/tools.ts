/** dig / delv / unbound-control wrappers for tests against the world. */
import { parseDig as parseDigText } from '../support/dig.js';
import { run } from './proc.js';
import type { Endpoint, WorldInfo } from './info.js';
import type { Status } from './zones.js';

export interface DigResult {
  status: string;                // NOERROR, NXDOMAIN, SERVFAIL, ... or 'TIMEOUT'
  flags: string[];               // header flags (qr rd ra ad cd aa)
  ad: boolean;
  answer: string[];              // one RR per line, dig presentation format
  authority: string[];
  additional: string[];
  ede: string[];                 // extended DNS error lines, if any
  raw: string;
}

export interface DigOptions {
  dnssec?: boolean;   // DO=1
  cd?: boolean;       // CD=1
  rd?: boolean;       // default true
  tcp?: boolean;
  timeoutSec?: number;
}

/** dig's output in the shape the world tests use (built on the shared parser in test/support/dig.ts). */
export function parseDig(raw: string): DigResult {
  const d = parseDigText(raw);
  const norm = (l: string): string => l.replace(/\s+/g, ' ').trim();
  return {
    status: d.status ?? 'TIMEOUT',
    flags: [...d.flags],
    ad: d.flags.has('ad'),
    answer: d.answers.map(norm),
    authority: d.authority.map(norm),
    additional: d.additional.map(norm),
    ede: d.ede.map((l) => l.replace(/^; EDE: /, '')),
    raw,
  };
}

export async function dig(server: Endpoint, name: string, type: string, opts: DigOptions = {}): Promise<DigResult> {
  const args = [`@${server.host}`, '-p', String(server.port), name, type,
    `+tries=1`, `+time=${opts.timeoutSec ?? 5}`, '+nocmd', '+nostats', '+nomultiline', '+nosplit'];
  if (opts.dnssec) args.push('+dnssec');
  if (opts.cd) args.push('+cd');
  if (opts.rd === false) args.push('+norecurse');
  if (opts.tcp) args.push('+tcp');
  const r = await run('dig', args, { timeoutMs: ((opts.timeoutSec ?? 5) + 5) * 1000 });
  return parseDig(r.stdout + r.stderr);
}

/** RR types present in an answer/authority list (RRSIG lines as 'RRSIG'). */
export function rrTypes(rrs: string[]): string[] {
  return rrs.map((l) => l.split(' ')[3] ?? '');
}

export interface DelvResult {
  status: Status | 'error';
  negative: boolean;
  reason: string;
  output: string;
}

/** Classify delv (BIND 9.18) output. */
export function parseDelv(output: string): DelvResult {
  const negative = /; negative response/.test(output);
  const failed = /;; resolution failed: (.*)/.exec(output);
  if (/; (negative response, )?fully validated/.test(output)) return { status: 'secure', negative, reason: 'fully validated', output };
  if (/; (negative response, )?unsigned answer/.test(output)) return { status: 'insecure', negative, reason: 'unsigned answer', output };
  if (failed) {
    const reason = failed[1]!.trim();
    const isError = /timed out|network|unreachable|connection refused|no servers could be reached|SERVFAIL|FORMERR|REFUSED/i.test(reason);
    return { status: isError ? 'error' : 'bogus', negative, reason, output };
  }
  return { status: 'error', negative, reason: 'unrecognised delv output', output };
}

export async function delv(world: WorldInfo, name: string, type: string, extra: string[] = []): Promise<DelvResult> {
  const [cmd, ...args] = world.delv;
  const r = await run(cmd!, [...args, ...extra, name, type], { timeoutMs: 60_000 });
  return parseDelv(r.stdout + r.stderr);
}

/** Verdict of the validating Unbound for a dig result. */
export function validatorVerdict(d: DigResult): Status | 'error' {
  if (d.status === 'SERVFAIL') return 'bogus';
  if (d.status === 'NOERROR' || d.status === 'NXDOMAIN') return d.ad ? 'secure' : 'insecure';
  return 'error';
}

/** unbound-control on the upstream, e.g. stats_noreset; returns key=value pairs. */
export async function upstreamStats(world: WorldInfo, command = 'stats_noreset'): Promise<Record<string, number>> {
  const [cmd, ...args] = world.upstreamControl;
  const r = await run(cmd!, [...args, command], { timeoutMs: 10_000 });
  if (r.code !== 0) throw new Error(`unbound-control failed: ${r.stdout}${r.stderr}`);
  const out: Record<string, number> = {};
  for (const line of r.stdout.split('\n')) {
    const m = /^([^=]+)=(.*)$/.exec(line.trim());
    if (m) out[m[1]!] = Number(m[2]);
  }
  return out;
}
