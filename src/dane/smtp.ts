/**
 * A STARTTLS client for one SMTP server address: connect, banner, EHLO, STARTTLS, TLS handshake with SNI set to
 * the MX host name, then QUIT. The certificate is not verified here (`rejectUnauthorized: false`): the caller
 * matches the presented chain against TLSA records (tlsa.ts). Every step has a timeout and the whole exchange a
 * deadline, so it never hangs; every failure is a value, never a throw.
 */
import { Socket, isIP } from 'node:net';
import { connect as tlsConnect, type TLSSocket, type DetailedPeerCertificate } from 'node:tls';
import { X509Certificate } from 'node:crypto';
import { hostname } from 'node:os';
import { performance } from 'node:perf_hooks';

export type SmtpStep = 'connect' | 'banner' | 'ehlo' | 'starttls' | 'handshake';

export interface SmtpReply {
  readonly code: number;
  /** The text of each line, without the code and separator. */
  readonly lines: readonly string[];
}

export type StarttlsFailure =
  | { readonly kind: 'refused'; readonly message: string }
  | { readonly kind: 'network-error'; readonly step: SmtpStep; readonly code: string; readonly message: string }
  | { readonly kind: 'timeout'; readonly step: SmtpStep }
  /** The server closed the connection before the step finished. */
  | { readonly kind: 'closed'; readonly step: SmtpStep }
  | { readonly kind: 'no-starttls'; readonly ehlo: SmtpReply }
  | { readonly kind: 'tls-error'; readonly message: string }
  | { readonly kind: 'smtp-error'; readonly step: 'banner' | 'ehlo' | 'starttls'; readonly reply: SmtpReply }
  /** A reply that is not SMTP, too long, or plaintext sent after the STARTTLS reply (an injection). */
  | { readonly kind: 'protocol-error'; readonly step: SmtpStep; readonly detail: string };

export interface StarttlsSession {
  readonly kind: 'ok';
  readonly localAddress: string;
  readonly banner: SmtpReply;
  readonly ehlo: SmtpReply;
  /** e.g. TLSv1.3 */
  readonly protocol: string;
  /** OpenSSL's name of the cipher, e.g. TLS_AES_256_GCM_SHA384 or ECDHE-RSA-AES256-GCM-SHA384. */
  readonly cipher: string;
  /** The certificates the server presented, leaf first, linked by issuer. */
  readonly chain: readonly X509Certificate[];
}

export type StarttlsResult = StarttlsSession | StarttlsFailure;

export interface StarttlsOptions {
  /** IP address of the server. */
  readonly address: string;
  readonly port: number;
  /** SNI: the MX host name (a trailing dot is removed). */
  readonly servername: string;
  /** The name given in EHLO. */
  readonly helo: string;
  /** Timeout of each step, in milliseconds. */
  readonly stepTimeoutMs: number;
  /** Absolute limit on `performance.now()` for the whole exchange. */
  readonly deadline?: number | undefined;
}

/** The default EHLO name: this host's name when it is a domain name (has a dot), else localhost. */
export function defaultHelo(): string {
  const h = hostname();
  return h.includes('.') && /^[A-Za-z0-9.-]+$/.test(h) ? h : 'localhost';
}

export function describeFailure(f: StarttlsFailure): string {
  switch (f.kind) {
    case 'refused': return `connection refused (${f.message})`;
    case 'network-error': return `network error at ${f.step}: ${f.code} ${f.message}`;
    case 'timeout': return `timeout at ${f.step}`;
    case 'closed': return `the server closed the connection at ${f.step}`;
    case 'no-starttls': return 'the server does not offer STARTTLS';
    case 'tls-error': return `TLS handshake failed: ${f.message}`;
    case 'smtp-error': return `the server replied to ${f.step}: ${f.reply.code} ${f.reply.lines.join(' / ')}`;
    case 'protocol-error': return `protocol error at ${f.step}: ${f.detail}`;
  }
}

/** Reply limits: lines and bytes of one reply (a server cannot make us buffer without bound). */
const MAX_LINES = 100;
const MAX_BUFFER = 64 * 1024;

class Failed extends Error {
  constructor(readonly failure: StarttlsFailure) {
    super(failure.kind);
  }
}

/** Reads SMTP replies from the plaintext socket. */
class ReplyReader {
  private buffer = '';
  private waiter: { resolve: () => void } | undefined;
  private ended = false;
  private error: Error | undefined;

  constructor(private readonly socket: Socket) {
    socket.on('data', this.onData);
    socket.on('end', this.onEnd);
    socket.on('close', this.onEnd);
    socket.on('error', this.onError);
  }

  private readonly onData = (chunk: Buffer): void => {
    this.buffer += chunk.toString('latin1');
    this.wake();
  };
  private readonly onEnd = (): void => {
    this.ended = true;
    this.wake();
  };
  private readonly onError = (e: Error): void => {
    this.error = e;
    this.wake();
  };

  private wake(): void {
    const w = this.waiter;
    this.waiter = undefined;
    w?.resolve();
  }

  /** Stop reading: the TLS layer takes over the socket. Returns what was read past the last reply. */
  detach(): string {
    this.socket.off('data', this.onData);
    this.socket.off('end', this.onEnd);
    this.socket.off('close', this.onEnd);
    this.socket.off('error', this.onError);
    return this.buffer;
  }

  /** The next complete reply, or a failure of `step`. */
  async reply(step: SmtpStep, timeoutMs: number): Promise<SmtpReply> {
    const lines: string[] = [];
    let code = 0;
    const timer = { expired: false };
    const t = setTimeout(() => {
      timer.expired = true;
      this.wake();
    }, timeoutMs);
    try {
      for (;;) {
        const nl = this.buffer.indexOf('\n');
        if (nl >= 0) {
          const line = this.buffer.slice(0, nl).replace(/\r$/, '');
          this.buffer = this.buffer.slice(nl + 1);
          const m = /^([2-5][0-9][0-9])([ -]|$)(.*)$/.exec(line);
          if (!m) throw new Failed({ kind: 'protocol-error', step, detail: `not an SMTP reply: ${JSON.stringify(line.slice(0, 80))}` });
          const c = Number(m[1]);
          if (lines.length > 0 && c !== code) throw new Failed({ kind: 'protocol-error', step, detail: `reply code changed from ${code} to ${c}` });
          code = c;
          lines.push(m[3]!);
          if (m[2] !== '-') return { code, lines };
          if (lines.length >= MAX_LINES) throw new Failed({ kind: 'protocol-error', step, detail: `more than ${MAX_LINES} reply lines` });
          continue;
        }
        if (this.buffer.length > MAX_BUFFER) throw new Failed({ kind: 'protocol-error', step, detail: 'reply line too long' });
        if (this.error) throw new Failed(networkFailure(this.error, step));
        if (this.ended) throw new Failed({ kind: 'closed', step });
        if (timer.expired) throw new Failed({ kind: 'timeout', step });
        await new Promise<void>((resolve) => {
          this.waiter = { resolve };
        });
      }
    } finally {
      clearTimeout(t);
    }
  }
}

function networkFailure(e: Error, step: SmtpStep): StarttlsFailure {
  const code = (e as NodeJS.ErrnoException).code ?? 'EUNKNOWN';
  if (code === 'ECONNREFUSED') return { kind: 'refused', message: e.message };
  if (code === 'ECONNRESET' && step !== 'connect') return { kind: 'closed', step };
  return { kind: 'network-error', step, code, message: e.message };
}

/** The presented chain from a detailed peer certificate: leaf first, following issuerCertificate links. */
export function chainOf(peer: DetailedPeerCertificate | undefined): X509Certificate[] {
  const out: X509Certificate[] = [];
  const seen = new Set<string>();
  let cur: DetailedPeerCertificate | undefined = peer;
  while (cur && cur.raw && out.length < 16) {
    const key = cur.raw.toString('base64');
    if (seen.has(key)) break;
    seen.add(key);
    out.push(new X509Certificate(cur.raw));
    cur = cur.issuerCertificate;
  }
  return out;
}

/** Run the STARTTLS exchange with one address. */
export async function starttls(opts: StarttlsOptions): Promise<StarttlsResult> {
  const stepTimeout = (): number => {
    const left = opts.deadline === undefined ? Infinity : opts.deadline - performance.now();
    return Math.max(1, Math.min(opts.stepTimeoutMs, left));
  };
  const socket = new Socket();
  let tls: TLSSocket | undefined;
  try {
    await connectStep(socket, opts, stepTimeout());
    const reader = new ReplyReader(socket);
    const banner = await reader.reply('banner', stepTimeout());
    if (banner.code !== 220) throw new Failed({ kind: 'smtp-error', step: 'banner', reply: banner });
    socket.write(`EHLO ${opts.helo}\r\n`);
    const ehlo = await reader.reply('ehlo', stepTimeout());
    if (ehlo.code !== 250) throw new Failed({ kind: 'smtp-error', step: 'ehlo', reply: ehlo });
    if (!ehlo.lines.slice(1).some((l) => /^STARTTLS\b/i.test(l.trim()))) throw new Failed({ kind: 'no-starttls', ehlo });
    socket.write('STARTTLS\r\n');
    const ready = await reader.reply('starttls', stepTimeout());
    if (ready.code !== 220) throw new Failed({ kind: 'smtp-error', step: 'starttls', reply: ready });
    const extra = reader.detach();
    // Errors of the raw socket now surface on the TLS socket; keep a listener so none is unhandled.
    socket.on('error', () => undefined);
    if (extra.length > 0) throw new Failed({ kind: 'protocol-error', step: 'starttls', detail: `${extra.length} octets of plaintext after the STARTTLS reply` });
    tls = await handshake(socket, opts.servername, stepTimeout());
    const chain = chainOf(tls.getPeerCertificate(true) as DetailedPeerCertificate);
    const session: StarttlsSession = {
      kind: 'ok',
      localAddress: socket.localAddress ?? '',
      banner,
      ehlo,
      protocol: tls.getProtocol() ?? 'unknown',
      cipher: tls.getCipher()?.name ?? 'unknown',
      chain,
    };
    tls.end('QUIT\r\n');
    return session;
  } catch (err) {
    if (err instanceof Failed) return err.failure;
    return { kind: 'network-error', step: 'connect', code: 'EUNKNOWN', message: (err as Error).message ?? String(err) };
  } finally {
    // Give a polite QUIT a moment, then close whatever is left.
    const s = tls ?? socket;
    setTimeout(() => s.destroy(), 200).unref();
    if (!tls) socket.destroy();
  }
}

/**
 * Wait for `ok` on `target`: an event of `failures` first rejects with the failure it maps to, and so does the
 * timeout (`timeout`); `abort` then closes the socket. Listeners and timer are removed whichever comes first.
 */
function settleOn(
  target: Socket, ok: string, failures: Record<string, (e?: Error) => StarttlsFailure>,
  timeout: StarttlsFailure, timeoutMs: number, abort: () => void,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const handlers = Object.entries(failures).map(([event, failure]) => [event, (e?: Error) => settle(failure(e))] as const);
    const onOk = (): void => settle(undefined);
    const t = setTimeout(() => settle(timeout), timeoutMs);
    function settle(f: StarttlsFailure | undefined): void {
      clearTimeout(t);
      target.off(ok, onOk);
      for (const [event, h] of handlers) target.off(event, h);
      if (f === undefined) return resolve();
      abort();
      reject(new Failed(f));
    }
    target.once(ok, onOk);
    for (const [event, h] of handlers) target.once(event, h);
  });
}

async function connectStep(socket: Socket, opts: StarttlsOptions, timeoutMs: number): Promise<void> {
  if (isIP(opts.address) === 0) throw new Failed({ kind: 'network-error', step: 'connect', code: 'EINVAL', message: `not an IP address: ${opts.address}` });
  const connected = settleOn(socket, 'connect', { error: (e) => networkFailure(e!, 'connect') }, { kind: 'timeout', step: 'connect' }, timeoutMs, () => socket.destroy());
  socket.connect({ host: opts.address, port: opts.port });
  await connected;
  socket.setNoDelay(true);
}

async function handshake(socket: Socket, servername: string, timeoutMs: number): Promise<TLSSocket> {
  const sni = servername.replace(/\.$/, '');
  const tls = tlsConnect({ socket, servername: isIP(sni) ? undefined : sni, rejectUnauthorized: false });
  await settleOn(tls, 'secureConnect', {
    error: (e) => ({ kind: 'tls-error', message: e!.message }),
    close: () => ({ kind: 'tls-error', message: 'the server closed the connection during the handshake' }),
  }, { kind: 'timeout', step: 'handshake' }, timeoutMs, () => tls.destroy());
  // Late errors (after QUIT) must not crash the process.
  tls.on('error', () => undefined);
  return tls;
}
