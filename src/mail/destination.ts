/**
 * Where a DANE-doing MTA looks, from records alone: the rules both the MTA-aware prefetch
 * (`resolver/mail-prefetch.ts`, which fetches ahead what the MTA asks next) and the DANE check (`dane/check.ts`,
 * which walks what the MTA walks) follow, so that the two can never disagree on them.
 *
 * - The MX hosts of a domain (RFC 5321 §5.1): lowest preference first, each host once; none for a null MX
 *   (RFC 7505: a single MX record whose exchange is the root); no MX record at all means the domain is its own
 *   host ("implicit MX").
 * - The TLSA base domains of a host (RFC 7672 §2.2.3): when the host name is an alias, its CNAME-expanded name
 *   first, then the host name itself; and the TLSA owner `_<port>._tcp.<base>` (RFC 6698 §3; port 25 for SMTP).
 *
 * Pure: no I/O, no statuses. Whether a lookup was secure, and what expanded name an answer shows, is each
 * caller's (the prefetch reads the owner of a validated address record, as Postfix does; the check follows the
 * answer's CNAME chain).
 */
import { Name, RRType, WireError, type MXData, type RR } from '../wire/index.js';

/** The port of SMTP, the TLSA owner prefix `_25._tcp` of RFC 7672. */
export const SMTP_PORT = 25;

/** What a domain's MX answer says about where its mail goes. */
export type MxHosts =
  /** No MX record: the domain itself is the host (RFC 5321 §5.1). */
  | { readonly kind: 'implicit' }
  /** RFC 7505 null MX: the domain accepts no mail. */
  | { readonly kind: 'null' }
  /** The exchanges by preference, each once (root exchanges among others left out: possibly none are left). */
  | { readonly kind: 'hosts'; readonly hosts: readonly MXData[] };

/**
 * The MX hosts of an answer section (records of other types, CNAMEs before the MX RRset, ignored). Ties in
 * preference keep the answer's order (RFC 5321 §5.1 leaves the choice among them to the client; both callers
 * take the same one); a host named twice stays at its most preferred place. Names compare case-insensitively.
 */
export function mxHosts(answer: readonly RR[]): MxHosts {
  const mx = answer.filter((r) => r.type === RRType.MX).map((r) => r.data as MXData);
  if (mx.length === 0) return { kind: 'implicit' };
  if (mx.length === 1 && mx[0]!.exchange.isRoot()) return { kind: 'null' };
  const seen = new Set<string>();
  const hosts = mx
    // A root exchange among other records names no host either.
    .filter((m) => !m.exchange.isRoot())
    .sort((a, b) => a.preference - b.preference)
    .filter((m) => (seen.has(m.exchange.key) ? false : (seen.add(m.exchange.key), true)));
  return { kind: 'hosts', hosts };
}

/**
 * The TLSA base domains of `host` in lookup order (RFC 7672 §2.2.3): with `expanded`, the name its CNAME chain
 * ends at, that name first and then `host` (which the MTA tries when nothing usable is found at the first); the
 * host alone when it is no alias (`expanded` undefined or the host itself).
 */
export function tlsaBaseDomains(host: Name, expanded: Name | undefined): Name[] {
  return expanded && !expanded.equals(host) ? [expanded, host] : [host];
}

/** The TLSA owner `_<port>._tcp.<base>`; undefined when the prefix makes too long a name (no TLSA can be there). */
export function tlsaOwner(base: Name, port = SMTP_PORT): Name | undefined {
  try {
    return Name.fromText(`_${port}._tcp`, base);
  } catch (err) {
    if (err instanceof WireError) return undefined;
    throw err;
  }
}

/** The TLSA owners of `host` in lookup order: `tlsaOwner` of each of `tlsaBaseDomains`, too long ones left out. */
export function tlsaOwners(host: Name, expanded: Name | undefined, port = SMTP_PORT): Name[] {
  return tlsaBaseDomains(host, expanded).flatMap((b) => tlsaOwner(b, port) ?? []);
}
