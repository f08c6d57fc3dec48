/**
 * V8 heap limits derived from the configuration, so that resident memory follows `cache.maxBytes`.
 *
 * Without a limit, V8 sizes the old generation for the machine (about 4 GiB here) and lets it grow to up to
 * 4 times what survived the last full GC before collecting again. Under a flood of new names (many queries
 * in flight, promoted to the old generation and dead soon after) the daemon with a 64 MiB cache went from
 * 80 MB to 410 MB RSS in 150 s, while the heap in use after a full GC was 75 MB (bench/RESULTS.md, "bench/soak").
 * With `--max-old-space-size` near what the configured stores can hold, V8 collects sooner (its growing factor
 * falls to 1.3 for limits under 256 MiB) and compacts as it nears the limit.
 *
 * The limit is a ceiling, not a target: reaching it is a fatal "heap out of memory". So it is twice what the
 * byte-bounded stores may hold (the answer cache and the RFC 8198 store, whose charges are at least their
 * heap: bench/cache-mem), room for garbage and fragmentation between collections, plus a fixed part for
 * everything bounded by counts (code, chain-of-trust key cache, signature memo, queries in flight at the
 * default admission bounds), plus a share per allowed resolution when `server.maxResolutions` is raised.
 * `bin/dnssec-stubd.js` applies the flags (src/cli/relaunch.ts).
 */
import { defaultConfig, type Config } from './schema.js';

const MiB = 1024 * 1024;

/**
 * Everything but the byte-bounded stores, at the default admission bounds (measured: bench/RESULTS.md, "bench/soak"):
 * code and the idle heap (about 20 MiB with the HTTP API and metrics), the signature memo (8 MiB), the chain of
 * trust's key cache (at most 10,000 names and 32 MiB charged, src/validator/keycache.ts; the world's zones take
 * about 3 KiB each, 29 MiB at the count bound), 1,024 resolutions in flight (13 MiB), rounded up.
 */
export const HEAP_FIXED_MIB = 96;
/** Heap per resolution in flight (measured 12.5 KiB), for `server.maxResolutions` past the default 1,024. */
export const HEAP_PER_RESOLUTION_KIB = 16;
const DEFAULT_RESOLUTIONS = defaultConfig().server.maxResolutions;
/**
 * The listener's own caps on client queries in flight: UDP and per TCP connection (SERVER_DEFAULTS in
 * src/server/server.ts, which src/config may not import; test/config/heap.test.ts holds them equal).
 */
export const LISTENER_IN_FLIGHT = { udp: 2048, tcpPerConnection: 32 } as const;
/** The young generation's semi-space: 4 MiB keeps scavenge pauses under 0.5 ms (bench/RESULTS.md, bench/qps). */
export const SEMI_SPACE_MIB = 4;
/**
 * Resident memory besides the V8 heap: the node binary's pages, glibc's heaps (the daemon's native
 * allocations: OpenSSL keys, sockets, buffers), thread stacks. Measured 60-75 MiB; rounded up.
 */
export const NATIVE_MIB = 80;

export interface HeapPlan {
  /** `--max-old-space-size`, MiB. */
  readonly oldSpaceMiB: number;
  /** `--max-semi-space-size`, MiB. */
  readonly semiSpaceMiB: number;
  /** What the byte-bounded stores may hold: answer cache plus RFC 8198 store, MiB. */
  readonly storesMiB: number;
  /** The documented resident-memory bound: old space + young generation (3 semi-spaces) + native, MiB. */
  readonly rssBoundMiB: number;
}

/** The heap limits for `cfg`. */
export function heapPlan(cfg: { cache: Pick<Config['cache'], 'maxBytes' | 'aggressiveNsec'>; server: Pick<Config['server'], 'maxResolutions' | 'tcpMaxConnections'> }): HeapPlan {
  const cache = cfg.cache.maxBytes;
  // src/daemon/stack.ts: the RFC 8198 store gets 1/8 of the cache's bound.
  const proofs = cfg.cache.aggressiveNsec ? cache / 8 : 0;
  const storesMiB = (cache + proofs) / MiB;
  // Resolutions in flight: the admission bound (0: none), and in any case no more than the client queries the
  // listeners hold at once.
  const listeners = LISTENER_IN_FLIGHT.udp + LISTENER_IN_FLIGHT.tcpPerConnection * cfg.server.tcpMaxConnections;
  const resolutions = Math.min(cfg.server.maxResolutions || Infinity, listeners);
  const extra = Math.max(0, resolutions - DEFAULT_RESOLUTIONS) * HEAP_PER_RESOLUTION_KIB / 1024;
  const oldSpaceMiB = Math.ceil(2 * storesMiB + HEAP_FIXED_MIB + extra);
  return { oldSpaceMiB, semiSpaceMiB: SEMI_SPACE_MIB, storesMiB, rssBoundMiB: oldSpaceMiB + 3 * SEMI_SPACE_MIB + NATIVE_MIB };
}

/** The node flags of a plan. */
export function heapFlags(plan: HeapPlan): string[] {
  return [`--max-old-space-size=${plan.oldSpaceMiB}`, `--max-semi-space-size=${plan.semiSpaceMiB}`];
}
