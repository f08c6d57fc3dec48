import type { UpstreamConfig } from '../upstream/config.js';
import { DEFAULT_LIMITS, DEFAULT_SKEW, type SkewPolicy, type ValidatorLimits } from '../validator/types.js';

/**
 * The daemon's configuration: its shape, defaults, and a validator whose every error names the field.
 * A config file (YAML or JSON) and the command line both end up here.
 */

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

export interface ListenAddress {
  address: string;
  port: number;
}

export type { UpstreamConfig };

export interface Config {
  listen: ListenAddress[];
  /** Empty means: the nameservers of /etc/resolv.conf, minus our own listen addresses. */
  upstreams: UpstreamConfig[];
  /** Client networks allowed to query (CIDR). Default: loopback only, never an open resolver. */
  allow: string[];
  logLevel: LogLevel;
  server: {
    udpMaxSize: number;
    tcpIdleTimeoutMs: number;
    tcpMaxConnections: number;
  };
  upstream: {
    /** Per-attempt timeout. */
    timeoutMs: number;
    /** Overall time allowed for one question across all upstreams and retries. */
    deadlineMs: number;
  };
  /** Trust anchor files (zone-file DS/DNSKEY or IANA root-anchors.xml). Empty: the shipped root anchors. */
  trustAnchors: string[];
  /** Signature backend: OpenSSL (node:crypto), pure JS, or OpenSSL with per-algorithm JS fallback. */
  crypto: CryptoChoice;
  validation: ValidatorLimits & { skew: SkewPolicy };
}

export type CryptoChoice = 'openssl' | 'js' | 'auto';
export const CRYPTO_CHOICES: readonly CryptoChoice[] = ['openssl', 'js', 'auto'];

export const LOG_LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

export function defaultConfig(): Config {
  return {
    listen: [{ address: '127.0.0.1', port: 5353 }],
    upstreams: [],
    allow: ['127.0.0.0/8', '::1/128'],
    logLevel: 'info',
    server: { udpMaxSize: 1232, tcpIdleTimeoutMs: 10_000, tcpMaxConnections: 256 },
    upstream: { timeoutMs: 1500, deadlineMs: 5000 },
    trustAnchors: [],
    crypto: 'auto',
    validation: { ...DEFAULT_LIMITS, skew: { ...DEFAULT_SKEW } },
  };
}

/** A configuration problem, always naming the offending field (e.g. `upstreams[1].priority`). */
export class ConfigError extends Error {
  readonly field: string;
  constructor(field: string, message: string) {
    super(`${field}: ${message}`);
    this.name = 'ConfigError';
    this.field = field;
  }
}

type Obj = Record<string, unknown>;

function describe(v: unknown): string {
  return v === undefined ? 'nothing' : JSON.stringify(v);
}

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function checkKeys(o: Obj, allowed: readonly string[], path: string): void {
  for (const k of Object.keys(o)) {
    if (!allowed.includes(k)) {
      const where = path ? `${path}.${k}` : k;
      throw new ConfigError(where, `unknown key (allowed here: ${allowed.join(', ')})`);
    }
  }
}

function int(v: unknown, path: string, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw new ConfigError(path, `expected an integer from ${min} to ${max}, got ${describe(v)}`);
  }
  return v;
}

function str(v: unknown, path: string): string {
  if (typeof v !== 'string' || v.length === 0) throw new ConfigError(path, `expected a non-empty string, got ${describe(v)}`);
  return v;
}

function arr(v: unknown, path: string): unknown[] {
  if (!Array.isArray(v)) throw new ConfigError(path, `expected a list, got ${describe(v)}`);
  return v;
}

/** Validators for address fields are injected so this module stays free of network code. */
export interface AddressCheckers {
  isIp(s: string): boolean;
  /** Throws an Error with a reason when the CIDR is malformed. */
  checkCidr(s: string): void;
}

function ip(v: unknown, path: string, c: AddressCheckers): string {
  const s = str(v, path);
  if (!c.isIp(s)) throw new ConfigError(path, `expected an IPv4 or IPv6 address, got ${describe(v)}`);
  return s;
}

/**
 * Validate a parsed config document (from YAML/JSON) on top of the defaults.
 * Unknown keys and bad values throw ConfigError naming the field.
 */
export function validateConfig(doc: unknown, c: AddressCheckers, base: Config = defaultConfig()): Config {
  if (doc === null || doc === undefined) return base;
  if (!isObj(doc)) throw new ConfigError('(top level)', `expected a mapping of settings, got ${describe(doc)}`);
  checkKeys(doc, ['listen', 'upstreams', 'allow', 'logLevel', 'server', 'upstream', 'trustAnchors', 'crypto', 'validation'], '');
  const cfg: Config = structuredClone(base);
  if (doc.listen !== undefined) {
    cfg.listen = arr(doc.listen, 'listen').map((e, i) => {
      const p = `listen[${i}]`;
      if (!isObj(e)) throw new ConfigError(p, `expected {address, port}, got ${describe(e)}`);
      checkKeys(e, ['address', 'port'], p);
      return { address: ip(e.address, `${p}.address`, c), port: e.port === undefined ? 53 : int(e.port, `${p}.port`, 0, 65535) };
    });
    if (cfg.listen.length === 0) throw new ConfigError('listen', 'at least one address is needed');
  }
  if (doc.upstreams !== undefined) {
    cfg.upstreams = arr(doc.upstreams, 'upstreams').map((e, i) => {
      const p = `upstreams[${i}]`;
      if (!isObj(e)) throw new ConfigError(p, `expected {address, port?, priority?}, got ${describe(e)}`);
      checkKeys(e, ['address', 'port', 'priority'], p);
      return {
        address: ip(e.address, `${p}.address`, c),
        port: e.port === undefined ? 53 : int(e.port, `${p}.port`, 1, 65535),
        priority: e.priority === undefined ? i + 1 : int(e.priority, `${p}.priority`, 0, 65535),
      };
    });
  }
  if (doc.allow !== undefined) {
    cfg.allow = arr(doc.allow, 'allow').map((e, i) => {
      const p = `allow[${i}]`;
      const s = str(e, p);
      try {
        c.checkCidr(s);
      } catch (err) {
        throw new ConfigError(p, (err as Error).message);
      }
      return s;
    });
  }
  if (doc.logLevel !== undefined) {
    if (!LOG_LEVELS.includes(doc.logLevel as LogLevel)) {
      throw new ConfigError('logLevel', `expected one of ${LOG_LEVELS.join(', ')}, got ${describe(doc.logLevel)}`);
    }
    cfg.logLevel = doc.logLevel as LogLevel;
  }
  if (doc.server !== undefined) {
    if (!isObj(doc.server)) throw new ConfigError('server', `expected a mapping, got ${describe(doc.server)}`);
    const s = doc.server;
    checkKeys(s, ['udpMaxSize', 'tcpIdleTimeoutMs', 'tcpMaxConnections'], 'server');
    if (s.udpMaxSize !== undefined) cfg.server.udpMaxSize = int(s.udpMaxSize, 'server.udpMaxSize', 512, 65535);
    if (s.tcpIdleTimeoutMs !== undefined) cfg.server.tcpIdleTimeoutMs = int(s.tcpIdleTimeoutMs, 'server.tcpIdleTimeoutMs', 100, 3_600_000);
    if (s.tcpMaxConnections !== undefined) cfg.server.tcpMaxConnections = int(s.tcpMaxConnections, 'server.tcpMaxConnections', 1, 100_000);
  }
  if (doc.upstream !== undefined) {
    if (!isObj(doc.upstream)) throw new ConfigError('upstream', `expected a mapping, got ${describe(doc.upstream)}`);
    const u = doc.upstream;
    checkKeys(u, ['timeoutMs', 'deadlineMs'], 'upstream');
    if (u.timeoutMs !== undefined) cfg.upstream.timeoutMs = int(u.timeoutMs, 'upstream.timeoutMs', 50, 60_000);
    if (u.deadlineMs !== undefined) cfg.upstream.deadlineMs = int(u.deadlineMs, 'upstream.deadlineMs', 100, 120_000);
  }
  if (doc.trustAnchors !== undefined) {
    cfg.trustAnchors = arr(doc.trustAnchors, 'trustAnchors').map((e, i) => str(e, `trustAnchors[${i}]`));
  }
  if (doc.crypto !== undefined) cfg.crypto = cryptoChoice(doc.crypto, 'crypto');
  if (doc.validation !== undefined) validateValidation(doc.validation, cfg);
  if (cfg.upstream.deadlineMs < cfg.upstream.timeoutMs) {
    throw new ConfigError('upstream.deadlineMs', `must be at least upstream.timeoutMs (${cfg.upstream.timeoutMs})`);
  }
  return cfg;
}

export function cryptoChoice(v: unknown, path: string): CryptoChoice {
  if (!CRYPTO_CHOICES.includes(v as CryptoChoice)) {
    throw new ConfigError(path, `expected one of ${CRYPTO_CHOICES.join(', ')}, got ${describe(v)}`);
  }
  return v as CryptoChoice;
}

const LIMIT_RANGES: Record<keyof ValidatorLimits, [number, number]> = {
  maxSignaturesPerRRset: [1, 64],
  maxKeysPerTag: [1, 64],
  maxSignaturesPerQuery: [1, 10_000],
  maxNsec3HashesPerQuery: [1, 100_000],
  maxNsec3Iterations: [0, 2500],
  maxChainLength: [1, 64],
};

function validateValidation(v: unknown, cfg: Config): void {
  if (!isObj(v)) throw new ConfigError('validation', `expected a mapping, got ${describe(v)}`);
  const keys = Object.keys(LIMIT_RANGES) as (keyof ValidatorLimits)[];
  checkKeys(v, [...keys, 'skew'], 'validation');
  for (const k of keys) {
    const [min, max] = LIMIT_RANGES[k];
    if (v[k] !== undefined) cfg.validation[k] = int(v[k], `validation.${k}`, min, max);
  }
  if (v.skew !== undefined) {
    const s = v.skew;
    if (!isObj(s)) throw new ConfigError('validation.skew', `expected a mapping, got ${describe(s)}`);
    checkKeys(s, ['fraction', 'minSeconds', 'maxSeconds'], 'validation.skew');
    if (s.fraction !== undefined) {
      if (typeof s.fraction !== 'number' || !(s.fraction >= 0 && s.fraction <= 1)) {
        throw new ConfigError('validation.skew.fraction', `expected a number from 0 to 1, got ${describe(s.fraction)}`);
      }
      cfg.validation.skew.fraction = s.fraction;
    }
    if (s.minSeconds !== undefined) cfg.validation.skew.minSeconds = int(s.minSeconds, 'validation.skew.minSeconds', 0, 604_800);
    if (s.maxSeconds !== undefined) cfg.validation.skew.maxSeconds = int(s.maxSeconds, 'validation.skew.maxSeconds', 0, 604_800);
    if (cfg.validation.skew.maxSeconds < cfg.validation.skew.minSeconds) {
      throw new ConfigError('validation.skew.maxSeconds', `must be at least validation.skew.minSeconds (${cfg.validation.skew.minSeconds})`);
    }
  }
}
