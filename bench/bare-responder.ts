/**
 * The runtime's own UDP ceiling, for bench/qps (issue 15): a bare node:dgram responder that sets QR in each
 * received datagram and sends it back, nothing else. No parsing, no cache, no counters. It uses node:dgram as
 * well as it can be used, as the daemon does: an IP-literal lookup (no dns.lookup tick per send) and no send
 * callback. The received Buffer is sent as is: Node allocates a new one per datagram, so nothing is reused
 * while a send may still hold it.
 *
 *   node dist/bench/bare-responder.js --listen 127.0.0.1:PORT [--pad N]
 *
 * Prints "ready PORT" once bound; runs until killed (SIGTERM).
 */
import { createSocket, type SocketOptions } from 'node:dgram';
import { parseArgs } from 'node:util';

/** The address is always the sender's, an IP literal from the kernel: answer at once (family 4: udp4 only). */
const lookup = ((address: string, _family: unknown, cb: (err: Error | null, address: string, family: number) => void): void => {
  cb(null, address, 4);
}) as unknown as NonNullable<SocketOptions['lookup']>;

const { values } = parseArgs({ options: { listen: { type: 'string', default: '127.0.0.1:0' }, pad: { type: 'string', default: '0' } } });
/**
 * `--pad N`: the reply is the query followed by N zero octets (a new Buffer per reply), so that the reference sends
 * datagrams of an answer's size rather than of a query's: how much of a server's cost is the size of what it sends.
 */
const pad = Number(values.pad);
if (!Number.isInteger(pad) || pad < 0 || pad > 65000) throw new Error(`--pad: expected octets 0-65000, got ${JSON.stringify(values.pad)}`);
const listen = values.listen!;
const i = listen.lastIndexOf(':');
const host = listen.slice(0, i);
const port = Number(listen.slice(i + 1));
if (i <= 0 || !Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--listen: expected ADDR:PORT, got ${JSON.stringify(listen)}`);

const sock = createSocket({ type: 'udp4', lookup });
sock.on('message', (msg, rinfo) => {
  if (msg.length < 12) return;
  msg[2] = msg[2]! | 0x80;
  if (pad === 0) {
    sock.send(msg, rinfo.port, rinfo.address);
    return;
  }
  const out = Buffer.allocUnsafe(msg.length + pad);
  msg.copy(out, 0);
  out.fill(0, msg.length);
  sock.send(out, rinfo.port, rinfo.address);
});
sock.on('error', () => undefined);
sock.bind(port, host, () => {
  // The same receive buffer the daemon asks for (server.udpReceiveBuffer's default, 4 MiB).
  try {
    sock.setRecvBufferSize(4 * 1024 * 1024);
  } catch {
    // capped by net.core.rmem_max: the kernel's size stays
  }
  process.stdout.write(`ready ${sock.address().port}\n`);
});
process.on('SIGTERM', () => sock.close(() => process.exit(0)));
