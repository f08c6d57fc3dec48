/**
 * Upstream resolver lists: from `--upstream ADDR[:PORT]` arguments or from /etc/resolv.conf.
 * Addresses are kept as IP literals (never host names: resolving them would need a resolver).
 */
import { readFile } from 'node:fs/promises';
import { isIP, isIPv4 } from 'node:net';
import { networkInterfaces } from 'node:os';

export const DEFAULT_DNS_PORT = 53;
export const DEFAULT_RESOLV_CONF = '/etc/resolv.conf';

export interface UpstreamConfig {
  /** IPv4 or IPv6 literal (IPv6 without brackets; a `%zone` suffix is allowed for link-local). */
  readonly address: string;
  readonly port: number;
  /** Lower is preferred. */
  readonly priority: number;
}

/** Why an upstream specification was not accepted. */
export type UpstreamSpecProblem =
  | { readonly kind: 'empty' }
  | { readonly kind: 'bad-address'; readonly address: string }
  | { readonly kind: 'bad-port'; readonly port: string };

export type UpstreamSpecResult =
  | { readonly ok: true; readonly address: string; readonly port: number }
  | { readonly ok: false; readonly input: string; readonly problem: UpstreamSpecProblem };

export class UpstreamConfigError extends Error {
  readonly input: string;
  readonly problem: UpstreamSpecProblem;
  constructor(input: string, problem: UpstreamSpecProblem) {
    super(`invalid upstream "${input}": ${describeProblem(problem)}`);
    this.name = 'UpstreamConfigError';
    this.input = input;
    this.problem = problem;
  }
}

export function describeProblem(p: UpstreamSpecProblem): string {
  switch (p.kind) {
    case 'empty':
      return 'empty address';
    case 'bad-address':
      return `"${p.address}" is not an IPv4 or IPv6 address`;
    case 'bad-port':
      return `"${p.port}" is not a port number (1-65535)`;
  }
}

/** Whether `s` is an IP literal, allowing an IPv6 zone suffix (fe80::1%eth0). */
export function isIpLiteral(s: string): boolean {
  const pct = s.indexOf('%');
  if (pct < 0) return isIP(s) !== 0;
  const zone = s.slice(pct + 1);
  return isIP(s.slice(0, pct)) === 6 && /^[A-Za-z0-9_.-]+$/.test(zone);
}

function parsePort(s: string, min: number): number | undefined {
  if (!/^[0-9]{1,5}$/.test(s)) return undefined;
  const n = Number(s);
  return n >= min && n <= 65535 ? n : undefined;
}

/**
 * Parse `ADDR[:PORT]`: `192.0.2.1`, `192.0.2.1:5353`, `[2001:db8::1]:53`, `[::1]`, or a bare
 * IPv6 address `::1` (a bare IPv6 address never carries a port: its last group is not one).
 */
export function parseUpstreamSpec(input: string, opts: { defaultPort?: number; allowPortZero?: boolean } = {}): UpstreamSpecResult {
  const s = input.trim();
  const fail = (problem: UpstreamSpecProblem): UpstreamSpecResult => ({ ok: false, input, problem });
  if (s === '') return fail({ kind: 'empty' });
  let address: string;
  let portText: string | undefined;
  if (s.startsWith('[')) {
    const close = s.indexOf(']');
    if (close < 0) return fail({ kind: 'bad-address', address: s });
    address = s.slice(1, close);
    const rest = s.slice(close + 1);
    if (rest !== '') {
      if (!rest.startsWith(':')) return fail({ kind: 'bad-address', address: s });
      portText = rest.slice(1);
    }
    if (isIPv4(address)) return fail({ kind: 'bad-address', address });
  } else {
    const colons = s.split(':').length - 1;
    if (colons === 1) {
      const at = s.indexOf(':');
      address = s.slice(0, at);
      portText = s.slice(at + 1);
    } else {
      address = s;
    }
  }
  if (address === '' || !isIpLiteral(address)) return fail({ kind: 'bad-address', address });
  let port = opts.defaultPort ?? DEFAULT_DNS_PORT;
  if (portText !== undefined) {
    const p = parsePort(portText, opts.allowPortZero ? 0 : 1);
    if (p === undefined) return fail({ kind: 'bad-port', port: portText });
    port = p;
  }
  return { ok: true, address, port };
}

/** Build the upstream list from repeated `--upstream` values: priority follows the order given (1, 2, ...). */
export function upstreamsFromCli(specs: readonly string[]): UpstreamConfig[] {
  return specs.map((spec, i) => {
    const r = parseUpstreamSpec(spec);
    if (!r.ok) throw new UpstreamConfigError(r.input, r.problem);
    return { address: r.address, port: r.port, priority: i + 1 };
  });
}

/** Canonical text of an IP literal, so that `::1` and `0:0::1` compare equal. */
export function canonicalAddress(address: string): string {
  const pct = address.indexOf('%');
  const bare = pct < 0 ? address : address.slice(0, pct);
  const zone = pct < 0 ? '' : address.slice(pct);
  if (isIP(bare) !== 6) return address;
  // The WHATWG URL parser serializes IPv6 hosts in RFC 5952 form.
  return new URL(`http://[${bare}]/`).hostname.slice(1, -1) + zone.toLowerCase();
}

function isUnspecified(address: string): boolean {
  const c = canonicalAddress(address);
  return c === '0.0.0.0' || c === '::';
}

function isLoopback(address: string): boolean {
  const c = canonicalAddress(address);
  return c === '::1' || (isIPv4(c) && c.startsWith('127.')) || /^::ffff:7f[0-9a-f]{2}:/.test(c);
}

/** Addresses configured on this host, for matching a wildcard listener against resolv.conf entries. */
function localAddresses(): Set<string> {
  const out = new Set<string>();
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) out.add(canonicalAddress(a.address));
  }
  return out;
}

export interface ListenEndpoint {
  readonly address: string;
  readonly port: number;
}

/** Whether a nameserver at address:port would be this daemon itself, given where it listens. */
export function isOwnListener(address: string, port: number, listen: readonly ListenEndpoint[], local?: Set<string>): boolean {
  const c = canonicalAddress(address);
  for (const l of listen) {
    if (l.port !== port) continue;
    if (canonicalAddress(l.address) === c) return true;
    if (isUnspecified(l.address)) {
      if (isLoopback(c)) return true;
      if ((local ?? localAddresses()).has(c)) return true;
    }
  }
  return false;
}

/** One `nameserver` line that was not used, and why. */
export type ResolvConfSkip =
  | { readonly kind: 'own-listener'; readonly line: number; readonly address: string }
  | { readonly kind: 'bad-address'; readonly line: number; readonly address: string }
  | { readonly kind: 'duplicate'; readonly line: number; readonly address: string };

export interface ResolvConfParse {
  readonly upstreams: UpstreamConfig[];
  readonly skipped: ResolvConfSkip[];
}

/** Parse resolv.conf text: `nameserver` lines in order (priority 1, 2, ...); everything else is ignored. */
export function parseResolvConf(text: string, listen: readonly ListenEndpoint[] = [], local?: Set<string>): ResolvConfParse {
  const upstreams: UpstreamConfig[] = [];
  const skipped: ResolvConfSkip[] = [];
  const seen = new Set<string>();
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.replace(/[#;].*$/, '').trim();
    const m = /^nameserver\s+(\S+)/.exec(line);
    if (!m) continue;
    const address = m[1]!;
    const lineNo = i + 1;
    if (!isIpLiteral(address)) {
      skipped.push({ kind: 'bad-address', line: lineNo, address });
      continue;
    }
    if (isOwnListener(address, DEFAULT_DNS_PORT, listen, local)) {
      skipped.push({ kind: 'own-listener', line: lineNo, address });
      continue;
    }
    const key = canonicalAddress(address);
    if (seen.has(key)) {
      skipped.push({ kind: 'duplicate', line: lineNo, address });
      continue;
    }
    seen.add(key);
    upstreams.push({ address, port: DEFAULT_DNS_PORT, priority: upstreams.length + 1 });
  }
  return { upstreams, skipped };
}

export interface ResolvConfOptions {
  /** Defaults to /etc/resolv.conf. */
  readonly path?: string;
  /** Where this daemon listens: matching nameservers are skipped so that we never forward to ourselves. */
  readonly listen?: readonly ListenEndpoint[];
}

export type ResolvConfResult =
  | ({ readonly kind: 'ok'; readonly path: string } & ResolvConfParse)
  | { readonly kind: 'unreadable'; readonly path: string; readonly error: Error };

/** Read the nameservers of resolv.conf (never throws: an unreadable file is a result). */
export async function loadResolvConf(opts: ResolvConfOptions = {}): Promise<ResolvConfResult> {
  const path = opts.path ?? DEFAULT_RESOLV_CONF;
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    return { kind: 'unreadable', path, error: e instanceof Error ? e : new Error(String(e)) };
  }
  return { kind: 'ok', path, ...parseResolvConf(text, opts.listen ?? []) };
}

/** `address:port` text for logs and metrics labels (IPv6 in brackets). */
export function upstreamLabel(u: { readonly address: string; readonly port: number }): string {
  return u.address.includes(':') ? `[${u.address}]:${u.port}` : `${u.address}:${u.port}`;
}
