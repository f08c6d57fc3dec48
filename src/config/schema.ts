/**
 * The daemon's configuration: its shape and defaults. `validate.ts` checks a config document against it,
 * naming the offending field in every error; `load.ts` reads files and applies command-line flags.
 */
import type { ListenAddress } from '../net/address.js';
import { DEFAULT_LIMITS, DEFAULT_SKEW, type SkewPolicy, type ValidatorLimits } from '../validator/types.js';

export type { ListenAddress };

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
export const LOG_LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

export type CryptoChoice = 'openssl' | 'js' | 'auto';
export const CRYPTO_CHOICES: readonly CryptoChoice[] = ['openssl', 'js', 'auto'];

/** One upstream resolver (src/upstream asks it). */
export interface UpstreamConfig {
  /** IPv4 or IPv6 literal (IPv6 without brackets; a `%zone` suffix is allowed for link-local). */
  readonly address: string;
  readonly port: number;
  /** Lower is preferred. */
  readonly priority: number;
}

/** Upstreams used for one domain suffix instead of the global list (like a mail gateway's SMTP routes). */
export interface ForwardZone {
  /** Absolute domain name, e.g. "corp.example." */
  suffix: string;
  upstreams: UpstreamConfig[];
}

export interface CacheConfig {
  /** Memory bound of the answer cache, in bytes. */
  maxBytes: number;
  /** TTL caps in seconds. */
  maxTtl: number;
  minTtl: number;
  /** How long a BOGUS verdict is kept. */
  bogusTtl: number;
  /** How long an upstream failure or INDETERMINATE result is kept (a few seconds at most). */
  failureTtl: number;
  /** Serve-stale window (RFC 8767) in seconds, 0 to disable; stale answers go out with staleTtl. */
  staleWindow: number;
  staleTtl: number;
  /** Refresh entries asked for in the last 10% of their TTL. */
  prefetch: boolean;
  /**
   * Aggressive use of validated NSEC/NSEC3 (RFC 8198): answer NXDOMAIN, NODATA and wildcard expansions
   * from validated proofs and wildcards already held, without asking upstream (like Unbound's
   * aggressive-nsec, on by default). Their store takes up to 1/8 of maxBytes.
   */
  aggressiveNsec: boolean;
}

/**
 * Background fetches beyond the TTL refresh of `cache.prefetch`. `mail`: when a client is answered an MX RRset,
 * fetch what a DANE-doing MTA asks next (src/resolver/mail-prefetch.ts): A and AAAA of the first `mailHosts` MX
 * hosts by preference, then TLSA at `_25._tcp.<host>` of those whose address records are SECURE; at most
 * `maxInFlight` such resolutions at once, and none while client misses wait (admission).
 */
export interface PrefetchConfig {
  mail: boolean;
  mailHosts: number;
  maxInFlight: number;
}

/** RFC 5011 management of the trust anchor zones; durations in seconds. */
export interface AnchorManagement {
  /** Follow key rollovers of every anchor zone (RFC 5011); false keeps the configured anchors static. */
  rfc5011: boolean;
  /** A new key is trusted after this long of continuous presence (RFC 5011 §2.4.1: 30 days). */
  addHoldDown: number;
  /** A revoked key's entry is removed after this long (RFC 5011 §2.4.2: 30 days). */
  removeHoldDown: number;
  /** A trusted key missing for this long is forgotten (Unbound's keep-missing: 366 days). */
  keepMissing: number;
  /** Send the RFC 8145 §5 key-tag signal query (`_ta-XXXX`) at each refresh of the root. */
  signal: boolean;
}

export const DAY = 86_400;

/** The HTTP status API: where it listens (none: off), who may use it. */
export interface HttpConfig {
  listen: ListenAddress[];
  /** Bearer token every route but /healthz needs (required when a listen address is not loopback). */
  token: string | undefined;
  /** A file holding the token (read at start; trailing white space ignored). */
  tokenFile: string | undefined;
  /** Client networks allowed (CIDR); others get 403. */
  allow: string[];
}

/** The port of a listen address given without one (`--listen 127.0.0.1`, `listen: [{ address: 127.0.0.1 }]`). */
export const DEFAULT_LISTEN_PORT = 5353;

export interface Config {
  listen: ListenAddress[];
  /** Empty means: the nameservers of /etc/resolv.conf, minus our own listen addresses. */
  upstreams: UpstreamConfig[];
  /** Domain-specific upstreams (longest suffix wins). */
  forwardZones: ForwardZone[];
  /** Client networks allowed to query (CIDR). Default: loopback only, never an open resolver. */
  allow: string[];
  logLevel: LogLevel;
  server: {
    udpMaxSize: number;
    /** SO_RCVBUF of every UDP listener, bytes (0: the kernel's default); absorbs query bursts. */
    udpReceiveBuffer: number;
    tcpIdleTimeoutMs: number;
    tcpMaxConnections: number;
    /**
     * Fairness (src/resolver/admission.ts): upstream resolutions running at once over all clients, and queries
     * of one client address waiting on resolutions. A cache miss past either is answered SERVFAIL with an EDE
     * ("too many queries in flight ...") at once instead of queueing; cached answers are never refused.
     * 0: no bound; both 0: no admission at all (misses start as they come, without turns).
     */
    maxResolutions: number;
    maxResolutionsPerClient: number;
    /** REFUSED replies per second to one client outside `allow`, and over all of them; past either: dropped. */
    refusedRatePerSource: number;
    refusedRateTotal: number;
    /**
     * Start-up self-test and warm-up (src/selftest): about this many queries over a freshly signed tree,
     * through a private listener, resolver and validator, before the listeners open. 0 disables it.
     */
    warmupQueries: number;
  };
  upstream: {
    /** Per-attempt timeout. */
    timeoutMs: number;
    /** Overall time allowed for one question across all upstreams and retries. */
    deadlineMs: number;
    /** DNSSEC-capability probe interval (and at start; at once after failures). */
    probeIntervalMs: number;
    /** DNSSEC-capable upstreams that must agree before an answer is declared BOGUS (like Unbound's val-max-restart). */
    bogusConfirmations: number;
    /**
     * When no DNSSEC-capable upstream is reachable, ask a non-DNSSEC one anyway and answer INSECURE
     * (never SECURE) instead of SERVFAIL: globally, or for the listed domain suffixes. Default off.
     */
    insecureFallback: { enabled: boolean; domains: string[] };
  };
  /** Trust anchor files (zone-file DS/DNSKEY or IANA root-anchors.xml). Empty: the shipped root anchors. */
  trustAnchors: string[];
  /** How the anchor zones are managed (config `trustAnchors: { files, rfc5011, addHoldDown, ... }`). */
  anchorManagement: AnchorManagement;
  /** Managed state (the RFC 5011 anchor files), created with mode 0700. */
  stateDir: string;
  /** The HTTP status API and /metrics (src/http). */
  http: HttpConfig;
  /** Domains whose answers are treated as INSECURE (RFC 7646), for internal zones the public chain calls bogus. */
  negativeTrustAnchors: string[];
  /** Signature backend: OpenSSL (node:crypto), pure JS, or OpenSSL with per-algorithm JS fallback. */
  crypto: CryptoChoice;
  validation: ValidatorLimits & { skew: SkewPolicy };
  cache: CacheConfig;
  /** MTA-aware prefetch (config `prefetch: { mail, mailHosts, maxInFlight }`). */
  prefetch: PrefetchConfig;
  /** What loading chose for the operator and must say at start (e.g. the port of a listen address given without one). */
  notices?: string[];
}

export function defaultConfig(): Config {
  return {
    listen: [{ address: '127.0.0.1', port: DEFAULT_LISTEN_PORT }],
    upstreams: [],
    forwardZones: [],
    allow: ['127.0.0.0/8', '::1/128'],
    logLevel: 'info',
    server: { udpMaxSize: 1232, udpReceiveBuffer: 4 * 1024 * 1024, tcpIdleTimeoutMs: 10_000, tcpMaxConnections: 256,
      maxResolutions: 1024, maxResolutionsPerClient: 256, refusedRatePerSource: 5, refusedRateTotal: 100, warmupQueries: 3000 },
    upstream: {
      timeoutMs: 1500,
      deadlineMs: 5000,
      probeIntervalMs: 300_000,
      bogusConfirmations: 2,
      insecureFallback: { enabled: false, domains: [] },
    },
    trustAnchors: [],
    anchorManagement: { rfc5011: true, addHoldDown: 30 * DAY, removeHoldDown: 30 * DAY, keepMissing: 366 * DAY, signal: true },
    stateDir: '/var/lib/dnssec-stubd',
    http: { listen: [{ address: '127.0.0.1', port: 8053 }], token: undefined, tokenFile: undefined, allow: ['127.0.0.0/8', '::1/128'] },
    negativeTrustAnchors: [],
    crypto: 'auto',
    validation: { ...DEFAULT_LIMITS, skew: { ...DEFAULT_SKEW } },
    cache: {
      maxBytes: 64 * 1024 * 1024,
      maxTtl: 86_400,
      minTtl: 0,
      bogusTtl: 60,
      failureTtl: 5,
      staleWindow: 86_400,
      staleTtl: 30,
      prefetch: true,
      aggressiveNsec: true,
    },
    prefetch: { mail: true, mailHosts: 4, maxInFlight: 32 },
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

/** Checks for address fields, injected (the daemon's: `addressCheckers` in fields.ts, over src/net/address.ts). */
export interface AddressCheckers {
  isIp(s: string): boolean;
  /** Throws an Error with a reason when the CIDR is malformed. */
  checkCidr(s: string): void;
}
