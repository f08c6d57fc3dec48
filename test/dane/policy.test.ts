/**
 * The decisions (src/dane/policy.ts): every row of the vendor note's two tables (copied here from
 * shared/docs/dane-notes.md as text, independently of the policy's own copy), each with every value the row's
 * blank cells may hold, and the RFC 7672 rows (Postfix's `dane` level).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { describeReason } from '../../src/dane/report.js';
import { MANDATORY, OPPORTUNISTIC, rows, type Row } from './tables.js';
import {
  decideDomain, decideHost, decideMx, wantsConnection, wantsTlsa,
  type Action, type HostFacts, type Mode, type ReasonCode, type TlsFacts, type TlsaFacts,
} from '../../src/dane/policy.js';

/** The facts a walk may gather for a cell: a blank cell stands for each value (and for "not reached"). */
const TLSA_VALUES: Record<string, (TlsaFacts | undefined)[]> = {
  Secure: [{ status: 'secure', usable: 1 }, { status: 'secure', usable: 2 }],
  Insecure: [{ status: 'insecure' }],
  NXDOMAIN: [{ status: 'nxdomain' }],
  Bogus: [{ status: 'bogus' }, { status: 'error' }],
  '': [undefined, { status: 'secure', usable: 1 }, { status: 'insecure' }, { status: 'nxdomain' }, { status: 'bogus' }],
};
const CERT_VALUES: Record<string, (TlsFacts | undefined)[]> = {
  Success: ['authenticated'],
  Failed: ['unauthenticated', 'failed'],
  '': [undefined, 'authenticated', 'unauthenticated', 'failed'],
};
const A_VALUES: Record<string, HostFacts['address'][]> = { Secure: ['secure'], Insecure: ['insecure'], Bogus: ['bogus', 'error'] };

function* factsOf(r: Row): Generator<HostFacts> {
  for (const address of A_VALUES[r.a] ?? []) for (const tlsa of TLSA_VALUES[r.tlsa]!) for (const tls of CERT_VALUES[r.cert]!) {
    // The walk connects only after a secure TLSA RRset: facts with a connection and no secure TLSA do not occur.
    if (tls !== undefined && tlsa?.status !== 'secure') continue;
    yield { mx: r.mx === 'Secure' ? 'secure' : 'insecure', address, tlsa, tls };
  }
}

function tableTests(mode: Mode, table: string): void {
  for (const r of rows(table)) {
    it(r.text, () => {
      if (r.mx === 'Bogus') {
        for (const status of ['bogus', 'error'] as const) {
          const d = decideMx(mode, { status });
          assert.equal(d?.action, r.action);
          assert.equal(d?.reason.code, status === 'bogus' ? 'mx-bogus' : 'mx-error');
        }
        return;
      }
      let n = 0;
      for (const f of factsOf(r)) {
        n++;
        const d = decideHost(mode, f);
        assert.equal(d.action, r.action, `${mode} ${JSON.stringify(f)}: ${d.action} (${describeReason(d.reason)})`);
        if (r.action === 'success') assert.equal(d.reason.code, 'authenticated');
      }
      assert.ok(n > 0);
    });
  }
}

describe('Mandatory DANE: the note\'s table row by row', () => tableTests('mandatory', MANDATORY));
describe('Opportunistic DANE: the note\'s table row by row', () => tableTests('opportunistic', OPPORTUNISTIC));

describe('vendor modes: reasons and facts outside the tables', () => {
  it('names the fact behind the action', () => {
    const code = (mode: Mode, f: HostFacts): ReasonCode => decideHost(mode, f).reason.code;
    assert.equal(code('mandatory', { mx: 'insecure', address: 'secure', tlsa: { status: 'secure', usable: 1 }, tls: 'authenticated' }), 'mx-insecure');
    assert.equal(code('opportunistic', { mx: 'secure', address: 'secure', tlsa: { status: 'bogus' } }), 'tlsa-bogus');
    assert.equal(code('opportunistic', { mx: 'insecure', address: 'secure', tlsa: { status: 'bogus' } }), 'tlsa-bogus');
    assert.equal(code('opportunistic', { mx: 'secure', address: 'secure', tlsa: { status: 'nxdomain' } }), 'tlsa-none');
    assert.equal(code('opportunistic', { mx: 'secure', address: 'secure', tlsa: { status: 'secure', usable: 1 }, tls: 'unauthenticated' }), 'certificate-mismatch');
    assert.equal(code('opportunistic', { mx: 'secure', address: 'secure', tlsa: { status: 'secure', usable: 0 }, tls: 'unauthenticated' }), 'tlsa-unusable');
    assert.equal(code('mandatory', { mx: 'secure', address: 'secure', tlsa: { status: 'secure', usable: 1 }, tls: 'failed' }), 'tls-failed');
  });
  it('secure TLSA records that are all unusable: the certificate cannot verify, DANE Fail in both tables', () => {
    for (const mode of ['mandatory', 'opportunistic'] as const) {
      assert.equal(decideHost(mode, { mx: 'secure', address: 'secure', tlsa: { status: 'secure', usable: 0 }, tls: 'unauthenticated' }).action, 'fail');
    }
  });
  it('a host without addresses fails in every mode', () => {
    for (const mode of ['mandatory', 'opportunistic', 'rfc7672'] as const) {
      assert.deepEqual(decideHost(mode, { mx: 'secure', address: 'none' }), { action: 'fail', reason: { code: 'no-address' } });
    }
  });
});

const RFC7672: { facts: HostFacts; action: Action; reason: ReasonCode; why: string }[] = [
  { facts: { mx: 'secure', address: 'secure', tlsa: { status: 'secure', usable: 1 }, tls: 'authenticated' }, action: 'success', reason: 'authenticated', why: 'usable secure TLSA, certificate matches' },
  { facts: { mx: 'insecure', address: 'secure', tlsa: { status: 'secure', usable: 1 }, tls: 'authenticated' }, action: 'success', reason: 'authenticated', why: 'insecure MX still uses the host\'s secure TLSA (Postfix logs "Trusted")' },
  { facts: { mx: 'secure', address: 'secure', tlsa: { status: 'secure', usable: 1 }, tls: 'unauthenticated' }, action: 'fail', reason: 'certificate-mismatch', why: 'usable TLSA, no match: defer' },
  { facts: { mx: 'insecure', address: 'secure', tlsa: { status: 'secure', usable: 1 }, tls: 'unauthenticated' }, action: 'fail', reason: 'certificate-mismatch', why: 'insecure MX, secure TLSA, no match: defer' },
  { facts: { mx: 'secure', address: 'secure', tlsa: { status: 'secure', usable: 1 }, tls: 'failed' }, action: 'fail', reason: 'tls-failed', why: 'usable TLSA, no STARTTLS / handshake: defer' },
  { facts: { mx: 'secure', address: 'secure', tlsa: { status: 'secure', usable: 0 }, tls: 'unauthenticated' }, action: 'fallback', reason: 'tlsa-unusable', why: 'all records unusable: TLS mandatory, unauthenticated' },
  { facts: { mx: 'secure', address: 'secure', tlsa: { status: 'secure', usable: 0 }, tls: 'failed' }, action: 'fail', reason: 'tls-failed', why: 'all unusable and no TLS: mandatory TLS fails' },
  { facts: { mx: 'secure', address: 'secure', tlsa: { status: 'insecure' } }, action: 'fallback', reason: 'tlsa-insecure', why: 'insecure TLSA: opportunistic TLS' },
  { facts: { mx: 'secure', address: 'secure', tlsa: { status: 'nxdomain' } }, action: 'fallback', reason: 'tlsa-none', why: 'no TLSA: opportunistic TLS' },
  { facts: { mx: 'insecure', address: 'secure', tlsa: { status: 'nxdomain' } }, action: 'fallback', reason: 'tlsa-none', why: 'insecure MX, no TLSA: opportunistic TLS' },
  { facts: { mx: 'secure', address: 'secure', tlsa: { status: 'bogus' } }, action: 'fail', reason: 'tlsa-bogus', why: 'bogus TLSA: defer' },
  { facts: { mx: 'insecure', address: 'secure', tlsa: { status: 'bogus' } }, action: 'fail', reason: 'tlsa-bogus', why: 'bogus TLSA under an insecure MX: defer (TLSA lookup error)' },
  { facts: { mx: 'secure', address: 'secure', tlsa: { status: 'error' } }, action: 'fail', reason: 'tlsa-error', why: 'TLSA lookup failed: defer' },
  { facts: { mx: 'secure', address: 'insecure' }, action: 'fallback', reason: 'address-insecure', why: 'insecure A: no TLSA lookup, opportunistic TLS' },
  { facts: { mx: 'insecure', address: 'insecure' }, action: 'fallback', reason: 'address-insecure', why: 'unsigned all the way: opportunistic TLS' },
  { facts: { mx: 'secure', address: 'bogus' }, action: 'fail', reason: 'address-bogus', why: 'bogus A: host skipped' },
  { facts: { mx: 'insecure', address: 'error' }, action: 'fail', reason: 'address-error', why: 'address lookup failed: host skipped' },
];

describe('rfc7672 (Postfix\'s dane level)', () => {
  for (const r of RFC7672) {
    it(`${r.why}: ${r.action}`, () => {
      assert.deepEqual(decideHost('rfc7672', r.facts), { action: r.action, reason: { code: r.reason } });
    });
  }
  it('the MX step: bogus, failed, NXDOMAIN and null MX decide before any host; otherwise hosts are tried', () => {
    for (const mode of ['mandatory', 'opportunistic', 'rfc7672'] as const) {
      assert.equal(decideMx(mode, { status: 'bogus' })?.reason.code, 'mx-bogus');
      assert.equal(decideMx(mode, { status: 'error' })?.reason.code, 'mx-error');
      assert.equal(decideMx(mode, { status: 'nxdomain' })?.reason.code, 'domain-nxdomain');
      assert.equal(decideMx(mode, { status: 'secure', kind: 'null' })?.reason.code, 'null-mx');
      assert.equal(decideMx(mode, { status: 'secure', kind: 'hosts' }), undefined);
      assert.equal(decideMx(mode, { status: 'insecure', kind: 'implicit' }), undefined);
    }
  });
});

describe('the walk\'s questions and the destination\'s decision', () => {
  it('TLSA only for secure addresses; a connection only for a secure TLSA RRset', () => {
    assert.deepEqual((['secure', 'insecure', 'bogus', 'error', 'none'] as const).map(wantsTlsa), [true, false, false, false, false]);
    assert.equal(wantsConnection({ status: 'secure', usable: 0 }), true);
    assert.equal(wantsConnection({ status: 'insecure' }), false);
    assert.equal(wantsConnection(undefined), false);
  });
  it('the first host that does not fail takes the mail; all failing holds it', () => {
    const fail = { action: 'fail' as const, reason: { code: 'tls-failed' as const } };
    const ok = { action: 'success' as const, reason: { code: 'authenticated' as const } };
    const d = decideDomain('rfc7672', [{ host: 'a.', decision: fail }, { host: 'b.', decision: ok }]);
    assert.deepEqual(d, { mode: 'rfc7672', action: 'success', reason: { code: 'authenticated' }, host: 'b.' });
    assert.deepEqual(decideDomain('mandatory', [{ host: 'a.', decision: fail }]), { mode: 'mandatory', action: 'fail', reason: { code: 'tls-failed' }, host: 'a.' });
    assert.deepEqual(decideDomain('mandatory', [{ host: 'a.', decision: fail }, { host: 'b.', decision: fail }]).reason, { code: 'all-hosts-failed', hosts: 2 });
  });
});
