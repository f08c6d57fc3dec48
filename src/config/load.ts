import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { describeEndpointProblem, parseEndpoint, type EndpointProblem } from '../net/address.js';
import { listenPortNotice, oneOf } from './fields.js';
import { ConfigError, DEFAULT_LISTEN_PORT, LOG_LEVELS, defaultConfig, type AddressCheckers, type Config, type HttpConfig, type UpstreamConfig } from './schema.js';
import { cryptoChoice, isDomainName, validateConfig } from './validate.js';

/** Options given on the command line; they override the config file. */
export interface CliOverrides {
  config?: string | undefined;
  listen?: string[] | undefined;
  upstream?: string[] | undefined;
  allow?: string[] | undefined;
  logLevel?: string | undefined;
  trustAnchor?: string[] | undefined;
  crypto?: string | undefined;
  /** SUFFIX=ADDR[:PORT], repeatable: domain-specific upstreams (order = priority within a suffix). */
  upstreamFor?: string[] | undefined;
  negativeTrustAnchor?: string[] | undefined;
  insecureFallback?: boolean | undefined;
  /** Where the RFC 5011 anchor state lives. */
  stateDir?: string | undefined;
  /** HTTP API listen addresses (repeatable), or ["off"]. */
  http?: string[] | undefined;
}

export class UpstreamConfigError extends Error {
  readonly input: string;
  readonly problem: EndpointProblem;
  constructor(input: string, problem: EndpointProblem) {
    super(`invalid upstream "${input}": ${describeEndpointProblem(problem)}`);
    this.name = 'UpstreamConfigError';
    this.input = input;
    this.problem = problem;
  }
}

/** Build the upstream list from repeated `--upstream` values: priority follows the order given (1, 2, ...). */
export function upstreamsFromCli(specs: readonly string[]): UpstreamConfig[] {
  return specs.map((spec, i) => {
    const r = parseEndpoint(spec);
    if (!r.ok) throw new UpstreamConfigError(r.input, r.problem);
    return { address: r.address, port: r.port, priority: i + 1 };
  });
}

/** `--upstream-for SUFFIX=ADDR[:PORT]` entries grouped by suffix. */
export function forwardZonesFromCli(specs: readonly string[]): Config['forwardZones'] {
  const bySuffix = new Map<string, string[]>();
  for (const spec of specs) {
    const eq = spec.indexOf('=');
    const suffix = eq > 0 ? spec.slice(0, eq) : '';
    const abs = suffix.endsWith('.') ? suffix : `${suffix}.`;
    if (!suffix || !isDomainName(abs)) throw new ConfigError('--upstream-for', `expected SUFFIX=ADDR[:PORT], got ${JSON.stringify(spec)}`);
    const key = abs.toLowerCase();
    bySuffix.set(key, [...(bySuffix.get(key) ?? []), spec.slice(eq + 1)]);
  }
  return [...bySuffix].map(([suffix, addrs]) => {
    try {
      return { suffix, upstreams: upstreamsFromCli(addrs) };
    } catch (err) {
      throw new ConfigError('--upstream-for', (err as Error).message);
    }
  });
}

/**
 * Parse "ADDR", "ADDR:PORT", "[V6]:PORT" or a bare IPv6 address (src/net/address.ts, with port 0
 * allowed for listeners). Throws ConfigError naming `field` when malformed.
 */
export function parseHostPort(s: string, defaultPort: number, field: string): { address: string; port: number } {
  const r = parseEndpoint(s, { defaultPort, allowPortZero: true });
  if (r.ok) return { address: r.address, port: r.port };
  if (r.problem.kind === 'bad-port') throw new ConfigError(field, `port out of range in ${JSON.stringify(s)}`);
  throw new ConfigError(field, `expected ADDR[:PORT] with an IP address, got ${JSON.stringify(s)}`);
}

/**
 * `--listen` values. An address without a port takes the default listen port (5353, as the whole default
 * listen address does), and a notice says so: resolv.conf clients need port 53, which must be written out.
 */
function listenFromCli(specs: readonly string[], notices: string[]): Config['listen'] {
  return specs.map((s) => {
    const r = parseHostPort(s, -1, '--listen');
    if (r.port !== -1) return r;
    notices.push(listenPortNotice(`--listen ${s}`, r.address));
    return { address: r.address, port: DEFAULT_LISTEN_PORT };
  });
}

/** Read and parse a YAML or JSON config file; syntax errors name the file and position. */
export function readConfigFile(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError('--config', `cannot read ${path}: ${(err as Error).message}`);
  }
  try {
    return path.endsWith('.json') ? JSON.parse(text) : parseYaml(text, { uniqueKeys: true });
  } catch (err) {
    throw new ConfigError('--config', `${path} is not valid ${path.endsWith('.json') ? 'JSON' : 'YAML'}: ${(err as Error).message}`);
  }
}

/** Defaults, then the config file, then command-line flags. */
export function loadConfig(cli: CliOverrides, checkers: AddressCheckers): Config {
  let cfg = defaultConfig();
  if (cli.config) cfg = validateConfig(readConfigFile(cli.config), checkers, cfg);
  if (cli.listen?.length) {
    const notices: string[] = [];
    cfg.listen = listenFromCli(cli.listen, notices);
    // The file's notices about its listen addresses no longer apply: the flags replace them.
    const all = [...(cfg.notices ?? []).filter((n) => !n.startsWith('listen[')), ...notices];
    cfg.notices = all.length ? all : undefined;
  }
  if (cli.upstream?.length) {
    try {
      cfg.upstreams = upstreamsFromCli(cli.upstream);
    } catch (err) {
      throw new ConfigError('--upstream', (err as Error).message);
    }
  }
  if (cli.allow?.length) {
    for (const c of cli.allow) {
      try {
        checkers.checkCidr(c);
      } catch (err) {
        throw new ConfigError('--allow', (err as Error).message);
      }
    }
    cfg.allow = cli.allow;
  }
  if (cli.logLevel !== undefined) cfg.logLevel = oneOf(cli.logLevel, '--log-level', LOG_LEVELS);
  if (cli.trustAnchor?.length) cfg.trustAnchors = cli.trustAnchor;
  if (cli.http?.length) cfg.http.listen = cli.http.length === 1 && cli.http[0] === 'off' ? [] : cli.http.map((s) => parseHostPort(s, 8053, '--http'));
  if (cli.stateDir !== undefined) {
    if (cli.stateDir === '') throw new ConfigError('--state-dir', 'expected a directory path');
    cfg.stateDir = cli.stateDir;
  }
  if (cli.crypto !== undefined) cfg.crypto = cryptoChoice(cli.crypto, '--crypto');
  if (cli.upstreamFor?.length) cfg.forwardZones = forwardZonesFromCli(cli.upstreamFor);
  if (cli.negativeTrustAnchor?.length) {
    cfg.negativeTrustAnchors = cli.negativeTrustAnchor.map((d) => {
      const abs = d.endsWith('.') ? d : `${d}.`;
      if (!isDomainName(abs)) throw new ConfigError('--negative-trust-anchor', `expected a domain name, got ${JSON.stringify(d)}`);
      return abs.toLowerCase();
    });
  }
  if (cli.insecureFallback) cfg.upstream.insecureFallback.enabled = true;
  return cfg;
}

/** The HTTP API's bearer token: `http.token`, or the content of `http.tokenFile` (trimmed, at least 16 characters). */
export function readHttpToken(http: HttpConfig): string | undefined {
  if (http.token !== undefined) return http.token;
  if (http.tokenFile === undefined) return undefined;
  let t: string;
  try {
    t = readFileSync(http.tokenFile, 'utf8').trim();
  } catch (err) {
    throw new ConfigError('http.tokenFile', `cannot read ${http.tokenFile}: ${(err as Error).message}`);
  }
  if (t.length < 16) throw new ConfigError('http.tokenFile', `${http.tokenFile} holds fewer than 16 characters`);
  return t;
}
