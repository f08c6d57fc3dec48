/** `dnssec-stubd serve`: load the configuration, wire listener -> resolver -> upstream pool, run until a signal. */
import { pino, type Logger } from 'pino';
import { addressCheckers } from '../config/fields.js';
import { ConfigError, type Config, type UpstreamConfig } from '../config/schema.js';
import { loadConfig, type CliOverrides } from '../config/load.js';
import { systemClock, type Clock } from '../clock.js';
import type { CacheStats } from '../resolver/cached.js';
import { startServer, ServerConfigError } from '../server/index.js';
import { endpointLabel } from '../net/address.js';
import { loadResolvConf } from '../upstream/resolv-conf.js';
import { runSelfTest } from '../selftest/run.js';
import { Name } from '../wire/index.js';
import { buildResolver, type Wiring } from './wiring.js';

/** Upstreams from the config, or else the nameservers of /etc/resolv.conf other than our own listeners. */
export async function resolveUpstreams(cfg: Config, log: Logger, resolvConf?: string): Promise<UpstreamConfig[]> {
  if (cfg.upstreams.length > 0) return cfg.upstreams;
  const rc = await loadResolvConf({ path: resolvConf, listen: cfg.listen });
  if (rc.kind === 'unreadable') {
    throw new ConfigError('upstreams', `none configured and ${rc.path} cannot be read (${rc.error.message})`);
  }
  for (const s of rc.skipped) log.info({ line: s.line, address: s.address, why: s.kind }, `${rc.path}: nameserver skipped`);
  if (rc.upstreams.length === 0) {
    throw new ConfigError('upstreams', `none configured and ${rc.path} lists no usable nameserver (our own listen addresses are skipped)`);
  }
  return rc.upstreams;
}

export interface Daemon {
  readonly config: Config;
  readonly addresses: readonly { transport: string; address: string; port: number }[];
  /** The parts (pool, chain of trust, resolver, answer cache), for the HTTP API and tests. */
  readonly wiring: Wiring;
  /**
   * Flush the answer cache and the chain of trust's key cache: everything, or one name and every name
   * below it (presentation form, e.g. "example.org"). Returns the number of answers dropped.
   */
  flush(name?: string): number;
  cacheStats(): CacheStats;
  stop(): Promise<void>;
}

export interface DaemonOptions {
  logger?: Logger;
  resolvConf?: string;
  /** Time for hold-downs, validation and the cache (tests use a ManualClock). */
  clock?: Clock;
}

/** Start the daemon (used by `serve` and by tests that run it in-process). */
export async function startDaemon(cli: CliOverrides, opts: DaemonOptions = {}): Promise<Daemon> {
  const cfg = loadConfig(cli, addressCheckers);
  const log = opts.logger ?? pino({ level: cfg.logLevel, base: { name: 'dnssec-stubd' } });
  const upstreams = await resolveUpstreams(cfg, log, opts.resolvConf);
  const clock = opts.clock ?? systemClock;
  const wiring = buildResolver(cfg, upstreams, log, clock);
  const { anchors, cached } = wiring;
  // The upstream probes run meanwhile; the listeners open once the self-test is done.
  if (cfg.server.warmupQueries > 0) await selfTest(cfg, clock, log);
  let server;
  try {
    server = await startServer({
      listen: cfg.listen,
      handler: cached.handler,
      fastPath: cached.fastPath,
      allow: cfg.allow,
      udpMaxSize: cfg.server.udpMaxSize,
      tcpIdleTimeoutMs: cfg.server.tcpIdleTimeoutMs,
      tcpMaxConnections: cfg.server.tcpMaxConnections,
      logger: log,
    });
  } catch (err) {
    wiring.stop();
    if (err instanceof ServerConfigError) throw new ConfigError(err.field, err.message.replace(`${err.field}: `, ''));
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'EADDRINUSE' || e.code === 'EACCES' || e.code === 'EADDRNOTAVAIL') {
      throw new ConfigError('listen', `cannot listen: ${e.message}`);
    }
    throw err;
  }
  log.info(
    {
      listen: server.addresses.map((a) => `${a.transport}/${a.family === 6 ? `[${a.address}]` : a.address}:${a.port}`),
      upstreams: upstreams.map((u) => `${endpointLabel(u)} priority ${u.priority}`),
      allow: cfg.allow,
      trustAnchors: anchors.map((a) => `${a.zone.toText()} (${a.ds.length} DS, ${a.dnskeys.length} DNSKEY)`),
      crypto: cfg.crypto,
      cache: { maxBytes: cfg.cache.maxBytes, maxTtl: cfg.cache.maxTtl, staleWindow: cfg.cache.staleWindow, prefetch: cfg.cache.prefetch },
    },
    'dnssec-stubd started',
  );
  return {
    config: cfg,
    addresses: server.addresses,
    wiring,
    flush: (name?: string) => cached.flush(name === undefined ? undefined : Name.fromText(name)),
    cacheStats: () => cached.stats(),
    async stop() {
      wiring.stop();
      await server.close();
      log.info({}, 'dnssec-stubd stopped');
    },
  };
}

/** The start-up self-test and warm-up (src/selftest), logged: info when every algorithm came out secure, else error. */
async function selfTest(cfg: Config, clock: Clock, log: Logger): Promise<void> {
  try {
    const r = await runSelfTest(cfg, clock, cfg.server.warmupQueries);
    const detail = { queries: r.queries, ms: r.ms, passed: r.passed, failed: r.failed };
    if (r.failures.length === 0) log.info(detail, 'self-test passed: a freshly signed tree validated end to end');
    else log.error({ ...detail, failures: r.failures }, 'self-test FAILED: some answers of the signed test tree were not what it holds (a failed algorithm points at the crypto backend; see failed, failures)');
  } catch (err) {
    log.error({ err }, 'self-test could not run');
  }
}

/** Run until SIGTERM/SIGINT; resolves to the exit code. */
export async function serve(cli: CliOverrides): Promise<number> {
  const daemon = await startDaemon(cli);
  await new Promise<void>((resolve) => {
    const onSignal = (): void => {
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
      resolve();
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
  await daemon.stop();
  return 0;
}
