/**
 * A minimal SMTP client for tests against the mail world's servers (node:net + node:tls): one command at a
 * time, multi-line replies, STARTTLS returning the presented chain. Not a DANE client: it never verifies.
 * Independent of src/dane/smtp.ts on purpose: it checks the fixture that starttls() is tested against (sharing its
 * reply parser or chainOf would let one bug pass both), and it speaks whole sessions (MAIL, RCPT, DATA, bad
 * commands, raw writes, a partial reply left pending) where starttls() runs one fixed exchange and quits.
 *
 *   const c = await SmtpClient.connect(worldAddr(102, 10), 25);
 *   const banner = await c.reply();             // { code: 220, lines: [...] }
 *   await c.command('EHLO client.test');
 *   const chain = await c.startTls('ok.dhost.test');   // X509Certificate[], leaf first
 */
import { X509Certificate } from 'node:crypto';
import net from 'node:net';
import tls from 'node:tls';

export interface SmtpReply { code: number; lines: string[]; text: string }

export class SmtpClient {
  private buf = '';
  private waiters: Array<() => void> = [];
  private closed = false;

  private constructor(private sock: net.Socket | tls.TLSSocket, private readonly timeoutMs: number) {
    this.listen(sock);
  }

  static connect(host: string, port: number, opts: { timeoutMs?: number } = {}): Promise<SmtpClient> {
    return new Promise((resolve, reject) => {
      const s = net.connect({ host, port });
      s.once('connect', () => resolve(new SmtpClient(s, opts.timeoutMs ?? 10_000)));
      s.once('error', reject);
    });
  }

  private listen(s: net.Socket | tls.TLSSocket): void {
    s.setEncoding('latin1');
    s.on('data', (d: string) => { this.buf += d; this.wake(); });
    s.on('close', () => { this.closed = true; this.wake(); });
    s.on('error', () => { this.closed = true; this.wake(); });
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Wait for the next complete reply; null if the server closed or nothing came within `timeoutMs`. */
  async reply(timeoutMs = this.timeoutMs): Promise<SmtpReply | null> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const m = /^((?:\d{3}-[^\n]*\n)*)(\d{3})(?: [^\n]*)?\r?\n/.exec(this.buf);
      if (m) {
        const raw = m[0];
        this.buf = this.buf.slice(raw.length);
        const lines = raw.split(/\r?\n/).filter((l) => l !== '').map((l) => l.slice(4));
        return { code: Number(m[2]), lines, text: lines.join('\n') };
      }
      if (this.closed) return null;
      const left = deadline - Date.now();
      if (left <= 0) return null;
      await new Promise<void>((r) => {
        const t = setTimeout(r, left);
        this.waiters.push(() => { clearTimeout(t); r(); });
      });
    }
  }

  /** What arrived but is not a complete reply. */
  pending(): string {
    return this.buf;
  }

  write(data: string | Buffer): void {
    this.sock.write(data);
  }

  async command(line: string): Promise<SmtpReply> {
    this.write(`${line}\r\n`);
    const r = await this.reply();
    if (!r) throw new Error(`no reply to ${line.slice(0, 60)}`);
    return r;
  }

  /** STARTTLS (the command must already have been answered 220 or is sent here) and the TLS handshake. */
  async startTls(servername: string, sendCommand = true): Promise<{ chain: X509Certificate[]; protocol: string; cipher: string }> {
    if (sendCommand) {
      const r = await this.command('STARTTLS');
      if (r.code !== 220) throw new Error(`STARTTLS refused: ${r.code} ${r.text}`);
    }
    const raw = this.sock as net.Socket;
    raw.removeAllListeners('data');
    raw.removeAllListeners('close');
    const secure = tls.connect({ socket: raw, servername, rejectUnauthorized: false });
    await new Promise<void>((resolve, reject) => {
      secure.once('secureConnect', resolve);
      secure.once('error', reject);
    });
    this.sock = secure;
    this.listen(secure);
    const chain: X509Certificate[] = [];
    let c = secure.getPeerCertificate(true) as tls.DetailedPeerCertificate | undefined;
    const seen = new Set<string>();
    while (c && c.raw && !seen.has(c.fingerprint256)) {
      seen.add(c.fingerprint256);
      chain.push(new X509Certificate(c.raw));
      c = c.issuerCertificate;
    }
    return { chain, protocol: secure.getProtocol() ?? '?', cipher: secure.getCipher().name };
  }

  close(): void {
    this.sock.destroy();
  }
}
