/**
 * The RFC 5011 anchor manager: one state per anchor zone (rfc5011.ts), kept in the state directory
 * (state-file.ts), refreshed on RFC 5011 §2.3's schedule by fetching the zone's DNSKEY RRset (DO+CD,
 * DNSSEC-capable upstreams), and applied to the running chain of trust through one hook (`onChange`).
 *
 * Only a DNSKEY RRset that validates with a key trusted now changes anything; a REVOKE bit counts only
 * when the revoked key signed the RRset itself. Scheduling is by the injected clock: a timer only calls
 * tick(), which refreshes the zones that are due (tests with a ManualClock call tick() themselves).
 */
import type { Clock } from '../clock.js';
import type { SignatureVerifier } from '../crypto/types.js';
import type { Logger } from '../log.js';
import { validateKeysWithAnchor } from '../validator/dnskey.js';
import { serialDiff, sigNow, skewSeconds, splitSignedRRsets } from '../validator/rrsig.js';
import type { SignedRRset, TrustAnchor, ValidationContext } from '../validator/types.js';
import { RRType, keyTag, signedData, type DNSKEYData, type Message, type Name, type RR, type RRSIGData } from '../wire/index.js';
import {
  applyRefresh, describeChange, initialState, isRevokedKey, keyId, mergeWithConfigured, nextRefresh, recordFailure, trustedKeys,
  type KeyStateName, type RefreshBasis, type Timers, type ZoneState,
} from './rfc5011.js';
import { StateWriteError, ensureStateDir, lockStateDir, readStateFile, writeStateFile, type StateDirLock } from './state-file.js';

/** How a refresh result begins when the zone publishes none of the trusted keys (the `anchors` command reads it). */
export const ANCHOR_GONE = 'the trust anchor is gone';

/** What fetching a zone's DNSKEY RRset gave. */
export type DnskeyFetch = { kind: 'answer'; message: Message } | { kind: 'failure'; detail: string };

export interface AnchorManagerOptions {
  stateDir: string;
  timers: Timers;
  clock: Clock;
  logger?: Logger | undefined;
  /** The zone's DNSKEY RRset, asked with DO+CD from DNSSEC-capable upstreams. */
  fetchDnskeys(zone: Name): Promise<DnskeyFetch>;
  /** A fresh validation context (crypto, limits, skew, one budget). */
  context(): ValidationContext;
  /** The RFC 8145 §5 key-tag signal for the root (fire and forget), when enabled. */
  signal?: ((zone: Name, tags: number[]) => void) | undefined;
  /** Called with the whole anchor set whenever a zone's trusted keys change. */
  onChange(anchors: TrustAnchor[]): void;
  /** Timer period for tick() (default 60 s); 0: no timer. */
  tickMs?: number;
}

/**
 * How a refresh ended, for counting: ok; fetch-failed (no DNSKEY answer came); not-validated (no DNSKEY RRset
 * in the answer, or it does not validate with a key trusted now); anchor-gone (the zone publishes none of the
 * trusted keys).
 */
export const REFRESH_RESULTS = ['ok', 'fetch-failed', 'not-validated', 'anchor-gone'] as const;
export type RefreshCountKey = (typeof REFRESH_RESULTS)[number];

/** One managed zone: its state, the configured DS (used until the first refresh when no DNSKEY was configured), the schedule. */
interface Managed {
  state: ZoneState;
  ds: TrustAnchor['ds'];
  next: number;
  basis: RefreshBasis | undefined;
  running: Promise<void> | undefined;
  /** Refreshes since start, by result. */
  refreshes: Record<RefreshCountKey, number>;
}

export interface ManagedKeyView {
  keyTag: number;
  keyTagUnrevoked: number;
  algorithm: number;
  state: KeyStateName;
  firstSeen: number | undefined;
  lastSeen: number | undefined;
  lastChange: number;
  /** AddPend: when it becomes trusted if it stays published; Revoked: when it is removed. */
  holdDownEnd: number | undefined;
}

export interface ManagedZoneView {
  zone: string;
  keys: ManagedKeyView[];
  trusted: number;
  lastRefresh: { at: number; result: string } | undefined;
  nextRefresh: number;
  /** Refreshes since the manager started, by result. */
  refreshes: Record<RefreshCountKey, number>;
}

export class AnchorManager {
  private readonly zones = new Map<string, Managed>();
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  private constructor(private readonly opts: AnchorManagerOptions, private readonly lock: StateDirLock) {}

  /**
   * Lock the state directory, read each configured zone's state (the state file wins for the keys it knows;
   * configured keys are taken only at first start; a corrupt file is set aside and the configured anchors
   * used), write the states back, and return the manager. Throws when a zone has no usable anchor at all.
   */
  static async open(configured: readonly TrustAnchor[], opts: AnchorManagerOptions, files: readonly string[]): Promise<AnchorManager> {
    ensureStateDir(opts.stateDir);
    const m = new AnchorManager(opts, lockStateDir(opts.stateDir));
    try {
      const now = opts.clock.now();
      for (const a of configured) {
        const configuredKeys = a.dnskeys.filter((k): k is RR<DNSKEYData> => k.type === RRType.DNSKEY);
        const read = await readStateFile(opts.stateDir, a.zone, opts.clock);
        let state: ZoneState;
        if (read.kind === 'ok') {
          const merged = mergeWithConfigured(read.state, configuredKeys);
          for (const n of merged.notes) {
            opts.logger?.info({ zone: a.zone.toText(), key: n.key.keyTag, path: read.path },
              n.kind === 'state-wins'
                ? `configured key ${n.key.keyTagUnrevoked} is ${n.state} in the state file${n.key.keyTag === n.key.keyTagUnrevoked ? '' : ` (as ${n.key.keyTag}, revoked)`}: the state wins`
                : `configured key ${n.key.keyTag} is unknown to the state file: only RFC 5011 adds keys once a state exists`);
          }
          state = merged.state;
        } else {
          if (read.kind === 'corrupt') {
            opts.logger?.error({ zone: a.zone.toText(), path: read.path, reason: read.reason, setAsideTo: read.setAsideTo }, 'RFC 5011 state file is corrupt: set aside, starting from the configured anchors');
          } else if (read.kind === 'unreadable') {
            opts.logger?.error({ zone: a.zone.toText(), path: read.path, reason: read.reason }, 'RFC 5011 state file cannot be read: starting from the configured anchors');
          }
          state = initialState(a.zone, configuredKeys, now, opts.timers);
          if (trustedKeys(state).length === 0 && a.ds.length === 0) {
            throw new AnchorSetupError(`no usable trust anchor for ${a.zone.toText()}: the state file ${read.path} is ${read.kind} and the anchor files (${files.join(', ')}) hold no key that is not revoked`);
          }
        }
        // A zone configured by DS alone has no key in its state until the first refresh validates one.
        const ds = state.keys.length === 0 ? a.ds : [];
        m.zones.set(a.zone.key, { state, ds, next: now, basis: undefined, running: undefined, refreshes: { 'ok': 0, 'fetch-failed': 0, 'not-validated': 0, 'anchor-gone': 0 } });
        await m.save(state);
      }
    } catch (err) {
      m.lock.unlock();
      throw err;
    }
    return m;
  }

  /** The anchor set now: each zone's trusted keys (none: the zone fails closed, never insecure). */
  anchors(): TrustAnchor[] {
    return [...this.zones.values()].map((z) => ({ zone: z.state.zone, ds: z.ds, dnskeys: trustedKeys(z.state) }));
  }

  /** Refresh every zone now (at start), then on schedule. */
  start(): void {
    void this.tick();
    const tickMs = this.opts.tickMs ?? 60_000;
    if (tickMs > 0 && !this.timer) {
      this.timer = setInterval(() => void this.tick(), tickMs);
      this.timer.unref();
    }
  }

  /** Refresh the zones that are due at clock.now(); resolves when they are done. */
  async tick(): Promise<void> {
    const now = this.opts.clock.now();
    const due = [...this.zones.values()].filter((z) => z.next <= now || z.running);
    await Promise.all(due.map((z) => this.refresh(z.state.zone)));
  }

  /** One refresh of one zone (joined when one is running). */
  refresh(zone: Name): Promise<void> {
    const z = this.zones.get(zone.key);
    if (!z) return Promise.resolve();
    z.running ??= this.refreshNow(z).finally(() => {
      z.running = undefined;
    });
    return z.running;
  }

  /** Stop refreshing and release the state directory (a refresh still running writes nothing after this). */
  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.closed = true;
    this.lock.unlock();
  }

  snapshot(): ManagedZoneView[] {
    return [...this.zones.values()].map((z) => ({ ...describeZoneState(z.state), nextRefresh: z.next, refreshes: { ...z.refreshes } }));
  }

  private async refreshNow(z: Managed): Promise<void> {
    const { clock, logger } = this.opts;
    const zone = z.state.zone;
    const before = trustedIds(z.state);
    const fetched = await this.opts.fetchDnskeys(zone);
    if (this.closed) return;
    const now = clock.now();
    const outcome = fetched.kind === 'answer' ? this.validated(z, fetched.message) : { kind: 'failed' as const, reason: fetched.detail };
    z.refreshes[outcome.kind === 'ok' ? 'ok' : fetched.kind === 'failure' ? 'fetch-failed' : outcome.reason.startsWith(ANCHOR_GONE) ? 'anchor-gone' : 'not-validated']++;
    if (outcome.kind === 'failed') {
      z.state = recordFailure(z.state, now, outcome.reason);
      z.basis = { kind: 'failed', ...(z.basis?.kind === 'ok' ? { ttl: z.basis.ttl, sigExpirations: z.basis.sigExpirations } : {}) };
      z.next = nextRefresh(z.basis, now);
      const fields = { zone: zone.toText(), reason: outcome.reason, next: new Date(z.next).toISOString() };
      // A stale anchor (none of its keys published any more) fails closed: an error at every refresh until fixed.
      if (outcome.reason.startsWith(ANCHOR_GONE)) logger?.error(fields, `${zone.toText()}: ${outcome.reason}; answers under it fail closed (SERVFAIL, EDE 9) until a current anchor is configured (see dnssec-stubd anchors)`);
      else logger?.warn(fields, 'RFC 5011 refresh failed; the trust anchors stay as they are');
    } else {
      if (z.state.keys.length === 0) z.state = initialState(zone, outcome.bootstrap, now, this.opts.timers);
      const r = applyRefresh(z.state, outcome.observation, now, this.opts.timers);
      z.state = r.state;
      if (trustedKeys(z.state).length > 0) z.ds = [];
      for (const c of r.changes) {
        const d = describeChange(zone, c);
        logger?.[d.level]({ zone: zone.toText(), change: c.kind }, d.text);
      }
      z.basis = outcome.basis;
      z.next = nextRefresh(z.basis, now);
      if (this.opts.signal && zone.isRoot()) this.opts.signal(zone, trustedKeys(z.state).map((k) => keyTag(k.rdata)));
    }
    if (trustedKeys(z.state).length === 0 && z.ds.length === 0) {
      logger?.error({ zone: zone.toText(), stateDir: this.opts.stateDir }, `${zone.toText()}: no trusted key: answers under it fail closed (SERVFAIL, EDE 9) until an anchor is restored (see dnssec-stubd anchors)`);
    }
    await this.save(z.state);
    const after = trustedIds(z.state);
    if (after !== before) this.opts.onChange(this.anchors());
  }

  /** The answer's DNSKEY RRset, if it validates with a key trusted now (or the configured DS at first start). */
  private validated(z: Managed, msg: Message):
    | { kind: 'failed'; reason: string }
    | { kind: 'ok'; observation: Parameters<typeof applyRefresh>[1]; basis: RefreshBasis; bootstrap: RR<DNSKEYData>[] } {
    const zone = z.state.zone;
    const set = splitSignedRRsets(msg.answer).find((s) => s.type === RRType.DNSKEY && s.name.equals(zone));
    if (!set) return { kind: 'failed', reason: `no DNSKEY RRset in the answer (rcode ${msg.rcode})` };
    const ctx = this.opts.context();
    const trusted = trustedKeys(z.state);
    if (trusted.length === 0 && z.ds.length === 0) return { kind: 'failed', reason: 'no trusted key to validate with' };
    const dnskeys = set.rrs.filter((r): r is RR<DNSKEYData> => r.type === RRType.DNSKEY);
    const keys = validateKeysWithAnchor({ zone, ds: z.ds, dnskeys: trusted }, set, ctx);
    // A trusted key published revoked and signing the RRset itself authenticates it too (RFC 5011 §2.1: only the
    // holder of the private key can revoke it): so even the last trusted key can be revoked, and the zone then
    // fails closed. Nothing else is accepted without a trusted key's signature.
    const revokedBySelf = keys.security !== 'secure'
      && dnskeys.some((k) => isRevokedKey(k.data) && trusted.some((t) => sameKey(t, k)) && selfSigned(set, k, ctx));
    if (keys.security !== 'secure' && !revokedBySelf) {
      if (keys.security === 'bogus' && keys.reason.kind === 'anchor-not-published') {
        return { kind: 'failed', reason: `${ANCHOR_GONE}: the zone publishes none of the trusted keys (published key tags ${keys.reason.published})` };
      }
      const why = keys.security === 'bogus' || keys.security === 'insecure' ? keys.reason.kind : keys.detail;
      return { kind: 'failed', reason: `the DNSKEY RRset does not validate with a trusted key (${keys.security}: ${why})` };
    }
    const observation = {
      keys: dnskeys,
      selfSignedRevoked: (key: RR<DNSKEYData>) => isRevokedKey(key.data) && selfSigned(set, key, ctx),
      supportsAlgorithm: (alg: number) => ctx.crypto.supports(alg),
    };
    const sigExpirations = set.sigs.map((s) => s.data.expiration * 1000);
    const ttl = Math.min(...set.rrs.map((r) => r.ttl));
    // First start from DS alone: the keys the DS vouched for become the state's trusted keys.
    const bootstrap = keys.security === 'secure' ? keys.keys.filter((k) => z.ds.some((d) => (d.data as { keyTag: number }).keyTag === keyTag(k.rdata))) : [];
    return { kind: 'ok', observation, basis: { kind: 'ok', ttl, sigExpirations }, bootstrap };
  }

  private async save(state: ZoneState): Promise<void> {
    try {
      await writeStateFile(this.opts.stateDir, state);
    } catch (err) {
      // The previous file stays in place; the state lives on in memory and is written at the next change.
      if (err instanceof StateWriteError) this.opts.logger?.error({ err, zone: state.zone.toText(), stateDir: this.opts.stateDir }, 'cannot write the RFC 5011 state file; keeping the state in memory');
      else throw err;
    }
  }
}

/** A zone's state for operators (the status API, the `anchors` command). */
export function describeZoneState(state: ZoneState): Omit<ManagedZoneView, 'nextRefresh' | 'refreshes'> {
  return {
    zone: state.zone.toText(),
    keys: state.keys.map((e) => ({
      keyTag: e.keyTag, keyTagUnrevoked: e.keyTagUnrevoked, algorithm: e.dnskey.data.algorithm, state: e.status.state,
      firstSeen: e.firstSeen, lastSeen: e.lastSeen, lastChange: e.lastChange,
      holdDownEnd: e.status.state === 'AddPend' ? e.status.holdDownEnd : e.status.state === 'Revoked' ? e.status.removeHoldDownEnd : undefined,
    })),
    trusted: trustedKeys(state).length,
    lastRefresh: state.lastRefresh ? { at: state.lastRefresh.at, result: state.lastRefresh.result.kind === 'ok' ? 'ok' : state.lastRefresh.result.reason } : undefined,
  };
}

/** A zone with no usable anchor in the state or the files: the daemon cannot start. */
export class AnchorSetupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AnchorSetupError';
  }
}

/**
 * Whether the revoked `key` signed `set` itself (RFC 5011 §2.1): an RRSIG with its tag (REVOKE bit
 * included) and algorithm, inside its validity period, that verifies with it.
 */
function selfSigned(set: SignedRRset, key: RR<DNSKEYData>, ctx: ValidationContext): boolean {
  const crypto: SignatureVerifier = ctx.crypto;
  const tag = keyTag(key.rdata);
  const now = sigNow(ctx);
  return set.sigs.some((sig: RR<RRSIGData>) => {
    const d = sig.data;
    if (d.keyTag !== tag || d.algorithm !== key.data.algorithm || !d.signer.equals(set.name)) return false;
    const skew = skewSeconds(d, ctx);
    if (serialDiff(d.expiration, now) < -skew || serialDiff(d.inception, now) > skew) return false;
    if (!ctx.budget.spendSignature()) return false;
    return crypto.verify(d.algorithm, key.data.publicKey, signedData(sig, set.rrs), d.signature).kind === 'valid';
  });
}

/** The same key (algorithm and public key), whatever its flags. */
function sameKey(a: RR<DNSKEYData>, b: RR<DNSKEYData>): boolean {
  return a.data.algorithm === b.data.algorithm && Buffer.compare(a.data.publicKey, b.data.publicKey) === 0;
}

/** The identities (algorithm and public key) of the keys trusted now, for telling whether they changed. */
function trustedIds(state: ZoneState): string {
  return trustedKeys(state).map((k) => keyId(k.data)).sort().join(',');
}
