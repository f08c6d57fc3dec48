import { parseArgs, type ParseArgsConfig } from 'node:util';
import { ConfigError } from '../config/schema.js';
import type { CliOverrides } from '../config/load.js';
import { anchors } from './anchors.js';
import { query } from './query.js';
import { serve } from './serve.js';

const USAGE = `Usage: dnssec-stubd <command> [flags]

Commands:
  serve                 run the resolver daemon
  query NAME [TYPE]     resolve through the upstreams, validate, print the status and the reason trail
  anchors               the RFC 5011 state of the trust anchors (--state-dir, --json); exit 1 when a zone has no trusted key
                        (exit 0 secure or insecure, 3 bogus, 4 no answer / indeterminate)
  version               print the version

Flags (serve and query):
  --config FILE           YAML or JSON configuration file
  --upstream ADDR[:PORT]  upstream resolver (repeatable; order = priority 1, 2, ...;
                          default: the nameservers of /etc/resolv.conf)
  --trust-anchor FILE     DS/DNSKEY zone file or root-anchors.xml (repeatable; default: the shipped root anchors)
  --state-dir DIR         managed state: the RFC 5011 anchor files (default /var/lib/dnssec-stubd)
  --http ADDR:PORT|off    HTTP status API and /metrics (repeatable; default 127.0.0.1:8053)
  --crypto BACKEND        openssl | js | auto (default auto: OpenSSL, pure JS where OpenSSL refuses)
  --log-level LEVEL       fatal|error|warn|info|debug|trace|silent (default info)
  --upstream-for SUFFIX=ADDR[:PORT]  upstream for one domain suffix (repeatable)
  --negative-trust-anchor DOMAIN     treat the domain's answers as INSECURE (RFC 7646; repeatable)
  --insecure-fallback     with no DNSSEC-capable upstream reachable, ask a non-DNSSEC one (answers INSECURE)
serve only:
  --listen ADDR:PORT      listen on UDP and TCP (repeatable; default 127.0.0.1:5353)
  --allow CIDR            client networks allowed (repeatable; default loopback only)
query only:
  --cd                    checking disabled: show the data without validating
  --json                  machine-readable output
`;

const COMMON = {
  config: { type: 'string' },
  upstream: { type: 'string', multiple: true },
  'trust-anchor': { type: 'string', multiple: true },
  'state-dir': { type: 'string' },
  http: { type: 'string', multiple: true },
  crypto: { type: 'string' },
  'log-level': { type: 'string' },
  'upstream-for': { type: 'string', multiple: true },
  'negative-trust-anchor': { type: 'string', multiple: true },
  'insecure-fallback': { type: 'boolean' },
} as const satisfies ParseArgsConfig['options'];

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
    process.stderr.write(`dnssec-stubd ${command}: ${(err as Error).message}\n\n${USAGE}`);
    return undefined;
  }
}

async function run(fn: () => Promise<number>): Promise<number> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`dnssec-stubd: configuration error: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
}

/** Runs a command; resolves to the process exit code (serve resolves when the daemon stops). */
export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'serve': {
      const p = parse('serve', rest, { ...COMMON, listen: { type: 'string', multiple: true }, allow: { type: 'string', multiple: true } }, false);
      if (!p) return 2;
      return run(() => serve(overrides(p.values)));
    }
    case 'query': {
      const p = parse('query', rest, { ...COMMON, cd: { type: 'boolean' }, json: { type: 'boolean' } }, true);
      if (!p) return 2;
      const [name, type, ...extra] = p.positionals;
      if (!name || extra.length) {
        process.stderr.write(`dnssec-stubd query: expected NAME [TYPE]\n\n${USAGE}`);
        return 2;
      }
      return run(() => query(name, type, { ...overrides(p.values), cd: p.values.cd === true, json: p.values.json === true }));
    }
    case 'anchors': {
      const p = parse('anchors', rest, { config: COMMON['config']!, 'state-dir': COMMON['state-dir']!, 'trust-anchor': COMMON['trust-anchor']!, json: { type: 'boolean' } }, false);
      if (!p) return 2;
      return run(() => anchors({ ...overrides(p.values), json: p.values.json === true }));
    }
    case 'version':
    case '--version':
      process.stdout.write('dnssec-stubd 0.1.0\n');
      return 0;
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(USAGE);
      return command === undefined ? 2 : 0;
    default:
      process.stderr.write(`dnssec-stubd: unknown command ${JSON.stringify(command)}\n\n${USAGE}`);
      return 2;
  }
}
