/**
 * What a mail gateway does with one destination, from the DNSSEC statuses of its lookups and the outcome of
 * the TLS connection: DANE success, DANE fail (the message is held) or fallback (delivered without DANE).
 *
 * Three policies:
 * - `mandatory` and `opportunistic`: the vendor note's two decision tables, kept below row by row as data
 *   (shared/docs/dane-notes.md); a host's facts are turned into the table's cells and the row found.
 * - `rfc7672`: RFC 7672 §2.2 as Postfix's `dane` security level implements it: a bogus or failed MX lookup
 *   defers; a host whose address records are bogus (or fail) is skipped; insecure address records, an
 *   insecure TLSA RRset or none at all mean opportunistic TLS; secure TLSA records must authenticate the
 *   server (whatever the MX RRset's status); secure TLSA records that are all unusable mean TLS is still
 *   mandatory, without authentication; a bogus or failed TLSA lookup skips the host.
 *
 * Pure: no I/O, no time.
 */

export const MODES = ['mandatory', 'opportunistic', 'rfc7672'] as const;
export type Mode = (typeof MODES)[number];

export function isMode(s: string): s is Mode {
  return (MODES as readonly string[]).includes(s);
}

export type Action = 'success' | 'fail' | 'fallback';

/** The MX step as the policy sees it. `error`: no answer (timeout, SERVFAIL without a DNSSEC reason). */
export type MxFacts =
  | { readonly status: 'bogus' | 'error' | 'nxdomain' }
  /** `hosts`: MX records; `implicit`: no MX records, the domain is its own host (RFC 5321 §5.1); `null`: RFC 7505. */
  | { readonly status: 'secure' | 'insecure'; readonly kind: 'hosts' | 'implicit' | 'null' };

/** The A and AAAA lookups of one host, together: `none` when neither holds an address. */
export type AddressFacts = 'secure' | 'insecure' | 'bogus' | 'error' | 'none';

/** The TLSA lookup of one host; `nxdomain` also stands for an empty answer (no TLSA records). */
export type TlsaFacts =
  | { readonly status: 'secure'; readonly usable: number }
  | { readonly status: 'insecure' | 'nxdomain' | 'bogus' | 'error' };

/**
 * The best TLS outcome over the host's addresses: `authenticated` (a usable TLSA record matched),
 * `unauthenticated` (TLS established, no usable record matched), `failed` (no TLS: the connection, the
 * STARTTLS offer, or the handshake failed).
 */
export type TlsFacts = 'authenticated' | 'unauthenticated' | 'failed';

export interface HostFacts {
  /** Status of the MX RRset (or of the proof that there is none) that led to this host. */
  readonly mx: 'secure' | 'insecure';
  readonly address: AddressFacts;
  /** Undefined: not looked up (the address records were not secure). */
  readonly tlsa?: TlsaFacts | undefined;
  /** Undefined: not connected (no secure TLSA RRset). */
  readonly tls?: TlsFacts | undefined;
}

/** Why a decision was taken. */
export type Reason =
  | { readonly code: 'authenticated' }
  | { readonly code: 'mx-bogus' }
  | { readonly code: 'mx-error' }
  | { readonly code: 'domain-nxdomain' }
  | { readonly code: 'null-mx' }
  | { readonly code: 'mx-insecure' }
  | { readonly code: 'address-insecure' }
  | { readonly code: 'address-bogus' }
  | { readonly code: 'address-error' }
  | { readonly code: 'no-address' }
  | { readonly code: 'tlsa-insecure' }
  | { readonly code: 'tlsa-none' }
  | { readonly code: 'tlsa-bogus' }
  | { readonly code: 'tlsa-error' }
  | { readonly code: 'tlsa-unusable' }
  | { readonly code: 'certificate-mismatch' }
  | { readonly code: 'tls-failed' }
  | { readonly code: 'all-hosts-failed'; readonly hosts: number };

export type ReasonCode = Reason['code'];

export interface HostDecision {
  readonly action: Action;
  readonly reason: Reason;
}

export interface Decision {
  readonly mode: Mode;
  readonly action: Action;
  readonly reason: Reason;
  /** The host that decided (the first whose decision was not `fail`), if any. */
  readonly host?: string | undefined;
}

// ---- the vendor note's tables ------------------------------------------------------------------------------

type MxCell = 'Secure' | 'Insecure' | 'Bogus';
type ACell = 'Secure' | 'Insecure' | 'Bogus';
type TlsaCell = 'Secure' | 'Insecure' | 'NXDOMAIN' | 'Bogus';
type CertCell = 'Success' | 'Failed';
/** A blank cell: not reached, matches anything. */
type Blank = '';
type VendorRow = readonly [MxCell, ACell | Blank, TlsaCell | Blank, CertCell | Blank, Action];

/** The note's "Mandatory DANE" table (MX, A, TLSA, Certificate, Action). */
const MANDATORY_TABLE: readonly VendorRow[] = [
  ['Secure', 'Secure', 'Secure', 'Success', 'success'],
  ['Secure', 'Secure', 'Secure', 'Failed', 'fail'],
  ['Secure', 'Secure', 'Insecure', '', 'fail'],
  ['Secure', 'Secure', 'NXDOMAIN', '', 'fail'],
  ['Secure', 'Secure', 'Bogus', '', 'fail'],
  ['Secure', 'Insecure', '', '', 'fail'],
  ['Secure', 'Bogus', '', '', 'fail'],
  ['Insecure', 'Secure', 'Secure', 'Success', 'fail'],
  ['Insecure', 'Secure', 'Secure', 'Failed', 'fail'],
  ['Insecure', 'Secure', 'Insecure', '', 'fail'],
  ['Insecure', 'Secure', 'NXDOMAIN', '', 'fail'],
  ['Insecure', 'Secure', 'Bogus', '', 'fail'],
  ['Insecure', 'Insecure', '', '', 'fail'],
  ['Insecure', 'Bogus', '', '', 'fail'],
  ['Bogus', '', '', '', 'fail'],
];

/** The note's "Opportunistic DANE" table. */
const OPPORTUNISTIC_TABLE: readonly VendorRow[] = [
  ['Secure', 'Secure', 'Secure', 'Success', 'success'],
  ['Secure', 'Secure', 'Secure', 'Failed', 'fail'],
  ['Secure', 'Secure', 'Insecure', '', 'fallback'],
  ['Secure', 'Secure', 'NXDOMAIN', '', 'fallback'],
  ['Secure', 'Secure', 'Bogus', '', 'fail'],
  ['Secure', 'Insecure', '', '', 'fallback'],
  ['Secure', 'Bogus', '', '', 'fail'],
  ['Insecure', 'Secure', 'Secure', '', 'fallback'],
  ['Insecure', 'Secure', 'Insecure', '', 'fallback'],
  ['Insecure', 'Secure', 'NXDOMAIN', '', 'fallback'],
  ['Insecure', 'Secure', 'Bogus', '', 'fail'],
  ['Insecure', 'Insecure', '', '', 'fallback'],
  ['Insecure', 'Bogus', '', '', 'fail'],
  ['Bogus', '', '', '', 'fail'],
];

/** The table cells of a host's facts (a failed lookup counts as Bogus: nothing was validated). */
function cells(f: HostFacts): [MxCell, ACell, TlsaCell | Blank, CertCell | Blank] {
  const a: ACell = f.address === 'secure' ? 'Secure' : f.address === 'insecure' ? 'Insecure' : 'Bogus';
  let t: TlsaCell | Blank = '';
  if (f.tlsa) {
    switch (f.tlsa.status) {
      case 'secure': t = 'Secure'; break;
      case 'insecure': t = 'Insecure'; break;
      case 'nxdomain': t = 'NXDOMAIN'; break;
      case 'bogus': case 'error': t = 'Bogus'; break;
    }
  }
  const c: CertCell | Blank = f.tls === undefined ? '' : f.tls === 'authenticated' ? 'Success' : 'Failed';
  return [f.mx === 'secure' ? 'Secure' : 'Insecure', a, t, c];
}

/** The table's row for these cells (a blank row cell matches anything; a blank fact matches only a blank). */
function findRow(table: readonly VendorRow[], mx: MxCell, a: ACell | Blank, tlsa: TlsaCell | Blank, cert: CertCell | Blank): VendorRow | undefined {
  const fits = (row: string, fact: string): boolean => row === '' || row === fact;
  return table.find((r) => fits(r[0], mx) && fits(r[1], a) && fits(r[2], tlsa) && fits(r[3], cert));
}

/** The reason a host's address records give when they are not secure. */
const ADDRESS_REASON = {
  insecure: { code: 'address-insecure' }, bogus: { code: 'address-bogus' }, error: { code: 'address-error' }, none: { code: 'no-address' },
} as const satisfies Record<Exclude<AddressFacts, 'secure'>, Reason>;

/** The reason a TLSA lookup gives when it found no secure RRset. */
const TLSA_REASON = {
  insecure: { code: 'tlsa-insecure' }, nxdomain: { code: 'tlsa-none' }, bogus: { code: 'tlsa-bogus' }, error: { code: 'tlsa-error' },
} as const satisfies Record<Exclude<TlsaFacts['status'], 'secure'>, Reason>;

/** The reason behind a vendor-table action: the most serious fact that leads to it. */
function vendorReason(f: HostFacts, action: Action): Reason {
  if (action === 'success') return { code: 'authenticated' };
  const tlsa = f.tlsa?.status;
  const bad: Reason[] = [];
  if (f.address === 'bogus' || f.address === 'error') bad.push(ADDRESS_REASON[f.address]);
  if (tlsa === 'bogus' || tlsa === 'error') bad.push(TLSA_REASON[tlsa]);
  if (f.tls === 'failed') bad.push({ code: 'tls-failed' });
  if (f.tls === 'unauthenticated') bad.push({ code: f.tlsa?.status === 'secure' && f.tlsa.usable === 0 ? 'tlsa-unusable' : 'certificate-mismatch' });
  const weak: Reason[] = [];
  if (f.mx === 'insecure') weak.push({ code: 'mx-insecure' });
  if (f.address === 'insecure') weak.push(ADDRESS_REASON.insecure);
  if (tlsa === 'insecure' || tlsa === 'nxdomain') weak.push(TLSA_REASON[tlsa]);
  return (action === 'fallback' ? weak : [...bad, ...weak])[0] ?? { code: 'certificate-mismatch' };
}

function vendorHost(table: readonly VendorRow[], f: HostFacts): HostDecision {
  if (f.address === 'none') return { action: 'fail', reason: ADDRESS_REASON.none };
  const [mx, a, t, c] = cells(f);
  const row = findRow(table, mx, a, t, c);
  // Facts the walk did not gather for a row that needs them (e.g. no connection made) are a failure.
  const action: Action = row ? row[4] : 'fail';
  return { action, reason: vendorReason(f, action) };
}

// ---- RFC 7672 ------------------------------------------------------------------------------------------------

function rfc7672Host(f: HostFacts): HostDecision {
  // §2.2.3: TLSA records are looked up only for hosts whose address records are secure; insecure ones mean
  // opportunistic TLS, bogus or failed ones (or none) skip the host.
  if (f.address !== 'secure') return { action: f.address === 'insecure' ? 'fallback' : 'fail', reason: ADDRESS_REASON[f.address] };
  const t = f.tlsa;
  if (!t) return { action: 'fail', reason: TLSA_REASON.error };
  // No secure TLSA RRset: insecure or none is opportunistic TLS, bogus or failed skips the host.
  if (t.status !== 'secure') return { action: t.status === 'insecure' || t.status === 'nxdomain' ? 'fallback' : 'fail', reason: TLSA_REASON[t.status] };
  if (t.usable === 0) {
    // §2.2: secure TLSA records, none usable: TLS is still mandatory, but the server is not authenticated.
    return f.tls === 'authenticated' || f.tls === 'unauthenticated'
      ? { action: 'fallback', reason: { code: 'tlsa-unusable' } }
      : { action: 'fail', reason: { code: 'tls-failed' } };
  }
  switch (f.tls) {
    case 'authenticated': return { action: 'success', reason: { code: 'authenticated' } };
    case 'unauthenticated': return { action: 'fail', reason: { code: 'certificate-mismatch' } };
    case 'failed':
    case undefined: return { action: 'fail', reason: { code: 'tls-failed' } };
  }
}

// ---- decisions -----------------------------------------------------------------------------------------------

/** The decision for one MX host. */
export function decideHost(mode: Mode, f: HostFacts): HostDecision {
  switch (mode) {
    case 'mandatory': return vendorHost(MANDATORY_TABLE, f);
    case 'opportunistic': return vendorHost(OPPORTUNISTIC_TABLE, f);
    case 'rfc7672': return rfc7672Host(f);
  }
}

/** A decision reached at the MX step, before any host (bogus or failed MX lookup, NXDOMAIN, null MX); undefined when hosts must be tried. */
export function decideMx(mode: Mode, mx: MxFacts): Decision | undefined {
  switch (mx.status) {
    case 'bogus': return { mode, action: 'fail', reason: { code: 'mx-bogus' } };
    case 'error': return { mode, action: 'fail', reason: { code: 'mx-error' } };
    case 'nxdomain': return { mode, action: 'fail', reason: { code: 'domain-nxdomain' } };
    case 'secure':
    case 'insecure':
      return mx.kind === 'null' ? { mode, action: 'fail', reason: { code: 'null-mx' } } : undefined;
  }
}

/**
 * The decision for the destination, from the hosts' decisions in the order tried: the first host whose
 * decision is not `fail` takes the mail; when every host fails, the mail is held.
 */
export function decideDomain(mode: Mode, hosts: readonly { readonly host: string; readonly decision: HostDecision }[]): Decision {
  const taken = hosts.find((h) => h.decision.action !== 'fail');
  if (taken) return { mode, action: taken.decision.action, reason: taken.decision.reason, host: taken.host };
  if (hosts.length === 1) return { mode, action: 'fail', reason: hosts[0]!.decision.reason, host: hosts[0]!.host };
  return { mode, action: 'fail', reason: { code: 'all-hosts-failed', hosts: hosts.length } };
}

/** Whether the walk should look up TLSA records for a host with these address facts (all modes: secure addresses only). */
export function wantsTlsa(address: AddressFacts): boolean {
  return address === 'secure';
}

/** Whether the walk should connect to the host: a secure TLSA RRset (usable records to match, or TLS required). */
export function wantsConnection(tlsa: TlsaFacts | undefined): boolean {
  return tlsa?.status === 'secure';
}
