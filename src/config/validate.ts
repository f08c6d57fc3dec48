/** Validate a parsed config document (YAML/JSON) on top of the defaults; every error names its field. */
import { Name } from '../wire/index.js';
import type { ValidatorLimits } from '../validator/types.js';
import { arr, bool, checkKeys, describe, domain, int, ip, isObj, listenPortNotice, num, obj, oneOf, str, type Obj } from './fields.js';
import {
  CRYPTO_CHOICES, ConfigError, DEFAULT_LISTEN_PORT, LOG_LEVELS, defaultConfig,
  type AddressCheckers, type Config, type CryptoChoice, type UpstreamConfig,
} from './schema.js';

const TOP_KEYS = [
  'listen', 'upstreams', 'forwardZones', 'allow', 'logLevel', 'server', 'upstream', 'trustAnchors',
  'stateDir', 'http', 'negativeTrustAnchors', 'crypto', 'validation', 'cache', 'prefetch',
] as const;

export function isDomainName(s: string): boolean {
  try {
    Name.fromText(s);
    return true;
  } catch {
    return false;
  }
}

export function cryptoChoice(v: unknown, path: string): CryptoChoice {
  return oneOf(v, path, CRYPTO_CHOICES);
}

function upstreamList(v: unknown, path: string, c: AddressCheckers): UpstreamConfig[] {
  return arr(v, path).map((e, i) => {
    const p = `${path}[${i}]`;
    const u = obj(e, p, ['address', 'port', 'priority']);
    return {
      address: ip(u.address, `${p}.address`, c),
      port: u.port === undefined ? 53 : int(u.port, `${p}.port`, 1, 65535),
      priority: u.priority === undefined ? i + 1 : int(u.priority, `${p}.priority`, 0, 65535),
    };
  });
}

const LIMIT_RANGES: Record<keyof ValidatorLimits, [number, number]> = {
  maxSignaturesPerRRset: [1, 64],
  maxKeysPerTag: [1, 64],
  maxSignaturesPerQuery: [1, 10_000],
  maxNsec3HashesPerQuery: [1, 100_000],
  maxNsec3Iterations: [0, 2500],
  maxChainLength: [1, 64],
};

function validation(v: unknown, cfg: Config): void {
  const keys = Object.keys(LIMIT_RANGES) as (keyof ValidatorLimits)[];
  const o = obj(v, 'validation', [...keys, 'skew']);
  for (const k of keys) {
    const [min, max] = LIMIT_RANGES[k];
    if (o[k] !== undefined) cfg.validation[k] = int(o[k], `validation.${k}`, min, max);
  }
  if (o.skew === undefined) return;
  const s = obj(o.skew, 'validation.skew', ['fraction', 'minSeconds', 'maxSeconds']);
  const skew = cfg.validation.skew;
  if (s.fraction !== undefined) skew.fraction = num(s.fraction, 'validation.skew.fraction', 0, 1);
  if (s.minSeconds !== undefined) skew.minSeconds = int(s.minSeconds, 'validation.skew.minSeconds', 0, 604_800);
  if (s.maxSeconds !== undefined) skew.maxSeconds = int(s.maxSeconds, 'validation.skew.maxSeconds', 0, 604_800);
  if (skew.maxSeconds < skew.minSeconds) {
    throw new ConfigError('validation.skew.maxSeconds', `must be at least validation.skew.minSeconds (${skew.minSeconds})`);
  }
}

function server(v: unknown, cfg: Config): void {
  const s = obj(v, 'server', [
    'udpMaxSize', 'udpReceiveBuffer', 'tcpIdleTimeoutMs', 'tcpMaxConnections', 'warmupQueries',
    'maxResolutions', 'maxResolutionsPerClient', 'refusedRatePerSource', 'refusedRateTotal',
  ]);
  if (s.udpMaxSize !== undefined) cfg.server.udpMaxSize = int(s.udpMaxSize, 'server.udpMaxSize', 512, 65535);
  if (s.udpReceiveBuffer !== undefined) cfg.server.udpReceiveBuffer = int(s.udpReceiveBuffer, 'server.udpReceiveBuffer', 0, 1 << 30);
  if (s.tcpIdleTimeoutMs !== undefined) cfg.server.tcpIdleTimeoutMs = int(s.tcpIdleTimeoutMs, 'server.tcpIdleTimeoutMs', 100, 3_600_000);
  if (s.tcpMaxConnections !== undefined) cfg.server.tcpMaxConnections = int(s.tcpMaxConnections, 'server.tcpMaxConnections', 1, 100_000);
  if (s.warmupQueries !== undefined) cfg.server.warmupQueries = int(s.warmupQueries, 'server.warmupQueries', 0, 1_000_000);
  if (s.maxResolutions !== undefined) cfg.server.maxResolutions = resolutionBound(s.maxResolutions, 'server.maxResolutions');
  if (s.maxResolutionsPerClient !== undefined) {
    cfg.server.maxResolutionsPerClient = resolutionBound(s.maxResolutionsPerClient, 'server.maxResolutionsPerClient');
  }
  if (s.refusedRatePerSource !== undefined) cfg.server.refusedRatePerSource = int(s.refusedRatePerSource, 'server.refusedRatePerSource', 0, 1_000_000);
  if (s.refusedRateTotal !== undefined) cfg.server.refusedRateTotal = int(s.refusedRateTotal, 'server.refusedRateTotal', 0, 1_000_000);
}

/** 0 (no bound) or at least 16: the start-up self-test asks 16 questions at a time through a stack built with the bounds. */
function resolutionBound(v: unknown, path: string): number {
  const n = int(v, path, 0, 1_000_000);
  if (n > 0 && n < 16) throw new ConfigError(path, `expected 0 (no bound) or at least 16, got ${n}`);
  return n;
}

function upstream(v: unknown, cfg: Config): void {
  const u = obj(v, 'upstream', ['timeoutMs', 'deadlineMs', 'probeIntervalMs', 'bogusConfirmations', 'insecureFallback']);
  const up = cfg.upstream;
  if (u.timeoutMs !== undefined) up.timeoutMs = int(u.timeoutMs, 'upstream.timeoutMs', 50, 60_000);
  if (u.deadlineMs !== undefined) up.deadlineMs = int(u.deadlineMs, 'upstream.deadlineMs', 100, 120_000);
  if (u.probeIntervalMs !== undefined) up.probeIntervalMs = int(u.probeIntervalMs, 'upstream.probeIntervalMs', 1000, 86_400_000);
  if (u.bogusConfirmations !== undefined) up.bogusConfirmations = int(u.bogusConfirmations, 'upstream.bogusConfirmations', 1, 10);
  if (u.insecureFallback !== undefined) {
    const f = obj(u.insecureFallback, 'upstream.insecureFallback', ['enabled', 'domains']);
    if (f.enabled !== undefined) up.insecureFallback.enabled = bool(f.enabled, 'upstream.insecureFallback.enabled');
    if (f.domains !== undefined) {
      up.insecureFallback.domains = arr(f.domains, 'upstream.insecureFallback.domains')
        .map((d, i) => domain(d, `upstream.insecureFallback.domains[${i}]`, isDomainName));
    }
  }
}

function cache(v: unknown, cfg: Config): void {
  const c = obj(v, 'cache', ['maxBytes', 'maxTtl', 'minTtl', 'bogusTtl', 'failureTtl', 'staleWindow', 'staleTtl', 'prefetch', 'aggressiveNsec']);
  const t = cfg.cache;
  if (c.maxBytes !== undefined) t.maxBytes = int(c.maxBytes, 'cache.maxBytes', 65_536, 2 ** 40);
  if (c.maxTtl !== undefined) t.maxTtl = int(c.maxTtl, 'cache.maxTtl', 0, 7 * 86_400);
  if (c.minTtl !== undefined) t.minTtl = int(c.minTtl, 'cache.minTtl', 0, 86_400);
  if (c.bogusTtl !== undefined) t.bogusTtl = int(c.bogusTtl, 'cache.bogusTtl', 0, 86_400);
  if (c.failureTtl !== undefined) t.failureTtl = int(c.failureTtl, 'cache.failureTtl', 0, 30);
  if (c.staleWindow !== undefined) t.staleWindow = int(c.staleWindow, 'cache.staleWindow', 0, 7 * 86_400);
  if (c.staleTtl !== undefined) t.staleTtl = int(c.staleTtl, 'cache.staleTtl', 1, 3600);
  if (c.prefetch !== undefined) t.prefetch = bool(c.prefetch, 'cache.prefetch');
  if (c.aggressiveNsec !== undefined) t.aggressiveNsec = bool(c.aggressiveNsec, 'cache.aggressiveNsec');
  if (t.minTtl > t.maxTtl) throw new ConfigError('cache.minTtl', `must not exceed cache.maxTtl (${t.maxTtl})`);
}

/** `prefetch`: `{ mail, mailHosts, maxInFlight }` (the MTA-aware prefetch; the TTL refresh is `cache.prefetch`). */
function prefetch(v: unknown, cfg: Config): void {
  const p = obj(v, 'prefetch', ['mail', 'mailHosts', 'maxInFlight']);
  const t = cfg.prefetch;
  if (p.mail !== undefined) t.mail = bool(p.mail, 'prefetch.mail');
  // Bounds against typos: an MTA tries only the first few MX hosts, and the cap is over all MX answers.
  if (p.mailHosts !== undefined) t.mailHosts = int(p.mailHosts, 'prefetch.mailHosts', 1, 32);
  if (p.maxInFlight !== undefined) t.maxInFlight = int(p.maxInFlight, 'prefetch.maxInFlight', 1, 1024);
}

/** A duration in seconds: a number, or a string such as "30d", "12h", "90m", "45s" or "2w". */
export function duration(v: unknown, path: string, min: number, max: number): number {
  if (typeof v === 'number') return int(v, path, min, max);
  const m = typeof v === 'string' ? /^(\d+)\s*([smhdw]?)$/.exec(v.trim()) : null;
  if (!m) throw new ConfigError(path, `expected seconds or a duration like "30d", "12h", "90m", got ${describe(v)}`);
  const unit = { '': 1, s: 1, m: 60, h: 3600, d: 86_400, w: 604_800 }[m[2] as '' | 's' | 'm' | 'h' | 'd' | 'w'];
  return int(Number(m[1]) * unit, path, min, max);
}

/** `http`: `{ listen: [{address, port}] | "off", token, tokenFile, allow: [cidr] }`. */
function http(v: unknown, cfg: Config, c: AddressCheckers): void {
  const h = obj(v, 'http', ['listen', 'token', 'tokenFile', 'allow']);
  const t = cfg.http;
  if (h.listen === 'off') t.listen = [];
  else if (h.listen !== undefined) {
    t.listen = arr(h.listen, 'http.listen').map((e, i) => {
      const p = `http.listen[${i}]`;
      const l = obj(e, p, ['address', 'port']);
      return { address: ip(l.address, `${p}.address`, c), port: l.port === undefined ? 8053 : int(l.port, `${p}.port`, 0, 65535) };
    });
  }
  if (h.token !== undefined) {
    t.token = str(h.token, 'http.token');
    if (t.token.length < 16) throw new ConfigError('http.token', 'use at least 16 characters');
  }
  if (h.tokenFile !== undefined) t.tokenFile = str(h.tokenFile, 'http.tokenFile');
  if (h.allow !== undefined) {
    t.allow = arr(h.allow, 'http.allow').map((e, i) => {
      const s = str(e, `http.allow[${i}]`);
      try {
        c.checkCidr(s);
      } catch (err) {
        throw new ConfigError(`http.allow[${i}]`, (err as Error).message);
      }
      return s;
    });
  }
}

/** `trustAnchors`: a list of files, or `{ files, rfc5011, addHoldDown, removeHoldDown, keepMissing, signal }`. */
function trustAnchors(v: unknown, cfg: Config): void {
  const files = (x: unknown, path: string): string[] => arr(x, path).map((e, i) => str(e, `${path}[${i}]`));
  if (Array.isArray(v)) {
    cfg.trustAnchors = files(v, 'trustAnchors');
    return;
  }
  const t = obj(v, 'trustAnchors', ['files', 'rfc5011', 'addHoldDown', 'removeHoldDown', 'keepMissing', 'signal']);
  const m = cfg.anchorManagement;
  if (t.files !== undefined) cfg.trustAnchors = files(t.files, 'trustAnchors.files');
  if (t.rfc5011 !== undefined) m.rfc5011 = bool(t.rfc5011, 'trustAnchors.rfc5011');
  // Tests shorten the hold-downs to seconds; more than 10 years is a typo.
  if (t.addHoldDown !== undefined) m.addHoldDown = duration(t.addHoldDown, 'trustAnchors.addHoldDown', 1, 3650 * 86_400);
  if (t.removeHoldDown !== undefined) m.removeHoldDown = duration(t.removeHoldDown, 'trustAnchors.removeHoldDown', 1, 3650 * 86_400);
  if (t.keepMissing !== undefined) m.keepMissing = duration(t.keepMissing, 'trustAnchors.keepMissing', 1, 3650 * 86_400);
  if (t.signal !== undefined) m.signal = bool(t.signal, 'trustAnchors.signal');
}

function forwardZones(v: unknown, c: AddressCheckers): Config['forwardZones'] {
  return arr(v, 'forwardZones').map((e, i) => {
    const p = `forwardZones[${i}]`;
    const z = obj(e, p, ['suffix', 'upstreams']);
    const upstreams = upstreamList(z.upstreams, `${p}.upstreams`, c);
    if (upstreams.length === 0) throw new ConfigError(`${p}.upstreams`, 'at least one upstream is needed');
    return { suffix: domain(z.suffix, `${p}.suffix`, isDomainName), upstreams };
  });
}

/**
 * Validate a parsed config document on top of `base` (the defaults). Unknown keys and bad values
 * throw ConfigError naming the field.
 */
export function validateConfig(doc: unknown, c: AddressCheckers, base: Config = defaultConfig()): Config {
  if (doc === null || doc === undefined) return base;
  if (!isObj(doc)) throw new ConfigError('(top level)', `expected a mapping of settings, got ${describe(doc)}`);
  checkKeys(doc, TOP_KEYS, '');
  const d: Obj = doc;
  const cfg: Config = structuredClone(base);
  if (d.listen !== undefined) {
    cfg.listen = arr(d.listen, 'listen').map((e, i) => {
      const p = `listen[${i}]`;
      const l = obj(e, p, ['address', 'port']);
      const address = ip(l.address, `${p}.address`, c);
      if (l.port !== undefined) return { address, port: int(l.port, `${p}.port`, 0, 65535) };
      cfg.notices = [...(cfg.notices ?? []), listenPortNotice(`${p} (${address})`, address)];
      return { address, port: DEFAULT_LISTEN_PORT };
    });
    if (cfg.listen.length === 0) throw new ConfigError('listen', 'at least one address is needed');
  }
  if (d.upstreams !== undefined) cfg.upstreams = upstreamList(d.upstreams, 'upstreams', c);
  if (d.forwardZones !== undefined) cfg.forwardZones = forwardZones(d.forwardZones, c);
  if (d.allow !== undefined) {
    cfg.allow = arr(d.allow, 'allow').map((e, i) => {
      const s = str(e, `allow[${i}]`);
      try {
        c.checkCidr(s);
      } catch (err) {
        throw new ConfigError(`allow[${i}]`, (err as Error).message);
      }
      return s;
    });
  }
  if (d.logLevel !== undefined) cfg.logLevel = oneOf(d.logLevel, 'logLevel', LOG_LEVELS);
  if (d.server !== undefined) server(d.server, cfg);
  if (d.upstream !== undefined) upstream(d.upstream, cfg);
  if (d.trustAnchors !== undefined) trustAnchors(d.trustAnchors, cfg);
  if (d.http !== undefined) http(d.http, cfg, c);
  if (d.stateDir !== undefined) {
    cfg.stateDir = str(d.stateDir, 'stateDir');
    if (cfg.stateDir === '') throw new ConfigError('stateDir', 'expected a directory path, got ""');
  }
  if (d.negativeTrustAnchors !== undefined) {
    cfg.negativeTrustAnchors = arr(d.negativeTrustAnchors, 'negativeTrustAnchors').map((e, i) => domain(e, `negativeTrustAnchors[${i}]`, isDomainName));
  }
  if (d.crypto !== undefined) cfg.crypto = cryptoChoice(d.crypto, 'crypto');
  if (d.validation !== undefined) validation(d.validation, cfg);
  if (d.cache !== undefined) cache(d.cache, cfg);
  if (d.prefetch !== undefined) prefetch(d.prefetch, cfg);
  if (cfg.upstream.deadlineMs < cfg.upstream.timeoutMs) {
    throw new ConfigError('upstream.deadlineMs', `must be at least upstream.timeoutMs (${cfg.upstream.timeoutMs})`);
  }
  return cfg;
}
