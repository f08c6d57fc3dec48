/**
 * Matching a presented certificate chain against TLSA records, for SMTP (RFC 7672 §3, RFC 7671, RFC 6698).
 *
 * - Usages DANE-TA(2) and DANE-EE(3) only: PKIX-TA(0) and PKIX-EE(1) are unusable for SMTP (RFC 7672 §3.1.3).
 * - Selectors 0 (the whole certificate) and 1 (SubjectPublicKeyInfo); matching types 0 (exact), 1 (SHA-256)
 *   and 2 (SHA-512). A record with another value, or a digest of the wrong length, is unusable.
 * - DANE-EE(3): the leaf's certificate or key matches; names and validity dates are not checked (§3.1.1).
 * - DANE-TA(2): a presented issuer certificate matches (or, for `2 1 0`, the record's key signed the top of the
 *   presented chain); the chain from the leaf up to it must verify (each signature, issuer name, CA flag, the
 *   validity dates of every certificate below the trust anchor), and the leaf must carry one of the reference
 *   identifiers (§3.2.2: the MX host name, and its CNAME expansion when TLSA records came from there).
 *
 * Pure: the time for the date checks is passed in.
 */
import { X509Certificate, createHash, createPublicKey, type KeyObject } from 'node:crypto';

export interface TlsaRecord {
  readonly usage: number;
  readonly selector: number;
  readonly matchingType: number;
  readonly data: Uint8Array;
}

const TlsaUsage = { PKIX_TA: 0, PKIX_EE: 1, DANE_TA: 2, DANE_EE: 3 } as const;

/** Why a record cannot be used. */
export type Unusable = 'pkix-usage' | 'unknown-usage' | 'unknown-selector' | 'unknown-matching-type' | 'bad-digest-length' | 'empty-data';

export type Usability = { readonly usable: true } | { readonly usable: false; readonly why: Unusable };

const DIGEST_LENGTH: Record<number, number> = { 1: 32, 2: 64 };

export function usability(r: TlsaRecord): Usability {
  if (r.usage === TlsaUsage.PKIX_TA || r.usage === TlsaUsage.PKIX_EE) return { usable: false, why: 'pkix-usage' };
  if (r.usage !== TlsaUsage.DANE_TA && r.usage !== TlsaUsage.DANE_EE) return { usable: false, why: 'unknown-usage' };
  if (r.selector !== 0 && r.selector !== 1) return { usable: false, why: 'unknown-selector' };
  if (r.matchingType !== 0 && r.matchingType !== 1 && r.matchingType !== 2) return { usable: false, why: 'unknown-matching-type' };
  if (r.data.length === 0) return { usable: false, why: 'empty-data' };
  const want = DIGEST_LENGTH[r.matchingType];
  if (want !== undefined && r.data.length !== want) return { usable: false, why: 'bad-digest-length' };
  return { usable: true };
}

export function describeUnusable(why: Unusable): string {
  switch (why) {
    case 'pkix-usage': return 'PKIX usage, unusable for SMTP (RFC 7672 §3.1.3)';
    case 'unknown-usage': return 'unknown certificate usage';
    case 'unknown-selector': return 'unknown selector';
    case 'unknown-matching-type': return 'unknown matching type';
    case 'bad-digest-length': return 'digest of the wrong length';
    case 'empty-data': return 'no association data';
  }
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex').toUpperCase();

/** Presentation form of the RDATA: `3 1 1 ABCD...`. */
export function tlsaText(r: TlsaRecord): string {
  return `${r.usage} ${r.selector} ${r.matchingType} ${hex(r.data)}`;
}

/** The bytes a record's selector picks from a certificate. */
function selected(cert: X509Certificate, selector: number): Buffer {
  return selector === 0 ? cert.raw : (cert.publicKey.export({ type: 'spki', format: 'der' }) as Buffer);
}

function associated(bytes: Buffer, matchingType: number): Buffer {
  switch (matchingType) {
    case 1: return createHash('sha256').update(bytes).digest();
    case 2: return createHash('sha512').update(bytes).digest();
    default: return bytes;
  }
}

/** Whether a (usable) record matches a certificate. */
function matchesCertificate(r: TlsaRecord, cert: X509Certificate): boolean {
  return Buffer.from(r.data).equals(associated(selected(cert, r.selector), r.matchingType));
}

/** Which record matched, and how. */
export interface TlsaMatch {
  readonly kind: 'match';
  /** Index of the record in the RRset as given. */
  readonly index: number;
  readonly record: TlsaRecord;
  readonly usage: 'DANE-EE' | 'DANE-TA';
  /** Position of the matched certificate in the presented chain (0: the leaf); for a bare TA key, the chain length. */
  readonly depth: number;
  /** DANE-TA: the reference identifier the leaf matched. */
  readonly name?: string | undefined;
}

/** Why a usable DANE-TA record did not authenticate the chain. */
export type TaProblem =
  | { readonly code: 'no-path'; readonly detail: string }
  | { readonly code: 'not-yet-valid' | 'expired'; readonly depth: number; readonly subject: string; readonly date: string }
  | { readonly code: 'name-mismatch'; readonly reference: readonly string[] };

export type TlsaVerdict =
  | TlsaMatch
  | {
      readonly kind: 'no-match';
      /** Usable records in the RRset (0: all unusable). */
      readonly usable: number;
      readonly unusable: readonly { readonly index: number; readonly why: Unusable }[];
      /** What stopped each DANE-TA record whose trust anchor was found in the chain. */
      readonly problems: readonly TaProblem[];
    };

export function describeTaProblem(p: TaProblem): string {
  switch (p.code) {
    case 'no-path': return `no chain to the trust anchor: ${p.detail}`;
    case 'not-yet-valid': return `certificate at depth ${p.depth} (${p.subject}) is not valid before ${p.date}`;
    case 'expired': return `certificate at depth ${p.depth} (${p.subject}) expired ${p.date}`;
    case 'name-mismatch': return `the server certificate names none of ${p.reference.join(', ')}`;
  }
}

export interface MatchOptions {
  /** Reference identifiers for DANE-TA name checks (trailing dots are ignored). */
  readonly reference: readonly string[];
  /** Milliseconds since the epoch, for the validity dates DANE-TA checks. */
  readonly now: number;
}

/** Longest chain looked at (leaf, intermediates, trust anchor). */
const MAX_DEPTH = 10;

/** The issuer of `cert` among `pool`: issuer name and signature checked; CA flag required. */
function issuerOf(cert: X509Certificate, pool: readonly X509Certificate[]): X509Certificate | undefined {
  for (const c of pool) {
    if (c === cert || !c.ca) continue;
    if (cert.checkIssued(c) && cert.verify(c.publicKey)) return c;
  }
  return undefined;
}

function dateProblem(path: readonly X509Certificate[], now: number): TaProblem | undefined {
  for (let i = 0; i < path.length; i++) {
    const c = path[i]!;
    if (now < Date.parse(c.validFrom)) return { code: 'not-yet-valid', depth: i, subject: c.subject.replace(/\n/g, ', '), date: c.validFrom };
    if (now > Date.parse(c.validTo)) return { code: 'expired', depth: i, subject: c.subject.replace(/\n/g, ', '), date: c.validTo };
  }
  return undefined;
}

function nameOf(leaf: X509Certificate, reference: readonly string[]): string | undefined {
  for (const ref of reference) {
    const host = ref.replace(/\.$/, '');
    if (leaf.checkHost(host, { subject: 'default', wildcards: true, partialWildcards: false, multiLabelWildcards: false }) !== undefined) return host;
  }
  return undefined;
}

/** The path from the leaf up to (not including) `ta` through the presented certificates, or why there is none. */
function pathTo(chain: readonly X509Certificate[], ta: X509Certificate | KeyObject): X509Certificate[] | TaProblem {
  const path: X509Certificate[] = [chain[0]!];
  for (;;) {
    const cur = path[path.length - 1]!;
    if (ta instanceof X509Certificate) {
      if (cur.checkIssued(ta) && cur.verify(ta.publicKey)) {
        if (!ta.ca) return { code: 'no-path', detail: 'the trust anchor certificate is not a CA' };
        return path;
      }
    } else if (cur.verify(ta)) {
      return path;
    }
    if (path.length >= MAX_DEPTH) return { code: 'no-path', detail: `longer than ${MAX_DEPTH} certificates` };
    const next = issuerOf(cur, chain.filter((c) => !path.includes(c) && c !== ta));
    if (!next) return { code: 'no-path', detail: `no presented certificate issued ${cur.subject.replace(/\n/g, ', ')}` };
    path.push(next);
  }
}

function taCheck(chain: readonly X509Certificate[], ta: X509Certificate | KeyObject, opts: MatchOptions): { name: string } | TaProblem {
  const path = pathTo(chain, ta);
  if (!Array.isArray(path)) return path;
  const dates = dateProblem(path, opts.now);
  if (dates) return dates;
  const name = nameOf(chain[0]!, opts.reference);
  if (name === undefined) return { code: 'name-mismatch', reference: opts.reference.map((r) => r.replace(/\.$/, '')) };
  return { name };
}

/** The key of a `2 1 0` record (the full SubjectPublicKeyInfo), or undefined when it does not parse. */
function bareKey(r: TlsaRecord): KeyObject | undefined {
  try {
    return createPublicKey({ key: Buffer.from(r.data), format: 'der', type: 'spki' });
  } catch {
    return undefined;
  }
}

/**
 * Match the presented chain (leaf first, as the server sent it) against a TLSA RRset. DANE-EE records are
 * tried first, then DANE-TA records, each in the order given; the first that authenticates is returned.
 */
export function matchChain(chain: readonly X509Certificate[], records: readonly TlsaRecord[], opts: MatchOptions): TlsaVerdict {
  const unusable: { index: number; why: Unusable }[] = [];
  const usable: { index: number; record: TlsaRecord }[] = [];
  records.forEach((record, index) => {
    const u = usability(record);
    if (u.usable) usable.push({ index, record });
    else unusable.push({ index, why: u.why });
  });
  const problems: TaProblem[] = [];
  const noMatch = (): TlsaVerdict => ({ kind: 'no-match', usable: usable.length, unusable, problems });
  const leaf = chain[0];
  if (!leaf) return noMatch();
  for (const { index, record } of usable) {
    if (record.usage === TlsaUsage.DANE_EE && matchesCertificate(record, leaf)) return { kind: 'match', index, record, usage: 'DANE-EE', depth: 0 };
  }
  for (const { index, record } of usable) {
    if (record.usage !== TlsaUsage.DANE_TA) continue;
    // The trust anchor: an issuer certificate the server presented (never the leaf itself).
    for (let depth = 1; depth < chain.length && depth < MAX_DEPTH; depth++) {
      const ta = chain[depth]!;
      if (!matchesCertificate(record, ta)) continue;
      const r = taCheck(chain, ta, opts);
      if ('name' in r) return { kind: 'match', index, record, usage: 'DANE-TA', depth, name: r.name };
      problems.push(r);
    }
    // A bare public key (2 1 0) that signed the top of the presented chain.
    if (record.selector === 1 && record.matchingType === 0) {
      const key = bareKey(record);
      if (!key) continue;
      const r = taCheck(chain, key, opts);
      if ('name' in r) return { kind: 'match', index, record, usage: 'DANE-TA', depth: chain.length, name: r.name };
      if (r.code !== 'no-path') problems.push(r);
    }
  }
  return noMatch();
}
