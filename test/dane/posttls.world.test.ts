/**
 * `--mode rfc7672` against Postfix: for every mail domain of the mail world, Debian's `posttls-finger -l dane`
 * (Postfix 3.7's DANE client code, scripts/install-test-deps.sh installs it) and our check give the same verdict,
 * both resolving through the same daemon. posttls-finger reads /etc/resolv.conf (port 53 only), so the daemon
 * listens on daemonAddr(12, 1):53 and posttls-finger runs in a private mount namespace (`unshare -m`) whose
 * /etc/resolv.conf is a bind mount naming only it (`options trust-ad`: glibc passes the AD bit on), with its own
 * MAIL_CONFIG directory (a two-line main.cf). Without -c (the SMTP chat shown): with -c, posttls-finger prints
 * nothing at all for a server that does not offer STARTTLS. Needs root, util-linux and postfix.
 *
 * posttls-finger is a probe, not a mailer: after a DANE authentication failure it still completes the handshake
 * ("Untrusted TLS connection") and reports the failure before it; it does not go on to the next MX host after a
 * greeting timeout (multi.dmx.test: compared on its first host).
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { checkDomain, type CheckResult } from '../../src/dane/check.js';
import { dnsLookup } from '../../src/dane/lookup.js';
import type { Action, ReasonCode } from '../../src/dane/policy.js';
import { renderText } from '../../src/dane/report.js';
import { Name } from '../../src/wire/index.js';
import { systemClock } from '../../src/clock.js';
import { getWorld, stopWorld, type WorldInfo } from '../world/index.js';
import { startFailoverDaemon } from '../daemon/failover-support.js';
import type { TestDaemon } from '../support/daemon.js';
import { resolvConf, runWithPrivateEtc } from '../support/private-etc.js';
import { DOMAINS, expected } from './expect.js';
import { daemonAddr } from '../world/net.js';

/** The daemon's address: port 53 (resolv.conf has no port). Not used elsewhere in test/. */
const DAEMON_ADDRESS = daemonAddr(12, 1);

/** What posttls-finger says, in its own terms. */
type Finger =
  | 'verified' | 'trusted' | 'untrusted' | 'dane-mismatch' | 'tlsa-lookup-error' | 'address-lookup-failed'
  | 'null-mx' | 'no-starttls' | 'greeting-timeout';

/** The verdict from posttls-finger's output (the order matters: a DANE failure is followed by "Untrusted TLS"). */
export function fingerVerdict(out: string): Finger | undefined {
  if (/does not accept mail \(nullMX\)/.test(out)) return 'null-mx';
  if (/Destination address lookup failed/.test(out)) return 'address-lookup-failed';
  if (/TLSA lookup error for/.test(out)) return 'tlsa-lookup-error';
  if (/no matching DANE TLSA records/.test(out)) return 'dane-mismatch';
  if (/Verified TLS connection established/.test(out)) return 'verified';
  if (/Trusted TLS connection established/.test(out)) return 'trusted';
  if (/(Untrusted|Anonymous) TLS connection established/.test(out)) return 'untrusted';
  if (/timeout while reading server greeting/.test(out)) return 'greeting-timeout';
  if (/> EHLO /.test(out) && !/< 250[- ]STARTTLS/i.test(out) && /> QUIT/.test(out)) return 'no-starttls';
  return undefined;
}

/** What a Postfix smtp(8) client at the `dane` level does with it. */
const FINGER_ACTION: Record<Finger, Action> = {
  verified: 'success', trusted: 'success', untrusted: 'fallback', 'dane-mismatch': 'fail', 'tlsa-lookup-error': 'fail',
  'address-lookup-failed': 'fail', 'null-mx': 'fail', 'no-starttls': 'fail', 'greeting-timeout': 'fail',
};

/** Our reasons that go with each of posttls-finger's verdicts. */
const FINGER_REASONS: Record<Finger, readonly ReasonCode[]> = {
  verified: ['authenticated'], trusted: ['authenticated'], untrusted: ['tlsa-none', 'tlsa-insecure', 'tlsa-unusable', 'address-insecure'],
  'dane-mismatch': ['certificate-mismatch'], 'tlsa-lookup-error': ['tlsa-bogus', 'tlsa-error'],
  'address-lookup-failed': ['mx-bogus', 'address-bogus', 'mx-error', 'address-error'], 'null-mx': ['null-mx'],
  'no-starttls': ['tls-failed'], 'greeting-timeout': ['tls-failed'],
};

let world: WorldInfo;
let d: TestDaemon;
let dir: string;

before(async () => {
  world = await getWorld();
  dir = mkdtempSync(join(tmpdir(), 'stubd-posttls-'));
  writeFileSync(join(dir, 'resolv.conf'), resolvConf([DAEMON_ADDRESS], ['timeout:5', 'attempts:2', 'trust-ad']));
  mkdirSync(join(dir, 'postfix'));
  writeFileSync(join(dir, 'postfix', 'main.cf'), 'compatibility_level = 3.6\nsmtp_dns_support_level = dnssec\n');
  d = await startFailoverDaemon(world, { upstreams: [{ address: world.upstream.host, port: world.upstream.port }], server: { warmupQueries: 0 } },
    { listen: [`${DAEMON_ADDRESS}:53`] });
  await d.probed();
});

after(async () => {
  await d?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
  await stopWorld();
});

async function posttlsFinger(domain: string): Promise<string> {
  const r = await runWithPrivateEtc({ '/etc/resolv.conf': join(dir, 'resolv.conf') }, 'posttls-finger',
    ['-t', '30', '-l', 'dane', domain.replace(/\.$/, '')], { env: { ...process.env, MAIL_CONFIG: join(dir, 'postfix') }, timeoutMs: 120_000 });
  const out = `${r.stdout}${r.stderr}`;
  if (r.killed) throw new Error(`posttls-finger ${domain} timed out:\n${out}`);
  return out;
}

function ours(domain: string): Promise<CheckResult> {
  return checkDomain({
    domain: Name.fromText(domain), mode: 'rfc7672', port: 25, lookup: dnsLookup({ address: DAEMON_ADDRESS, port: 53 }, 5000),
    helo: 'daneverify.test', clock: systemClock, stepTimeoutMs: 5000, deadlineMs: 60_000,
  });
}

describe('rfc7672 gives posttls-finger\'s verdict', () => {
  it('every mail domain of the world', async () => {
    // All at once: the slow ones (a silent server) wait in parallel.
    const runs = await Promise.all(DOMAINS.map(async (m) => ({ m, finger: await posttlsFinger(m.name), r: await ours(m.name) })));
    const table: string[] = [];
    for (const { m, finger, r } of runs) {
      const v = fingerVerdict(finger);
      assert.ok(v, `posttls-finger ${m.name}: no verdict read from\n${finger}`);
      table.push(`${m.name.padEnd(26)} ${v.padEnd(22)} ${r.decision.action} (${r.decision.reason.code})`);
      if (m.name === 'multi.dmx.test.') {
        // posttls-finger stops at the first MX host; Postfix's smtp(8) and we go on to the next one.
        assert.equal(v, 'greeting-timeout');
        assert.equal(r.hosts[0]!.decision.action, FINGER_ACTION[v]);
        assert.ok(FINGER_REASONS[v].includes(r.hosts[0]!.decision.reason.code));
        assert.equal(r.decision.action, 'success');
        continue;
      }
      assert.equal(r.decision.action, FINGER_ACTION[v], `${m.name}: posttls-finger says ${v}, we say ${r.decision.action}\n${finger}\n${renderText(r)}`);
      assert.ok(FINGER_REASONS[v].includes(r.decision.reason.code), `${m.name}: ${v} vs ${r.decision.reason.code}\n${renderText(r)}`);
      assert.equal(r.decision.action, expected('rfc7672', m), `${m.name}: expect.ts`);
      // "Trusted" is Postfix's word for DANE-authenticated under an insecure MX RRset; "Verified" under a secure one.
      if (v === 'trusted' || v === 'verified') {
        const mx = r.steps.find((s) => s.step === 'lookup' && s.purpose === 'mx');
        assert.equal(mx?.step === 'lookup' && mx.result.status, v === 'trusted' ? 'INSECURE' : 'SECURE', m.name);
      }
    }
    // The comparison, for the record (node --test prints diagnostics).
    process.stdout.write(`# domain                    posttls-finger         rfc7672\n${table.map((l) => `# ${l}`).join('\n')}\n`);
  });
});
