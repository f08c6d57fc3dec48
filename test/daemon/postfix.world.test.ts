/**
 * A real Postfix doing DANE (RFC 7672) through the daemon: Debian's Postfix 3.7 (scripts/install-test-deps.sh)
 * runs a private instance (test/support/postfix.ts) whose only resolver is the daemon on daemonAddr(11, 1):53 (Postfix
 * reads /etc/resolv.conf, which has no port; the instance gets its own in a private mount namespace), with
 * `smtp_dns_support_level = dnssec` and `smtp_tls_security_level = dane`. It delivers to every mail domain of the
 * mail world (test/world/mail.ts), whose SMTP servers hold certificates that match their TLSA records or not,
 * and the test checks per domain what Postfix did (sent / deferred / bounced, Verified / Trusted / Untrusted
 * TLS, the reason), what the world's SMTP server received (deliveries.jsonl, by Message-ID) and what
 * `posttls-finger -l dane` says in the same namespace. The daemon's verdicts decide: its SERVFAIL for BOGUS
 * data is what makes Postfix defer.
 *
 * Controls (each its own instance): Postfix's DNSSEC probe (`dnssec_probe = ns:.`) gets AD from the daemon, so
 * "DNSSEC validation may be unavailable" never appears, and the same instance pointed at the world's
 * NON-validating upstream does log it; without `options trust-ad` Postfix still gets AD (it sets RES_TRUSTAD
 * itself); a second, non-validating nameserver line turns a BOGUS TLSA into a delivery (glibc asks the next
 * server after SERVFAIL), which is why resolv.conf must name the daemon only (README "Using it with Postfix").
 * Needs root (unshare, nsenter, port 53).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import { after, before, describe, it } from 'node:test';
import type { QueryEvent } from '../../src/server/types.js';
import { PostfixInstance, type Delivery, type Sent } from '../support/postfix.js';
import { getWorld, stopWorld, type WorldInfo } from '../world/index.js';
import { MAIL, mailHost, type MailDomain } from '../world/mail.js';
import { startFailoverDaemon } from './failover-support.js';
import type { TestDaemon } from '../support/daemon.js';
import { daemonAddr } from '../world/net.js';

/** The daemon's address (port 53: resolv.conf has no port) and the Postfix client's source address. Not used elsewhere in test/. */
const DAEMON_ADDRESS = daemonAddr(11, 1);
const CLIENT_ADDRESS = daemonAddr(11, 2);
const PROBE_WARNING = 'warning: DNSSEC validation may be unavailable';

/** Why Postfix does what it does with mail for one domain. */
type Cause =
  | { kind: 'verified' } // secure MX, usable secure TLSA matched: "Verified TLS"
  | { kind: 'trusted' } // insecure MX, the host's secure TLSA matched: "Trusted TLS" (RFC 7672 2.2.1 MAY)
  | { kind: 'encrypted' } // no usable secure TLSA: "Untrusted TLS"
  | { kind: 'mx-bogus' } | { kind: 'a-bogus' } | { kind: 'tlsa-bogus' } // the daemon's SERVFAIL
  | { kind: 'cert-mismatch' } | { kind: 'no-starttls' } | { kind: 'no-greeting' }
  | { kind: 'null-mx' };

interface Case {
  domain: string; // without the trailing dot
  /** the MX host Postfix ends up at (relay=), and the world host that holds its listener (a CNAME's target) */
  mxHost: string | undefined;
  listenerHost: string | undefined;
  cause: Cause;
}

const bare = (n: string): string => n.replace(/\.$/, '');

/**
 * Postfix's expected behaviour, from the mail world's table: the host's RFC 7672 result. Under an INSECURE MX
 * RRset Postfix still applies the host's secure TLSA (RFC 7672 2.2.1 allows it) and logs the match as "Trusted",
 * not "Verified" (the MX name itself is not authenticated). It must equal MAIL's domain result, checked too.
 */
function caseOf(d: MailDomain): Case {
  const base = { domain: bare(d.name), mxHost: undefined, listenerHost: undefined };
  if (d.expect.MX.status === 'bogus') return { ...base, cause: { kind: 'mx-bogus' } };
  if (d.rfc7672.result === 'bounced') return { ...base, cause: { kind: 'null-mx' } };
  const h = mailHost(d.rfc7672.host!);
  const c = { ...base, mxHost: bare(h.name), listenerHost: bare(h.cname ?? h.name) };
  const r = h.rfc7672.result;
  if (h.expect.A.status === 'bogus') return { ...c, cause: { kind: 'a-bogus' } };
  if (r === 'verified') return { ...c, cause: { kind: d.expect.MX.status === 'insecure' ? 'trusted' : 'verified' } };
  if (r === 'encrypted') return { ...c, cause: { kind: 'encrypted' } };
  if (h.expect.TLSA.status === 'bogus') return { ...c, cause: { kind: 'tlsa-bogus' } };
  if (h.behaviour === 'nostarttls') return { ...c, cause: { kind: 'no-starttls' } };
  if (h.behaviour === 'silent') return { ...c, cause: { kind: 'no-greeting' } };
  return { ...c, cause: { kind: 'cert-mismatch' } };
}

/** What Postfix's status line must say for a case. */
function expectedStatus(c: Case): { status: Delivery['status']; reason: RegExp; tls: RegExp | null } {
  const host = c.mxHost?.replace(/[.]/g, '\\.') ?? '';
  const sent = (word: string) => ({ status: 'sent' as const, reason: /^250 2\.0\.0 Ok: queued as \w+$/, tls: new RegExp(`^${word} TLS connection established to ${host}\\[`) });
  switch (c.cause.kind) {
    case 'verified': return sent('Verified');
    case 'trusted': return sent('Trusted');
    case 'encrypted': return sent('(Untrusted|Anonymous)');
    case 'mx-bogus': return { status: 'deferred', reason: new RegExp(`name=${c.domain.replace(/[.]/g, '\\.')} type=MX: Host not found, try again`), tls: null };
    case 'a-bogus': return { status: 'deferred', reason: /type=A: Host not found, try again/, tls: null };
    case 'tlsa-bogus': return { status: 'deferred', reason: new RegExp(`^TLSA lookup error for ${host}:25$`), tls: null };
    case 'cert-mismatch': return { status: 'deferred', reason: /^Server certificate not verified$/, tls: null };
    case 'no-starttls': return { status: 'deferred', reason: /^TLS is required, but was not offered by host /, tls: null };
    case 'no-greeting': return { status: 'deferred', reason: /timed out while receiving the initial server greeting/, tls: null };
    case 'null-mx': return { status: 'bounced', reason: /does not accept mail \(nullMX\)/, tls: null };
  }
}

/** What posttls-finger must print for a case (it reports instead of deferring: a mismatch still ends "Untrusted"). */
function expectedFinger(c: Case): { must: RegExp[]; mustNot: RegExp[] } {
  const host = c.mxHost?.replace(/[.]/g, '\\.') ?? '';
  const established = /(Verified|Trusted|Untrusted|Anonymous) TLS connection established/;
  switch (c.cause.kind) {
    case 'verified': return { must: [/Matched DANE (EE|TA) certificate at depth \d/, new RegExp(`Verified TLS connection established to ${host}\\[`)], mustNot: [] };
    case 'trusted': return { must: [/MX RRset insecure: log verified as trusted/, /Matched DANE (EE|TA) certificate/, new RegExp(`Trusted TLS connection established to ${host}\\[`)], mustNot: [] };
    case 'encrypted': return { must: [new RegExp(`(Untrusted|Anonymous) TLS connection established to ${host}\\[`)], mustNot: [/Matched DANE/, /(Verified|Trusted) TLS/] };
    case 'cert-mismatch': return { must: [/no matching DANE TLSA records/], mustNot: [/Matched DANE/, /(Verified|Trusted) TLS/] };
    case 'tlsa-bogus': return { must: [new RegExp(`TLSA lookup error for ${host}:25`)], mustNot: [established] };
    case 'mx-bogus': case 'a-bogus': return { must: [/Host not found, try again/], mustNot: [established] };
    case 'no-starttls': return { must: [], mustNot: [established] };
    case 'no-greeting': return { must: [/timeout while reading server greeting/], mustNot: [established] };
    case 'null-mx': return { must: [/does not accept mail \(nullMX\)/], mustNot: [established] };
  }
}

/** The world SMTP servers' record of the message, if one arrived. */
interface Arrival { id: string; host: string; client: { address: string }; tls: { protocol: string } | null; messageId: string | null; rcpt: string[] }
function arrivals(world: WorldInfo): Arrival[] {
  return readFileSync(world.mail.deliveriesFile, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Arrival);
}

/** Whether loopback has ::1 (inet_protocols = all needs it; the AAAA-only host needs IPv6). */
const HAVE_IPV6 = Object.values(networkInterfaces()).flat().some((i) => i?.address === '::1');
/** posttls-finger would wait 30 s for a banner that never comes: those two are left to Postfix itself. */
const firstMxSilent = (d: MailDomain): boolean => d.mx[0] !== undefined && d.mx[0].host !== '.' && mailHost(d.mx[0].host).behaviour === 'silent';

let world: WorldInfo;
let d: TestDaemon;
const events: QueryEvent[] = [];

before(async () => {
  world = await getWorld();
  d = await startFailoverDaemon(world, { upstreams: [{ address: world.upstream.host, port: world.upstream.port }], server: { warmupQueries: 0 } },
    { listen: [`${DAEMON_ADDRESS}:53`] });
  d.daemon.onQuery((e) => events.push(e));
  await d.probed();
});

after(async () => {
  await d?.stop();
  await stopWorld();
});

describe('Postfix (smtp_tls_security_level = dane) with the daemon as its only resolver', () => {
  let pf: PostfixInstance;
  const cases = MAIL.domains.filter((m) => HAVE_IPV6 || m.name !== 'aaaa-only.dmx.test.').map((m) => ({ m, c: caseOf(m) }));
  const results = new Map<string, { sent: Sent; delivery: Delivery }>();

  before(async () => {
    pf = await PostfixInstance.start({ nameservers: [DAEMON_ADDRESS], bindAddress: CLIENT_ADDRESS, label: 'postfix-dane',
      mainCf: { inet_protocols: HAVE_IPV6 ? 'all' : 'ipv4', smtp_helo_timeout: '5s' } });
  });
  after(async () => {
    await pf?.stop();
  });

  it('Postfix\'s DNSSEC probe (ns:.) gets AD from the daemon: no "DNSSEC validation may be unavailable"', async () => {
    // The first lookup of a fresh smtp process is an insecure MX RRset (no AD): that makes Postfix send its probe.
    const before = events.length;
    const r = await pf.deliver('probe@a-insecure.umx.test');
    assert.equal(r.status, 'sent', r.lines.map((l) => l.raw).join('\n'));
    const probe = events.slice(before).filter((e) => e.qname === '.' && e.qtype === 2);
    assert.ok(probe.length >= 1, `the probe reached the daemon: ${events.slice(before).map((e) => `${e.qname}/${e.qtype}`).join(' ')}`);
    assert.ok(probe.every((e) => e.rcode === 0 && e.status === 'secure'), JSON.stringify(probe));
    assert.ok(!pf.log().includes(PROBE_WARNING), pf.log());
  });

  it('delivers to every mail domain as RFC 7672 says, the daemon\'s verdicts deciding', { timeout: 180_000 }, async (t) => {
    const sent = await Promise.all(cases.map(({ c }) => pf.send(`user@${c.domain}`)));
    const done = await Promise.all(sent.map((s) => pf.waitFor(s, 90_000)));
    const all = arrivals(world);
    const problems: string[] = [];
    for (const [i, { m, c }] of cases.entries()) {
      const s = sent[i]!;
      const r = done[i]!;
      results.set(c.domain, { sent: s, delivery: r });
      const e = expectedStatus(c);
      const tls = r.lines.find((l) => / TLS connection established to /.test(l.text))?.text;
      t.diagnostic(`${c.domain} [${c.cause.kind}]: status=${r.status} (${r.reason})${tls ? ` / ${tls.split(': TLS')[0]}` : ''}`);
      const bad = (what: string): number => problems.push(`${c.domain} (${c.cause.kind}): ${what}\n  ${r.lines.map((l) => l.raw).join('\n  ')}`);
      if (r.status !== e.status) bad(`status ${r.status}, expected ${e.status}`);
      if (!e.reason.test(r.reason)) bad(`reason "${r.reason}" does not match ${e.reason}`);
      if (e.tls && !r.lines.some((l) => e.tls!.test(l.text))) bad(`no log line matching ${e.tls}`);
      if (c.cause.kind !== 'verified' && r.lines.some((l) => l.text.startsWith('Verified TLS'))) bad('"Verified TLS" logged');
      // Postfix agrees with the mail world's table (an insecure MX's host still authenticated: "Trusted" = verified)
      const mailResult = m.rfc7672.result;
      const ours = e.status === 'sent' ? (c.cause.kind === 'encrypted' ? 'encrypted' : 'verified') : e.status;
      if (ours !== mailResult) bad(`MAIL says ${mailResult}, the case derives ${ours}`);
      // what the world's SMTP server received
      const got = all.filter((a) => a.messageId === `<${s.messageId}>`);
      if (e.status === 'sent') {
        const a = got[0];
        if (got.length !== 1 || !a) bad(`${got.length} arrivals in deliveries.jsonl`);
        else {
          if (a.host !== `${c.listenerHost}.`) bad(`arrived at ${a.host}, expected ${c.listenerHost}.`);
          if (!a.tls) bad('arrived without TLS');
          if (a.client.address !== CLIENT_ADDRESS && a.client.address !== `::ffff:${CLIENT_ADDRESS}` && m.name !== 'aaaa-only.dmx.test.') bad(`client ${a.client.address}`);
          if (!r.reason.endsWith(`queued as ${a.id}`)) bad(`Postfix's reply ${r.reason} vs the server's id ${a.id}`);
        }
      } else if (got.length) bad(`${e.status} but the message arrived at ${got.map((a) => a.host).join(', ')}`);
    }
    assert.deepEqual(problems, []);
  });

  it('the deferrals for BOGUS data are the daemon\'s SERVFAIL (EDE), not a network failure', () => {
    const bogus: Array<[string, number]> = [['ok.bmx.test.', 15], ['_25._tcp.tlsa-bogus.dhost.test.', 52], ['host.bhost.test.', 1]];
    for (const [name, qtype] of bogus) {
      const ev = events.filter((e) => e.qname.toLowerCase() === name && e.qtype === qtype);
      assert.ok(ev.length >= 1, `Postfix asked the daemon for ${name}/${qtype}`);
      assert.ok(ev.every((e) => e.rcode === 2 && e.status.startsWith('bogus') && e.ede.some((c) => c >= 6 && c <= 12)), `${name}: ${JSON.stringify(ev)}`);
    }
  });

  it('posttls-finger -t 30 -c -l dane, in the same namespace, gives the same verdict for each domain', { timeout: 300_000 }, async (t) => {
    const fingered = cases.filter(({ m }) => !firstMxSilent(m));
    const problems: string[] = [];
    for (let i = 0; i < fingered.length; i += 6) {
      await Promise.all(fingered.slice(i, i + 6).map(async ({ c }) => {
        const f = await pf.posttlsFinger(c.domain);
        const out = f.output;
        const e = expectedFinger(c);
        const verdict = out.split('\n').filter((l) => /TLS connection established|Failed to establish|lookup failed|Matched DANE|no matching DANE|timeout/.test(l))
          .map((l) => l.replace(/^posttls-finger: /, '').replace(/: TLSv1.*$/, '')).join(' | ');
        t.diagnostic(`${c.domain} [${c.cause.kind}]: ${verdict || '(no TLS session)'}`);
        for (const re of e.must) if (!re.test(out)) problems.push(`${c.domain}: missing ${re}\n${out}`);
        for (const re of e.mustNot) if (re.test(out)) problems.push(`${c.domain}: unexpected ${re}\n${out}`);
      }));
    }
    assert.deepEqual(problems, []);
    assert.ok(!pf.log().includes(PROBE_WARNING), 'still no DNSSEC probe warning after every lookup');
  });
});

describe('controls: the same Postfix with another resolv.conf', () => {
  it('pointed at the world\'s NON-validating upstream, Postfix logs that DNSSEC validation may be unavailable, and DANE is off', async (t) => {
    assert.equal(world.upstream.port, 53, 'resolv.conf has no port: the upstream must listen on 53');
    const pf = await PostfixInstance.start({ nameservers: [world.upstream.host], bindAddress: CLIENT_ADDRESS, label: 'postfix-nonvalidating' });
    try {
      const before = events.length;
      const r = await pf.deliver('control@ok.dmx.test');
      t.diagnostic(`ok.dmx.test: status=${r.status}; ${pf.log().split('\n').filter((l) => l.includes('DNSSEC')).map((l) => l.replace(/^.*?: warning/, 'warning')).join(' / ')}`);
      assert.ok(pf.log().includes(PROBE_WARNING), pf.log());
      assert.match(pf.log(), /warning: reason: dnssec_probe 'ns:\.' received a response that is not DNSSEC validated/);
      assert.equal(r.status, 'sent');
      assert.ok(r.lines.some((l) => /^Untrusted TLS connection established to ok\.dhost\.test\[/.test(l.text)), r.lines.map((l) => l.raw).join('\n'));
      assert.equal(events.length, before, 'the daemon was not asked');
    } finally {
      await pf.stop();
    }
  });

  it('without "options trust-ad" Postfix 3.7 still gets AD: it sets RES_TRUSTAD itself when it asks for DNSSEC', async () => {
    const pf = await PostfixInstance.start({ nameservers: [DAEMON_ADDRESS], resolverOptions: [], bindAddress: CLIENT_ADDRESS, label: 'postfix-no-trust-ad' });
    try {
      assert.doesNotMatch(readFileSync(pf.resolvConf, 'utf8'), /trust-ad/);
      const r = await pf.deliver('notrustad@ok.dmx.test');
      assert.equal(r.status, 'sent');
      assert.ok(r.lines.some((l) => /^Verified TLS connection established to ok\.dhost\.test\[/.test(l.text)), r.lines.map((l) => l.raw).join('\n'));
      assert.ok(!pf.log().includes(PROBE_WARNING), pf.log());
    } finally {
      await pf.stop();
    }
  });

  it('a second, non-validating nameserver after the daemon turns BOGUS into delivered (glibc retries SERVFAIL there)', async (t) => {
    const pf = await PostfixInstance.start({ nameservers: [DAEMON_ADDRESS, world.upstream.host], bindAddress: CLIENT_ADDRESS, label: 'postfix-two-ns' });
    try {
      for (const rcpt of ['second@tlsa-bogus.dmx.test', 'second@ok.bmx.test']) {
        const r = await pf.deliver(rcpt);
        t.diagnostic(`${rcpt}: status=${r.status} (${r.reason}) ${r.lines.find((l) => / TLS connection/.test(l.text))?.text.split(': TLS')[0] ?? ''}`);
        assert.equal(r.status, 'sent', `the downgrade the README warns about: ${rcpt}\n${r.lines.map((l) => l.raw).join('\n')}`);
        assert.ok(!r.lines.some((l) => /^Verified TLS/.test(l.text)));
      }
    } finally {
      await pf.stop();
    }
  });
});
