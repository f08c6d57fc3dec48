import { parseArgs, type ParseArgsConfig } from 'node:util';
import { ConfigError } from '../config/schema.js';
import type { CliOverrides } from '../config/load.js';
import { ListenError } from '../daemon/index.js';
import { anchors } from './anchors.js';
import { checkConfig } from './check-config.js';
import { daneverify } from './daneverify.js';
import { COMMAND_FLAGS, COMMAND_HELP, USAGE, UsageError } from './help.js';
import { query } from './query.js';
import { ready } from './ready.js';
import { serve } from './serve.js';

function overrides(v: Record<string, unknown>): CliOverrides {
  return {
    config: v.config as string | undefined,
    listen: v.listen as string[] | undefined,
    upstream: v.upstream as string[] | undefined,
    allow: v.allow as string[] | undefined,
    logLevel: v['log-level'] as string | undefined,
    trustAnchor: v['trust-anchor'] as string[] | undefined,
    stateDir: v['state-dir'] as string | undefined,
    http: v['http'] as string[] | undefined,
    crypto: v.crypto as string | undefined,
    upstreamFor: v['upstream-for'] as string[] | undefined,
    negativeTrustAnchor: v['negative-trust-anchor'] as string[] | undefined,
    insecureFallback: v['insecure-fallback'] as boolean | undefined,
  };
}

function parse(command: string, args: string[], options: NonNullable<ParseArgsConfig['options']>, positionals: boolean): { values: Record<string, unknown>; positionals: string[] } | undefined {
  try {
    const r = parseArgs({ args, options, strict: true, allowPositionals: positionals });
    return { values: r.values as Record<string, unknown>, positionals: r.positionals };
  } catch (err) {
    process.stderr.write(`dnssec-stubd ${command}: ${(err as Error).message}\n\n${COMMAND_HELP[command] ?? USAGE}`);
    return undefined;
  }
}

/** `--help` or `-h` among a command's arguments (before a `--`). */
function wantsHelp(args: readonly string[]): boolean {
  const end = args.indexOf('--');
  return (end < 0 ? args : args.slice(0, end)).some((a) => a === '--help' || a === '-h');
}

/** Run a command; errors it cannot help are told apart: configuration (exit 2), usage (2), a listen address (1). */
async function run(fn: () => Promise<number>): Promise<number> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`dnssec-stubd: configuration error: ${err.message}\n`);
      return 2;
    }
    if (err instanceof UsageError) {
      process.stderr.write(`dnssec-stubd ${err.command}: ${err.message}\n`);
      return 2;
    }
    if (err instanceof ListenError) {
      process.stderr.write(`dnssec-stubd: ${err.message}\n`);
      return 1;
    }
    throw err;
  }
}

/** Runs a command; resolves to the process exit code (serve resolves when the daemon stops). */
export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command !== undefined && COMMAND_HELP[command] !== undefined && wantsHelp(rest)) {
    process.stdout.write(COMMAND_HELP[command]!);
    return 0;
  }
  switch (command) {
    case 'serve': {
      const p = parse('serve', rest, COMMAND_FLAGS.serve, false);
      if (!p) return 2;
      return run(() => serve({ ...overrides(p.values), pidFile: p.values['pid-file'] as string | undefined }));
    }
    case 'check-config': {
      const p = parse('check-config', rest, COMMAND_FLAGS['check-config'], false);
      if (!p) return 2;
      return run(() => checkConfig(overrides(p.values)));
    }
    case 'ready': {
      const p = parse('ready', rest, COMMAND_FLAGS.ready, false);
      if (!p) return 2;
      return run(() => ready({ ...overrides(p.values), wait: p.values.wait as string | undefined, pid: p.values.pid as string | undefined }));
    }
    case 'query': {
      const p = parse('query', rest, COMMAND_FLAGS.query, true);
      if (!p) return 2;
      const [name, type, ...extra] = p.positionals;
      if (!name || extra.length) {
        process.stderr.write(`dnssec-stubd query: expected NAME [TYPE]\n\n${COMMAND_HELP['query']}`);
        return 2;
      }
      return run(() => query(name, type, { ...overrides(p.values), cd: p.values.cd === true, json: p.values.json === true }));
    }
    case 'anchors': {
      const p = parse('anchors', rest, COMMAND_FLAGS.anchors, false);
      if (!p) return 2;
      return run(() => anchors({ ...overrides(p.values), json: p.values.json === true }));
    }
    case 'daneverify': {
      const p = parse('daneverify', rest, COMMAND_FLAGS.daneverify, true);
      if (!p) return 3;
      const [domain, ...extra] = p.positionals;
      if (!domain || extra.length) {
        process.stderr.write(`dnssec-stubd daneverify: expected one DOMAIN\n\n${COMMAND_HELP['daneverify']}`);
        return 3;
      }
      const v = p.values;
      return daneverify(domain, {
        ...overrides(v), mode: v.mode as string | undefined, port: v.port as string | undefined, json: v.json === true,
        timeout: v.timeout as string | undefined, deadline: v.deadline as string | undefined, server: v.server as string | undefined,
        helo: v.helo as string | undefined,
      });
    }
    case 'version':
    case '--version':
      process.stdout.write('dnssec-stubd 0.1.0\n');
      return 0;
    case 'help': {
      const [topic, ...more] = rest;
      if (topic === undefined) {
        process.stdout.write(USAGE);
        return 0;
      }
      if (more.length === 0 && COMMAND_HELP[topic] !== undefined) {
        process.stdout.write(COMMAND_HELP[topic]!);
        return 0;
      }
      process.stderr.write(`dnssec-stubd help: no command ${JSON.stringify(rest.join(' '))}\n\n${USAGE}`);
      return 2;
    }
    case undefined:
    case '--help':
    case '-h':
      (command === undefined ? process.stderr : process.stdout).write(USAGE);
      return command === undefined ? 2 : 0;
    default:
      process.stderr.write(`dnssec-stubd: unknown command ${JSON.stringify(command)}\n\n${USAGE}`);
      return 2;
  }
}
