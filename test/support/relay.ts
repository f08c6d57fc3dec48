/**
 * The relay under the test middleboxes (TamperProxy, StripProxy, MangleProxy): UDP and TCP on a loopback
 * address, each query relayed to a backend resolver as it is, each answer handed to `respond`, whose bytes
 * go back to the client. The middleboxes differ only in what `respond` does.
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { createServer, Socket as TcpSocket, type Server } from 'node:net';
import { FrameDecoder, frame } from '../../src/wire/framing.js';
import { freePort } from '../upstream/unbound-fixture.js';

export interface Backend {
  readonly address: string;
  readonly port: number;
}

export interface RelayHooks {
  /** Every query received (for counts). */
  onQuery?(query: Uint8Array): void;
  /** The bytes to send back for the backend's `answer` to `query`. */
  respond(query: Uint8Array, answer: Uint8Array, transport: 'udp' | 'tcp'): Uint8Array;
}

const LOOPBACK = /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/;
const BACKEND_TIMEOUT_MS = 5000;

export class LoopbackRelay {
  private udp: UdpSocket | undefined;
  private tcp: Server | undefined;
  private readonly conns = new Set<TcpSocket>();
  private readonly upstreams = new Set<UdpSocket | TcpSocket>();

  private constructor(readonly address: string, readonly port: number, private readonly backend: Backend, private readonly hooks: RelayHooks) {}

  /** Listen on `address` (a free port above 10000); both ends must be on 127.0.0.0/8. */
  static async start(address: string, backend: Backend, hooks: RelayHooks): Promise<LoopbackRelay> {
    for (const a of [address, backend.address]) if (!LOOPBACK.test(a)) throw new Error(`a test middlebox must stay on 127.0.0.0/8, not ${a}`);
    const r = new LoopbackRelay(address, await freePort(address), { ...backend }, hooks);
    await r.listen();
    return r;
  }

  get label(): string {
    return `${this.address}:${this.port}`;
  }

  private async listen(): Promise<void> {
    const { backend, hooks } = this;
    const udp = createSocket('udp4');
    this.udp = udp;
    udp.on('message', (msg, rinfo) => {
      hooks.onQuery?.(msg);
      const up = createSocket('udp4');
      this.upstreams.add(up);
      const done = (): void => {
        clearTimeout(t);
        if (this.upstreams.delete(up)) up.close();
      };
      const t = setTimeout(done, BACKEND_TIMEOUT_MS);
      t.unref();
      up.on('error', done);
      up.on('message', (ans) => {
        done();
        udp.send(hooks.respond(msg, ans, 'udp'), rinfo.port, rinfo.address);
      });
      up.send(msg, backend.port, backend.address);
    });
    await new Promise<void>((resolve) => udp.bind(this.port, this.address, resolve));
    const tcp = createServer((client) => {
      this.conns.add(client);
      client.on('close', () => this.conns.delete(client));
      client.on('error', () => client.destroy());
      const decoder = new FrameDecoder();
      client.on('data', (chunk: Buffer) => {
        for (const q of decoder.pushAll(chunk)) {
          hooks.onQuery?.(q);
          const up = new TcpSocket();
          this.upstreams.add(up);
          up.setTimeout(BACKEND_TIMEOUT_MS, () => up.destroy());
          up.on('close', () => this.upstreams.delete(up));
          const dec = new FrameDecoder();
          up.on('error', () => up.destroy());
          up.on('data', (d: Buffer) => {
            for (const ans of dec.pushAll(d)) {
              if (!client.destroyed) client.write(frame(hooks.respond(q, ans, 'tcp')));
              up.destroy();
            }
          });
          up.connect(backend.port, backend.address, () => up.write(frame(q)));
        }
      });
    });
    this.tcp = tcp;
    await new Promise<void>((resolve) => tcp.listen(this.port, this.address, resolve));
  }

  async stop(): Promise<void> {
    for (const c of this.conns) c.destroy();
    const ups = [...this.upstreams];
    this.upstreams.clear();
    for (const u of ups) {
      if (u instanceof TcpSocket) u.destroy();
      else u.close();
    }
    await new Promise<void>((resolve) => (this.tcp ? this.tcp.close(() => resolve()) : resolve()));
    await new Promise<void>((resolve) => (this.udp ? this.udp.close(() => resolve()) : resolve()));
  }
}

/** A middlebox on a LoopbackRelay: its address, port and label are the relay's; stop() stops it. */
export abstract class RelayedProxy {
  protected relay: LoopbackRelay | undefined;

  get address(): string {
    return this.relay!.address;
  }

  get port(): number {
    return this.relay!.port;
  }

  get label(): string {
    return this.relay!.label;
  }

  async stop(): Promise<void> {
    await this.relay?.stop();
  }
}
