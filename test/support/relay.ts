/**
 * The relay under the test middleboxes (TamperProxy, StripProxy, MangleProxy, FaultRelay): UDP and TCP on a
 * loopback address, each query relayed to a backend resolver as it is, each answer handed to `respond`, whose
 * bytes go back to the client. The middleboxes differ only in what `respond` does; one that needs more than
 * rewriting answers (drop, delay, reset a connection, answer without asking, send forged packets) takes over
 * the whole exchange with `handle`.
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { createServer, Socket as TcpSocket, type Server } from 'node:net';
import { FrameDecoder, frame } from '../../src/wire/framing.js';
import { parseMessage, typeToText, type Message, type Name } from '../../src/wire/index.js';
import { freePort } from '../upstream/unbound-fixture.js';

export interface Backend {
  readonly address: string;
  readonly port: number;
}

/** One query as the relay received it, and what can be done with it. */
export interface RelayExchange {
  readonly query: Uint8Array;
  readonly transport: 'udp' | 'tcp';
  /** The client's address and source port. */
  readonly client: { readonly address: string; readonly port: number };
  /** Ask the backend (the query as received, or `bytes`); undefined when it does not answer within 5 s. */
  ask(bytes?: Uint8Array): Promise<Uint8Array | undefined>;
  /** One message to the client: a datagram from the relay's address and port, or a TCP frame. */
  send(bytes: Uint8Array): void;
  /** TCP only: octets written as they are (no framing). */
  writeRaw(bytes: Uint8Array): void;
  /** TCP only: reset the client's connection (RST). */
  reset(): void;
}

export interface RelayHooks {
  /** Every query received (for counts). */
  onQuery?(query: Uint8Array, ex: RelayExchange): void;
  /** The bytes to send back for the backend's `answer` to `query` (default: the answer unchanged). */
  respond?(query: Uint8Array, answer: Uint8Array, transport: 'udp' | 'tcp'): Uint8Array;
  /** Take over the exchange instead (`respond` is then not used). */
  handle?(ex: RelayExchange): void | Promise<void>;
}

/** The message, or undefined when it does not parse. */
export function parseOrUndefined(bytes: Uint8Array): Message | undefined {
  try {
    return parseMessage(bytes);
  } catch {
    return undefined;
  }
}

/** A name as the middleboxes' question counts spell it: lowercase, without the trailing dot ('.' for the root). */
export function nameKey(name: Name | string): string {
  const t = (typeof name === 'string' ? name : name.toText()).toLowerCase();
  return t === '.' ? '.' : t.replace(/\.$/, '');
}

/** Queries relayed, by "name TYPE" (name as `nameKey` spells it). */
export class QuestionCounts {
  private readonly byKey = new Map<string, number>();

  note(query: Uint8Array): void {
    const q = parseOrUndefined(query)?.question[0];
    if (!q) return;
    const k = `${nameKey(q.name)} ${typeToText(q.type)}`;
    this.byKey.set(k, (this.byKey.get(k) ?? 0) + 1);
  }

  /** Queries for `name` (any type, or one type). */
  count(name: string, type?: string): number {
    const n = nameKey(name);
    let c = 0;
    for (const [k, v] of this.byKey) if (type ? k === `${n} ${type.toUpperCase()}` : k.startsWith(`${n} `)) c += v;
    return c;
  }
}

const LOOPBACK = /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/;
const BACKEND_TIMEOUT_MS = 5000;

export class LoopbackRelay {
  private udp: UdpSocket | undefined;
  private tcp: Server | undefined;
  private stopped = false;
  private readonly conns = new Set<TcpSocket>();
  private readonly upstreams = new Set<UdpSocket | TcpSocket>();
  /** Every query received, by question. */
  readonly questions = new QuestionCounts();

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

  /** The query (or other bytes) to the backend over UDP; its first answer. */
  private askUdp(bytes: Uint8Array): Promise<Uint8Array | undefined> {
    return new Promise((resolve) => {
      if (this.stopped) return resolve(undefined);
      const up = createSocket('udp4');
      this.upstreams.add(up);
      const done = (answer?: Uint8Array): void => {
        clearTimeout(t);
        if (this.upstreams.delete(up)) up.close();
        resolve(answer);
      };
      const t = setTimeout(done, BACKEND_TIMEOUT_MS);
      t.unref();
      up.on('error', () => done());
      up.on('message', (ans) => done(new Uint8Array(ans)));
      up.send(bytes, this.backend.port, this.backend.address);
    });
  }

  /** The query (or other bytes) to the backend over a fresh TCP connection; its first answer. */
  private askTcp(bytes: Uint8Array): Promise<Uint8Array | undefined> {
    return new Promise((resolve) => {
      if (this.stopped) return resolve(undefined);
      const up = new TcpSocket();
      this.upstreams.add(up);
      let answer: Uint8Array | undefined;
      up.setTimeout(BACKEND_TIMEOUT_MS, () => up.destroy());
      up.on('close', () => {
        this.upstreams.delete(up);
        resolve(answer);
      });
      const dec = new FrameDecoder();
      up.on('error', () => up.destroy());
      up.on('data', (d: Buffer) => {
        for (const ans of dec.pushAll(d)) {
          answer ??= ans;
          up.destroy();
        }
      });
      up.connect(this.backend.port, this.backend.address, () => up.write(frame(bytes)));
    });
  }

  private run(ex: RelayExchange): void {
    const { hooks } = this;
    this.questions.note(ex.query);
    hooks.onQuery?.(ex.query, ex);
    const go = hooks.handle
      ? async (): Promise<void> => hooks.handle!(ex)
      : async (): Promise<void> => {
        const answer = await ex.ask();
        if (answer) ex.send(hooks.respond ? hooks.respond(ex.query, answer, ex.transport) : answer);
      };
    void go().catch(() => undefined);
  }

  private async listen(): Promise<void> {
    const udp = createSocket('udp4');
    this.udp = udp;
    udp.on('message', (msg, rinfo) => {
      const query = new Uint8Array(msg);
      this.run({
        query, transport: 'udp', client: { address: rinfo.address, port: rinfo.port },
        ask: (bytes) => this.askUdp(bytes ?? query),
        send: (bytes) => {
          if (!this.stopped) udp.send(bytes, rinfo.port, rinfo.address);
        },
        writeRaw: () => {
          throw new Error('writeRaw is for TCP');
        },
        reset: () => {
          throw new Error('reset is for TCP');
        },
      });
    });
    await new Promise<void>((resolve) => udp.bind(this.port, this.address, resolve));
    const tcp = createServer((client) => {
      this.conns.add(client);
      client.on('close', () => this.conns.delete(client));
      client.on('error', () => client.destroy());
      const decoder = new FrameDecoder();
      const from = { address: client.remoteAddress ?? '', port: client.remotePort ?? 0 };
      client.on('data', (chunk: Buffer) => {
        for (const q of decoder.pushAll(chunk)) {
          this.run({
            query: q, transport: 'tcp', client: from,
            ask: (bytes) => this.askTcp(bytes ?? q),
            send: (bytes) => {
              if (!client.destroyed) client.write(frame(bytes));
            },
            writeRaw: (bytes) => {
              if (!client.destroyed) client.write(bytes);
            },
            reset: () => {
              if (!client.destroyed) client.resetAndDestroy();
            },
          });
        }
      });
    });
    this.tcp = tcp;
    await new Promise<void>((resolve) => tcp.listen(this.port, this.address, resolve));
  }

  async stop(): Promise<void> {
    this.stopped = true;
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
