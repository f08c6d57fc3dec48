/**
 * Label values kept few: response codes by name, query types from a fixed set (everything else is
 * `other`), and the label sets of the daemon's own statuses. No query names are ever labels.
 *
 * The numbers are IANA's (RFC 1035, RFC 6891, RFC 4034, ...); src/metrics imports nothing but types from
 * src/daemon, so it keeps its own short tables instead of the wire codec's.
 */
import type { DaemonStats } from '../daemon/index.js';

/** Response codes by name (the rest as RCODEn). */
const RCODES: Record<number, string> = {
  0: 'NOERROR', 1: 'FORMERR', 2: 'SERVFAIL', 3: 'NXDOMAIN', 4: 'NOTIMP', 5: 'REFUSED', 6: 'YXDOMAIN', 7: 'YXRRSET',
  8: 'NXRRSET', 9: 'NOTAUTH', 10: 'NOTZONE', 16: 'BADVERS',
};

export function rcodeLabel(rcode: number): string {
  return RCODES[rcode] ?? `RCODE${rcode}`;
}

/** The query types counted by name: what MTAs, browsers and resolvers ask; every other type is `other`. */
export const QTYPES: readonly (readonly [number, string])[] = [
  [1, 'A'], [2, 'NS'], [5, 'CNAME'], [6, 'SOA'], [12, 'PTR'], [15, 'MX'], [16, 'TXT'], [28, 'AAAA'], [33, 'SRV'],
  [35, 'NAPTR'], [43, 'DS'], [46, 'RRSIG'], [48, 'DNSKEY'], [52, 'TLSA'], [64, 'SVCB'], [65, 'HTTPS'], [255, 'ANY'],
  [257, 'CAA'],
];

/** Label of QTYPE index i (index 0: other). */
export const QTYPE_LABELS: readonly string[] = ['other', ...QTYPES.map(([, n]) => n)];

/** qtype ► index into QTYPE_LABELS (0: other); a typed array so that the hot path does one load. */
export const QTYPE_INDEX: Uint8Array = (() => {
  const t = new Uint8Array(258);
  QTYPES.forEach(([code], i) => {
    t[code] = i + 1;
  });
  return t;
})();

export type ResolutionStatus = keyof DaemonStats['resolver']['statuses'];

/** Every validation status an answer can have (ResolverStats.statuses), in a fixed order. */
export const STATUSES = ['secure', 'insecure', 'bogus', 'indeterminate', 'failure', 'unchecked'] as const satisfies readonly ResolutionStatus[];
// Compile-time check that the list above names every status the resolver counts.
type MissingStatus = Exclude<ResolutionStatus, (typeof STATUSES)[number]>;
const _allStatuses: MissingStatus extends never ? true : never = true;
void _allStatuses;

type Route = DaemonStats['upstreams'][number];
export type UpstreamSnapshot = Route['upstreams'][number];
export type CapabilityKind = UpstreamSnapshot['dnssec']['kind'];

/** The DNSSEC capability states of an upstream (src/upstream/capability.ts), one gauge each. */
export const CAPABILITY_STATES = ['capable', 'not-capable', 'unreachable', 'unprobed'] as const satisfies readonly CapabilityKind[];
type MissingCapability = Exclude<CapabilityKind, (typeof CAPABILITY_STATES)[number]>;
const _allCapabilities: MissingCapability extends never ? true : never = true;
void _allCapabilities;

export type KeyStateName = NonNullable<DaemonStats['managedAnchors']>[number]['keys'][number]['state'];

/** RFC 5011 §4.2 key states, one gauge each. */
export const KEY_STATES = ['Start', 'AddPend', 'Valid', 'Missing', 'Revoked', 'Removed'] as const satisfies readonly KeyStateName[];
type MissingKeyState = Exclude<KeyStateName, (typeof KEY_STATES)[number]>;
const _allKeyStates: MissingKeyState extends never ? true : never = true;
void _allKeyStates;

/** The `zone` label of a route: its forward-zone suffix, or "." for the global upstreams. */
export function routeZone(route: Route): string {
  return route.suffix ?? '.';
}

type ResolverSnapshot = DaemonStats['resolver'];
export type BudgetLimit = keyof ResolverSnapshot['budgetExceeded'];

/** The validation work limits (ResolverStats.budgetExceeded), each with a series from the start. */
export const BUDGET_LIMITS = ['signatures', 'nsec3-hashes', 'keys-per-tag'] as const satisfies readonly BudgetLimit[];
type MissingLimit = Exclude<BudgetLimit, (typeof BUDGET_LIMITS)[number]>;
const _allLimits: MissingLimit extends never ? true : never = true;
void _allLimits;

export type RefreshResult = keyof NonNullable<DaemonStats['managedAnchors']>[number]['refreshes'];

/** How an RFC 5011 refresh ended (src/anchors/manager.ts), each with a series from the start. */
export const REFRESH_RESULTS = ['ok', 'fetch-failed', 'not-validated', 'anchor-gone'] as const satisfies readonly RefreshResult[];
type MissingRefresh = Exclude<RefreshResult, (typeof REFRESH_RESULTS)[number]>;
const _allRefreshes: MissingRefresh extends never ? true : never = true;
void _allRefreshes;

export type AdmissionScope = keyof NonNullable<DaemonStats['cache']['admission']>['refused'];

/** The admission bounds a cache miss can be refused by (src/resolver/admission.ts), each with a series from the start. */
export const ADMISSION_SCOPES = ['global', 'client'] as const satisfies readonly AdmissionScope[];
type MissingScope = Exclude<AdmissionScope, (typeof ADMISSION_SCOPES)[number]>;
const _allScopes: MissingScope extends never ? true : never = true;
void _allScopes;

export type ClockDirection = NonNullable<DaemonStats['clock']['direction']>;

/** The ways the system clock can look wrong (src/resolver/clock-sanity.ts), one series each. */
export const CLOCK_DIRECTIONS = ['ahead', 'behind'] as const satisfies readonly ClockDirection[];
type MissingDirection = Exclude<ClockDirection, (typeof CLOCK_DIRECTIONS)[number]>;
const _allDirections: MissingDirection extends never ? true : never = true;
void _allDirections;
