/**
 * A listener alone in a process, for test/server/burst.test.ts: `node burst-child.js BYTES` starts the server on
 * 127.0.0.1 (a free port) with udpReceiveBuffer = BYTES and the fixed-answer handler, prints
 * `READY <port> <granted bytes>` and then every warning it logs, one JSON line each.
 */
import { startServer } from '../../src/server/index.js';
import type { Logger } from '../../src/log.js';
import { fixedHandler } from './helpers.js';

const bytes = Number(process.argv[2] ?? '0');
const line = (level: string) => (obj: object, msg?: string) => process.stdout.write(`${JSON.stringify({ level, ...obj, msg })}\n`);
const quiet = () => undefined;
const logger = { warn: line('warn'), error: line('error'), info: quiet, debug: quiet, trace: quiet, fatal: line('fatal') } as unknown as Logger;
const server = await startServer({ listen: [{ address: '127.0.0.1', port: 0 }], handler: fixedHandler, udpReceiveBuffer: bytes, logger });
const udp = server.addresses.find((a) => a.transport === 'udp')!;
process.stdout.write(`READY ${udp.port} ${udp.receiveBuffer}\n`);
process.on('SIGTERM', () => void server.close().then(() => process.exit(0)));
