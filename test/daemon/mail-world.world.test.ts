/**
 * The mail world is what its contract (test/world/mail.ts, /work/notes/mail-world.md) says, checked with real
 * clients: the validating Unbound's verdicts for every MX, A/AAAA and TLSA RRset of the table, openssl
 * s_client's STARTTLS to every normal host (the presented certificate against the published TLSA), the
 * nostarttls and silent hosts, messages sent over plain SMTP commands landing in deliveries.jsonl, and the
 * server's answers to bad input.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, X509Certificate } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import net from 'node:net';
import { getWorld, MAIL, mailHost, stopWorld, type WorldInfo } from '../world/index.js';
import { tlsaText, type TlsaSpec } from '../world/mail.js';
import { run } from '../world/proc.js';
import { SmtpClient } from '../world/smtp-client.js';
import type { Delivery, SessionRecord } from '../world/smtp-server.js';
import { dig, validatorVerdict, type DigResult } from '../world/tools.js';
import { worldAddr6 } from '../world/net.js';

let world: WorldInfo;

before(async () => {
  world = await getWorld();
}, { timeout: 300_000 });

after(async () => {
  await stopWorld();
});

const squash = (s: string): string => s.replace(/\s+/g, '').toUpperCase();
const bare = (name: string): string => name.replace(/\.$/, '');
const sha = (alg: 'sha256' | 'sha512', b: Buffer): string => createHash(alg).update(b).digest('hex').toUpperCase();
const spki = (c: X509Certificate): Buffer => c.publicKey.export({ type: 'spki', format: 'der' });

/** RDATA of the answer lines of one type (dig presentation format, one RR per line). */
function rdata(d: DigResult, type: string): string[] {
  return d.answer.filter((l) => l.split(' ')[3] === type).map((l) => l.split(' ').slice(4).join(' '));
}

/**
 * Does the chain (leaf first) match one usable TLSA record (RFC 7672 3.1: DANE-TA(2) or DANE-EE(3), a known
 * selector and matching type, a digest of the right length)? DANE-TA(2) matches a certificate above the leaf.
 */
function daneMatch(chain: X509Certificate[], records: TlsaSpec[], texts: string[]): boolean {
  return records.some((t, i) => {
    const data = squash(texts[i]!.split(' ').slice(3).join(''));
    if (![2, 3].includes(t.usage) || ![0, 1].includes(t.selector) || ![1, 2].includes(t.matching)) return false;
    if (data.length !== (t.matching === 1 ? 64 : 128)) return false;
    const candidates = t.usage === 3 ? chain.slice(0, 1) : chain.slice(1);
    return candidates.some((c) => sha(t.matching === 1 ? 'sha256' : 'sha512', t.selector === 0 ? c.raw : spki(c)) === data);
  });
}

function readJsonl<T>(file: string): T[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8').split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as T);
}

async function waitFor<T>(what: string, fn: () => T | undefined, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The PEM certificates openssl s_client -showcerts printed, leaf first. */
function pemCerts(out: string): X509Certificate[] {
  return [...out.matchAll(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g)].map((m) => new X509Certificate(m[0]));
}

const normalHosts = MAIL.hosts.filter((h) => h.behaviour === 'normal');

describe('mail world: files and table', () => {
  it('the certificate files exist and the digests are those of their DER', () => {
    const m = world.mail;
    for (const f of [m.ee.certFile, m.ee.keyFile, m.ta201.certFile, m.ta201.keyFile, m.ta201.chainFile, m.ca.certFile, m.other.publicKeyFile]) {
      assert.ok(existsSync(f), f);
    }
    const ee = new X509Certificate(readFileSync(m.ee.certFile));
    const ca = new X509Certificate(readFileSync(m.ca.certFile));
    const leaf = new X509Certificate(readFileSync(m.ta201.certFile));
    assert.equal(m.digests['ee-spki-sha256'], sha('sha256', spki(ee)));
    assert.equal(m.digests['ee-spki-sha512'], sha('sha512', spki(ee)));
    assert.equal(m.digests['ee-cert-sha256'], sha('sha256', ee.raw));
    assert.equal(m.digests['ca-cert-sha256'], sha('sha256', ca.raw));
    assert.equal(m.digests['short-20'].length, 40);
    assert.notEqual(m.digests['other-spki-sha256'], m.digests['ee-spki-sha256']);
    assert.equal(ee.publicKey.asymmetricKeyDetails?.namedCurve, 'prime256v1');
    // the EE certificate names every host; the TA leaf is issued by the CA and names ta201 only
    for (const h of MAIL.hosts) assert.ok(ee.checkHost(bare(h.name)), `EE SAN lacks ${h.name}: ${ee.subjectAltName}`);
    assert.ok(leaf.checkIssued(ca) && leaf.verify(ca.publicKey), 'ta201 leaf signed by the test CA');
    assert.equal(leaf.subjectAltName, 'DNS:ta201.dhost.test');
    assert.ok(ca.ca && !leaf.ca);
    assert.equal(pemCerts(readFileSync(m.ta201.chainFile, 'utf8')).length, 2);
  });

  it('world.mail.tlsa holds each host\'s TLSA RDATA with the digests filled in', () => {
    for (const h of MAIL.hosts) {
      assert.deepEqual(world.mail.tlsa[h.name], h.tlsa.map((t) => tlsaText(t, world.mail.digests)), h.name);
    }
  });

  it('every domain\'s MX targets are hosts of the table', () => {
    for (const d of MAIL.domains) for (const m of d.mx) if (m.host !== '.') assert.doesNotThrow(() => mailHost(m.host), `${d.name} -> ${m.host}`);
  });
});

describe('mail world: the validating Unbound\'s verdicts', { concurrency: 8 }, () => {
  const check = async (name: string, type: string, v: { status: string; rcode: string; nodata?: boolean }): Promise<DigResult> => {
    const d = await dig(world.validatingUnbound, name, type, { dnssec: true });
    const ctx = `${name} ${type}\n${d.raw}`;
    assert.equal(validatorVerdict(d), v.status, ctx);
    if (v.status === 'bogus') assert.equal(d.status, 'SERVFAIL', ctx);
    else {
      assert.equal(d.status, v.rcode, ctx);
      if (v.nodata) assert.deepEqual(rdata(d, type), [], ctx);
    }
    return d;
  };

  for (const dom of MAIL.domains) {
    it(`${dom.name} MX -> ${dom.expect.MX.status}${dom.mx.length ? '' : ' NODATA'}`, async () => {
      const d = await check(dom.name, 'MX', dom.expect.MX);
      if (dom.expect.MX.status !== 'bogus') {
        assert.deepEqual(rdata(d, 'MX').sort(), dom.mx.map((m) => `${m.preference} ${m.host}`).sort(), d.raw);
      }
    });
  }

  for (const h of MAIL.hosts) {
    it(`${h.name} A ${h.expect.A.status}, AAAA ${h.expect.AAAA.status}, TLSA ${h.expect.TLSA.status}`, async () => {
      const a = await check(h.name, 'A', h.expect.A);
      if (h.expect.A.status !== 'bogus') {
        assert.deepEqual(rdata(a, 'A'), h.cname ? mailHost(h.cname).a : h.a, a.raw);
        if (h.cname) assert.deepEqual(rdata(a, 'CNAME'), [h.cname], a.raw);
      }
      const aaaa = await check(h.name, 'AAAA', h.expect.AAAA);
      assert.deepEqual(rdata(aaaa, 'AAAA'), h.aaaa, aaaa.raw);
      const t = await check(h.tlsaOwner, 'TLSA', h.expect.TLSA);
      if (h.expect.TLSA.status !== 'bogus') {
        assert.deepEqual(rdata(t, 'TLSA').map(squash).sort(), world.mail.tlsa[h.name]!.map(squash).sort(), t.raw);
      }
    });
  }
});

describe('mail world: STARTTLS and certificates (openssl s_client)', { concurrency: 4 }, () => {
  for (const h of normalHosts) {
    it(`${h.name} presents the ${h.cert} certificate; DANE match with its TLSA: ${h.certMatches}`, { timeout: 30_000 }, async () => {
      const r = await run('openssl', ['s_client', '-starttls', 'smtp', '-connect', `${h.listen[0]}:${MAIL.port}`, '-servername', bare(h.name),
        '-showcerts', '-name', 'client.test'], { input: '', timeoutMs: 20_000 });
      const out = r.stdout + r.stderr;
      const chain = pemCerts(out);
      assert.ok(chain.length >= 1, out);
      const want = h.cert === 'ta201' ? world.mail.ta201 : world.mail.ee;
      assert.equal(chain[0]!.fingerprint256, new X509Certificate(readFileSync(want.certFile)).fingerprint256, out);
      if (h.cert === 'ta201') {
        assert.equal(chain.length, 2, 'chain [leaf, CA]');
        assert.equal(sha('sha256', chain[1]!.raw), world.mail.digests['ca-cert-sha256']);
      } else {
        assert.equal(sha('sha256', spki(chain[0]!)), world.mail.digests['ee-spki-sha256']);
      }
      assert.equal(daneMatch(chain, h.tlsa, world.mail.tlsa[h.name]!), h.certMatches, `${h.name}: ${world.mail.tlsa[h.name]!.join(' | ')}`);
      assert.match(out, /New, TLSv1\.[23], Cipher is /, out);
    });
  }

  it('the CNAME host is served by its target', () => {
    const c = mailHost('cname.dhost.test.');
    assert.deepEqual(c.listen, []);
    assert.ok(mailHost(c.cname!).listen.length > 0);
  });

  it('nostarttls.dhost.test.: openssl s_client finds no STARTTLS', { timeout: 30_000 }, async () => {
    const h = mailHost('nostarttls.dhost.test.');
    const r = await run('openssl', ['s_client', '-starttls', 'smtp', '-connect', `${h.listen[0]}:${MAIL.port}`, '-servername', bare(h.name)],
      { input: '', timeoutMs: 20_000 });
    assert.notEqual(r.code, 0);
    assert.match(r.stdout + r.stderr, /didn't find STARTTLS/i);
    assert.equal(pemCerts(r.stdout).length, 0);
  });
});

describe('mail world: SMTP dialogues (node:net + node:tls)', { concurrency: 4 }, () => {
  for (const h of MAIL.hosts.filter((x) => x.behaviour !== 'silent')) {
    for (const addr of h.listen) {
      it(`${h.name} on ${addr}:${MAIL.port} greets with its name (${h.behaviour})`, async () => {
        const c = await SmtpClient.connect(addr, MAIL.port);
        try {
          const banner = await c.reply();
          assert.equal(banner?.code, 220);
          assert.match(banner!.text, new RegExp(`^${bare(h.name).replace(/\./g, '\\.')} ESMTP`));
          const ehlo = await c.command('EHLO client.test');
          assert.equal(ehlo.code, 250);
          for (const ext of ['PIPELINING', '8BITMIME']) assert.ok(ehlo.lines.includes(ext), ehlo.text);
          assert.equal(ehlo.lines.includes('STARTTLS'), h.behaviour === 'normal', ehlo.text);
          assert.equal((await c.command('QUIT')).code, 221);
        } finally {
          c.close();
        }
      });
    }
  }

  it('silent.dhost.test. accepts the connection and sends nothing within 2 s', async () => {
    const h = mailHost('silent.dhost.test.');
    const c = await SmtpClient.connect(h.listen[0]!, MAIL.port);
    try {
      assert.equal(await c.reply(2000), null);
      assert.equal(c.pending(), '');
      assert.ok(!c.isClosed, 'the connection stays open');
    } finally {
      c.close();
    }
  });

  it('nostarttls.dhost.test. answers STARTTLS with 502', async () => {
    const c = await SmtpClient.connect(mailHost('nostarttls.dhost.test.').listen[0]!, MAIL.port);
    try {
      await c.reply();
      await c.command('EHLO client.test');
      assert.equal((await c.command('STARTTLS')).code, 502);
      assert.equal((await c.command('NOOP')).code, 250);
    } finally {
      c.close();
    }
  });

  /** Send one message; returns the queue id from `250 2.0.0 Ok: queued as <id>`. */
  async function send(c: SmtpClient, rcpt: string[], body: string): Promise<string> {
    assert.equal((await c.command('MAIL FROM:<sender@client.test> BODY=8BITMIME')).code, 250);
    for (const r of rcpt) assert.equal((await c.command(`RCPT TO:<${r}>`)).code, 250);
    assert.equal((await c.command('DATA')).code, 354);
    const stuffed = body.split('\r\n').map((l) => (l.startsWith('.') ? `.${l}` : l)).join('\r\n');
    const done = await c.command(`${stuffed}\r\n.`);
    assert.equal(done.code, 250, done.text);
    const m = /^2\.0\.0 Ok: queued as ([0-9A-F]+)$/.exec(done.text);
    assert.ok(m, done.text);
    return m[1]!;
  }

  const message = (tag: string): string => [`Message-ID: <${tag}@client.test>`, `Subject: mail world ${tag}`, '',
    'a line', '.a line starting with a dot', 'the end'].join('\r\n');

  it('a message sent after STARTTLS to ok.dhost.test. lands in deliveries.jsonl with its TLS parameters', async () => {
    const h = mailHost('ok.dhost.test.');
    const c = await SmtpClient.connect(h.listen[0]!, MAIL.port);
    const tag = `tls-${process.pid}-${Date.now()}`;
    let id: string;
    try {
      await c.reply();
      await c.command('EHLO client.test');
      const t = await c.startTls(bare(h.name));
      assert.equal(sha('sha256', spki(t.chain[0]!)), world.mail.digests['ee-spki-sha256']);
      assert.equal((await c.command('MAIL FROM:<a@client.test>')).code, 503, 'EHLO again after STARTTLS (RFC 3207 4.2)');
      const ehlo = await c.command('EHLO client.test');
      assert.ok(!ehlo.lines.includes('STARTTLS'), ehlo.text);
      id = await send(c, ['one@ok.dmx.test', 'two@ok.dmx.test'], message(tag));
      assert.equal((await c.command('QUIT')).code, 221);
    } finally {
      c.close();
    }
    const d = await waitFor('the delivery', () => readJsonl<Delivery>(world.mail.deliveriesFile).find((x) => x.id === id));
    assert.equal(d.host, 'ok.dhost.test.');
    assert.equal(d.listener, `${h.listen[0]}:${MAIL.port}`);
    assert.deepEqual(d.rcpt, ['one@ok.dmx.test', 'two@ok.dmx.test']);
    assert.equal(d.mailFrom, 'sender@client.test');
    assert.equal(d.messageId, `<${tag}@client.test>`);
    assert.ok(d.tls && /^TLSv1\.[23]$/.test(d.tls.protocol) && d.tls.cipher.length > 0, JSON.stringify(d.tls));
    assert.equal(d.tls.servername, 'ok.dhost.test');
    const stored = readFileSync(d.file, 'utf8');
    assert.equal(stored, `${message(tag)}\r\n`, 'dot-unstuffed, CRLF line ends');
    assert.equal(d.size, Buffer.byteLength(stored));
    const s = await waitFor('the session record', () => readJsonl<SessionRecord>(world.mail.sessionsFile).find((x) => x.messages.includes(id)));
    assert.equal(s.starttls, 'ok');
    assert.equal(s.ended, 'quit');
  });

  it('a plaintext message to nostarttls.dhost.test. is recorded with tls null', async () => {
    const c = await SmtpClient.connect(mailHost('nostarttls.dhost.test.').listen[0]!, MAIL.port);
    let id: string;
    try {
      await c.reply();
      await c.command('HELO client.test');
      id = await send(c, ['x@nostarttls.dmx.test'], message(`plain-${process.pid}-${Date.now()}`));
      await c.command('QUIT');
    } finally {
      c.close();
    }
    const d = await waitFor('the delivery', () => readJsonl<Delivery>(world.mail.deliveriesFile).find((x) => x.id === id));
    assert.equal(d.host, 'nostarttls.dhost.test.');
    assert.equal(d.tls, null);
  });

  it(`aaaa-only.dhost.test. is reached at ${worldAddr6(102, 20)}`, async (t) => {
    const h = mailHost('aaaa-only.dhost.test.');
    const c = await SmtpClient.connect(h.aaaa[0]!, MAIL.port).catch((e: Error) => e);
    if (c instanceof Error) {
      // only a kernel without IPv6 sockets cannot do this
      assert.match(c.message, /EAFNOSUPPORT|EADDRNOTAVAIL/);
      t.skip(`no IPv6 sockets: ${c.message}`);
      return;
    }
    try {
      const banner = await c.reply();
      assert.match(banner!.text, /^aaaa-only\.dhost\.test ESMTP/);
      await c.command('EHLO client.test');
      const tls = await c.startTls('aaaa-only.dhost.test');
      assert.equal(sha('sha256', spki(tls.chain[0]!)), world.mail.digests['ee-spki-sha256']);
      await c.command('QUIT');
    } finally {
      c.close();
    }
  });
});

describe('mail world: bad input', { concurrency: 4 }, () => {
  /** `fn` in a session with ok.dhost.test, its banner read; closed afterwards whatever happens. */
  async function withOk(fn: (c: SmtpClient) => Promise<void>): Promise<void> {
    const c = await SmtpClient.connect(mailHost('ok.dhost.test.').listen[0]!, MAIL.port);
    try {
      await c.reply();
      await fn(c);
    } finally {
      c.close();
    }
  }

  it('unknown and malformed commands get 500/501/503/555 and the session goes on', async () => {
    await withOk(async (c) => {
      assert.equal((await c.command('FROB')).code, 500);
      assert.equal((await c.command('')).code, 500);
      assert.equal((await c.command('MAIL FROM:<a@b>')).code, 503, 'MAIL before EHLO');
      assert.equal((await c.command('EHLO')).code, 501);
      assert.equal((await c.command('EHLO client.test')).code, 250);
      assert.equal((await c.command('RCPT TO:<a@b>')).code, 503, 'RCPT before MAIL');
      assert.equal((await c.command('DATA')).code, 503, 'DATA before MAIL');
      assert.equal((await c.command('MAIL FROM:a@b')).code, 501);
      assert.equal((await c.command('MAIL FROM:<a@b> NOTIFY=NEVER')).code, 555);
      assert.equal((await c.command('MAIL FROM:<a@b> SIZE=99999999999')).code, 552);
      assert.equal((await c.command('MAIL FROM:<a@b>')).code, 250);
      assert.equal((await c.command('MAIL FROM:<a@b>')).code, 503, 'nested MAIL');
      assert.equal((await c.command('DATA')).code, 554, 'DATA without recipients');
      assert.equal((await c.command('RCPT TO:<>')).code, 501);
      assert.equal((await c.command('RSET')).code, 250);
      assert.equal((await c.command('MAIL FROM:<\u00e9@b>')).code, 500, 'non-ASCII');
      assert.equal((await c.command('NOOP')).code, 250);
    });
  });

  it('a command line over 4 KiB is rejected with 500; a message line over 4 KiB fails the message with 554', async () => {
    await withOk(async (c) => {
      assert.equal((await c.command(`NOOP ${'x'.repeat(5000)}`)).code, 500);
      assert.equal((await c.command('EHLO client.test')).code, 250);
      assert.equal((await c.command('MAIL FROM:<a@client.test>')).code, 250);
      assert.equal((await c.command('RCPT TO:<b@ok.dmx.test>')).code, 250);
      assert.equal((await c.command('DATA')).code, 354);
      const r = await c.command(`Subject: long\r\n\r\n${'y'.repeat(5000)}\r\n.`);
      assert.equal(r.code, 554, r.text);
      assert.equal((await c.command('NOOP')).code, 250);
    });
  });

  it('commands pipelined after STARTTLS are discarded (no plaintext injection)', async () => {
    await withOk(async (c) => {
      await c.command('EHLO client.test');
      c.write('STARTTLS\r\nMAIL FROM:<injected@evil.test>\r\n');
      assert.equal((await c.reply())?.code, 220);
      await c.startTls('ok.dhost.test', false);
      assert.equal((await c.command('EHLO client.test')).code, 250);
      assert.equal((await c.command('RCPT TO:<x@ok.dmx.test>')).code, 503, 'the injected MAIL was not executed');
    });
  });

  it('20 bad commands end the session with 421', async () => {
    await withOk(async (c) => {
      for (let i = 0; i < 19; i++) assert.equal((await c.command('FROB')).code, 500);
      c.write('FROB\r\n');
      assert.equal((await c.reply())?.code, 500);
      assert.equal((await c.reply())?.code, 421);
      assert.equal(await c.reply(2000), null);
      assert.ok(c.isClosed);
    });
  });

  it('a client that connects and closes at once does not disturb the server', async () => {
    const h = mailHost('ok.dhost.test.');
    for (let i = 0; i < 20; i++) {
      await new Promise<void>((resolve) => {
        const s = net.connect({ host: h.listen[0]!, port: MAIL.port }, () => { s.destroy(); resolve(); });
        s.on('error', () => resolve());
      });
    }
    await withOk(async (c) => {
      assert.equal((await c.command('NOOP')).code, 250);
    });
  });
});
