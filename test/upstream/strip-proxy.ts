/**
 * A middlebox on loopback in front of a real resolver: relays UDP and TCP queries unchanged and strips
 * the RRSIG records (answer and authority) from the answers to the questions it is told to, as broken
 * firewalls and DNS "proxies" do. Counts the questions it relays, by "name TYPE".
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { createServer, Socket as TcpSocket, type Server } from 'node:net';
import { FrameDecoder, frame } from '../../src/wire/framing.js';
import { RRType, parseMessage, serializeMessage, typeToText, type Message } from '../../src/wire/index.js';
import { freePort } from './unbound-fixture.js';

export interface StripProxyOptions {
  /** A loopback address to listen on. */
  readonly address: string;
  readonly backend: { readonly address: string; readonly port: number };
  /** Which answers lose their RRSIGs (by lowercased name without the final dot, and type). */
  strip?: (name: string, type: string) => boolean;
}

const LOOPBACK = /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/;

/** The question of a packet as "name TYPE" (name lowercased, no final dot), or undefined. */
function questionOf(bytes: Uint8Array): { name: string; type: string } | undefined {
  try {
    const q = parseMessage(bytes).question[0];
    return q ? { name: q.name.toText().toLowerCase().replace(/\.$/, ''), type: typeToText(q.type) } : undefined;
  } catch {
    return undefined;
  }
}

export function stripRrsigs(bytes: Uint8Array): Uint8Array {
  const m: Message = parseMessage(bytes);
  const keep = (rrs: Message['answer']): Message['answer'] => rrs.filter((rr) => rr.type !== RRType.RRSIG);
  return serializeMessage({ ...m, answer: keep(m.answer), authority: keep(m.authority) }).bytes;
}

export class StripProxy {
  readonly counts = new Map<string, number>();
  /** Answers whose RRSIGs were removed. */
  stripped = 0;
  private udp: UdpSocket | undefined;
  private tcp: Server | undefined;
  private readonly conns = new Set<TcpSocket>();

  private constructor(readonly address: string, readonly port: number, private readonly opts: StripProxyOptions) {}

  static async start(opts: StripProxyOptions): Promise<StripProxy> {
    for (const a of [opts.address, opts.backend.address]) if (!LOOPBACK.test(a)) throw new Error(`proxy must stay on 127.0.0.0/8, not ${a}`);
    const p = new StripProxy(opts.address, await freePort(opts.address), opts);
    await p.listen();
    return p;
  }

  get label(): string {
    return `${this.address}:${this.port}`;
  }

  set strip(fn: StripProxyOptions['strip']) {
    this.opts.strip = fn;
  }

  /** Questions relayed for `name` (any type, or one type). */
  count(name: string, type?: string): number {
    const n = name.toLowerCase().replace(/\.$/, '');
    let c = 0;
    for (const [k, v] of this.counts) if (type ? k === `${n} ${type}` : k.startsWith(`${n} `)) c += v;
    return c;
  }

  /** Questions relayed for names at or below `suffix`. */
  countUnder(suffix: string): number {
    const s = suffix.toLowerCase().replace(/\.$/, '');
    let c = 0;
    for (const [k, v] of this.counts) {
      const name = k.slice(0, k.lastIndexOf(' '));
      if (name === s || name.endsWith(`.${s}`)) c += v;
    }
    return c;
  }

  private rewrite(query: Uint8Array, answer: Uint8Array): Uint8Array {
    const q = questionOf(query);
    if (!q || !this.opts.strip?.(q.name, q.type)) return answer;
    try {
      const out = stripRrsigs(answer);
      this.stripped++;
      return out;
    } catch {
      return answer;
    }
  }

  private note(query: Uint8Array): void {
    const q = questionOf(query);
    if (!q) return;
    const k = `${q.name} ${q.type}`;
    this.counts.set(k, (this.counts.get(k) ?? 0) + 1);
  }

  private async listen(): Promise<void> {
    const { backend } = this.opts;
    const udp = createSocket('udp4');
    this.udp = udp;
    udp.on('message', (msg, rinfo) => {
      this.note(msg);
      const up = createSocket('udp4');
      const t = setTimeout(() => up.close(), 5000);
      up.on('error', () => { clearTimeout(t); up.close(); });
      up.on('message', (ans) => {
        clearTimeout(t);
        up.close();
        udp.send(this.rewrite(msg, ans), rinfo.port, rinfo.address);
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
          this.note(q);
          const up = new TcpSocket();
          const dec = new FrameDecoder();
          up.on('error', () => up.destroy());
          up.on('data', (d: Buffer) => {
            for (const ans of dec.pushAll(d)) {
              if (!client.destroyed) client.write(frame(this.rewrite(q, ans)));
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
    await new Promise<void>((resolve) => (this.tcp ? this.tcp.close(() => resolve()) : resolve()));
    await new Promise<void>((resolve) => (this.udp ? this.udp.close(() => resolve()) : resolve()));
  }
}
