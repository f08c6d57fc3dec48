/**
 * The stack a command validates with in its own process (`query`, `daneverify --upstream`), not through a
 * running daemon: the configured upstreams (else resolv.conf's), the anchors the daemon manages (its RFC 5011
 * state, read only) else the configured ones, and a logger on stderr one level quieter than the daemon's `info`.
 * Anchors given on the command line (`--trust-anchor`) are used as they are: the operator asked for them, and
 * the daemon's state for the same zone would silently replace them. The caller starts and stops it.
 */
import { pino } from 'pino';
import { systemClock } from '../clock.js';
import type { CliOverrides } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { buildStack, currentAnchors, loadTrustAnchors, resolveUpstreams, type Stack } from '../daemon/index.js';

export async function localStack(cfg: Config, cli: Pick<CliOverrides, 'trustAnchor'> = {}): Promise<Stack> {
  const log = pino({ level: cfg.logLevel === 'info' ? 'warn' : cfg.logLevel }, pino.destination(2));
  const upstreams = await resolveUpstreams(cfg, log);
  const configured = loadTrustAnchors(cfg, systemClock);
  const anchors = cli.trustAnchor?.length ? configured : await currentAnchors(cfg, configured, systemClock);
  return buildStack(cfg, upstreams, { logger: log, anchors });
}
