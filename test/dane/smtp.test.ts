/**
 * The STARTTLS client (src/dane/smtp.ts) against small SMTP servers started here on 127.0.0.1 (random ports):
 * a normal STARTTLS server (SNI, the chain it presents, protocol and cipher, QUIT), a multi-line banner, one
 * without STARTTLS, a silent one (timeout at the banner), one that closes mid-handshake, a 5xx banner, a 4xx to
 * STARTTLS, plaintext injected after the STARTTLS reply, a refused port, and the overall deadline.
 */
import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import { TLSSocket } from 'node:tls';
import { after, before, describe, it } from 'node:test';
import { performance } from 'node:perf_hooks';
import { starttls, type StarttlsResult } from '../../src/dane/smtp.js';
import { makePki, type TestPki } from './pki.js';

let pki: TestPki;
const servers: Server[] = [];

interface Script {
  banner?: string | null;
  ehlo?: string;
  starttlsReply?: string;
  /** After the STARTTLS reply: 'tls' (handshake), 'close-mid-handshake' (read the ClientHello, then close). */
  then?: 'tls' | 'close-mid-handshake' | 'hang';
  cert?: { key: string; cert: string };
}

interface Seen { sni: string | false | undefined; lines: string[] }

/** An SMTP server on 127.0.0.1:0 playing `script`; `seen` collects what the client sent and its SNI. */
async function smtpServer(script: Script): Promise<{ port: number; seen: Seen }> {
  const seen: Seen = { sni: undefined, lines: [] };
  const server = createServer((sock: Socket) => {
    sock.on('error', () => undefined);
    if (script.banner === null) return; // silent: never a banner
    sock.write(script.banner ?? '220 test.example ESMTP\r\n');
    let buf = '';
    const onData = (b: Buffer): void => {
      buf += b.toString('latin1');
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl).replace(/\r$/, '');
        buf = buf.slice(nl + 1);
        seen.lines.push(line);
        if (/^EHLO /i.test(line)) sock.write(script.ehlo ?? '250-test.example\r\n250-PIPELINING\r\n250 STARTTLS\r\n');
        else if (/^STARTTLS$/i.test(line)) {
          sock.write(script.starttlsReply ?? '220 2.0.0 go ahead\r\n');
          if (!(script.starttlsReply ?? '220').startsWith('220')) continue;
          sock.off('data', onData);
          if (script.then === 'hang') return;
          if (script.then === 'close-mid-handshake') {
            sock.once('data', () => sock.destroy());
            return;
          }
          const tls = new TLSSocket(sock, { isServer: true, key: script.cert!.key, cert: script.cert!.cert });
          tls.on('error', () => undefined);
          tls.on('secure', () => {
            seen.sni = (tls as TLSSocket & { servername?: string | false }).servername;
          });
          tls.on('data', (d: Buffer) => {
            const text = d.toString('latin1');
            seen.lines.push(...text.split(/\r?\n/).filter(Boolean));
            if (/QUIT/.test(text)) tls.end('221 2.0.0 bye\r\n');
          });
          return;
        } else if (/^QUIT$/i.test(line)) sock.end('221 bye\r\n');
        else sock.write('502 5.5.2 unknown\r\n');
      }
    };
    sock.on('data', onData);
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { port: (server.address() as { port: number }).port, seen };
}

const opts = (port: number, more: Partial<Parameters<typeof starttls>[0]> = {}): Parameters<typeof starttls>[0] =>
  ({ address: '127.0.0.1', port, servername: 'mx.example.test.', helo: 'client.example', stepTimeoutMs: 2000, ...more });

function ok(r: StarttlsResult): Extract<StarttlsResult, { kind: 'ok' }> {
  assert.equal(r.kind, 'ok', JSON.stringify(r));
  return r as Extract<StarttlsResult, { kind: 'ok' }>;
}

before(() => {
  pki = makePki();
});
after(() => {
  for (const s of servers) s.close();
});

describe('STARTTLS client', () => {
  it('a normal server: banner, EHLO, STARTTLS, TLS with SNI = the MX host, the presented chain, QUIT', async () => {
    const { port, seen } = await smtpServer({ then: 'tls', cert: { key: pki.leaf.keyPem, cert: pki.leaf.certPem + pki.ca.certPem } });
    const r = ok(await starttls(opts(port)));
    assert.equal(r.banner.code, 220);
    assert.deepEqual(r.ehlo.lines, ['test.example', 'PIPELINING', 'STARTTLS']);
    assert.match(r.protocol, /^TLSv1\.[23]$/);
    assert.ok(r.cipher.length > 0 && r.cipher !== 'unknown');
    assert.equal(r.localAddress, '127.0.0.1');
    assert.deepEqual(r.chain.map((c) => c.fingerprint256), [pki.leaf.cert.fingerprint256, pki.ca.cert.fingerprint256]);
    await new Promise((res) => setTimeout(res, 100));
    assert.equal(seen.sni, 'mx.example.test', 'SNI is the MX host name without the trailing dot');
    assert.deepEqual(seen.lines.slice(0, 2), ['EHLO client.example', 'STARTTLS']);
    assert.ok(seen.lines.includes('QUIT'), `QUIT sent over TLS: ${JSON.stringify(seen.lines)}`);
  });

  it('a multi-line banner and a self-signed certificate (not verified here)', async () => {
    const { port } = await smtpServer({ banner: '220-first line\r\n220 second line\r\n', then: 'tls', cert: { key: pki.ee.keyPem, cert: pki.ee.certPem } });
    const r = ok(await starttls(opts(port)));
    assert.deepEqual(r.banner.lines, ['first line', 'second line']);
    assert.equal(r.chain.length, 1);
    assert.equal(r.chain[0]!.fingerprint256, pki.ee.cert.fingerprint256);
  });

  it('no STARTTLS in the EHLO reply: no-starttls', async () => {
    const { port } = await smtpServer({ ehlo: '250-test.example\r\n250 PIPELINING\r\n' });
    const r = await starttls(opts(port));
    assert.equal(r.kind, 'no-starttls');
  });

  it('a silent server: timeout at the banner, within the step timeout', async () => {
    const { port } = await smtpServer({ banner: null });
    const t0 = performance.now();
    const r = await starttls(opts(port, { stepTimeoutMs: 300 }));
    const ms = performance.now() - t0;
    assert.deepEqual(r, { kind: 'timeout', step: 'banner' });
    assert.ok(ms >= 250 && ms < 2000, `${ms} ms`);
  });

  it('the overall deadline bounds a step: a 10 s step timeout with 300 ms left', async () => {
    const { port } = await smtpServer({ banner: null });
    const t0 = performance.now();
    const r = await starttls(opts(port, { stepTimeoutMs: 10_000, deadline: performance.now() + 300 }));
    assert.deepEqual(r, { kind: 'timeout', step: 'banner' });
    assert.ok(performance.now() - t0 < 2000);
  });

  it('a server closing the connection mid-handshake: tls-error', async () => {
    const { port } = await smtpServer({ then: 'close-mid-handshake' });
    const r = await starttls(opts(port));
    assert.equal(r.kind, 'tls-error', JSON.stringify(r));
  });

  it('a server that never answers the ClientHello: timeout at the handshake', async () => {
    const { port } = await smtpServer({ then: 'hang' });
    const r = await starttls(opts(port, { stepTimeoutMs: 300 }));
    assert.deepEqual(r, { kind: 'timeout', step: 'handshake' });
  });

  it('a 5xx banner: smtp-error at the banner with the reply', async () => {
    const { port } = await smtpServer({ banner: '554 5.3.2 no service here\r\n' });
    const r = await starttls(opts(port));
    assert.deepEqual(r, { kind: 'smtp-error', step: 'banner', reply: { code: 554, lines: ['5.3.2 no service here'] } });
  });

  it('a 454 to STARTTLS: smtp-error at starttls', async () => {
    const { port } = await smtpServer({ starttlsReply: '454 4.7.0 TLS not available\r\n' });
    const r = await starttls(opts(port));
    assert.equal(r.kind, 'smtp-error');
    assert.equal((r as { step: string }).step, 'starttls');
  });

  it('plaintext sent after the STARTTLS reply (a command injection) is refused', async () => {
    const { port } = await smtpServer({ starttlsReply: '220 go ahead\r\n250 injected\r\n', then: 'tls', cert: { key: pki.ee.keyPem, cert: pki.ee.certPem } });
    const r = await starttls(opts(port));
    assert.equal(r.kind, 'protocol-error', JSON.stringify(r));
  });

  it('a reply that is not SMTP: protocol-error', async () => {
    const { port } = await smtpServer({ banner: 'HTTP/1.1 400 Bad Request\r\n' });
    const r = await starttls(opts(port));
    assert.equal(r.kind, 'protocol-error');
  });

  it('a closed port: refused', async () => {
    const s = createServer();
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    const port = (s.address() as { port: number }).port;
    await new Promise((r) => s.close(r));
    const r = await starttls(opts(port));
    assert.equal(r.kind, 'refused');
  });

  it('an address that is not an IP address: network-error EINVAL at connect, no lookup', async () => {
    const r = await starttls({ ...opts(25), address: 'mx.example.test' });
    assert.deepEqual(r, { kind: 'network-error', step: 'connect', code: 'EINVAL', message: 'not an IP address: mx.example.test' });
  });
});
