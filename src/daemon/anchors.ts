/**
 * The RFC 5011 anchor manager wired to the stack: it fetches the anchor zones' DNSKEY RRsets through the
 * DNSSEC-capable upstreams, validates them with the resolver's context, and hands every change of the
 * trusted keys to the running chain of trust (keys and answers validated under the old set are flushed).
 */
import type { Logger } from 'pino';
import { ANCHOR_GONE, AnchorManager, AnchorSetupError, describeZoneState, type ManagedKeyView } from '../anchors/manager.js';
import { StateLockError, listStateZones, readStateFile } from '../anchors/state-file.js';
import { trustedKeys } from '../anchors/rfc5011.js';
import type { Clock } from '../clock.js';
import { ConfigError, type Config } from '../config/schema.js';
import type { TrustAnchor } from '../validator/types.js';
import { Name, RRClass, RRType, type Name as NameT } from '../wire/index.js';
import { loadTrustAnchors, type Stack } from './stack.js';

const MS = 1000;
/** RFC 1035 NULL: the type of the key-tag signal query (RFC 8145 §5). */
const NULL_TYPE = 10;

export async function openAnchorManager(cfg: Config, stack: Stack, clock: Clock, log: Logger): Promise<AnchorManager> {
  const m = cfg.anchorManagement;
  const route = (zone: NameT) => (stack.router ? stack.router.poolFor(zone, RRType.DNSKEY) : undefined);
  try {
    return await AnchorManager.open(stack.anchors, {
      stateDir: cfg.stateDir,
      timers: { addHoldDown: m.addHoldDown * MS, removeHoldDown: m.removeHoldDown * MS, keepMissing: m.keepMissing * MS },
      clock,
      logger: log,
      context: () => stack.resolver.context(),
      async fetchDnskeys(zone) {
        const pool = route(zone);
        if (!pool) return { kind: 'failure', detail: 'no upstream pool' };
        const r = await pool.query(zone, RRType.DNSKEY, RRClass.IN, { need: 'dnssec' });
        return r.kind === 'answer' ? { kind: 'answer', message: r.message } : { kind: 'failure', detail: `no DNSSEC-capable upstream answered (${r.reason})` };
      },
      // RFC 8145 §5: "_ta-XXXX[-YYYY]." with the trusted key tags in hex, sorted, asked as type NULL; the answer does not matter.
      signal: m.signal
        ? (zone, tags) => {
          const label = `_ta-${[...new Set(tags)].sort((a, b) => a - b).map((t) => t.toString(16).padStart(4, '0')).join('-')}`;
          const name = Name.fromText(`${label}.${zone.isRoot() ? '' : zone.toText()}`);
          void route(zone)?.query(name, NULL_TYPE, RRClass.IN, { need: 'dnssec' }).catch(() => undefined);
        }
        : undefined,
      onChange(anchors) {
        // Answers validated under a changed anchor zone are forgotten with its keys (a key swapped for another
        // counts as a change, whatever the number of keys).
        for (const zone of stack.chain.setAnchors(anchors)) stack.cached.flush(zone);
        log.info({ anchors: anchors.map((a) => `${a.zone.toText()} (${a.dnskeys.length} trusted keys)`) }, 'trust anchors changed (RFC 5011)');
      },
    }, cfg.trustAnchors);
  } catch (err) {
    if (err instanceof StateLockError) throw new ConfigError('stateDir', err.message);
    if (err instanceof AnchorSetupError) throw new ConfigError('trustAnchors', err.message);
    // The directory cannot be made or used (a file in the way, no permission, a read-only file system).
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS' || code === 'ENOTDIR' || code === 'EEXIST' || code === 'ENOENT') {
      throw new ConfigError('stateDir', `cannot use ${cfg.stateDir} for the RFC 5011 state: ${(err as Error).message}`);
    }
    throw err;
  }
}

/**
 * The anchors a process that does not manage them should use (`query` and `daneverify --upstream`, through
 * src/cli/local-stack.ts, which puts explicit `--trust-anchor` files first): each zone's trusted keys from the
 * state file when there is one (read only, nothing set aside), else the configured anchors.
 */
export async function currentAnchors(cfg: Config, configured: readonly TrustAnchor[], clock: Clock): Promise<TrustAnchor[]> {
  if (!cfg.anchorManagement.rfc5011) return [...configured];
  const out: TrustAnchor[] = [];
  for (const a of configured) {
    const r = await readStateFile(cfg.stateDir, a.zone, clock, { setAside: false }).catch(() => undefined);
    out.push(r?.kind === 'ok' ? { zone: a.zone, ds: [], dnskeys: trustedKeys(r.state) } : a);
  }
  return out;
}

/** One zone as the `anchors` command shows it. */
export interface AnchorZoneReport {
  zone: string;
  path: string | undefined;
  trusted: number;
  /** Why the zone has no usable state (absent, corrupt, unreadable). */
  problem?: string;
  keys: ManagedKeyView[];
  lastRefresh: { at: number; result: string } | undefined;
}

/** Every managed zone's state as its file holds it (configured zones and any other state file in the directory), read only. */
export async function describeAnchorStates(cfg: Config, clock: Clock): Promise<AnchorZoneReport[]> {
  const zones = new Map<string, NameT>();
  try {
    for (const z of listStateZones(cfg.stateDir)) zones.set(z.key, z);
  } catch {
    // no directory yet: only the configured zones, reported absent
  }
  for (const a of loadTrustAnchors(cfg, clock)) zones.set(a.zone.key, a.zone);
  const out: AnchorZoneReport[] = [];
  for (const zone of zones.values()) {
    const r = await readStateFile(cfg.stateDir, zone, clock, { setAside: false });
    if (r.kind !== 'ok') {
      const problem = r.kind === 'absent' ? 'no state file' : `${r.kind}: ${r.reason}`;
      out.push({ zone: zone.toText(), path: r.path, trusted: 0, problem, keys: [], lastRefresh: undefined });
      continue;
    }
    const view = describeZoneState(r.state);
    // Trusted keys the zone no longer publishes (a stale anchor) are no anchor: the zone fails closed.
    const gone = view.lastRefresh?.result.startsWith(ANCHOR_GONE) === true;
    out.push({
      zone: zone.toText(), path: r.path, trusted: gone ? 0 : trustedKeys(r.state).length, keys: view.keys, lastRefresh: view.lastRefresh,
      ...(gone ? { problem: view.lastRefresh!.result } : {}),
    });
  }
  return out;
}
