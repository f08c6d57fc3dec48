/** Shared fixtures for the listener tests: a fixed-answer handler, dig, raw UDP/TCP clients. Loopback only. */
import * as dgram from 'node:dgram';
import * as net from 'node:net';
import {
  Name, RRType, Rcode, EdeCode, makeQuery, makeRR, parseMessage, serializeMessage,
  type Edns, type Message, type RR,
} from '../../src/wire/index.js';
import { startServer, type Answer, type ClientInfo, type ServerHandle, type ServerOptions } from '../../src/server/index.js';

export const LOOPBACK4 = '127.0.0.1';
export const LOOPBACK6 = '::1';

const enc = new TextEncoder();

export function txt(name: Name, s: string, ttl = 300): RR {
  return makeRR(name, RRType.TXT, ttl, { strings: [enc.encode(s)] });
}

function answer(rrs: RR[], extra: Partial<Answer> = {}): Answer {
  return { rcode: Rcode.NOERROR, answer: rrs, authority: [], additional: [], ...extra };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Handler behaviour, chosen by the first label of the query name (case-insensitive). */
export async function fixedHandler(q: Message, client: ClientInfo): Promise<Answer> {
  const qn = q.question[0]!;
  const name = qn.name;
  const first = name.labels[0] ? Buffer.from(name.labels[0]).toString('latin1').toLowerCase() : '';
  const many = (n: number, len: number): RR[] =>
    Array.from({ length: n }, (_, i) => txt(name, `${String(i).padStart(3, '0')}${'x'.repeat(len - 3)}`));
  switch (first) {
    case 'big': // ~13 kB: truncated over UDP, whole over TCP
      return answer(many(60, 200));
    case 'huge': // ~60 kB: the most a TCP reply can nearly be
      return answer(many(280, 200));
    case 'mid': // ~1.1 kB: fits 1232 but not 512
      return answer(many(5, 200));
    case 'large': // ~1.7 kB: over the default udpMaxSize
      return answer(many(8, 200));
    case 'secure':
      return answer([makeRR(name, RRType.A, 300, { address: '192.0.2.2' })], { flags: { ad: true } });
    case 'bogus':
      return answer([], { rcode: Rcode.SERVFAIL, ede: [{ code: EdeCode.DNSSEC_BOGUS, text: 'signature expired on example.' }] });
    case 'nx':
      return answer([], { rcode: Rcode.NXDOMAIN });
    case 'fail':
      throw new Error('handler exploded (test)');
    case 'garbage':
      return { rcode: 0 } as unknown as Answer;
    case 'whoami':
      return answer([txt(name, `${client.transport} ${client.address}`)]);
    case 'slow':
      await sleep(300);
      return answer([txt(name, 'slow')]);
    case 'fast':
      return answer([txt(name, 'fast')]);
    default:
      return answer([makeRR(name, qn.type === RRType.AAAA ? RRType.AAAA : RRType.A, 300,
        qn.type === RRType.AAAA ? { address: '2001:db8::1' } : { address: '192.0.2.1' })]);
  }
}

export async function startTest(opts: Partial<ServerOptions> = {}): Promise<ServerHandle & { port: number }> {
  const s = await startServer({ listen: [{ address: LOOPBACK4, port: 0 }], handler: fixedHandler, ...opts });
  return Object.assign(s, { port: s.addresses[0]!.port });
}

// dig lives in test/support/dig.ts (shared with the daemon and world tests).
export { dig, parseDig, type DigResult } from '../support/dig.js';

// ---------------------------------------------------------------- raw clients

export function queryBytes(name: string, type: number, opts: { id?: number; edns?: Edns; rd?: boolean; cd?: boolean } = {}): Uint8Array {
  const m = makeQuery(Name.fromText(name), type, { id: opts.id ?? 0x1234, rd: opts.rd ?? true, cd: opts.cd ?? false, edns: opts.edns });
  return serializeMessage(m).bytes;
}

export function edns(udpSize = 1232, dnssecOk = false): Edns {
  return { udpSize, version: 0, dnssecOk, z: 0, options: [] };
}

/** Send one datagram from an ephemeral loopback port; the reply, or undefined after `waitMs`. */
export function udpExchange(port: number, bytes: Uint8Array, opts: { server?: string; waitMs?: number } = {}): Promise<Buffer | undefined> {
  const server = opts.server ?? LOOPBACK4;
  const sock = dgram.createSocket(net.isIPv6(server) ? 'udp6' : 'udp4');
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      sock.close();
      resolve(undefined);
    }, opts.waitMs ?? 2000);
    sock.on('message', (msg) => {
      clearTimeout(timer);
      sock.close();
      resolve(msg);
    });
    sock.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    sock.send(bytes, port, server);
  });
}

/** A raw DNS-over-TCP client that collects framed replies. */
export class TcpTestClient {
  readonly socket: net.Socket;
  readonly messages: Message[] = [];
  private buf = Buffer.alloc(0);
  private waiters: (() => void)[] = [];
  closed = false;
  readonly closedAt: Promise<number>;

  private constructor(socket: net.Socket) {
    this.socket = socket;
    socket.setNoDelay(true);
    socket.on('data', (d: Buffer) => {
      this.buf = Buffer.concat([this.buf, d]);
      while (this.buf.length >= 2 && this.buf.length >= 2 + this.buf.readUInt16BE(0)) {
        const len = this.buf.readUInt16BE(0);
        this.messages.push(parseMessage(this.buf.subarray(2, 2 + len)));
        this.buf = this.buf.subarray(2 + len);
      }
      this.wake();
    });
    socket.on('error', () => {});
    this.closedAt = new Promise((res) => socket.on('close', () => {
      this.closed = true;
      this.wake();
      res(Date.now());
    }));
  }

  static connect(port: number, host = LOOPBACK4): Promise<TcpTestClient> {
    return new Promise((resolve, reject) => {
      const s = net.connect({ port, host }, () => {
        s.off('error', reject);
        resolve(new TcpTestClient(s));
      });
      s.once('error', reject);
    });
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  write(b: Uint8Array): Promise<void> {
    return new Promise((res, rej) => this.socket.write(b, (e) => (e ? rej(e) : res())));
  }

  /** Wait until `n` replies have arrived (or the connection closed, or the timeout passed). */
  async waitFor(n: number, timeoutMs = 3000): Promise<Message[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.messages.length < n && !this.closed && Date.now() < deadline) {
      await new Promise<void>((res) => {
        const t = setTimeout(res, Math.max(1, deadline - Date.now()));
        this.waiters.push(() => {
          clearTimeout(t);
          res();
        });
      });
    }
    return this.messages;
  }

  destroy(): void {
    this.socket.destroy();
  }
}

export function framed(...msgs: Uint8Array[]): Buffer {
  return Buffer.concat(msgs.map((m) => {
    const b = Buffer.alloc(2 + m.length);
    b.writeUInt16BE(m.length, 0);
    b.set(m, 2);
    return b;
  }));
}

/** Whether this machine can bind ::1. */
export function hasIPv6Loopback(): Promise<boolean> {
  return new Promise((resolve) => {
    const s = dgram.createSocket('udp6');
    s.on('error', () => {
      s.close();
      resolve(false);
    });
    s.bind(0, LOOPBACK6, () => {
      s.close();
      resolve(true);
    });
  });
}

export { sleep };
