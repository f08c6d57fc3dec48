/**
 * A client that asks what Postfix (smtp_dns_support_level = dnssec, security level dane) asks for a new
 * destination, one question after the other as its resolver library does: MX; then A and AAAA of each MX host
 * in preference order; then TLSA at `_25._tcp.<host>` for each host whose address answers both had AD (RFC 7672
 * §2.2: TLSA only for hosts with secure addresses, whatever the MX RRset's status). `domainsInFlight` domains
 * are resolved at once. The time per domain runs from its MX query to its last answer.
 *
 * `expectProblems` compares what came back with the bench hierarchy (mta-zones.ts): rcode, AD, data.
 */
import { performance } from 'node:perf_hooks';
import { RRType, type Message } from '../src/wire/index.js';
import { ask, inParallel } from './client.js';
import { hostOf, type MtaWorldDef } from './mta-zones.js';

export interface Asked {
  name: string;
  type: 'MX' | 'A' | 'AAAA' | 'TLSA';
  /** undefined: no answer (timeout). */
  rcode?: number;
  ad: boolean;
  /** The answer's data of the asked type, as text (MX "10 host.", A, AAAA, TLSA "3 1 1 HEX"). */
  data: string[];
  ms: number;
}

export interface DomainRun {
  domain: string;
  ms: number;
  asked: Asked[];
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex').toUpperCase();

/** The data of the asked type in the answer section (what an MTA reads), as text. */
function dataOf(m: Message, type: Asked['type']): string[] {
  const out: string[] = [];
  for (const rr of m.answer) {
    const d = rr.data as Record<string, unknown>;
    if (type === 'MX' && rr.type === RRType.MX) out.push(`${String(d['preference'])} ${String(d['exchange'])}`);
    else if (type === 'A' && rr.type === RRType.A) out.push(String(d['address']));
    else if (type === 'AAAA' && rr.type === RRType.AAAA) out.push(String(d['address']));
    else if (type === 'TLSA' && rr.type === RRType.TLSA) out.push(`${String(d['usage'])} ${String(d['selector'])} ${String(d['matchingType'])} ${hex(d['data'] as Uint8Array)}`);
  }
  return out;
}

async function query(server: { host: string; port: number }, name: string, type: Asked['type'], timeoutMs: number): Promise<Asked> {
  const t0 = performance.now();
  try {
    const m = await ask(server.host, server.port, name, type, timeoutMs);
    return { name, type, rcode: m.rcode, ad: m.flags.ad, data: dataOf(m, type), ms: performance.now() - t0 };
  } catch {
    return { name, type, ad: false, data: [], ms: performance.now() - t0 };
  }
}

/** One destination, as Postfix resolves it. */
export async function resolveDomain(server: { host: string; port: number }, domain: string, timeoutMs = 5000): Promise<DomainRun> {
  const t0 = performance.now();
  const asked: Asked[] = [];
  const mx = await query(server, domain, 'MX', timeoutMs);
  asked.push(mx);
  const hosts = mx.data
    .map((t) => { const [p, h] = t.split(' '); return { preference: Number(p), host: h! }; })
    .filter((h) => h.host !== '.')
    .sort((a, b) => a.preference - b.preference);
  const secure: string[] = [];
  for (const { host } of hosts) {
    const a = await query(server, host, 'A', timeoutMs);
    const aaaa = await query(server, host, 'AAAA', timeoutMs);
    asked.push(a, aaaa);
    if (a.rcode === 0 && aaaa.rcode === 0 && a.ad && aaaa.ad && a.data.length + aaaa.data.length > 0) secure.push(host);
  }
  for (const host of secure) asked.push(await query(server, `_25._tcp.${host.replace(/\.?$/, '.')}`, 'TLSA', timeoutMs));
  return { domain, ms: performance.now() - t0, asked };
}

/** Every domain of `domains`, `inFlight` at once; the runs in the order of `domains`. */
export async function resolveAll(server: { host: string; port: number }, domains: readonly string[], inFlight = 20): Promise<DomainRun[]> {
  const byName = new Map<string, DomainRun>();
  await inParallel(domains, inFlight, async (d) => void byName.set(d, await resolveDomain(server, d)));
  return domains.map((d) => byName.get(d)!);
}

/** What differs from the hierarchy's truth, one line per problem (empty: every answer right). */
export function expectProblems(def: MtaWorldDef, runs: readonly DomainRun[]): string[] {
  const problems: string[] = [];
  for (const run of runs) {
    const dom = def.domains.find((d) => d.name === run.domain);
    if (!dom) { problems.push(`${run.domain}: not a domain of the bench world`); continue; }
    const expected: Array<{ name: string; type: Asked['type']; rcode: number; ad: boolean; data: string[] }> = [
      { name: dom.name, type: 'MX', rcode: 0, ad: dom.signed, data: dom.mx.map((m) => `${m.preference} ${m.host}`) },
    ];
    for (const m of dom.mx) {
      const h = hostOf(def, m.host)!;
      expected.push({ name: h.name, type: 'A', rcode: 0, ad: h.secure, data: [h.a] }, { name: h.name, type: 'AAAA', rcode: 0, ad: h.secure, data: [h.aaaa] });
    }
    for (const m of dom.mx) {
      const h = hostOf(def, m.host)!;
      if (!h.secure) continue;
      // no TLSA: NXDOMAIN (no _tcp.<host>) unless a sibling host's TLSA makes _tcp.<host> exist... it never does here
      expected.push({ name: `_25._tcp.${h.name}`, type: 'TLSA', rcode: h.tlsa ? 0 : 3, ad: true, data: h.tlsa ? [h.tlsa] : [] });
    }
    const got = run.asked.map((a) => `${a.name} ${a.type}`);
    const want = expected.map((e) => `${e.name} ${e.type}`);
    if (got.join('|').toLowerCase() !== want.join('|').toLowerCase()) {
      problems.push(`${run.domain}: asked ${got.join(', ')}; expected ${want.join(', ')}`);
      continue;
    }
    expected.forEach((e, i) => {
      const a = run.asked[i]!;
      const norm = (xs: string[]): string => xs.map((x) => x.toLowerCase().replace(/\.$/, '')).sort().join(', ');
      if (a.rcode === undefined) problems.push(`${e.name} ${e.type}: no answer in ${Math.round(a.ms)} ms`);
      else if (a.rcode !== e.rcode || a.ad !== e.ad || norm(a.data) !== norm(e.data)) {
        problems.push(`${e.name} ${e.type}: rcode ${a.rcode} AD ${a.ad} [${a.data.join(', ')}]; expected rcode ${e.rcode} AD ${e.ad} [${e.data.join(', ')}]`);
      }
    });
  }
  return problems;
}
