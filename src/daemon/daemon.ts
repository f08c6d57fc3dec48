/**
 * The daemon: the one composition root. It builds the stack (stack.ts) and the listeners from a
 * validated configuration, runs the start-up self-test before the listeners open, and gives read
 * access to everything the operator surface shows: every component's statistics, upstream states with
 * their evidence, anchors, cache sizes, the self-test result, the crypto backend per algorithm, and
 * one event per answered query (`onQuery`).
 */
import { pino, type Logger } from 'pino';
import type { AnchorManager, ManagedZoneView } from '../anchors/manager.js';
import { systemClock, type Clock } from '../clock.js';
import { addressCheckers } from '../config/fields.js';
import { loadConfig, type CliOverrides } from '../config/load.js';
import { ConfigError, type Config, type UpstreamConfig } from '../config/schema.js';
import type { BackendChoice, MemoStats } from '../crypto/index.js';
import { endpointLabel } from '../net/address.js';
import type { CacheStats } from '../resolver/cached.js';
import type { ClockStatus } from '../resolver/clock-sanity.js';
import type { ResolverStats } from '../resolver/resolve.js';
import type { SelfTestReport } from '../selftest/checks.js';
import { startServer, ServerConfigError } from '../server/index.js';
import type { BoundAddress, ServerHandle, ServerStats } from '../server/types.js';
import type { RouteSnapshot } from '../upstream/router.js';
import type { ChainStats } from '../validator/chain.js';
import { Name } from '../wire/index.js';
import { startHttpApi, type HttpApi } from '../http/api.js';
import { createMetrics } from '../metrics/index.js';
import type { MetricsLike } from '../http/routes.js';
import { QueryEvents, type QueryListener } from './events.js';
import { runSelfTest } from './selftest.js';
import { buildStack, type Stack } from './stack.js';
import { openAnchorManager } from './anchors.js';
import { resolveUpstreams } from './upstreams.js';
import { InFlight, type DrainResult } from './inflight.js';
import { reportValidationCapability } from './notices.js';
import { checkListenAddresses, listenFailure, sourcePortWarning } from './preflight.js';
import { reloadConfig, type ReloadOutcome } from './reload.js';

/** The package version (package.json), for the status API. */
export const VERSION = '0.1.0';

export interface AnchorSummary {
  zone: string;
  ds: number;
  dnskeys: number;
}

/** Everything the daemon can say about itself, read at once. */
export interface DaemonStats {
  /** Listener counters (queries, responses by rcode, drops); absent before start(). */
  server: ServerStats | undefined;
  resolver: Readonly<ResolverStats>;
  cache: CacheStats;
  chain: ChainStats;
  /** Per route (global, forward zones): upstreams with priority, DNSSEC state and evidence. */
  upstreams: RouteSnapshot[];
  /** The trust anchors in use now (after RFC 5011 changes). */
  anchors: AnchorSummary[];
  /** Per managed zone: every key with its RFC 5011 state and timers, the last and next refresh (absent when not managed). */
  managedAnchors: ManagedZoneView[] | undefined;
  /** The start-up self-test's report; undefined when it did not run (warmupQueries 0) or has not yet. */
  selfTest: SelfTestReport | undefined;
  /** The signature backend each DNSSEC algorithm uses. */
  crypto: Record<number, BackendChoice>;
  /** Signature verifications by algorithm and result, and the memo of good signatures. */
  signatures: MemoStats;
  /** Whether the system clock looks wrong (signatures of many zones, the root's included, outside their validity). */
  clock: ClockStatus;
}

export interface DaemonOptions {
  logger?: Logger;
  /** What serves GET /metrics, made once the daemon exists (default: src/metrics when the HTTP API is on; null: none). */
  metrics?: ((daemon: Daemon) => MetricsLike & { close?(): void }) | null;
  /** Time for hold-downs, validation and the cache (tests use a ManualClock). */
  clock?: Clock;
}

export class Daemon {
  readonly stack: Stack;
  readonly log: Logger;
  /** The daemon's time: validation, the anchors' hold-downs, and what readers of it (the DANE check) compare dates with. */
  readonly clock: Clock;
  private readonly events = new QueryEvents();
  private server: ServerHandle | undefined;
  private manager: AnchorManager | undefined;
  private http: HttpApi | undefined;
  private metrics: (MetricsLike & { close?(): void }) | undefined;
  private report: SelfTestReport | undefined;
  /** The handler's queries under way (a clean stop answers them first). */
  private readonly inflight = new InFlight();

  /** Where the HTTP status API listens (empty: off, or before start()). */
  get httpAddresses(): readonly { address: string; port: number }[] {
    return this.http?.addresses ?? [];
  }

  /** `config` and `upstreams` are the ones in effect: a reload (SIGHUP) replaces them. */
  constructor(public config: Config, public upstreams: UpstreamConfig[], private readonly opts: DaemonOptions = {}) {
    this.log = opts.logger ?? pino({ level: config.logLevel, base: { name: 'dnssec-stubd' } });
    this.clock = opts.clock ?? systemClock;
    this.stack = buildStack(config, upstreams, { clock: this.clock, logger: this.log });
  }

  /** The listeners' addresses (empty before start()). */
  get addresses(): readonly BoundAddress[] {
    return this.server?.addresses ?? [];
  }

  /** The RFC 5011 anchor manager (absent with `trustAnchors.rfc5011: false`, or before start()). */
  get anchorManager(): AnchorManager | undefined {
    return this.manager;
  }

  /**
   * Start the upstream probes and the RFC 5011 anchor manager (its state replaces the configured anchors),
   * run the self-test, then open the listeners.
   */
  async start(): Promise<void> {
    const cfg = this.config;
    // A port another process holds fails now, not after the probes and the self-test (preflight.ts).
    await checkListenAddresses(cfg.listen, cfg.http.listen);
    const risk = sourcePortWarning(cfg.listen, cfg.http.listen);
    if (risk) this.log.warn({ ports: risk.ports, ephemeralRange: risk.range }, risk.message);
    const probed = this.stack.start();
    if (cfg.anchorManagement.rfc5011) {
      this.manager = await openAnchorManager(cfg, this.stack, this.clock, this.log);
      this.stack.chain.setAnchors(this.manager.anchors());
      this.manager.start();
    }
    // The upstream probes run meanwhile; the listeners open once the self-test is done.
    if (cfg.server.warmupQueries > 0) await this.selfTest();
    // The HTTP API and the metrics start before the DNS listeners open (issue 15): building them (fastify and its
    // route schemas, the metrics registry) takes about 150 ms of CPU, which the first queries waited behind when
    // it came after. /readyz says "not ready" until the listeners are open.
    try {
      // Prometheus metrics only where they can be scraped: with no HTTP API, no query event is even built.
      if (cfg.http.listen.length > 0 && this.opts.metrics !== null) this.metrics = (this.opts.metrics ?? createMetrics)(this);
      this.http = await startHttpApi(this, this.metrics, VERSION);
    } catch (err) {
      await this.close();
      throw err;
    }
    try {
      this.server = await startServer({
        listen: cfg.listen,
        handler: this.inflight.wrap(this.stack.cached.handler),
        fastPath: this.stack.cached.fastPath,
        allow: cfg.allow,
        udpMaxSize: cfg.server.udpMaxSize,
        udpReceiveBuffer: cfg.server.udpReceiveBuffer,
        tcpIdleTimeoutMs: cfg.server.tcpIdleTimeoutMs,
        tcpMaxConnections: cfg.server.tcpMaxConnections,
        refusedRatePerSource: cfg.server.refusedRatePerSource,
        refusedRateTotal: cfg.server.refusedRateTotal,
        now: () => this.clock.now(),
        logger: this.log,
        events: this.events,
      });
    } catch (err) {
      await this.teardown();
      if (err instanceof ServerConfigError) throw new ConfigError(err.field, err.message.replace(`${err.field}: `, ''));
      const e = err as NodeJS.ErrnoException & { address?: string; port?: number };
      if (e.code === 'EADDRINUSE' || e.code === 'EACCES' || e.code === 'EADDRNOTAVAIL') {
        throw listenFailure('DNS', e.address ?? cfg.listen[0]!.address, e.port ?? cfg.listen[0]!.port, e.syscall === 'bind' ? 'udp' : 'tcp', e);
      }
      throw err;
    }
    this.log.info(
      {
        http: this.http?.addresses.map((a) => `${a.address}:${a.port}`) ?? 'off',
        listen: this.server.addresses.map((a) => `${a.transport}/${a.family === 6 ? `[${a.address}]` : a.address}:${a.port}`),
        upstreams: this.upstreams.map((u) => `${endpointLabel(u)} priority ${u.priority}`),
        allow: cfg.allow,
        trustAnchors: this.stack.anchors.map((a) => `${a.zone.toText()} (${a.ds.length} DS, ${a.dnskeys.length} DNSKEY)`),
        crypto: cfg.crypto,
        cache: { maxBytes: cfg.cache.maxBytes, maxTtl: cfg.cache.maxTtl, staleWindow: cfg.cache.staleWindow, prefetch: cfg.cache.prefetch },
        mailPrefetch: cfg.prefetch.mail ? { mailHosts: cfg.prefetch.mailHosts, maxInFlight: cfg.prefetch.maxInFlight } : 'off',
      },
      'dnssec-stubd started',
    );
    // Once the first probes are done: said loudly, once, when no upstream can serve validation (notices.ts).
    void probed.then(() => {
      if (this.server && this.stack.router) reportValidationCapability(this.stack.router.snapshot(), this.config, this.log);
    });
  }

  /**
   * Read the configuration again (SIGHUP; reload.ts): upstreams, forward zones, the allow list, negative trust
   * anchors and the log level change at once, the cache and the listeners stay; a bad file changes nothing.
   */
  async reload(cli: CliOverrides, resolvConf?: string): Promise<ReloadOutcome> {
    const outcome = await reloadConfig({
      log: this.log, stack: this.stack, clock: this.clock, config: this.config, upstreams: this.upstreams,
      setAllow: (allow) => this.server?.setAllow(allow),
      flush: (name) => this.flush(name),
    }, cli, resolvConf);
    if (outcome.kind === 'applied') ({ config: this.config, upstreams: this.upstreams } = outcome);
    return outcome;
  }

  /**
   * A clean stop (SIGTERM): take no new work (queries the cache cannot answer get SERVFAIL, EDE 14), answer the
   * queries under way for up to `graceMs` (default upstream.deadlineMs), then close, the RFC 5011 state saved.
   */
  async shutdown(graceMs = this.config.upstream.deadlineMs): Promise<DrainResult> {
    const r = await this.inflight.drain(graceMs);
    this.log.info({ ...r }, r.abandoned ? `stopping: ${r.abandoned} queries still unanswered after ${graceMs} ms` : `stopping: ${r.inFlight} queries in flight answered`);
    await this.close();
    return r;
  }

  /** Close the listeners and stop the probes. */
  async close(): Promise<void> {
    await this.teardown();
    this.log.info({}, 'dnssec-stubd stopped');
  }

  /** Everything start() opened, closed: the HTTP API, the metrics, the probes, the anchor manager, the listeners. */
  private async teardown(): Promise<void> {
    await this.http?.close();
    this.http = undefined;
    this.metrics?.close?.();
    this.metrics = undefined;
    this.stack.stop();
    await this.manager?.close();
    if (this.server) await this.server.close();
  }

  /**
   * Flush the answer cache, the RFC 8198 store and the chain of trust's key cache: everything, or one
   * name and every name below it (presentation form, e.g. "example.org"). Returns the answers dropped.
   */
  flush(name?: string): number {
    return this.stack.cached.flush(name === undefined ? undefined : Name.fromText(name));
  }

  /** Attach a listener to the query events (one per answered query); returns the function that detaches it. */
  onQuery(listener: QueryListener): () => void {
    return this.events.subscribe(listener);
  }

  stats(): DaemonStats {
    const { stack } = this;
    return {
      server: this.server?.stats(),
      resolver: stack.resolver.stats(),
      cache: stack.cached.stats(),
      chain: stack.chain.stats(),
      upstreams: stack.router?.snapshot() ?? [],
      anchors: stack.chain.trustAnchors().map((a) => ({ zone: a.zone.toText(), ds: a.ds.length, dnskeys: a.dnskeys.length })),
      managedAnchors: this.manager?.snapshot(),
      selfTest: this.report,
      crypto: stack.backends(),
      signatures: stack.crypto.stats(),
      clock: stack.clockSanity.status(),
    };
  }

  /** The start-up self-test and warm-up (src/selftest), logged: info when every check passed, else error. */
  private async selfTest(): Promise<void> {
    const cfg = this.config;
    try {
      const r = await runSelfTest(cfg, this.clock, cfg.server.warmupQueries);
      this.report = r;
      const detail = { queries: r.queries, ms: r.ms, passed: r.passed, failed: r.failed };
      if (r.failures.length === 0) this.log.info(detail, 'self-test passed: a freshly signed tree validated end to end');
      else this.log.error({ ...detail, failures: r.failures }, 'self-test FAILED: some answers of the signed test tree were not what it holds (a failed algorithm points at the crypto backend; see failed, failures)');
    } catch (err) {
      this.log.error({ err }, 'self-test could not run');
    }
  }
}

export interface StartOptions extends DaemonOptions {
  /** resolv.conf to read when no upstream is configured (default /etc/resolv.conf). */
  resolvConf?: string;
}

/** Load the configuration (flags over the file), pick the upstreams, build and start the daemon. */
export async function startDaemon(cli: CliOverrides, opts: StartOptions = {}): Promise<Daemon> {
  const cfg = loadConfig(cli, addressCheckers);
  const log = opts.logger ?? pino({ level: cfg.logLevel, base: { name: 'dnssec-stubd' } });
  const upstreams = await resolveUpstreams(cfg, log, opts.resolvConf);
  for (const n of cfg.notices ?? []) log.warn({}, n);
  const daemon = new Daemon(cfg, upstreams, { ...opts, logger: log });
  await daemon.start();
  return daemon;
}
