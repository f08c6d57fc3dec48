/** The contract between the DNS listener (src/server) and whoever answers queries (the resolver). */
import type { Logger } from '../log.js';
import type { Cidr, ListenAddress } from '../net/address.js';
import type { EdeEntry, Message, RR } from '../wire/index.js';

export type Transport = 'udp' | 'tcp';

export interface ClientInfo {
  /** Source address; IPv4-mapped IPv6 addresses (dual-stack sockets) are given as plain IPv4. */
  address: string;
  port: number;
  transport: Transport;
  /** Set per query only while someone listens to query events: what the answerer says about this query. */
  trace?: QueryTrace | undefined;
}

/** How a query was answered. */
export type QueryPath =
  /** from the answer cache, on the fast path (bytes in, bytes out) or after parsing */
  | 'cache'
  /** synthesized at once from held validated NSEC/NSEC3 proofs (RFC 8198) */
  | 'synthesized'
  /** resolved through the upstreams (or joined a resolution already running) */
  | 'upstream'
  /** expired data served because no upstream answered (RFC 8767) */
  | 'stale'
  /** answered by the listener itself (REFUSED, FORMERR, NOTIMP, BADVERS, a handler failure) */
  | 'server';

/** What the answerer fills in for the query event (ClientInfo.trace). */
export interface QueryTrace {
  /** Monotonic start, in nanoseconds (process.hrtime.bigint()). */
  readonly started: bigint;
  path?: QueryPath;
  /** The answer's status: secure, insecure, bogus, indeterminate, failure (no upstream answered), unchecked (CD=1). */
  status?: string;
  ede?: readonly number[];
  /** Upstreams that answered, for a resolution. */
  upstreams?: readonly string[];
}

/** One client query, after its reply was sent (the query-event seam: metrics, logs, recent-queries views). */
export interface QueryEvent {
  transport: Transport;
  client: string;
  qname: string;
  qtype: number;
  rcode: number;
  status: string;
  ede: readonly number[];
  path: QueryPath;
  upstreams: readonly string[];
  durationUs: number;
}

/** Where the listener sends query events; it builds them only while `active` (no cost otherwise). */
export interface QueryEventSink {
  readonly active: boolean;
  emit(e: QueryEvent): void;
}

/** Flags the handler controls; everything else in the header is set by the server. */
export interface AnswerFlags {
  /** Authoritative answer (default false). */
  aa: boolean;
  /** Authenticated data: set only for data the resolver validated as secure (default false). */
  ad: boolean;
  /** Recursion available (default true). */
  ra: boolean;
}

export interface Answer {
  /** Full RCODE (values over 15 need EDNS; without an OPT in the query they become SERVFAIL). */
  rcode: number;
  flags?: Partial<AnswerFlags>;
  answer: RR[];
  authority: RR[];
  /** Additional records, without OPT (the server builds the OPT record itself). */
  additional: RR[];
  /** Extended DNS Errors (src/wire), sent only when the query had an OPT record. */
  ede?: EdeEntry[];
}

/**
 * Answers one well-formed query: exactly one question, opcode QUERY, EDNS version 0 (or no EDNS),
 * from an allowed client, not a zone transfer. A rejected promise becomes SERVFAIL.
 */
export interface QueryHandler {
  (query: Message, client: ClientInfo): Promise<Answer | CachedAnswer>;
}

/**
 * A handler's answer that the answer cache now holds: the server renders the reply from the raw query
 * the way the fast path does (no records decoded, nothing re-encoded), and asks for the records only
 * when that cannot be done (e.g. the reply must be truncated).
 */
export interface CachedAnswer {
  readonly cached: true;
  render(packet: Uint8Array, client: ClientInfo, udpMaxSize: number): FastReply | undefined;
  toAnswer(): Answer;
}

export function isCachedAnswer(a: Answer | CachedAnswer): a is CachedAnswer {
  return (a as Partial<CachedAnswer>).cached === true;
}

/** A reply built without the handler (e.g. from the answer cache). */
export interface FastReply {
  bytes: Uint8Array;
  /** Full RCODE of the reply (for the counters). */
  rcode: number;
}

/**
 * A synchronous shortcut the listener tries first for every message from an allowed client that is at
 * least a header long and not a response: the complete reply, or undefined to take the normal path
 * (parse, screen, handler). It must reply exactly as the normal path would (ID, question and flags
 * echoed, OPT iff the query had one) and within the size the client can take over `client.transport`:
 * `udpMaxSize` is our limit. Whatever it cannot do in full (truncation, errors) it leaves to the
 * normal path. A throw counts as undefined.
 */
export interface FastPath {
  (packet: Uint8Array, client: ClientInfo, udpMaxSize: number): FastReply | undefined;
}

export interface ServerOptions {
  listen: ListenAddress[];
  handler: QueryHandler;
  /** Tried before the handler for every query (see FastPath); e.g. cached answers from their bytes. */
  fastPath?: FastPath;
  /** Client networks allowed to query, as CIDR strings or parsed (default 127.0.0.0/8 and ::1/128). */
  allow?: readonly (string | Cidr)[];
  /** Largest UDP reply we send and the size we advertise in OPT (default 1232, 512..65535; over 65507 counts as 65507). */
  udpMaxSize?: number;
  /**
   * SO_RCVBUF asked for every UDP socket, bytes (default 4 MiB, like Unbound's recommended so-rcvbuf; 0 keeps the
   * kernel's default). The kernel caps it at net.core.rmem_max: a warning says so.
   */
  udpReceiveBuffer?: number;
  /**
   * Close a TCP connection with no query outstanding this long after its last progress (accepted, a whole
   * query read, a reply flushed), bytes of an unfinished query notwithstanding (default 10000).
   */
  tcpIdleTimeoutMs?: number;
  /**
   * Open TCP connections over all listeners (default 256); past it a new connection replaces the one idle the
   * longest, or is closed at once when every connection has a query in flight.
   */
  tcpMaxConnections?: number;
  /**
   * Reply octets written to TCP connections and not yet taken by the kernel, over all connections, at most (default
   * 16 MiB): past it, the connection holding the most unsent octets is closed (clients that ask and do not read;
   * the octets are outside the V8 heap).
   */
  tcpMaxUnsentBytes?: number;
  /** Queries read from one TCP connection and not yet answered; reading pauses at the cap (default 32). */
  maxTcpQueriesInFlight?: number;
  /** UDP queries being answered at once over all listeners; further ones are dropped (default 2048). */
  maxUdpQueriesInFlight?: number;
  /** REFUSED replies per second to one client outside `allow`; past it they are dropped (default 5; 0: never reply). */
  refusedRatePerSource?: number;
  /** REFUSED replies per second over all clients outside `allow` (default 100; 0: never reply). */
  refusedRateTotal?: number;
  /** Milliseconds for the rate limits (the daemon's clock); default Date.now. */
  now?: () => number;
  logger?: Logger;
  /** Query events (one per answered query), while the sink is active. */
  events?: QueryEventSink;
}

export interface BoundAddress {
  transport: Transport;
  address: string;
  port: number;
  family: 4 | 6;
  /** UDP: the socket's receive buffer as the kernel granted it (bytes, as the kernel reports it). */
  receiveBuffer?: number;
}

export type DropReason =
  | 'short' // fewer than 12 octets
  | 'response' // QR=1: never answer a response
  | 'overload' // too many UDP queries in flight
  | 'closed' // the server or connection closed before the answer was ready
  | 'ratelimited'; // a client outside the allow list past the REFUSED rate limit

export interface RcodeCount {
  rcode: number;
  count: number;
}

/** A snapshot of the counters since start (for metrics). */
export interface ServerStats {
  /** Messages received, by transport (dropped ones included). */
  queries: Record<Transport, number>;
  /** Replies sent, by transport. */
  responses: Record<Transport, number>;
  /** Replies sent, by full RCODE, ascending. */
  rcodes: RcodeCount[];
  dropped: Record<DropReason, number>;
  /** Queries answered FORMERR because they were malformed. */
  formerr: number;
  /** Queries answered REFUSED because the client is not in the allow list. */
  refused: number;
  /** Handler rejections (answered SERVFAIL). */
  handlerErrors: number;
  tcp: {
    accepted: number;
    /** Closed at once because the connection cap was reached and every connection had a query in flight. */
    rejected: number;
    /** Closed to make room for a new connection at the cap (the one idle the longest). */
    evicted: number;
    /** Closed for being idle (or for not reading replies for a whole idle timeout). */
    idleClosed: number;
    /** Closed because a query begun was not complete within the idle timeout (a slow or slowloris client). */
    readTimeouts: number;
    /** Closed because the unsent reply octets over all connections passed tcpMaxUnsentBytes and it held the most. */
    unreadClosed: number;
    current: number;
  };
  /** The cap on open TCP connections over all listeners (tcpMaxConnections). */
  tcpMaxConnections: number;
  /** Reply octets waiting to be taken by the kernel over all TCP connections now, and their bound (tcpMaxUnsentBytes). */
  tcpUnsent: { bytes: number; max: number };
  /** SO_RCVBUF asked for every UDP socket (0: the kernel's default), and each socket's as the kernel granted it. */
  udpReceiveBuffer: { requested: number; granted: { listen: string; bytes: number }[] };
}

/** What the listener's counters hold (ServerStats without what is fixed once listening). */
export type ServerCounts = Omit<ServerStats, 'tcpMaxConnections' | 'tcpUnsent' | 'udpReceiveBuffer'>;

export interface ServerHandle {
  /** Every bound socket, with the actual port (useful with port 0). */
  readonly addresses: readonly BoundAddress[];
  stats(): ServerStats;
  /** Replace the client networks allowed to query (a configuration reload); a bad entry throws and changes nothing. */
  setAllow(allow: readonly (string | Cidr)[]): void;
  /** Stop listening, close every TCP connection; answers still being computed are discarded. */
  close(): Promise<void>;
}
