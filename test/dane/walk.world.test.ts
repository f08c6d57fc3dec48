/**
 * The DANE check (src/dane/check.ts) through a running daemon in the mail world: every mail domain in the three
 * modes, asked both ways (over DNS to the daemon's listener, and in process through its answer cache), each
 * decision against the note's tables applied to the statuses the world declares (expect.ts), each lookup's
 * status against the world's, and the TLSA variants and special hosts step by step.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkDomain, type CheckResult, type Step } from '../../src/dane/check.js';
import { dnsLookup, handlerLookup, type DaneLookup } from '../../src/dane/lookup.js';
import { MODES, type Mode } from '../../src/dane/policy.js';
import { renderText } from '../../src/dane/report.js';
import { Name } from '../../src/wire/index.js';
import { systemClock } from '../../src/clock.js';
import { useWorldDaemon } from '../support/world-daemon.js';
import { mailDomain } from '../world/index.js';
import { DOMAINS, cells, expected, hostsOf, tlsaHost } from './expect.js';
import { MANDATORY, OPPORTUNISTIC, rows, tableRow } from './tables.js';
import { worldAddr, worldAddr6 } from '../world/net.js';

const ctx = useWorldDaemon();

type Way = 'dns' | 'in-process';
function lookupFor(way: Way): DaneLookup {
  return way === 'dns' ? dnsLookup({ address: '127.0.0.1', port: ctx.port }, 5000) : handlerLookup(ctx.daemon.stack.cached.handler);
}

function check(domain: string, mode: Mode, way: Way = 'dns'): Promise<CheckResult> {
  return checkDomain({
    domain: Name.fromText(domain), mode, port: 25, lookup: lookupFor(way), helo: 'daneverify.test',
    clock: systemClock, stepTimeoutMs: 1500, deadlineMs: 30_000,
  });
}

const stepsOf = <K extends Step['step']>(r: CheckResult, k: K): Extract<Step, { step: K }>[] =>
  r.steps.filter((s): s is Extract<Step, { step: K }> => s.step === k);

const why = (r: CheckResult): string => `\n${renderText(r)}`;

describe('every mail domain, every mode, both ways of asking', () => {
  it('the world\'s domains reach every row of both tables (through their first MX host)', () => {
    for (const table of [MANDATORY, OPPORTUNISTIC]) {
      const hit = new Set<string>();
      for (const d of DOMAINS) {
        const h = hostsOf(d)[0];
        if (d.expect.MX.status === 'bogus') hit.add(tableRow(table, 'Bogus', '', '', '')!.text);
        else if (h && d.mx[0]?.host !== '.') hit.add(tableRow(table, ...cells(d, h))!.text);
      }
      for (const r of rows(table)) assert.ok(hit.has(r.text), `no mail domain for the row ${r.text}`);
    }
  });
  for (const way of ['dns', 'in-process'] as const) {
    for (const d of DOMAINS) {
      it(`${d.name} (${way})`, async () => {
        const results = await Promise.all(MODES.map((m) => check(d.name, m, way)));
        results.forEach((r, i) => {
          const mode = MODES[i]!;
          assert.equal(r.decision.action, expected(mode, d), `${mode}: ${why(r)}`);
        });
        // The lookups' statuses are the world's, whatever the mode.
        const r = results[2]!;
        const mx = stepsOf(r, 'lookup').find((s) => s.purpose === 'mx')!.result;
        assert.equal(mx.status, d.expect.MX.status.toUpperCase(), why(r));
        const first = hostsOf(d)[0];
        const addr = stepsOf(r, 'lookup').filter((s) => s.purpose === 'address');
        if (first && d.expect.MX.status !== 'bogus' && d.mx[0]?.host !== '.') {
          const t = tlsaHost(first);
          const a = addr.find((s) => s.host === first.name && s.result.type === 'A')!.result;
          assert.equal(a.status, t.expect.A.status.toUpperCase(), why(r));
          const tl = stepsOf(r, 'lookup').filter((s) => s.purpose === 'tlsa' && s.host === first.name);
          if (t.expect.A.status === 'secure') {
            const last = tl[tl.length - 1]!.result;
            const v = t.expect.TLSA;
            assert.equal(last.status, v.status === 'secure' && v.rcode === 'NXDOMAIN' ? 'NXDOMAIN' : v.status.toUpperCase(), why(r));
          } else {
            assert.equal(tl.length, 0, 'no TLSA lookup for a host whose addresses are not secure');
          }
        } else {
          assert.equal(addr.length, 0, 'no host is looked up');
        }
      });
    }
  }
});

describe('TLSA variants and special hosts', () => {
  it('3 1 1, 3 0 1, 3 1 2: DANE-EE matched, the record named as published', async () => {
    for (const label of ['ok', 'v301', 'v312']) {
      const r = await check(`${label}.dmx.test.`, 'rfc7672');
      const c = stepsOf(r, 'certificate')[0]!;
      assert.ok(c.verified, why(r));
      assert.equal(c.usage, 'DANE-EE');
      assert.equal(c.record.toLowerCase(), ctx.world.mail.tlsa[`${label}.dhost.test.`]![0]!.toLowerCase(), why(r));
      const tls = stepsOf(r, 'tls')[0]!;
      assert.match(tls.protocol, /^TLSv1\.[23]$/);
    }
  });
  it('2 0 1 of the test CA with the chain [leaf, CA]: DANE-TA at depth 1, the leaf names ta201.dhost.test', async () => {
    const r = await check('ta201.dmx.test.', 'mandatory');
    const c = stepsOf(r, 'certificate')[0]!;
    assert.ok(c.verified && c.usage === 'DANE-TA' && c.depth === 1 && c.name === 'ta201.dhost.test', why(r));
    assert.equal(stepsOf(r, 'tls')[0]!.chain.length, 2);
  });
  it('PKIX usages only: every record unusable; rfc7672 requires TLS without authentication, the tables fail', async () => {
    const r = await check('unusable.dmx.test.', 'rfc7672');
    const t = stepsOf(r, 'tlsa')[0]!;
    assert.deepEqual(t.records.map((x) => x.usable), [false, false]);
    assert.match(t.records[0]!.why!, /PKIX/);
    assert.equal(stepsOf(r, 'tls').length, 1, 'TLS was established');
    assert.deepEqual(r.decision.reason, { code: 'tlsa-unusable' });
  });
  it('a malformed 3 1 1 (20-octet digest): unusable', async () => {
    const r = await check('malformed.dmx.test.', 'rfc7672');
    assert.match(stepsOf(r, 'tlsa')[0]!.records[0]!.why!, /wrong length/);
    assert.equal(r.decision.action, 'fallback');
  });
  it('an MX host that is a CNAME: the target\'s TLSA (RFC 7672 §2.2.3), both names as reference identifiers', async () => {
    const r = await check('cname.dmx.test.', 'rfc7672');
    assert.deepEqual(stepsOf(r, 'alias')[0], { step: 'alias', host: 'cname.dhost.test.', target: 'ok.dhost.test.' });
    const tl = stepsOf(r, 'lookup').filter((s) => s.purpose === 'tlsa').map((s) => s.result.name);
    assert.deepEqual(tl, ['_25._tcp.ok.dhost.test.'], why(r));
    assert.equal(stepsOf(r, 'tlsa')[0]!.owner, '_25._tcp.ok.dhost.test.');
    assert.equal(r.decision.action, 'success');
  });
  it('a host with only AAAA: connects to the IPv6 address', async () => {
    const r = await check('aaaa-only.dmx.test.', 'mandatory');
    assert.deepEqual(stepsOf(r, 'connect').map((s) => s.address), [worldAddr6(102, 20)], why(r));
    assert.equal(r.decision.action, 'success');
  });
  it('a server without STARTTLS: no-starttls, DANE Fail', async () => {
    const r = await check('nostarttls.dmx.test.', 'opportunistic');
    assert.equal(stepsOf(r, 'connection-failed')[0]!.failure.kind, 'no-starttls', why(r));
    assert.equal(r.decision.action, 'fail');
  });
  it('a server that never answers: timeout at the banner, then the next MX (multi.dmx.test)', async () => {
    const r = await check('multi.dmx.test.', 'mandatory');
    assert.deepEqual(stepsOf(r, 'connection-failed')[0]!.failure, { kind: 'timeout', step: 'banner' }, why(r));
    assert.deepEqual(stepsOf(r, 'next-mx').map((s) => s.host), ['ok.dhost.test.']);
    assert.deepEqual(r.hosts.map((h) => [h.host, h.decision.action]), [['silent.dhost.test.', 'fail'], ['ok.dhost.test.', 'success']]);
    assert.match(renderText(r), /Trying next MX record in multi\.dmx\.test\./);
  });
  it('a null MX: no mail accepted, no host looked up', async () => {
    const r = await check('nullmx.dmx.test.', 'rfc7672');
    assert.equal(stepsOf(r, 'null-mx').length, 1);
    assert.deepEqual(r.decision.reason, { code: 'null-mx' });
    assert.match(renderText(r), /accepts no mail \(RFC 7505\)/);
  });
  it('no MX: the domain is its own host', async () => {
    const r = await check('ok.dhost.test.', 'mandatory');
    assert.equal(stepsOf(r, 'no-mx').length, 1);
    assert.deepEqual(r.hosts.map((h) => h.host), ['ok.dhost.test.']);
    assert.equal(r.decision.action, 'success');
  });
  it('a bogus MX RRset: BOGUS with the daemon\'s EDE, DANE FAILED, nothing else looked up', async () => {
    const r = await check('ok.bmx.test.', 'opportunistic');
    const mx = stepsOf(r, 'lookup')[0]!.result;
    assert.equal(mx.status, 'BOGUS');
    assert.ok(mx.ede.length > 0 && mx.ede.every((e) => e.code >= 1 && e.code <= 12), JSON.stringify(mx.ede));
    assert.equal(r.steps.length, 1);
    assert.match(renderText(r), /^BOGUS MX record found for ok\.bmx\.test\. .*\nDANE FAILED for ok\.bmx\.test\.\n/);
  });
  it('a domain that does not exist: NXDOMAIN, fail', async () => {
    const r = await check('nope.dmx.test.', 'rfc7672');
    assert.equal(stepsOf(r, 'lookup')[0]!.result.status, 'NXDOMAIN');
    assert.deepEqual(r.decision.reason, { code: 'domain-nxdomain' });
  });
  it('the text follows the note\'s wording', async () => {
    const text = renderText(await check('ok.dmx.test.', 'mandatory'));
    for (const line of [
      'SECURE MX record(ok.dhost.test.) found for ok.dmx.test.',
      `SECURE A record (${worldAddr(102, 10)}) found for MX(ok.dhost.test.) in ok.dmx.test.`,
      `Connecting to ${worldAddr(102, 10)} on port 25.`,
      'Certificate verification successful',
      'DANE SUCCESS for ok.dmx.test.',
      'DANE verification completed.',
    ]) assert.ok(text.split('\n').includes(line), `${line}\n---\n${text}`);
    assert.match(text, /^TLS connection established: protocol TLSv1\.3, cipher \S+\.$/m);
    assert.match(text, /^Decision \(mandatory\): DANE Success/m);
    const insecure = renderText(await check('notlsa.umx.test.', 'opportunistic'));
    assert.match(insecure, /^INSECURE MX record\(notlsa\.dhost\.test\.\) found\. The command will still proceed\.$/m);
    assert.match(insecure, /^DANE FAILED for notlsa\.umx\.test\.$/m);
    assert.match(insecure, /^Decision \(opportunistic\): Fallback/m);
  });
  it('a domain table entry exists for every name used here', () => {
    for (const n of ['multi.dmx.test.', 'nullmx.dmx.test.', 'ok.dhost.test.']) assert.ok(mailDomain(n));
  });
});
