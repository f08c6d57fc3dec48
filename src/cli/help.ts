/**
 * Each command's flags, as main.ts parses them (node:util parseArgs options), and the help texts: one overview,
 * and one per command (`dnssec-stubd COMMAND --help`, `dnssec-stubd help COMMAND`) that names every flag its
 * command takes (test/cli/commands.test.ts holds the two to each other).
 */
import type { ParseArgsConfig } from 'node:util';

type Options = NonNullable<ParseArgsConfig['options']>;

/** The flags of the commands that read the whole configuration (serve, query, check-config, daneverify). */
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
} as const satisfies Options;

const LISTEN = {
  listen: { type: 'string', multiple: true },
  allow: { type: 'string', multiple: true },
} as const satisfies Options;

export const COMMAND_FLAGS = {
  serve: { ...COMMON, ...LISTEN, 'pid-file': { type: 'string' } },
  'check-config': { ...COMMON, ...LISTEN },
  ready: { config: COMMON.config, listen: LISTEN.listen, http: COMMON.http, wait: { type: 'string' }, pid: { type: 'string' } },
  query: { ...COMMON, cd: { type: 'boolean' }, json: { type: 'boolean' } },
  anchors: { config: COMMON.config, 'state-dir': COMMON['state-dir'], 'trust-anchor': COMMON['trust-anchor'], json: { type: 'boolean' } },
  daneverify: {
    ...COMMON, mode: { type: 'string' }, port: { type: 'string' }, json: { type: 'boolean' }, timeout: { type: 'string' },
    deadline: { type: 'string' }, server: { type: 'string' }, helo: { type: 'string' },
  },
} as const satisfies Record<string, Options>;

const COMMON_FLAGS = `  --config FILE           YAML or JSON configuration file (flags override its keys)
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
  -h, --help              this help`;

const SERVE_FLAGS = `  --listen ADDR[:PORT]    listen on UDP and TCP (repeatable; default 127.0.0.1:5353; an address without a
                          port takes 5353, and the log says so: /etc/resolv.conf clients need ADDR:53)
  --allow CIDR            client networks allowed (repeatable; default loopback only)`;

export const COMMAND_HELP: Readonly<Record<string, string>> = {
  serve: `Usage: dnssec-stubd serve [flags]

Run the validating resolver daemon: probe the upstreams, run the start-up self-test, then answer on the
listen addresses until SIGTERM or SIGINT.

Signals:
  SIGHUP                  read the config file again: upstreams, forward zones, the allow list, negative trust
                          anchors and the log level change without dropping the cache or the listeners; a bad
                          file is logged (naming the field) and the running configuration stays
  SIGTERM, SIGINT         stop taking new work, answer the queries in flight (up to upstream.deadlineMs), save
                          the RFC 5011 state, remove the pid file, exit 0

Flags:
${SERVE_FLAGS}
  --pid-file FILE         write the process id to FILE once the daemon answers; removed when it exits
${COMMON_FLAGS}

Exit status: 0 stopped by a signal, 1 it could not start (e.g. a listen address in use), 2 configuration error.
`,
  query: `Usage: dnssec-stubd query NAME [TYPE] [flags]

Resolve one question through the upstreams in this process, validate it, and print the status, the answer
and the reason trail (anchor, each DS and DNSKEY step, each RRset with its key, each NSEC/NSEC3 proof).
TYPE is a record type (A, AAAA, MX, TLSA, DS, DNSKEY, ... or TYPE65); default A.

Flags:
  --cd                    checking disabled: show the data without validating
  --json                  machine-readable output
${COMMON_FLAGS}

Exit status: 0 secure or insecure, 2 usage or configuration error, 3 bogus, 4 no answer / indeterminate.
`,
  anchors: `Usage: dnssec-stubd anchors [--config FILE] [--state-dir DIR] [--trust-anchor FILE] [--json]

The RFC 5011 state of the trust anchors, read from the state directory without changing it (usable while
the daemon runs): each key with its tag, algorithm, state, first and last seen, hold-down end, and the
zone's last refresh.

Exit status: 0 every anchor zone has a trusted key, 1 one has none (or there is no state), 2 usage error.
`,
  daneverify: `Usage: dnssec-stubd daneverify DOMAIN [flags]

The DANE check of a mail domain: MX, A/AAAA, TLSA, STARTTLS certificate, each step with its DNSSEC status,
and the decision. It asks the running daemon over DNS; with --upstream (or --config, --trust-anchor, ...) it
validates in process instead.

Flags:
  --mode MODE             mandatory | opportunistic (the vendor note's tables) | rfc7672 (default; Postfix's dane level)
  --port PORT             SMTP port of the MX hosts (default 25)
  --server ADDR[:PORT]    the daemon to ask over DNS (default: the configured listen address)
  --timeout SECONDS       timeout of each network step: lookup, connect, banner, EHLO, STARTTLS, handshake (default 10)
  --deadline SECONDS      limit for the whole check (default 60, at least 6 step timeouts)
  --helo NAME             the EHLO name (default: this host's name, or localhost)
  --json                  the steps and the decision as JSON
${COMMON_FLAGS}

Exit status: 0 DANE success, 1 DANE fail, 2 fallback (delivered without DANE), 3 usage or internal error.
`,
  'check-config': `Usage: dnssec-stubd check-config [--config FILE] [flags]

Check a configuration without starting anything: the file (syntax, every key and value), the flags given
with it, the upstreams (or the nameservers of /etc/resolv.conf), the trust anchor files (DS digest lengths
included) and the HTTP token file; print what a daemon started with them would use. Run it before a restart
or a reload: a typo never stops a working daemon.

Flags (those of serve, which override the file as they would there):
${SERVE_FLAGS}
${COMMON_FLAGS}

Exit status: 0 the configuration is good, 2 it is not (the message names the field).
`,
  ready: `Usage: dnssec-stubd ready [--config FILE] [--wait SECONDS] [flags]

Ask the running daemon whether it can serve an MTA: its HTTP API's /readyz (listeners open, self-test
passed, a DNSSEC-capable upstream, a trusted key per anchor zone) and a DNSSEC question to its listen
address (". DNSKEY" answered with AD). Prints what is wrong and what to do.

Flags:
  --wait SECONDS          keep asking until ready or until SECONDS have passed (default 0: ask once); it stops
                          early when every upstream is probed and none can serve validation
  --pid PID               the daemon's process: stop waiting (exit 3) when it has exited
  --config FILE, --listen ADDR[:PORT], --http ADDR:PORT   where the daemon is (as serve would read them)

Exit status: 0 ready, 1 running but not ready, 2 configuration error, 3 no answer from the daemon.
`,
  version: `Usage: dnssec-stubd version

Print the version.
`,
};

export const USAGE = `Usage: dnssec-stubd <command> [flags]

Commands:
  serve                 run the resolver daemon (SIGHUP reloads the config, SIGTERM stops it cleanly)
  query NAME [TYPE]     resolve through the upstreams, validate, print the status and the reason trail
                        (exit 0 secure or insecure, 3 bogus, 4 no answer / indeterminate)
  anchors               the RFC 5011 state of the trust anchors (--state-dir, --json); exit 1 when a zone has no trusted key
  daneverify DOMAIN     the DANE check of a mail domain: MX, A/AAAA, TLSA, STARTTLS certificate, each step with its
                        DNSSEC status, and the decision (exit 0 DANE success, 1 DANE fail, 2 fallback, 3 usage or error)
  check-config          check the configuration (file and flags) without starting anything (exit 0 good, 2 not)
  ready                 whether the running daemon can serve an MTA, and what to do if not (exit 0 ready)
  version               print the version
  help [COMMAND]        this overview, or a command's flags

Every command has its own help: dnssec-stubd COMMAND --help.
`;

/** A command used wrongly (an unknown record type, a malformed name): not a configuration error. */
export class UsageError extends Error {
  constructor(readonly command: string, message: string) {
    super(message);
    this.name = 'UsageError';
  }
}
