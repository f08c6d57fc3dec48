/**
 * What each mail domain of the mail world (test/world/mail.ts) must give, derived from the world's contract, not
 * from src/dane: the vendor modes from the statuses the world declares looked up in the note's tables
 * (tables.ts), the rfc7672 mode from the world's RFC 7672 column (what Postfix 3.7's `dane` level does, which
 * posttls.world.test.ts and postfix.world.test.ts check against posttls-finger and a real Postfix).
 */
import type { Action } from '../../src/dane/policy.js';
import { MAIL, mailHost, type MailDomain, type MailHost } from '../world/mail.js';
import { MANDATORY, OPPORTUNISTIC, tableAction } from './tables.js';

/**
 * rfc7672 from the mail world's own table (MAIL's `rfc7672`, what Postfix 3.7's `dane` level does: secure TLSA must
 * authenticate whatever the MX RRset's status, RFC 7672 §2.2.1), which test/daemon/postfix.world.test.ts holds
 * against a real Postfix: delivered with DANE = success, with TLS only = fallback, deferred or bounced = fail.
 */
const RFC7672_ACTION: Record<MailDomain['rfc7672']['result'], Action> = {
  verified: 'success', encrypted: 'fallback', deferred: 'fail', bounced: 'fail',
};

const cell = (s: string): string => s[0]!.toUpperCase() + s.slice(1);

/** The host whose TLSA records apply: a CNAME's target (RFC 7672 §2.2.3). */
export function tlsaHost(h: MailHost): MailHost {
  return h.cname ? mailHost(h.cname) : h;
}

/** The note's cells (MX, A, TLSA, Certificate) for one MX host of a domain. */
export function cells(d: MailDomain, h: MailHost): [string, string, string, string] {
  const mx = cell(d.expect.MX.status);
  const t = tlsaHost(h);
  const a = t.expect.A.status === 'bogus' || t.expect.AAAA.status === 'bogus' ? 'Bogus' : cell(t.expect.A.status);
  if (a !== 'Secure') return [mx, a, '', ''];
  const v = t.expect.TLSA;
  const tlsa = v.status === 'bogus' ? 'Bogus' : v.rcode === 'NXDOMAIN' || v.nodata ? 'NXDOMAIN' : cell(v.status);
  if (tlsa !== 'Secure') return [mx, a, tlsa, ''];
  const works = t.certMatches && t.behaviour === 'normal';
  return [mx, a, tlsa, works ? 'Success' : 'Failed'];
}

/** The hosts of a domain in the order tried (no MX: the domain itself). */
export function hostsOf(d: MailDomain): MailHost[] {
  if (d.mx.length === 0) return [mailHost(d.name)];
  return [...d.mx].sort((x, y) => x.preference - y.preference).filter((m) => m.host !== '.').map((m) => mailHost(m.host));
}

/** The vendor table's action for a domain: the first host whose row is not DANE Fail takes the mail. */
export function vendorExpected(mode: 'mandatory' | 'opportunistic', d: MailDomain): Action {
  const table = mode === 'mandatory' ? MANDATORY : OPPORTUNISTIC;
  if (d.expect.MX.status === 'bogus') return tableAction(table, 'Bogus', '', '', '')!;
  if (d.mx.length === 1 && d.mx[0]!.host === '.') return 'fail';
  for (const h of hostsOf(d)) {
    const [mx, a, tlsa, cert] = cells(d, h);
    const action = tableAction(table, mx, a, tlsa, cert);
    if (action === undefined) throw new Error(`no table row for ${d.name} via ${h.name}: ${mx} ${a} ${tlsa} ${cert}`);
    if (action !== 'fail') return action;
  }
  return 'fail';
}

export function expected(mode: 'mandatory' | 'opportunistic' | 'rfc7672', d: MailDomain): Action {
  if (mode !== 'rfc7672') return vendorExpected(mode, d);
  return RFC7672_ACTION[d.rfc7672.result];
}

export const DOMAINS: readonly MailDomain[] = MAIL.domains;
