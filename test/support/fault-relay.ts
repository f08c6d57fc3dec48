/**
 * A faulty path to an upstream, switchable at run time (test scaffolding): a LoopbackRelay in front of a real
 * resolver that relays every query and answer unchanged under `{ kind: 'none' }`, and otherwise breaks the
 * exchanges the way networks and broken or hostile upstreams do:
 *
 *   drop            no answer to a share of the queries (1: every one), over UDP and TCP
 *   delay           every answer held back `ms`
 *   garbage         random octets instead of each answer (a random ID: not ours)
 *   garbled         each answer's 12-octet header kept (our ID), the rest random octets: unparsable
 *   wrong-id        each answer with another ID
 *   wrong-question  each answer with our ID but another name in its question (a spoofing attempt's shape)
 *   other-question  with our ID, the backend's answer to another question (same name, another type)
 *   spoof-flood     before each real UDP answer, `forged` forged answers to the same client port: half from the
 *                   relay's own address and port with every ID but the right one, half with the right ID from
 *                   another port; each says NXDOMAIN without records (accepted, it would be BOGUS)
 *   tc-loop         TC=1 without records to every query, over UDP and over TCP
 *   tcp-reset       TC=1 over UDP; over TCP half of the answer's frame, then a reset (RST)
 *   formerr-edns    FORMERR without OPT to every query carrying EDNS (an EDNS-intolerant path)
 *   oversize        UDP answers padded past the payload size the query advertised (TXT records in the
 *                   additional section), never truncated; TCP untouched
 *
 * Counts the queries per transport and (the relay) per "name TYPE", the UDP source ports they came from, and what each
 * fault did. Random choices come from a seeded PRNG.
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { Name, RRType, Rcode, makeRR, serializeMessage, type Message } from '../../src/wire/index.js';
import { mulberry32, type Rng } from './mutate.js';
import { LoopbackRelay, RelayedProxy, parseOrUndefined, type Backend, type RelayExchange } from './relay.js';

export type Fault =
  | { readonly kind: 'none' }
  | { readonly kind: 'drop'; readonly share: number }
  | { readonly kind: 'delay'; readonly ms: number }
  | { readonly kind: 'garbage' }
  | { readonly kind: 'garbled' }
  | { readonly kind: 'wrong-id' }
  | { readonly kind: 'wrong-question' }
  | { readonly kind: 'other-question' }
  | { readonly kind: 'spoof-flood'; readonly forged: number }
  | { readonly kind: 'tc-loop' }
  | { readonly kind: 'tcp-reset' }
  | { readonly kind: 'formerr-edns' }
  | { readonly kind: 'oversize' };

/** A short name for a fault: "drop 30%", "delay 2000 ms", "spoof-flood x50", ... */
export function faultLabel(f: Fault): string {
  switch (f.kind) {
    case 'drop': return f.share >= 1 ? 'drop all' : `drop ${Math.round(f.share * 100)}%`;
    case 'delay': return `delay ${f.ms} ms`;
    case 'spoof-flood': return `spoof flood x${f.forged}`;
    case 'none': return 'none (baseline)';
    default: return f.kind;
  }
}

export interface FaultCounts {
  udpQueries: number;
  tcpQueries: number;
  dropped: number;
  /** Answers changed or replaced by the fault (forged packets not included). */
  faulted: number;
  /** Forged packets sent by the spoof flood. */
  forged: number;
}

/** A reply to `query` without records: its ID and question, QR and RA set, `rcode`, TC as told, no OPT. */
function bareReply(query: Message, rcode: number, tc: boolean): Uint8Array {
  return serializeMessage({
    id: query.id, opcode: query.opcode, flags: { ...query.flags, qr: true, ra: true, tc, aa: false, ad: false },
    rcode, question: query.question, answer: [], authority: [], additional: [],
  }).bytes;
}

function randomBytes(rng: Rng, n: number): Uint8Array {
  return Uint8Array.from({ length: n }, () => Math.floor(rng() * 256));
}

export class FaultRelay extends RelayedProxy {
  fault: Fault = { kind: 'none' };
  readonly counts: FaultCounts = { udpQueries: 0, tcpQueries: 0, dropped: 0, faulted: 0, forged: 0 };
  /** The source port of every UDP query, in order. */
  readonly udpSourcePorts: number[] = [];
  private readonly rng: Rng;
  private readonly timers = new Set<NodeJS.Timeout>();
  /** Sends the spoof flood's packets with the right ID from a port that is not the relay's. */
  private side: UdpSocket | undefined;

  private constructor(seed: number) {
    super();
    this.rng = mulberry32(seed);
  }

  static async start(opts: { address: string; backend: Backend; seed?: number }): Promise<FaultRelay> {
    const r = new FaultRelay(opts.seed ?? 14);
    r.relay = await LoopbackRelay.start(opts.address, opts.backend, {
      onQuery: (_q, ex) => r.note(ex),
      handle: (ex) => r.handle(ex),
    });
    const side = createSocket('udp4');
    await new Promise<void>((resolve) => side.bind(0, opts.address, resolve));
    r.side = side;
    return r;
  }

  /** Queries relayed for `name` (any type, or one type). */
  count(name: string, type?: string): number {
    return this.relay!.questions.count(name, type);
  }

  override async stop(): Promise<void> {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.side?.close();
    this.side = undefined;
    await super.stop();
  }

  private later(ms: number, fn: () => void): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, ms);
    this.timers.add(t);
  }

  private note(ex: RelayExchange): void {
    if (ex.transport === 'udp') {
      this.counts.udpQueries++;
      this.udpSourcePorts.push(ex.client.port);
    } else {
      this.counts.tcpQueries++;
    }
  }

  private async handle(ex: RelayExchange): Promise<void> {
    const f = this.fault;
    const query = parseOrUndefined(ex.query);
    const pass = async (): Promise<void> => {
      const a = await ex.ask();
      if (a) ex.send(a);
    };
    if (f.kind === 'none' || !query || query.question.length !== 1) return pass();
    const udp = ex.transport === 'udp';
    const relayed = async (change: (a: Uint8Array) => Uint8Array | undefined): Promise<void> => {
      const a = await ex.ask();
      if (!a) return;
      const out = change(a);
      if (out === undefined) return;
      this.counts.faulted++;
      ex.send(out);
    };
    switch (f.kind) {
      case 'drop':
        if (this.rng() < f.share) {
          this.counts.dropped++;
          return;
        }
        return pass();
      case 'delay': {
        const a = await ex.ask();
        if (a) this.later(f.ms, () => ex.send(a));
        this.counts.faulted++;
        return;
      }
      case 'garbage':
        this.counts.faulted++;
        ex.send(this.garbage(query.id));
        return;
      case 'garbled':
        return relayed((a) => Uint8Array.from([...a.subarray(0, 12), ...randomBytes(this.rng, Math.max(8, a.length - 12))]));
      case 'wrong-id':
        return relayed((a) => {
          const out = a.slice();
          out[0] = out[0]! ^ 0x5a;
          return out;
        });
      case 'wrong-question':
        return relayed((a) => {
          const m = parseOrUndefined(a);
          if (!m) return a;
          const q = m.question[0]!;
          return serializeMessage({ ...m, question: [{ ...q, name: Name.fromText('spoofed', q.name) }] }).bytes;
        });
      case 'other-question': {
        const q = query.question[0]!;
        const other = serializeMessage({ ...query, question: [{ ...q, type: q.type === RRType.TXT ? RRType.A : RRType.TXT }] }).bytes;
        const a = await ex.ask(other);
        if (!a) return;
        this.counts.faulted++;
        ex.send(a);
        return;
      }
      case 'spoof-flood': {
        const a = await ex.ask();
        if (!a) return;
        if (udp) this.flood(query, ex, f.forged);
        // The real answer after the forged ones, as an attacker racing it would hope.
        this.later(5, () => ex.send(a));
        return;
      }
      case 'tc-loop':
        this.counts.faulted++;
        ex.send(bareReply(query, Rcode.NOERROR, true));
        return;
      case 'tcp-reset': {
        this.counts.faulted++;
        if (udp) {
          ex.send(bareReply(query, Rcode.NOERROR, true));
          return;
        }
        const a = await ex.ask();
        if (!a) return;
        const framed = new Uint8Array(a.length + 2);
        framed[0] = a.length >> 8;
        framed[1] = a.length & 0xff;
        framed.set(a, 2);
        ex.writeRaw(framed.subarray(0, Math.max(3, framed.length >> 1)));
        this.later(10, () => ex.reset());
        return;
      }
      case 'formerr-edns':
        if (!query.edns) return pass();
        this.counts.faulted++;
        ex.send(bareReply(query, Rcode.FORMERR, false));
        return;
      case 'oversize':
        if (!udp) return pass();
        return relayed((a) => this.padded(a, Math.max(512, query.edns?.udpSize ?? 512)));
    }
  }

  /** Random octets (12 to 300) whose first two, the ID, are not `id`. */
  private garbage(id: number): Uint8Array {
    const out = randomBytes(this.rng, 12 + Math.floor(this.rng() * 289));
    if (((out[0]! << 8) | out[1]!) === id) out[0] = out[0]! ^ 0xff;
    return out;
  }

  /** The answer with TXT records added to its additional section until it is larger than `limit`. */
  private padded(answer: Uint8Array, limit: number): Uint8Array {
    const m = parseOrUndefined(answer);
    if (!m) return answer;
    const filler = Name.fromText('padding.invalid.');
    const additional = [...m.additional];
    let bytes = answer;
    while (bytes.length <= limit) {
      additional.push(makeRR(filler, RRType.TXT, 60, { strings: [new Uint8Array(200).fill(0x78)] }));
      bytes = serializeMessage({ ...m, additional }).bytes;
    }
    return bytes;
  }

  /** Forged answers to the client's port: wrong IDs from the relay's port, the right ID from another port. */
  private flood(query: Message, ex: RelayExchange, n: number): void {
    const forged = (id: number): Uint8Array => serializeMessage({
      ...query, id, flags: { ...query.flags, qr: true, ra: true }, rcode: Rcode.NXDOMAIN, answer: [], authority: [], additional: [],
    }).bytes;
    for (let i = 0; i < n; i++) {
      this.counts.forged++;
      if (i % 2 === 0) {
        let id = Math.floor(this.rng() * 0x10000);
        if (id === query.id) id ^= 1;
        ex.send(forged(id));
      } else {
        this.side?.send(forged(query.id), ex.client.port, ex.client.address);
      }
    }
  }
}
