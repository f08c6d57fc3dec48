/**
 * DNSSEC capability of an upstream: what the probes (probe.ts) and the answers watched as they come
 * (strikes reported by the resolver and the chain of trust) say about it, with when it was last
 * checked and the evidence. Read-only snapshots of it go to logs and, later, the HTTP status API.
 */
import type { StripEvidence } from '../validator/types.js';

/** One check a probe makes. */
export type ProbeCheckName =
  /** The upstream answers (UDP) at all, with a usable rcode. */
  | 'reachable'
  /** Its answer carries an OPT record (EDNS(0)). */
  | 'edns'
  /** Its answer echoes the DO bit. */
  | 'do-bit'
  /** The trust anchor zone's DNSKEY RRset comes with RRSIGs. */
  | 'dnskey-rrsig'
  /** The trust anchor zone's SOA comes with RRSIGs. */
  | 'soa-rrsig'
  /** A random name under the anchor zone gives NXDOMAIN with signed NSEC/NSEC3 records. */
  | 'denial-proof'
  /** A delegation's DS RRset (found from the NSEC records) comes with RRSIGs. */
  | 'ds'
  /** The anchor zone's SOA with its RRSIGs over TCP. */
  | 'tcp';

export type CheckResult = 'pass' | 'fail' | 'skipped';

export interface ProbeCheck {
  readonly check: ProbeCheckName;
  readonly result: CheckResult;
  /** What was asked and what came back, e.g. ". DNSKEY: 3 DNSKEY, no RRSIG". */
  readonly detail: string;
}

/** The record of one probe. Times are clock milliseconds. */
export interface ProbeEvidence {
  /** The zone probed (the trust anchor's). */
  readonly zone: string;
  readonly startedAt: number;
  readonly finishedAt: number;
  readonly checks: readonly ProbeCheck[];
}

/** Why an upstream is not DNSSEC-capable. */
export type NotCapableCause =
  /**
   * A probe failed the listed checks (`evidence` is that probe's record). `confirms`: the probe right
   * before it, which failed too: a state flips to NOT-DNSSEC-CAPABLE only when a second probe confirms
   * a failed one (health.ts). Absent when the upstream was NOT-DNSSEC-CAPABLE already.
   */
  | {
    readonly source: 'probe';
    readonly failed: readonly ProbeCheckName[];
    readonly confirms?: { readonly failed: readonly ProbeCheckName[]; readonly evidence: ProbeEvidence };
  }
  /** Its answers were stripped repeatedly (until a probe clears it). */
  | { readonly source: 'observed'; readonly strikes: readonly StripEvidence[] };

export type DnssecCapability =
  /** Not probed yet (pools without a health monitor stay here). */
  | { readonly kind: 'unprobed' }
  | { readonly kind: 'capable'; readonly checkedAt: number; readonly evidence: ProbeEvidence }
  | {
    readonly kind: 'not-capable';
    readonly checkedAt: number;
    readonly cause: NotCapableCause;
    /** The last probe (for an observed mark, the probe that had passed before). */
    readonly evidence: ProbeEvidence | null;
  }
  | {
    readonly kind: 'unreachable';
    readonly checkedAt: number;
    /** Why the probe got no reply at all, e.g. ". DNSKEY: timeout over UDP" (an error rcode is a reply: not-capable). */
    readonly failure: string;
    readonly evidence: ProbeEvidence;
    /**
     * It was DNSSEC-capable when it last answered: still worth a try as a last resort for validated
     * queries (a restarted primary answers before the next probe says so).
     */
    readonly wasCapable: boolean;
  };

export type CapabilityKind = DnssecCapability['kind'];

/** Upper-case state names for logs and status output. */
export function capabilityLabel(c: DnssecCapability): string {
  switch (c.kind) {
    case 'unprobed':
      return 'UNPROBED';
    case 'capable':
      return 'DNSSEC-CAPABLE';
    case 'not-capable':
      return 'NOT-DNSSEC-CAPABLE';
    case 'unreachable':
      return 'UNREACHABLE';
  }
}

/** One line: the state and the main evidence. */
export function describeCapability(c: DnssecCapability): string {
  switch (c.kind) {
    case 'unprobed':
      return 'not probed yet';
    case 'capable':
      return 'DNSSEC-capable';
    case 'not-capable': {
      if (c.cause.source === 'observed') {
        const last = c.cause.strikes[c.cause.strikes.length - 1];
        return `not DNSSEC-capable: ${c.cause.strikes.length} answers lacked DNSSEC records${last ? ` (last ${last.name} ${last.type}: ${last.reason}, answered by ${last.confirmedBy})` : ''}`;
      }
      const failed = c.evidence?.checks.filter((k) => k.result === 'fail') ?? [];
      const confirmed = c.cause.confirms ? `; confirmed by a second probe (the first failed ${c.cause.confirms.failed.join(', ')})` : '';
      return `not DNSSEC-capable: ${failed.map((k) => `${k.check} (${k.detail})`).join('; ') || c.cause.failed.join(', ')}${confirmed}`;
    }
    case 'unreachable':
      return `unreachable: ${c.failure}`;
  }
}
