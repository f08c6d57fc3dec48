/**
 * The upstream list from /etc/resolv.conf (the `--upstream` flags and the config file are read by
 * src/config). Addresses are kept as IP literals (never host names: resolving them would need a resolver).
 */
import { readFile } from 'node:fs/promises';
import { isIPv4 } from 'node:net';
import { networkInterfaces } from 'node:os';
import type { UpstreamConfig } from '../config/schema.js';
import { DEFAULT_DNS_PORT, canonicalAddress, isIpLiteral, type ListenAddress } from '../net/address.js';

export const DEFAULT_RESOLV_CONF = '/etc/resolv.conf';

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

/** Whether a nameserver at address:port would be this daemon itself, given where it listens. */
export function isOwnListener(address: string, port: number, listen: readonly ListenAddress[], local?: Set<string>): boolean {
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
export function parseResolvConf(text: string, listen: readonly ListenAddress[] = [], local?: Set<string>): ResolvConfParse {
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
  readonly listen?: readonly ListenAddress[];
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
