/**
 * A middlebox on loopback in front of a real resolver (test scaffolding): relays UDP and TCP queries
 * unchanged and hands each answer's bytes to `mangle`, which may return other bytes to send instead
 * (a garbled header, a malformed record, a changed rcode). Counts the answers it changed, by "name TYPE".
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { createServer, Socket as TcpSocket, type Server } from 'node:net';
import { FrameDecoder, frame } from '../../src/wire/framing.js';
import { Rcode, parseMessage, serializeMessage, typeToText } from '../../src/wire/index.js';
import { freePort } from './unbound-fixture.js';

/** The question of an answer: name lowercased without the final dot ("." for the root), type as text. */
export interface Asked {
  readonly name: string;
  readonly type: string;
  readonly transport: 'udp' | 'tcp';
}

/** Bytes to send instead of `answer`, or undefined to relay it unchanged. */
export type Mangle = (asked: Asked, answer: Uint8Array) => Uint8Array | undefined;

const LOOPBACK = /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/;

function questionOf(query: Uint8Array): { name: string; type: string } | undefined {
  try {
    const q = parseMessage(query).question[0];
    if (!q) return undefined;
    const t = q.name.toText().toLowerCase();
    return { name: t === '.' ? '.' : t.replace(/\.$/, ''), type: typeToText(q.type) };
  } catch {
    return undefined;
  }
}

/** Answer bytes with the QR bit cleared: a packet a stub must ignore (not a response). */
export function clearQr(answer: Uint8Array): Uint8Array {
  const out = answer.slice();
  out[2] = out[2]! & 0x7f;
  return out;
}

/** A SERVFAIL in place of the answer, as a resolver sends one when an authority fails it: no records, its OPT kept. */
export function servfailFor(answer: Uint8Array): Uint8Array {
  const m = parseMessage(answer);
  return serializeMessage({ ...m, rcode: Rcode.SERVFAIL, answer: [], authority: [], additional: [] }).bytes;
}

/** Answer bytes with the header RCODE set to `rcode` (0-15); records untouched. */
export function withRcode(answer: Uint8Array, rcode: number): Uint8Array {
  const out = answer.slice();
  out[3] = (out[3]! & 0xf0) | (rcode & 0xf);
  return out;
}

export class MangleProxy {
  /** Answers changed, by "name TYPE". */
  readonly mangled = new Map<string, number>();
  mangle: Mangle | undefined;
  private udp: UdpSocket | undefined;
  private tcp: Server | undefined;
  private readonly conns = new Set<TcpSocket>();

  private constructor(readonly address: string, readonly port: number, private readonly backend: { address: string; port: number }) {}

  static async start(opts: { address: string; backend: { address: string; port: number }; mangle?: Mangle }): Promise<MangleProxy> {
    for (const a of [opts.address, opts.backend.address]) if (!LOOPBACK.test(a)) throw new Error(`proxy must stay on 127.0.0.0/8, not ${a}`);
    const p = new MangleProxy(opts.address, await freePort(opts.address), opts.backend);
    p.mangle = opts.mangle;
    await p.listen();
    return p;
  }

  get label(): string {
    return `${this.address}:${this.port}`;
  }

  /** Answers changed for (name, type), or for every question when no name is given. */
  count(name?: string, type?: string): number {
    let c = 0;
    for (const [k, v] of this.mangled) if (!name || k === `${name} ${type}`) c += v;
    return c;
  }

  private rewrite(query: Uint8Array, answer: Uint8Array, transport: 'udp' | 'tcp'): Uint8Array {
    const q = questionOf(query);
    if (!q || !this.mangle) return answer;
    let out: Uint8Array | undefined;
    try {
      out = this.mangle({ ...q, transport }, answer);
    } catch {
      return answer;
    }
    if (!out) return answer;
    const k = `${q.name} ${q.type}`;
    this.mangled.set(k, (this.mangled.get(k) ?? 0) + 1);
    return out;
  }

  private async listen(): Promise<void> {
    const backend = this.backend;
    const udp = createSocket('udp4');
    this.udp = udp;
    udp.on('message', (msg, rinfo) => {
      const up = createSocket('udp4');
      const t = setTimeout(() => up.close(), 5000);
      up.on('error', () => {
        clearTimeout(t);
        up.close();
      });
      up.on('message', (ans) => {
        clearTimeout(t);
        up.close();
        udp.send(this.rewrite(msg, ans, 'udp'), rinfo.port, rinfo.address);
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
          const up = new TcpSocket();
          const dec = new FrameDecoder();
          up.on('error', () => up.destroy());
          up.on('data', (d: Buffer) => {
            for (const ans of dec.pushAll(d)) {
              if (!client.destroyed) client.write(frame(this.rewrite(q, ans, 'tcp')));
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
