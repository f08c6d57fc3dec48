#!/usr/bin/env node
/**
 * The mail world's SMTP servers (RFC 5321 with STARTTLS, RFC 3207): one listener per mail host of
 * test/world/mail.ts on port 25 of its address, all in one detached process started with the world.
 *
 *   node dist/test/world/smtp-server.js <config.json>     (config: SmtpServerConfig, written by servers.ts)
 *
 * Behaviours: `normal` (banner, EHLO with PIPELINING, SIZE, 8BITMIME, ENHANCEDSTATUSCODES and STARTTLS with
 * the host's certificate chain), `nostarttls` (STARTTLS neither offered nor accepted: 502) and `silent`
 * (accepts the connection and never sends a banner). Every accepted message is appended as one JSON line
 * (`Delivery`) to deliveriesFile and stored as <messagesDir>/<id>.eml; every closed connection as one
 * `SessionRecord` line to sessionsFile.
 *
 * Robustness: command lines over maxLineOctets get 500 and are discarded, message lines over it make the
 * message fail with 554, 20 bad commands end the session (421), an idle connection is closed after
 * idleTimeoutMs (421), pipelined input after STARTTLS is discarded (no command injection, CVE-2011-0411).
 */
import { randomBytes } from 'node:crypto';
import { appendFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import tls from 'node:tls';
import { fileURLToPath } from 'node:url';

export type SmtpBehaviour = 'normal' | 'nostarttls' | 'silent';

export interface SmtpListener {
  /** host name (absolute, trailing dot), used in the banner and the records */
  host: string;
  address: string;
  port: number;
  behaviour: SmtpBehaviour;
  /** PEM files: certFile holds the chain (leaf first); null: no TLS (nostarttls, silent) */
  tls: { certFile: string; keyFile: string } | null;
}

export interface SmtpServerConfig {
  listeners: SmtpListener[];
  deliveriesFile: string;
  sessionsFile: string;
  messagesDir: string;
  idleTimeoutMs: number;
  maxLineOctets: number;
  maxMessageOctets: number;
  maxRecipients: number;
  maxErrors: number;
}

export interface TlsInfo { protocol: string; cipher: string; servername: string | null }

/** One accepted message (a line of deliveries.jsonl). */
export interface Delivery {
  time: string;
  /** queue id, as in the reply `250 2.0.0 Ok: queued as <id>` */
  id: string;
  host: string;
  /** the listener's address:port */
  listener: string;
  client: { address: string; port: number };
  helo: string | null;
  mailFrom: string;
  rcpt: string[];
  tls: TlsInfo | null;
  /** octets of the message after dot-unstuffing, with CRLF line ends */
  size: number;
  messageId: string | null;
  subject: string | null;
  /** the stored message */
  file: string;
}

export type SessionEnd = 'quit' | 'client-closed' | 'idle-timeout' | 'too-many-errors' | 'tls-error' | 'socket-error' | 'server-stop';

/** One finished connection (a line of sessions.jsonl). */
export interface SessionRecord {
  start: string;
  end: string;
  host: string;
  listener: string;
  behaviour: SmtpBehaviour;
  client: { address: string; port: number };
  helo: string | null;
  /** null: no STARTTLS; 'ok' with `tls`, or the handshake error */
  starttls: null | 'ok' | { error: string };
  tls: TlsInfo | null;
  commands: number;
  /** queue ids of the accepted messages */
  messages: string[];
  /** octets received (silent: what the client sent to a server that never answered) */
  bytesIn: number;
  ended: SessionEnd;
  error?: string;
}

const CRLF = '\r\n';

interface Transaction { from: string; rcpt: string[] }

interface DataState {
  chunks: Buffer[];
  size: number;
  lineTooLong: boolean;
  tooBig: boolean;
}

class Session {
  private stream: net.Socket | tls.TLSSocket;
  private buf: Buffer = Buffer.alloc(0);
  /** discarding the rest of an over-long line */
  private skipping = false;
  private helo: string | null = null;
  private esmtp = false;
  private tx: Transaction | null = null;
  private data: DataState | null = null;
  private tlsInfo: TlsInfo | null = null;
  private starttls: SessionRecord['starttls'] = null;
  private upgrading = false;
  private closed = false;
  private commands = 0;
  private errors = 0;
  private bytesIn = 0;
  private messages: string[] = [];
  private readonly started = new Date();
  private readonly client: { address: string; port: number };
  private readonly onData = (chunk: Buffer): void => this.receive(chunk);

  constructor(private readonly srv: SmtpWorld, private readonly l: SmtpListener, socket: net.Socket) {
    this.stream = socket;
    this.client = { address: socket.remoteAddress ?? '?', port: socket.remotePort ?? 0 };
    this.attach(socket);
    if (l.behaviour !== 'silent') this.send(`220 ${this.name} ESMTP dnssec-stubd test world`);
  }

  private get name(): string {
    return this.l.host.replace(/\.$/, '');
  }

  private attach(s: net.Socket | tls.TLSSocket): void {
    s.on('data', this.onData);
    s.setTimeout(this.srv.config.idleTimeoutMs);
    s.on('timeout', () => {
      if (this.l.behaviour !== 'silent') this.send(`421 4.4.2 ${this.name} Error: timeout exceeded`);
      this.finish('idle-timeout');
    });
    s.on('end', () => this.finish('client-closed'));
    s.on('close', () => this.finish('client-closed'));
    s.on('error', (e) => this.finish(this.upgrading ? 'tls-error' : 'socket-error', e.message));
  }

  private send(text: string): void {
    if (!this.closed && this.stream.writable) this.stream.write(text + CRLF);
  }

  private reply(code: number, lines: string | string[]): void {
    const ls = Array.isArray(lines) ? lines : [lines];
    this.send(ls.map((l, i) => `${code}${i === ls.length - 1 ? ' ' : '-'}${l}`).join(CRLF));
  }

  /** a 5xx for a bad command; too many end the session */
  private bad(code: number, text: string): void {
    this.reply(code, text);
    if (++this.errors >= this.srv.config.maxErrors) {
      this.reply(421, `4.7.0 ${this.name} Error: too many errors`);
      this.finish('too-many-errors');
    }
  }

  finish(how: SessionEnd, error?: string): void {
    if (this.closed) return;
    this.closed = true;
    this.srv.sessions.delete(this);
    if (this.upgrading && this.starttls === null) this.starttls = { error: error ?? `${how} during the TLS handshake` };
    const rec: SessionRecord = {
      start: this.started.toISOString(), end: new Date().toISOString(), host: this.l.host,
      listener: `${this.l.address}:${this.l.port}`, behaviour: this.l.behaviour, client: this.client, helo: this.helo,
      starttls: this.starttls, tls: this.tlsInfo, commands: this.commands, messages: this.messages, bytesIn: this.bytesIn, ended: how,
    };
    if (error !== undefined) rec.error = error;
    this.srv.record(this.srv.config.sessionsFile, rec);
    this.stream.end();
    const s = this.stream;
    setTimeout(() => s.destroy(), 200).unref();
  }

  private receive(chunk: Buffer): void {
    this.bytesIn += chunk.length;
    if (this.closed || this.upgrading) return;
    if (this.l.behaviour === 'silent') return;
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    const max = this.srv.config.maxLineOctets;
    while (!this.closed && !this.upgrading) {
      const nl = this.buf.indexOf(0x0a);
      if (nl < 0) {
        // no end of line yet: an over-long line is rejected once and its rest discarded
        if (this.buf.length > max + 1) {
          if (!this.skipping) this.lineTooLong();
          this.skipping = true;
          this.buf = Buffer.alloc(0);
        }
        return;
      }
      let line = this.buf.subarray(0, nl);
      this.buf = this.buf.subarray(nl + 1);
      if (line.length && line[line.length - 1] === 0x0d) line = line.subarray(0, line.length - 1);
      if (this.skipping) { this.skipping = false; continue; }
      if (line.length > max) { this.lineTooLong(); continue; }
      if (this.data) this.dataLine(line);
      else this.command(line);
    }
  }

  private lineTooLong(): void {
    if (this.data) this.data.lineTooLong = true;
    else this.bad(500, `5.5.2 Error: line longer than ${this.srv.config.maxLineOctets} octets`);
  }

  private command(raw: Buffer): void {
    this.commands++;
    const line = raw.toString('latin1');
    if (!/^[\x20-\x7e\t]*$/.test(line)) return this.bad(500, '5.5.2 Error: bad syntax (non-ASCII or control characters)');
    const m = /^\s*([A-Za-z]+)(?:\s+(.*?))?\s*$/.exec(line);
    if (!m) return this.bad(500, '5.5.2 Error: bad syntax');
    const verb = m[1]!.toUpperCase();
    const arg = m[2] ?? '';
    switch (verb) {
      case 'EHLO':
      case 'HELO':
        return this.hello(verb, arg);
      case 'STARTTLS':
        return this.startTls(arg);
      case 'MAIL':
        return this.mail(arg);
      case 'RCPT':
        return this.rcpt(arg);
      case 'DATA':
        return this.dataStart(arg);
      case 'RSET':
        if (arg) return this.bad(501, '5.5.4 Syntax: RSET');
        this.tx = null;
        return this.reply(250, '2.0.0 Ok');
      case 'NOOP':
        return this.reply(250, '2.0.0 Ok');
      case 'QUIT':
        this.reply(221, '2.0.0 Bye');
        return this.finish('quit');
      case 'VRFY':
        return arg ? this.reply(252, '2.0.0 Cannot VRFY user, but will accept message and attempt delivery') : this.bad(501, '5.5.4 Syntax: VRFY address');
      case 'HELP':
        return this.reply(214, '2.0.0 Commands: EHLO HELO MAIL RCPT DATA RSET NOOP QUIT VRFY HELP' + (this.offersTls() ? ' STARTTLS' : ''));
      default:
        return this.bad(500, '5.5.2 Error: command not recognized');
    }
  }

  private offersTls(): boolean {
    return this.l.behaviour === 'normal' && this.l.tls !== null && this.tlsInfo === null;
  }

  private hello(verb: 'EHLO' | 'HELO', arg: string): void {
    if (!arg || /\s/.test(arg)) return this.bad(501, `5.5.4 Syntax: ${verb} hostname`);
    this.helo = arg;
    this.esmtp = verb === 'EHLO';
    this.tx = null;
    if (verb === 'HELO') return this.reply(250, this.name);
    const ext = ['PIPELINING', `SIZE ${this.srv.config.maxMessageOctets}`, 'ENHANCEDSTATUSCODES', '8BITMIME'];
    if (this.offersTls()) ext.push('STARTTLS');
    this.reply(250, [this.name, ...ext]);
  }

  private startTls(arg: string): void {
    if (this.l.behaviour !== 'normal' || this.l.tls === null) return this.bad(502, '5.5.1 Error: command not implemented');
    if (arg) return this.bad(501, '5.5.4 Syntax: STARTTLS');
    if (this.tlsInfo) return this.bad(503, '5.5.1 Error: TLS already active');
    if (!this.esmtp) return this.bad(503, '5.5.1 Error: send EHLO first');
    // RFC 3207 4.2: anything the client pipelined after STARTTLS is discarded
    this.buf = Buffer.alloc(0);
    this.upgrading = true;
    const raw = this.stream as net.Socket;
    raw.removeListener('data', this.onData);
    raw.pause();
    raw.setTimeout(0); // the TLS socket keeps its own idle timer
    this.send('220 2.0.0 Ready to start TLS');
    const secure = new tls.TLSSocket(raw, { isServer: true, secureContext: this.srv.contextFor(this.l) });
    this.stream = secure;
    this.attach(secure);
    secure.once('secure', () => {
      const c = secure.getCipher();
      this.tlsInfo = { protocol: secure.getProtocol() ?? '?', cipher: c.name, servername: (secure as unknown as { servername?: string | false }).servername || null };
      this.starttls = 'ok';
      this.upgrading = false;
      // RFC 3207 4.2: the session starts over, the client must say EHLO again
      this.helo = null;
      this.esmtp = false;
      this.tx = null;
    });
    secure.on('error', (e) => { if (this.starttls === null) this.starttls = { error: e.message }; });
  }

  private mail(arg: string): void {
    if (!this.helo) return this.bad(503, '5.5.1 Error: send HELO/EHLO first');
    if (this.tx) return this.bad(503, '5.5.1 Error: nested MAIL command');
    const m = /^FROM:\s*<([^<>\s]*)>(?:\s+(.*))?$/i.exec(arg);
    if (!m) return this.bad(501, '5.5.4 Syntax: MAIL FROM:<address>');
    if (m[1]!.length > 256) return this.bad(501, '5.1.7 Bad sender address syntax');
    for (const p of (m[2] ?? '').split(/\s+/).filter(Boolean)) {
      const [k, v] = p.split('=', 2) as [string, string | undefined];
      switch (k.toUpperCase()) {
        case 'SIZE':
          if (!v || !/^\d{1,12}$/.test(v)) return this.bad(501, '5.5.4 Bad SIZE parameter');
          if (Number(v) > this.srv.config.maxMessageOctets) return this.reply(552, '5.3.4 Message size exceeds fixed limit');
          break;
        case 'BODY':
          if (!v || !/^(7BIT|8BITMIME)$/i.test(v)) return this.bad(501, '5.5.4 Bad BODY parameter');
          break;
        default:
          return this.bad(555, `5.5.4 Unsupported option: ${k}`);
      }
    }
    this.tx = { from: m[1]!, rcpt: [] };
    this.reply(250, '2.1.0 Ok');
  }

  private rcpt(arg: string): void {
    if (!this.tx) return this.bad(503, '5.5.1 Error: need MAIL command');
    const m = /^TO:\s*<([^<>\s]+)>(?:\s+(.*))?$/i.exec(arg);
    if (!m) return this.bad(501, '5.5.4 Syntax: RCPT TO:<address>');
    if (m[2]) return this.bad(555, '5.5.4 Unsupported option');
    if (m[1]!.length > 256) return this.bad(501, '5.1.3 Bad recipient address syntax');
    if (this.tx.rcpt.length >= this.srv.config.maxRecipients) return this.reply(452, '4.5.3 Error: too many recipients');
    this.tx.rcpt.push(m[1]!);
    this.reply(250, '2.1.5 Ok');
  }

  private dataStart(arg: string): void {
    if (arg) return this.bad(501, '5.5.4 Syntax: DATA');
    if (!this.tx) return this.bad(503, '5.5.1 Error: need RCPT command');
    if (this.tx.rcpt.length === 0) return this.bad(554, '5.5.1 Error: no valid recipients');
    this.data = { chunks: [], size: 0, lineTooLong: false, tooBig: false };
    this.reply(354, 'End data with <CR><LF>.<CR><LF>');
  }

  private dataLine(line: Buffer): void {
    const d = this.data!;
    if (line.length === 1 && line[0] === 0x2e) return this.dataEnd();
    const body = line[0] === 0x2e ? line.subarray(1) : line;
    d.size += body.length + 2;
    if (d.size > this.srv.config.maxMessageOctets) d.tooBig = true;
    if (!d.tooBig) d.chunks.push(body, Buffer.from(CRLF));
  }

  private dataEnd(): void {
    const d = this.data!;
    const tx = this.tx!;
    this.data = null;
    this.tx = null;
    if (d.lineTooLong) return this.reply(554, `5.6.0 Error: message line longer than ${this.srv.config.maxLineOctets} octets`);
    if (d.tooBig) return this.reply(552, '5.3.4 Error: message size exceeds fixed limit');
    const id = randomBytes(5).toString('hex').toUpperCase();
    const msg = Buffer.concat(d.chunks);
    const file = path.join(this.srv.config.messagesDir, `${id}.eml`);
    const head = msg.toString('latin1', 0, Math.min(msg.length, 65536)).split(/\r\n\r\n/)[0] ?? '';
    const header = (n: string): string | null => {
      const m = new RegExp(`^${n}:[ \\t]*(.*(?:\\r\\n[ \\t].*)*)`, 'im').exec(head);
      return m ? m[1]!.replace(/\r\n[ \t]+/g, ' ').trim() : null;
    };
    try {
      writeFileSync(file, msg);
    } catch (e) {
      return this.reply(451, `4.3.0 Error: cannot store the message: ${(e as Error).message}`);
    }
    const delivery: Delivery = {
      time: new Date().toISOString(), id, host: this.l.host, listener: `${this.l.address}:${this.l.port}`,
      client: this.client, helo: this.helo, mailFrom: tx.from, rcpt: tx.rcpt, tls: this.tlsInfo, size: d.size,
      messageId: header('Message-ID'), subject: header('Subject'), file,
    };
    this.srv.record(this.srv.config.deliveriesFile, delivery);
    this.messages.push(id);
    this.reply(250, `2.0.0 Ok: queued as ${id}`);
  }
}

/** The running listeners of one SmtpServerConfig. */
export class SmtpWorld {
  readonly sessions = new Set<Session>();
  private readonly servers: net.Server[] = [];
  private readonly contexts = new Map<string, tls.SecureContext>();

  constructor(readonly config: SmtpServerConfig) {}

  contextFor(l: SmtpListener): tls.SecureContext {
    const key = `${l.tls!.certFile}\0${l.tls!.keyFile}`;
    let c = this.contexts.get(key);
    if (!c) {
      c = tls.createSecureContext({ cert: readFileSync(l.tls!.certFile), key: readFileSync(l.tls!.keyFile) });
      this.contexts.set(key, c);
    }
    return c;
  }

  record(file: string, obj: object): void {
    try {
      appendFileSync(file, JSON.stringify(obj) + '\n');
    } catch (e) {
      process.stderr.write(`smtp-server: cannot write ${file}: ${(e as Error).message}\n`);
    }
  }

  async start(): Promise<void> {
    mkdirSync(this.config.messagesDir, { recursive: true });
    for (const f of [this.config.deliveriesFile, this.config.sessionsFile]) mkdirSync(path.dirname(f), { recursive: true });
    for (const l of this.config.listeners) {
      if (l.tls) this.contextFor(l); // fail early on unreadable certificates
      const server = net.createServer((socket) => {
        const s = new Session(this, l, socket);
        this.sessions.add(s);
      });
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen({ host: l.address, port: l.port, exclusive: true }, () => {
          server.removeListener('error', reject);
          resolve();
        });
      });
      server.on('error', (e) => process.stderr.write(`smtp-server ${l.address}:${l.port}: ${e.message}\n`));
      this.servers.push(server);
    }
  }

  async stop(): Promise<void> {
    for (const s of [...this.sessions]) s.finish('server-stop');
    await Promise.all(this.servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
  }
}

/** Parse and check a config file (clear errors for bad input). */
function readConfig(file: string): SmtpServerConfig {
  const c = JSON.parse(readFileSync(file, 'utf8')) as SmtpServerConfig;
  if (!Array.isArray(c.listeners) || c.listeners.length === 0) throw new Error(`${file}: no listeners`);
  for (const l of c.listeners) {
    if (!net.isIP(l.address)) throw new Error(`${file}: ${l.host}: bad address ${l.address}`);
    if (!['normal', 'nostarttls', 'silent'].includes(l.behaviour)) throw new Error(`${file}: ${l.host}: bad behaviour ${l.behaviour}`);
    if (l.behaviour === 'normal' && !l.tls) throw new Error(`${file}: ${l.host}: a normal host needs a certificate`);
  }
  for (const k of ['idleTimeoutMs', 'maxLineOctets', 'maxMessageOctets', 'maxRecipients', 'maxErrors'] as const) {
    if (!Number.isInteger(c[k]) || c[k] <= 0) throw new Error(`${file}: ${k} must be a positive integer`);
  }
  return c;
}

async function main(): Promise<void> {
  const file = process.argv[2];
  if (!file) throw new Error('usage: smtp-server.js <config.json>');
  const world = new SmtpWorld(readConfig(file));
  await world.start();
  process.stdout.write(`${new Date().toISOString()} smtp-server: ${world.config.listeners.map((l) => `${l.host}@${l.address}:${l.port}/${l.behaviour}`).join(' ')}\n`);
  for (const sig of ['SIGTERM', 'SIGINT'] as const) {
    process.once(sig, () => { void world.stop().then(() => process.exit(0)); setTimeout(() => process.exit(0), 2000).unref(); });
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((e: unknown) => {
    process.stderr.write(`smtp-server: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  });
}
