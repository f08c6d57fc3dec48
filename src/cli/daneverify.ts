/**
 * `dnssec-stubd daneverify DOMAIN`: the vendor note's DANE check of a mail domain. By default it asks the running
 * daemon over DNS (the configured listen address, or --server) and reads each status from the reply; with
 * --upstream it validates in process through a private stack's answer cache. Exit 0 DANE success, 1 DANE fail,
 * 2 fallback, 3 usage or internal error.
 */
import { addressCheckers } from '../config/fields.js';
import { loadConfig, parseHostPort, type CliOverrides } from '../config/load.js';
import { ConfigError } from '../config/schema.js';
import { checkDomain, type CheckResult } from '../dane/check.js';
import { dnsLookup, handlerLookup, type DaneLookup } from '../dane/lookup.js';
import { MODES, isMode, type Action } from '../dane/policy.js';
import { renderText, stepLines } from '../dane/report.js';
import { defaultHelo } from '../dane/smtp.js';
import { Name, WireError } from '../wire/index.js';
import { systemClock } from '../clock.js';
import { localStack } from './local-stack.js';

export const DaneExit = { success: 0, fail: 1, fallback: 2, error: 3 } as const satisfies Record<Action | 'error', number>;

export interface DaneverifyOptions extends CliOverrides {
  mode?: string | undefined;
  port?: string | undefined;
  json?: boolean | undefined;
  /** Seconds per network step. */
  timeout?: string | undefined;
  /** Seconds for the whole check. */
  deadline?: string | undefined;
  /** The daemon to ask (ADDR[:PORT]); default: the configured listen address. */
  server?: string | undefined;
  helo?: string | undefined;
}

function number(text: string | undefined, field: string, def: number, min: number, max: number): number {
  if (text === undefined) return def;
  const n = Number(text);
  if (!/^[0-9]+(\.[0-9]+)?$/.test(text.trim()) || !Number.isFinite(n) || n < min || n > max) {
    throw new ConfigError(field, `expected a number from ${min} to ${max}, got ${JSON.stringify(text)}`);
  }
  return n;
}

/** The daemon's address to ask: --server, else the first listen address (a wildcard one asked on loopback). */
function daemonEndpoint(opts: DaneverifyOptions, listen: readonly { address: string; port: number }[]): { address: string; port: number } {
  if (opts.server !== undefined) return parseHostPort(opts.server, 53, '--server');
  const l = listen[0];
  if (!l) throw new ConfigError('listen', 'no listen address to ask: give --server ADDR:PORT');
  if (l.address === '0.0.0.0') return { address: '127.0.0.1', port: l.port };
  if (l.address === '::') return { address: '::1', port: l.port };
  return l;
}

/** The EHLO name: --helo, else this host's name when it is a domain name, else localhost. */
function heloName(opts: DaneverifyOptions): string {
  if (opts.helo !== undefined) {
    if (!/^[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$/.test(opts.helo)) throw new ConfigError('--helo', `expected a host name, got ${JSON.stringify(opts.helo)}`);
    return opts.helo;
  }
  return defaultHelo();
}

export async function daneverify(domain: string, opts: DaneverifyOptions): Promise<number> {
  try {
    return await run(domain, opts);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`dnssec-stubd daneverify: ${err.message}\n`);
      return DaneExit.error;
    }
    process.stderr.write(`dnssec-stubd daneverify: internal error: ${(err as Error).stack ?? String(err)}\n`);
    return DaneExit.error;
  }
}

async function run(domain: string, opts: DaneverifyOptions): Promise<number> {
  const mode = opts.mode ?? 'rfc7672';
  if (!isMode(mode)) throw new ConfigError('--mode', `expected one of ${MODES.join(', ')}, got ${JSON.stringify(mode)}`);
  const port = number(opts.port, '--port', 25, 1, 65535);
  if (!Number.isInteger(port)) throw new ConfigError('--port', `expected an integer, got ${JSON.stringify(opts.port)}`);
  const stepSeconds = number(opts.timeout, '--timeout', 10, 0.1, 3600);
  const deadlineSeconds = number(opts.deadline, '--deadline', Math.max(60, stepSeconds * 6), 0.1, 86400);
  let name: Name;
  try {
    name = Name.fromText(domain.endsWith('.') ? domain : `${domain}.`);
  } catch (err) {
    throw new ConfigError('DOMAIN', err instanceof WireError ? err.message : String(err));
  }
  if (name.isRoot()) throw new ConfigError('DOMAIN', 'expected a mail domain, got the root');
  const helo = heloName(opts);
  const cfg = loadConfig(opts, addressCheckers);
  let lookup: DaneLookup;
  let stop = (): void => undefined;
  if (opts.upstream?.length) {
    // In process: a private stack (its own answer cache) over the given upstreams, validated here.
    const stack = await localStack(cfg, opts);
    stack.start();
    stop = () => stack.stop();
    lookup = handlerLookup(stack.cached.handler);
  } else {
    lookup = dnsLookup(daemonEndpoint(opts, cfg.listen), stepSeconds * 1000);
  }
  let result: CheckResult;
  try {
    result = await checkDomain({
      domain: name, mode, port, lookup, helo, clock: systemClock,
      stepTimeoutMs: stepSeconds * 1000, deadlineMs: deadlineSeconds * 1000,
      // Text output streams step by step (a slow server shows where the check waits).
      onStep: opts.json ? undefined : (s) => {
        for (const line of stepLines(s, name.toText())) process.stdout.write(`${line}\n`);
      },
    });
  } finally {
    stop();
  }
  if (opts.json) {
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  } else {
    // The steps were printed as they came: only the closing lines are left.
    const tail = renderText({ ...result, steps: [] });
    process.stdout.write(tail);
  }
  return DaneExit[result.decision.action];
}
