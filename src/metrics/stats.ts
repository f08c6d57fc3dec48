/**
 * The metrics read from `Daemon.stats()` at scrape time: one definition per metric, its name (without the
 * prefix), help, type, labels and how to read it from a DaemonStats snapshot.
 *
 * Counters: the components count since the daemon started and never go back, which is what a Prometheus
 * counter is. Each is a prom-client Counter whose `collect()` does `reset()` then `inc(labels, value)` with
 * the component's running total: the exposition type is `counter`, the value the cumulative count, and a
 * label set that vanished from the stats vanishes from the output. Gauges are `set()` the same way.
 */
import type { DaemonStats } from '../daemon/index.js';
import { ADMISSION_SCOPES, BUDGET_LIMITS, CAPABILITY_STATES, CLOCK_DIRECTIONS, KEY_STATES, rcodeLabel, REFRESH_RESULTS, routeZone, STATUSES, type UpstreamSnapshot } from './labels.js';

export type Labels = Record<string, string>;
export type Emit = (labels: Labels, value: number) => void;

export interface StatDef {
  name: string;
  help: string;
  type: 'counter' | 'gauge';
  labels: readonly string[];
  read(s: DaemonStats, emit: Emit): void;
}

/**
 * One series of a histogram: its labels, the buckets' upper bounds (base units, without +Inf), cumulative
 * bucket counts (one more than bounds: the last is +Inf), sum and count.
 */
export interface HistogramSeries {
  labels: Labels;
  bounds: readonly number[];
  cumulative: readonly number[];
  sum: number;
  count: number;
}

/** A histogram whose buckets a component keeps (its bounds and counts, read at scrape time). */
export interface StatHistogramDef {
  name: string;
  help: string;
  type: 'histogram';
  labels: readonly string[];
  read(s: DaemonStats): HistogramSeries[];
}

const counter = (name: string, help: string, labels: readonly string[], read: StatDef['read']): StatDef => ({ name, help, type: 'counter', labels, read });
const gauge = (name: string, help: string, labels: readonly string[], read: StatDef['read']): StatDef => ({ name, help, type: 'gauge', labels, read });

const UPSTREAM = ['upstream', 'zone'] as const;

/** Why the mail prefetch skipped a host or question (src/resolver/mail-prefetch.ts), each with a series from the start. */
type MailSkip = keyof NonNullable<DaemonStats['cache']['mailPrefetch']>['skipped'];
const MAIL_SKIPS = ['hosts', 'inflight', 'load'] as const satisfies readonly MailSkip[];
const _allMailSkips: Exclude<MailSkip, (typeof MAIL_SKIPS)[number]> extends never ? true : never = true;
void _allMailSkips;

/** Every upstream of every route with its labels and its health-monitor view (when the pool has a monitor). */
function eachUpstream(s: DaemonStats, f: (u: UpstreamSnapshot, labels: Labels, health: DaemonStats['upstreams'][number]['health'][number] | undefined) => void): void {
  for (const route of s.upstreams) {
    const zone = routeZone(route);
    for (const u of route.upstreams) f(u, { upstream: u.label, zone }, route.health.find((h) => h.upstream === u.label));
  }
}

/** The result of upstream exchanges, from the pool's counters (an exchange still running has none yet). */
const EXCHANGE_RESULTS = [
  ['answer', 'answers'],
  ['timeout', 'timeouts'],
  ['network_error', 'networkErrors'],
  ['servfail', 'servfail'],
  ['refused', 'refused'],
  ['other_rcode', 'otherErrorRcodes'],
] as const satisfies readonly (readonly [string, keyof UpstreamSnapshot['counters']])[];

export const STAT_METRICS: readonly StatDef[] = [
  // ---- the listener (absent before the daemon started)
  counter('server_received_total', 'DNS messages received by the listeners, by transport (dropped ones included).', ['transport'], (s, emit) => {
    if (!s.server) return;
    for (const [t, v] of Object.entries(s.server.queries)) emit({ transport: t }, v);
  }),
  counter('server_responses_total', 'DNS replies sent by the listeners, by transport.', ['transport'], (s, emit) => {
    if (!s.server) return;
    for (const [t, v] of Object.entries(s.server.responses)) emit({ transport: t }, v);
  }),
  counter('server_response_rcodes_total', 'DNS replies sent by the listeners, by response code.', ['rcode'], (s, emit) => {
    for (const r of s.server?.rcodes ?? []) emit({ rcode: rcodeLabel(r.rcode) }, r.count);
  }),
  counter('server_dropped_total', 'Messages dropped without a reply, by reason: short, response (QR=1), overload (too many UDP queries in flight), closed, ratelimited (a client outside the allow list past the REFUSED rate limit).', ['reason'], (s, emit) => {
    if (!s.server) return;
    for (const [reason, v] of Object.entries(s.server.dropped)) emit({ reason }, v);
  }),
  counter('server_malformed_total', 'Queries answered FORMERR because they were malformed.', [], (s, emit) => {
    if (s.server) emit({}, s.server.formerr);
  }),
  counter('server_acl_refused_total', 'Queries answered REFUSED because the client is not in the allow list (within the REFUSED rate limit; past it they are dropped, reason ratelimited).', [], (s, emit) => {
    if (s.server) emit({}, s.server.refused);
  }),
  counter('server_handler_errors_total', 'Queries whose handler failed (answered SERVFAIL).', [], (s, emit) => {
    if (s.server) emit({}, s.server.handlerErrors);
  }),
  counter('server_tcp_connections_total', 'TCP connections, by result (accepted, or rejected at the connection cap).', ['result'], (s, emit) => {
    if (!s.server) return;
    emit({ result: 'accepted' }, s.server.tcp.accepted);
    emit({ result: 'rejected' }, s.server.tcp.rejected);
  }),
  counter('server_tcp_idle_closed_total', 'TCP connections closed for being idle (no query outstanding, or replies left unread, for the idle timeout).', [], (s, emit) => {
    if (s.server) emit({}, s.server.tcp.idleClosed);
  }),
  counter('server_tcp_read_timeout_closed_total', 'TCP connections closed because a query begun was not complete within the idle timeout (a slow or slowloris client).', [], (s, emit) => {
    if (s.server) emit({}, s.server.tcp.readTimeouts);
  }),
  counter('server_tcp_evicted_total', 'TCP connections closed at the connection cap to make room for a new one (an idle one of the address holding the most).', [], (s, emit) => {
    if (s.server) emit({}, s.server.tcp.evicted);
  }),
  counter('server_tcp_unread_closed_total', 'TCP connections closed because the reply octets not yet taken by the kernel, over all connections, passed the bound (server_tcp_unsent_max_bytes) and this one held the most (a client that asks and does not read).', [], (s, emit) => {
    if (s.server) emit({}, s.server.tcp.unreadClosed);
  }),
  gauge('server_tcp_unsent_bytes', 'Reply octets written to TCP connections and not yet taken by the kernel, over all connections (outside the V8 heap).', [], (s, emit) => {
    if (s.server) emit({}, s.server.tcpUnsent.bytes);
  }),
  gauge('server_tcp_unsent_max_bytes', 'The bound on server_tcp_unsent_bytes (16 MiB): past it, the connection holding the most unsent octets is closed.', [], (s, emit) => {
    if (s.server) emit({}, s.server.tcpUnsent.max);
  }),
  gauge('server_tcp_open_connections', 'TCP connections open now.', [], (s, emit) => {
    if (s.server) emit({}, s.server.tcp.current);
  }),
  gauge('server_tcp_max_connections', 'The cap on open TCP connections over all listeners (server.tcpMaxConnections).', [], (s, emit) => {
    if (s.server) emit({}, s.server.tcpMaxConnections);
  }),
  gauge('server_udp_receive_buffer_bytes', 'Each UDP listener\'s socket receive buffer as the kernel granted it; below server_udp_receive_buffer_requested_bytes, the kernel capped it (net.core.rmem_max) and query bursts may be lost.', ['listen'], (s, emit) => {
    for (const g of s.server?.udpReceiveBuffer.granted ?? []) emit({ listen: g.listen }, g.bytes);
  }),
  gauge('server_udp_receive_buffer_requested_bytes', 'The UDP receive buffer asked for every listener (server.udpReceiveBuffer; 0: the kernel\'s default).', [], (s, emit) => {
    if (s.server) emit({}, s.server.udpReceiveBuffer.requested);
  }),

  // ---- the resolver
  counter('resolutions_total', 'Questions resolved (cache misses), by outcome: the validation status, failure (no usable upstream answered) or unchecked (CD=1).', ['status'], (s, emit) => {
    for (const st of STATUSES) emit({ status: st }, s.resolver.statuses[st]);
  }),
  counter('bogus_reasks_total', 'BOGUS answers asked again from another DNSSEC-capable upstream before being believed (upstream.bogusConfirmations).', [], (s, emit) => {
    emit({}, s.resolver.reasked);
  }),
  counter('bogus_rescues_total', 'Of the BOGUS re-asks, those another upstream answered non-bogus (the first answer was wrong).', [], (s, emit) => {
    emit({}, s.resolver.reaskRescued);
  }),
  counter('insecure_fallback_answers_total', 'Answers given INSECURE from a non-DNSSEC upstream because no DNSSEC-capable one was reachable (insecureFallback).', [], (s, emit) => {
    emit({}, s.resolver.insecureFallbackAnswers);
  }),
  counter('negative_trust_anchor_answers_total', 'Answers given INSECURE because of a negative trust anchor.', [], (s, emit) => {
    emit({}, s.resolver.negativeTrustAnchorAnswers);
  }),
  counter('resolver_upstream_failures_total', 'Questions that ended as upstream-failure (SERVFAIL with EDE 22/23).', [], (s, emit) => {
    emit({}, s.resolver.upstreamFailures);
  }),
  counter('validation_budget_exhausted_total', 'Validations that ended BOGUS (SERVFAIL, EDE 0) because a KeyTrap or NSEC3 work limit was reached, by limit: signatures (per RRset or per query), nsec3-hashes (per query), keys-per-tag.', ['limit'], (s, emit) => {
    for (const limit of BUDGET_LIMITS) emit({ limit }, s.resolver.budgetExceeded[limit]);
  }),
  counter('rfc8198_synthesized_total', 'Questions (chain links included) answered from held validated NSEC/NSEC3 proofs and wildcards (RFC 8198), not asked upstream.', [], (s, emit) => {
    emit({}, s.resolver.aggressiveAnswers);
  }),

  // ---- the system clock (src/resolver/clock-sanity.ts)
  gauge('clock_looks_wrong', 'Whether the system clock looks wrong, per direction: 1 when the signatures of at least 3 zones, a trust anchor\'s included, are outside their validity that way (ahead: expired; behind: not yet valid), else 0. Expired data stays BOGUS; /status has the evidence.', ['direction'], (s, emit) => {
    for (const direction of CLOCK_DIRECTIONS) emit({ direction }, s.clock.suspect && s.clock.direction === direction ? 1 : 0);
  }),

  // ---- the answer cache
  gauge('cache_entries', 'Answers held in the cache.', [], (s, emit) => emit({}, s.cache.entries)),
  gauge('cache_bytes', 'Bytes the cached answers are charged (bounded by cache_max_bytes).', [], (s, emit) => emit({}, s.cache.bytes)),
  gauge('cache_max_bytes', 'The answer cache\'s bound in bytes (cache.maxBytes).', [], (s, emit) => emit({}, s.cache.maxBytes)),
  counter('cache_hits_total', 'Fresh cache hits (fast-path hits included).', [], (s, emit) => emit({}, s.cache.hits)),
  counter('cache_fast_path_hits_total', 'Cache hits answered on the fast path, from bytes before parsing.', [], (s, emit) => emit({}, s.cache.fastHits)),
  counter('cache_misses_total', 'Cache lookups that needed a resolution.', [], (s, emit) => emit({}, s.cache.misses)),
  counter('cache_coalesced_total', 'Cache misses that joined a resolution already running for the same question.', [], (s, emit) => emit({}, s.cache.coalesced)),
  counter('cache_stale_served_total', 'Expired answers served because no upstream answered (RFC 8767).', [], (s, emit) => emit({}, s.cache.stale)),
  counter('cache_prefetches_total', 'Background refreshes of cached answers started.', [], (s, emit) => emit({}, s.cache.prefetches)),
  gauge('rfc8198_zones', 'Zones in the RFC 8198 store of validated NSEC/NSEC3, wildcards and SOAs (absent when cache.aggressiveNsec is off).', [], (s, emit) => {
    if (s.cache.aggressive) emit({}, s.cache.aggressive.zones);
  }),
  gauge('rfc8198_rrsets', 'RRsets held in the RFC 8198 store (NSEC, NSEC3, wildcards, SOA).', [], (s, emit) => {
    if (s.cache.aggressive) emit({}, s.cache.aggressive.sets);
  }),
  gauge('rfc8198_bytes', 'Bytes held in the RFC 8198 store.', [], (s, emit) => {
    if (s.cache.aggressive) emit({}, s.cache.aggressive.bytes);
  }),
  gauge('rfc8198_max_bytes', 'The RFC 8198 store\'s bound in bytes.', [], (s, emit) => {
    if (s.cache.aggressive) emit({}, s.cache.aggressive.maxBytes);
  }),

  // ---- admission of cache misses (absent when server.maxResolutions and maxResolutionsPerClient are both 0)
  counter('admission_refused_total', 'Cache misses answered SERVFAIL (EDE 0) at once because an admission bound was reached, by bound: global (server.maxResolutions), client (server.maxResolutionsPerClient).', ['scope'], (s, emit) => {
    const a = s.cache.admission;
    if (a) for (const scope of ADMISSION_SCOPES) emit({ scope }, a.refused[scope]);
  }),
  counter('admission_prefetches_skipped_total', 'Prefetches (TTL refreshes and mail prefetch questions) not started because client misses came first: the resolutions running at server.maxResolutions, or misses waiting for their turn.', [], (s, emit) => {
    if (s.cache.admission) emit({}, s.cache.admission.prefetchesSkipped);
  }),
  gauge('admission_resolutions', 'Upstream resolutions running now (client misses and prefetches).', [], (s, emit) => {
    if (s.cache.admission) emit({}, s.cache.admission.resolutions);
  }),
  gauge('admission_max_resolutions', 'The bound on resolutions running and queued at once (server.maxResolutions; absent when unbounded).', [], (s, emit) => {
    const max = s.cache.admission?.limits.maxResolutions;
    if (max !== undefined && max < Number.MAX_SAFE_INTEGER) emit({}, max);
  }),
  gauge('admission_waiting_queries', 'Client queries waiting on a resolution now (their own or one they joined), the queued ones included.', [], (s, emit) => {
    if (s.cache.admission) emit({}, s.cache.admission.waiting);
  }),
  gauge('admission_queued_queries', 'Cache misses queued for their turn to start a resolution (a few start per turn of the event loop, round-robin by client).', [], (s, emit) => {
    if (s.cache.admission) emit({}, s.cache.admission.queued);
  }),

  // ---- the MTA-aware mail prefetch (absent when prefetch.mail is off)
  counter('mail_prefetch_answers_total', 'MX answers served to clients whose hosts the mail prefetch fetched (prefetch.mail).', [], (s, emit) => {
    if (s.cache.mailPrefetch) emit({}, s.cache.mailPrefetch.answers);
  }),
  counter('mail_prefetch_started_total', 'Background resolutions the mail prefetch started (A, AAAA and TLSA of MX hosts not already cached).', [], (s, emit) => {
    if (s.cache.mailPrefetch) emit({}, s.cache.mailPrefetch.started);
  }),
  counter('mail_prefetch_hits_total', 'Answers the mail prefetch stored that a client was later served (counted at the first).', [], (s, emit) => {
    if (s.cache.mailPrefetch) emit({}, s.cache.mailPrefetch.hits);
  }),
  counter('mail_prefetch_wasted_total', 'Answers the mail prefetch stored that expired or left the cache before any client was served them.', [], (s, emit) => {
    if (s.cache.mailPrefetch) emit({}, s.cache.mailPrefetch.wasted);
  }),
  counter('mail_prefetch_skipped_total', 'MX hosts and questions the mail prefetch did not fetch, by reason: hosts (past prefetch.mailHosts), inflight (its queue behind prefetch.maxInFlight full), load (the resolver busy with client misses).', ['reason'], (s, emit) => {
    const m = s.cache.mailPrefetch;
    if (m) for (const reason of MAIL_SKIPS) emit({ reason }, m.skipped[reason]);
  }),
  gauge('mail_prefetch_in_flight', 'Background resolutions of the mail prefetch running now.', [], (s, emit) => {
    if (s.cache.mailPrefetch) emit({}, s.cache.mailPrefetch.inFlight);
  }),

  // ---- the chain of trust's key cache
  gauge('chain_cached_names', 'Names whose DS/DNSKEY state the chain of trust holds.', [], (s, emit) => emit({}, s.chain.cached)),
  gauge('chain_cached_bytes', 'Heap charged to the chain of trust\'s key cache (each name: the name, its trail and its DNSKEY octets).', [], (s, emit) => emit({}, s.chain.cachedBytes)),
  gauge('chain_cached_max_bytes', 'The bound on chain_cached_bytes; past it the least recently used names go.', [], (s, emit) => emit({}, s.chain.maxCachedBytes)),
  counter('chain_lookups_total', 'Chain-of-trust key lookups, by result: hit (from the cache), miss (started a walk), joined (a walk in flight).', ['result'], (s, emit) => {
    emit({ result: 'hit' }, s.chain.hits);
    emit({ result: 'miss' }, s.chain.misses);
    emit({ result: 'joined' }, s.chain.joined);
  }),
  counter('chain_fetches_total', 'DS/DNSKEY questions the chain of trust sent upstream.', [], (s, emit) => emit({}, s.chain.fetches)),

  // ---- per upstream (labels: upstream address:port, zone: the forward zone or "." for the global upstreams)
  counter('upstream_queries_total', 'Exchanges started with an upstream (one per attempt; probes not included).', UPSTREAM, (s, emit) => {
    eachUpstream(s, (u, l) => emit(l, u.counters.queries));
  }),
  counter('upstream_query_results_total', 'Finished upstream exchanges by result: answer, timeout, network_error, servfail, refused, other_rcode.', [...UPSTREAM, 'result'], (s, emit) => {
    eachUpstream(s, (u, l) => {
      for (const [result, field] of EXCHANGE_RESULTS) emit({ ...l, result }, u.counters[field]);
    });
  }),
  counter('upstream_tcp_fallbacks_total', 'Truncated UDP answers fetched again over TCP.', UPSTREAM, (s, emit) => {
    eachUpstream(s, (u, l) => emit(l, u.counters.tcpFallbacks));
  }),
  counter('upstream_ignored_packets_total', 'Packets from an upstream socket that did not answer our query, by reason.', [...UPSTREAM, 'reason'], (s, emit) => {
    eachUpstream(s, (u, l) => {
      for (const [reason, v] of Object.entries(u.counters.ignored)) emit({ ...l, reason }, v);
    });
  }),
  counter('upstream_probes_total', 'DNSSEC-capability probes run against an upstream.', UPSTREAM, (s, emit) => {
    eachUpstream(s, (u, l) => emit(l, u.counters.probes));
  }),
  counter('upstream_probe_results_total', 'DNSSEC-capability probes by verdict (after a confirming second round): capable, not-capable, unreachable.', [...UPSTREAM, 'result'], (s, emit) => {
    eachUpstream(s, (u, l) => {
      emit({ ...l, result: 'capable' }, u.counters.probeCapable);
      emit({ ...l, result: 'not-capable' }, u.counters.probeNotCapable);
      emit({ ...l, result: 'unreachable' }, u.counters.probeUnreachable);
    });
  }),
  counter('upstream_bogus_reasks_total', 'Validated questions asked again of other DNSSEC-capable upstreams because this upstream\'s answer (or a DS/DNSKEY answer of the chain of trust) was BOGUS.', UPSTREAM, (s, emit) => {
    eachUpstream(s, (u, l) => emit(l, u.counters.bogusReasks));
  }),
  counter('upstream_probe_confirmations_total', 'Second probe rounds run at once after a failed one, before NOT-DNSSEC-CAPABLE is believed.', UPSTREAM, (s, emit) => {
    eachUpstream(s, (u, l) => emit(l, u.counters.probeConfirmations));
  }),
  counter('upstream_strikes_total', 'Answers of an upstream that lacked DNSSEC records another upstream supplied (strikes).', UPSTREAM, (s, emit) => {
    eachUpstream(s, (u, l) => emit(l, u.counters.strippedAnswers));
  }),
  gauge('upstream_active_strikes', 'Strikes the health monitor holds against an upstream now (inside the strike window).', UPSTREAM, (s, emit) => {
    eachUpstream(s, (_u, l, h) => {
      if (h) emit(l, h.strikes.length);
    });
  }),
  gauge('upstream_dnssec_state', 'DNSSEC capability of an upstream: 1 for its current state (capable, not-capable, unreachable, unprobed), 0 for the others.', [...UPSTREAM, 'state'], (s, emit) => {
    eachUpstream(s, (u, l) => {
      for (const state of CAPABILITY_STATES) emit({ ...l, state }, u.dnssec.kind === state ? 1 : 0);
    });
  }),
  gauge('upstream_dnssec_checked_timestamp_seconds', 'When the upstream\'s DNSSEC capability was last established (its last probe, or the strike that marked it), Unix time.', UPSTREAM, (s, emit) => {
    eachUpstream(s, (u, l) => {
      if (u.dnssec.kind !== 'unprobed') emit(l, u.dnssec.checkedAt / 1000);
    });
  }),
  gauge('upstream_up', '1 when the upstream\'s last exchange got an answer, 0 when it is marked down or has not answered yet.', UPSTREAM, (s, emit) => {
    eachUpstream(s, (u, l) => emit(l, u.health.kind === 'up' ? 1 : 0));
  }),
  gauge('upstream_last_rtt_seconds', 'Round-trip time of the upstream\'s last answered exchange (absent before the first); the distribution is upstream_rtt_seconds.', UPSTREAM, (s, emit) => {
    eachUpstream(s, (u, l) => {
      if (u.lastRttMs !== null) emit(l, u.lastRttMs / 1000);
    });
  }),
  gauge('upstream_in_flight', 'Exchanges with the upstream under way now.', UPSTREAM, (s, emit) => {
    eachUpstream(s, (u, l) => emit(l, u.inFlight));
  }),

  // ---- trust anchors
  gauge('trust_anchor_keys', 'Trust anchors in use now per anchor zone, by kind (ds, dnskey); 0 for both: the zone has no trusted key and fails closed.', ['zone', 'kind'], (s, emit) => {
    for (const a of s.anchors) {
      emit({ zone: a.zone, kind: 'ds' }, a.ds);
      emit({ zone: a.zone, kind: 'dnskey' }, a.dnskeys);
    }
  }),
  gauge('rfc5011_key_state', 'RFC 5011 state of each managed trust anchor key: 1 for its current state (Start, AddPend, Valid, Missing, Revoked, Removed), 0 for the others. key_tag is the tag without the REVOKE bit.', ['zone', 'key_tag', 'algorithm', 'state'], (s, emit) => {
    for (const z of s.managedAnchors ?? []) {
      for (const k of z.keys) {
        const l = { zone: z.zone, key_tag: String(k.keyTagUnrevoked), algorithm: String(k.algorithm) };
        for (const state of KEY_STATES) emit({ ...l, state }, k.state === state ? 1 : 0);
      }
    }
  }),
  gauge('rfc5011_trusted_keys', 'Keys of a managed anchor zone trusted now (RFC 5011 Valid or Missing).', ['zone'], (s, emit) => {
    for (const z of s.managedAnchors ?? []) emit({ zone: z.zone }, z.trusted);
  }),
  counter('rfc5011_refreshes_total', 'RFC 5011 refreshes of the zone\'s DNSKEY RRset by result: ok, fetch-failed (no answer), not-validated (no DNSKEY RRset, or it does not validate with a trusted key), anchor-gone (none of the trusted keys published).', ['zone', 'result'], (s, emit) => {
    for (const z of s.managedAnchors ?? []) for (const result of REFRESH_RESULTS) emit({ zone: z.zone, result }, z.refreshes[result]);
  }),
  gauge('rfc5011_last_refresh_success', '1 when the last RFC 5011 refresh of the zone\'s DNSKEY RRset succeeded, 0 when it failed (absent before the first).', ['zone'], (s, emit) => {
    for (const z of s.managedAnchors ?? []) if (z.lastRefresh) emit({ zone: z.zone }, z.lastRefresh.result === 'ok' ? 1 : 0);
  }),
  gauge('rfc5011_last_refresh_timestamp_seconds', 'When the zone\'s DNSKEY RRset was last refreshed (RFC 5011), Unix time.', ['zone'], (s, emit) => {
    for (const z of s.managedAnchors ?? []) if (z.lastRefresh) emit({ zone: z.zone }, z.lastRefresh.at / 1000);
  }),
  gauge('rfc5011_next_refresh_timestamp_seconds', 'When the zone\'s DNSKEY RRset is next refreshed (RFC 5011 §2.3), Unix time.', ['zone'], (s, emit) => {
    for (const z of s.managedAnchors ?? []) emit({ zone: z.zone }, z.nextRefresh / 1000);
  }),

  // ---- the start-up self-test (absent when it did not run)
  gauge('selftest_passed', '1 when every check of the start-up self-test passed, 0 when one failed (absent when it did not run).', [], (s, emit) => {
    if (s.selfTest) emit({}, s.selfTest.failures.length === 0 && s.selfTest.failed.length === 0 ? 1 : 0);
  }),
  gauge('selftest_check_passed', 'Per self-test check (a child zone per algorithm, n3, insecure, cname): 1 passed, 0 failed.', ['check'], (s, emit) => {
    if (!s.selfTest) return;
    for (const c of s.selfTest.passed) emit({ check: c }, 1);
    for (const c of s.selfTest.failed) emit({ check: c }, 0);
  }),
  gauge('selftest_queries', 'Questions the start-up self-test asked.', [], (s, emit) => {
    if (s.selfTest) emit({}, s.selfTest.queries);
  }),
  gauge('selftest_duration_seconds', 'How long the start-up self-test took.', [], (s, emit) => {
    if (s.selfTest) emit({}, s.selfTest.ms / 1000);
  }),

  // ---- crypto
  gauge('crypto_backend_info', 'The signature backend each DNSSEC algorithm uses (openssl, js, unsupported): always 1.', ['algorithm', 'backend'], (s, emit) => {
    for (const [alg, backend] of Object.entries(s.crypto)) emit({ algorithm: alg, backend }, 1);
  }),
  counter('signature_verifications_total', 'RRSIG verifications by DNSSEC algorithm and result: valid, invalid (well-formed, does not match), unsupported (algorithm), error (a key or signature that cannot be one of the algorithm). Answers from the memo of good signatures count as valid.', ['algorithm', 'result'], (s, emit) => {
    for (const v of s.signatures.verifications) emit({ algorithm: String(v.algorithm), result: v.result }, v.count);
  }),
  counter('signature_memo_lookups_total', 'Verifications answered from the memo of good signatures (hit) or by the crypto backend (miss).', ['result'], (s, emit) => {
    emit({ result: 'hit' }, s.signatures.hits);
    emit({ result: 'miss' }, s.signatures.misses);
  }),
];

/** Cumulative counts from per-bucket counts. */
function cumulate(counts: readonly number[]): number[] {
  let acc = 0;
  return counts.map((c) => (acc += c));
}

export const STAT_HISTOGRAMS: readonly StatHistogramDef[] = [
  {
    name: 'upstream_rtt_seconds', type: 'histogram', labels: UPSTREAM,
    help: 'Round-trip times of the exchanges with an upstream that got a response (any rcode; TCP fallbacks included, probes not).',
    read: (s) => {
      const out: HistogramSeries[] = [];
      eachUpstream(s, (u, labels) => out.push({
        labels, bounds: u.rtt.boundsMs.map((ms) => ms / 1000), cumulative: cumulate(u.rtt.counts), sum: u.rtt.sumMs / 1000, count: u.rtt.count,
      }));
      return out;
    },
  },
];
