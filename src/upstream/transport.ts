/**
 * One query to one upstream: UDP on a fresh socket with a random source port, falling back to TCP
 * when the answer comes back truncated. A received packet is taken as the answer only when it comes
 * from the upstream's address and port, parses, and carries our ID and our question. Packets without
 * our ID (what a blind spoofer sends) are counted and ignored while we keep waiting until the timeout.
 *
 * A packet with our ID that is still unusable (unparsable, or for another question: `brokenAnswer`) is
 * the upstream's own broken answer, and waiting would only turn it into a timeout: UDP asks again over
 * TCP at once, where a broken answer ends the exchange at once (EBADMSG), so the pool fails over. A UDP
 * answer larger than the payload size we advertised (RFC 6891 §6.2.5; on a real path it may have been
 * fragmented, and a spoofed second fragment passes every ID and port check) is asked again over TCP
 * too, and TC=1 over TCP (a TC loop) is an error (EPROTO), not an answer.
 */
import { createSocket, type RemoteInfo, type Socket as UdpSocket } from 'node:dgram';
import { isIPv6, Socket as TcpSocket } from 'node:net';
import { literalLookup } from '../net/lookup.js';
import { performance } from 'node:perf_hooks';
import type { Message } from '../wire/index.js';
import { canonicalAddress } from '../net/address.js';
import { FrameDecoder, frame } from '../wire/framing.js';
import { brokenAnswer, buildUpstreamQuery, judgeResponse, noIgnored, type BuiltQuery, type IgnoredCounts, type UpstreamQuestion } from './query.js';

export type TransportKind = 'udp' | 'tcp';

export interface UpstreamEndpoint {
  readonly address: string;
  readonly port: number;
}

/** Where in the exchange a network error happened. */
export type NetworkPhase = 'socket' | 'connect' | 'send' | 'receive' | 'closed';

export interface NetworkFailure {
  readonly phase: NetworkPhase;
  /** errno code such as ECONNREFUSED, or 'EOF' when a TCP peer closed before answering. */
  readonly code: string;
  readonly message: string;
}

/** Result of one leg (one transport) of an exchange. */
export type LegOutcome =
  | { readonly kind: 'response'; readonly transport: TransportKind; readonly message: Message; readonly rttMs: number; readonly ignored: IgnoredCounts }
  | { readonly kind: 'timeout'; readonly transport: TransportKind; readonly elapsedMs: number; readonly ignored: IgnoredCounts }
  | { readonly kind: 'network-error'; readonly transport: TransportKind; readonly error: NetworkFailure; readonly elapsedMs: number; readonly ignored: IgnoredCounts };

/** Result of a whole exchange: the last leg's outcome, plus what happened before it. */
export type ExchangeOutcome = LegOutcome & {
  /** Set when a UDP answer had TC=1 and the query was repeated over TCP. */
  readonly tcpFallback: boolean;
  /** Packets ignored over all legs. */
  readonly ignoredTotal: IgnoredCounts;
};

export interface ExchangeOptions {
  /** Timeout of each leg (UDP, then TCP after truncation), in milliseconds. */
  readonly timeoutMs: number;
  /** Absolute limit on `performance.now()`: no leg waits past it. */
  readonly deadline?: number;
  /** Skip UDP and ask over TCP directly. */
  readonly tcpOnly?: boolean;
  /** The query to send (default: `buildUpstreamQuery`'s, RD+CD+DO); its question must be `q`. */
  readonly query?: BuiltQuery;
}

function errorOf(e: unknown, phase: NetworkPhase): NetworkFailure {
  const err = e as NodeJS.ErrnoException;
  return { phase, code: typeof err?.code === 'string' ? err.code : 'EUNKNOWN', message: err?.message ?? String(e) };
}

/**
 * The codes a leg ends with when what it received cannot be used: a broken answer (`brokenAnswer`), a UDP
 * answer above the payload size we advertised, TC=1 over TCP. The first two over UDP send the question to TCP.
 */
const BROKEN = 'EBADMSG';
const OVERSIZED = 'EMSGSIZE';
const TRUNCATED_OVER_TCP = 'EPROTO';

/** Whether a UDP leg's outcome sends the same question to TCP at once: TC=1, a broken or an oversized answer. */
function askAgainOverTcp(udp: LegOutcome): boolean {
  if (udp.kind === 'response') return udp.message.flags.tc;
  return udp.kind === 'network-error' && (udp.error.code === BROKEN || udp.error.code === OVERSIZED);
}

function sameSource(rinfo: RemoteInfo, up: UpstreamEndpoint): boolean {
  if (rinfo.port !== up.port) return false;
  const strip = (a: string): string => canonicalAddress(a.replace(/%.*$/, ''));
  return strip(rinfo.address) === strip(up.address);
}

function legTimeout(opts: ExchangeOptions): number {
  const left = opts.deadline === undefined ? Infinity : opts.deadline - performance.now();
  return Math.max(0, Math.min(opts.timeoutMs, left));
}

/** Settle-once helper shared by both legs: runs `cleanup` exactly once, before resolving. */
function settler<T>(resolve: (v: T) => void, cleanup: () => void): (v: T) => void {
  let done = false;
  return (v: T) => {
    if (done) return;
    done = true;
    cleanup();
    resolve(v);
  };
}

/** One UDP exchange on a fresh socket bound to a random port, connected to the upstream. */
export function udpLeg(up: UpstreamEndpoint, q: UpstreamQuestion, query: BuiltQuery, timeoutMs: number): Promise<LegOutcome> {
  return new Promise((resolve) => {
    const ignored = noIgnored();
    const started = performance.now();
    const elapsed = (): number => performance.now() - started;
    let socket: UdpSocket | undefined;
    let timer: NodeJS.Timeout | undefined;
    const finish = settler<LegOutcome>(resolve, () => {
      if (timer) clearTimeout(timer);
      try {
        socket?.close();
      } catch {
        // already closed
      }
    });
    const fail = (e: unknown, phase: NetworkPhase): void =>
      finish({ kind: 'network-error', transport: 'udp', error: errorOf(e, phase), elapsedMs: elapsed(), ignored });
    timer = setTimeout(() => finish({ kind: 'timeout', transport: 'udp', elapsedMs: elapsed(), ignored }), timeoutMs);
    const v6 = isIPv6(up.address.replace(/%.*$/, ''));
    try {
      // Literal addresses only (bind to the wildcard, connect to the upstream's IP): skip dns.lookup's extra tick.
      socket = createSocket({ type: v6 ? 'udp6' : 'udp4', lookup: literalLookup });
    } catch (e) {
      fail(e, 'socket');
      return;
    }
    const s = socket;
    let phase: NetworkPhase = 'socket';
    // Once connected, ICMP port-unreachable surfaces here as ECONNREFUSED: a dead upstream fails fast.
    s.on('error', (e) => fail(e, phase === 'send' ? 'receive' : phase));
    s.on('message', (msg: Buffer, rinfo: RemoteInfo) => {
      if (!sameSource(rinfo, up)) {
        ignored['wrong-source']++;
        return;
      }
      const bytes = new Uint8Array(msg.buffer, msg.byteOffset, msg.byteLength);
      const verdict = judgeResponse(bytes, query.id, q);
      if (verdict.kind === 'ignore') {
        ignored[verdict.reason]++;
        const broken = brokenAnswer(verdict.reason, bytes);
        if (broken) fail({ code: BROKEN, message: `answer with our ID ${broken}` }, 'receive');
        return;
      }
      const advertised = query.message.edns?.udpSize ?? 512;
      if (bytes.length > Math.max(512, advertised) && !verdict.message.flags.tc) {
        fail({ code: OVERSIZED, message: `answer of ${bytes.length} octets over UDP, above the ${advertised} advertised` }, 'receive');
        return;
      }
      finish({ kind: 'response', transport: 'udp', message: verdict.message, rttMs: elapsed(), ignored });
    });
    // Port 0: the kernel picks a fresh random source port for every query.
    s.bind({ port: 0, address: v6 ? '::' : '0.0.0.0', exclusive: true }, () => {
      phase = 'connect';
      s.connect(up.port, up.address, (err?: Error) => {
        if (err) return fail(err, 'connect');
        phase = 'send';
        s.send(query.bytes, (e: Error | null) => {
          if (e) fail(e, 'send');
        });
      });
    });
  });
}

/** One TCP exchange on a fresh connection; the answer may arrive in any number of chunks. */
export function tcpLeg(up: UpstreamEndpoint, q: UpstreamQuestion, query: BuiltQuery, timeoutMs: number): Promise<LegOutcome> {
  return new Promise((resolve) => {
    const ignored = noIgnored();
    const started = performance.now();
    const elapsed = (): number => performance.now() - started;
    const socket = new TcpSocket();
    let timer: NodeJS.Timeout | undefined;
    const finish = settler<LegOutcome>(resolve, () => {
      if (timer) clearTimeout(timer);
      socket.destroy();
    });
    const fail = (e: unknown, phase: NetworkPhase): void =>
      finish({ kind: 'network-error', transport: 'tcp', error: errorOf(e, phase), elapsedMs: elapsed(), ignored });
    timer = setTimeout(() => finish({ kind: 'timeout', transport: 'tcp', elapsedMs: elapsed(), ignored }), timeoutMs);
    const decoder = new FrameDecoder();
    let connected = false;
    socket.on('error', (e) => fail(e, connected ? 'receive' : 'connect'));
    socket.on('data', (chunk: Buffer) => {
      for (const bytes of decoder.pushAll(chunk)) {
        const verdict = judgeResponse(bytes, query.id, q);
        if (verdict.kind === 'ignore') {
          ignored[verdict.reason]++;
          const broken = brokenAnswer(verdict.reason, bytes);
          if (!broken) continue;
          fail({ code: BROKEN, message: `answer with our ID ${broken}` }, 'receive');
          return;
        }
        if (verdict.message.flags.tc) {
          fail({ code: TRUNCATED_OVER_TCP, message: 'truncated (TC=1) over TCP' }, 'receive');
          return;
        }
        finish({ kind: 'response', transport: 'tcp', message: verdict.message, rttMs: elapsed(), ignored });
        return;
      }
    });
    socket.on('end', () =>
      fail({ code: 'EOF', message: `connection closed with ${decoder.buffered} octets of an incomplete message` }, 'closed'));
    socket.on('close', () => fail({ code: 'EOF', message: 'connection closed before an answer' }, 'closed'));
    socket.connect({ host: up.address, port: up.port }, () => {
      connected = true;
      socket.setNoDelay(true);
      socket.write(frame(query.bytes));
    });
  });
}

function addIgnored(into: IgnoredCounts, from: IgnoredCounts): IgnoredCounts {
  const out = { ...into };
  for (const k of Object.keys(from) as (keyof IgnoredCounts)[]) out[k] += from[k];
  return out;
}

/**
 * Send one query (RD, CD, EDNS DO, random ID) to one upstream and wait for its answer.
 * Never throws: every failure is an outcome. A TC=1, broken or oversized answer over UDP is retried over TCP.
 */
export async function exchange(up: UpstreamEndpoint, q: UpstreamQuestion, opts: ExchangeOptions): Promise<ExchangeOutcome> {
  const query = opts.query ?? buildUpstreamQuery(q);
  if (opts.tcpOnly) {
    const leg = await tcpLeg(up, q, query, legTimeout(opts));
    return { ...leg, tcpFallback: false, ignoredTotal: leg.ignored };
  }
  const udp = await udpLeg(up, q, query, legTimeout(opts));
  if (!askAgainOverTcp(udp)) return { ...udp, tcpFallback: false, ignoredTotal: udp.ignored };
  const tcp = await tcpLeg(up, q, query, legTimeout(opts));
  return { ...tcp, tcpFallback: true, ignoredTotal: addIgnored(udp.ignored, tcp.ignored) };
}
