import { parseArgs } from 'node:util';
import { ConfigError } from '../config/schema.js';
import { serve } from './serve.js';

const USAGE = `Usage: dnssec-stubd <command> [flags]

Commands:
  serve       run the resolver daemon
  version     print the version

serve flags:
  --config FILE         YAML or JSON configuration file
  --listen ADDR:PORT    listen on UDP and TCP (repeatable; default 127.0.0.1:5353)
  --upstream ADDR[:PORT]  upstream resolver (repeatable; order = priority 1, 2, ...;
                        default: the nameservers of /etc/resolv.conf)
  --allow CIDR          client networks allowed (repeatable; default loopback only)
  --log-level LEVEL     fatal|error|warn|info|debug|trace|silent (default info)
`;

/** Runs a command; resolves to the process exit code (serve resolves when the daemon stops). */
export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'serve': {
      let values;
      try {
        ({ values } = parseArgs({
          args: rest,
          options: {
            config: { type: 'string' },
            listen: { type: 'string', multiple: true },
            upstream: { type: 'string', multiple: true },
            allow: { type: 'string', multiple: true },
            'log-level': { type: 'string' },
          },
          strict: true,
          allowPositionals: false,
        }));
      } catch (err) {
        process.stderr.write(`dnssec-stubd serve: ${(err as Error).message}\n\n${USAGE}`);
        return 2;
      }
      try {
        return await serve({
          config: values.config,
          listen: values.listen,
          upstream: values.upstream,
          allow: values.allow,
          logLevel: values['log-level'],
        });
      } catch (err) {
        if (err instanceof ConfigError) {
          process.stderr.write(`dnssec-stubd: configuration error: ${err.message}\n`);
          return 2;
        }
        throw err;
      }
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
