/**
 * An on-path attacker on loopback: a UDP+TCP proxy in front of a real resolver that relays every query
 * and rewrites the answers a test tells it to (records added, removed or moved between sections, the
 * RCODE changed, or raw bytes sent instead). Counts the questions it relays, by "name TYPE".
 *
 * A rewritten answer over UDP is serialized within the query's EDNS payload size (512 without EDNS): what
 * does not fit is left out at RRset boundaries with TC set, as a real server does (the client then asks
 * over TCP, where the same rewrite applies without a size limit).
 *
 *   const proxy = await TamperProxy.start({ address: daemonAddr(9, 1), backend: { address, port } });
 *   proxy.rewrite = onQuestion('www.alg13.test', 'A',
 *     prepend('answer', rrs('www.alg13.test. 300 IN CNAME www.evil.test.', 'www.evil.test. 300 IN A 6.6.6.6')));
 */
import {
  Name, RRType, makeQuery, parseRR, rdataToText, serializeMessage, typeFromText, typeToText,
  type Message, type RR, type RRSIGData,
} from '../../src/wire/index.js';
import { createSocket } from 'node:dgram';
import { Socket as TcpSocket } from 'node:net';
import { FrameDecoder, frame } from '../../src/wire/framing.js';
import { LoopbackRelay, RelayedProxy, nameKey, parseOrUndefined } from './relay.js';

const LOOPBACK = /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/;

/** What to send instead of `answer`: a message (serialized by the proxy), raw bytes, or undefined to relay it unchanged. */
export type Rewrite = (query: Message, answer: Message, via?: RewriteContext) => Message | Uint8Array | undefined;

/** How the answer being rewritten goes back to the client (e.g. to truncate over UDP only). */
export interface RewriteContext {
  readonly transport: 'udp' | 'tcp';
}

export interface TamperProxyOptions {
  /** A loopback address to listen on (a free port above 10000 is chosen). */
  readonly address: string;
  readonly backend: { readonly address: string; readonly port: number };
  rewrite?: Rewrite;
}

export type Section = 'answer' | 'authority' | 'additional';
export const SECTIONS: readonly Section[] = ['answer', 'authority', 'additional'];

export class TamperProxy extends RelayedProxy {
  /** Answers the rewrite changed (it returned a message or bytes). */
  tampered = 0;
  /** Exceptions thrown by the rewrite (the answer was then relayed unchanged): a test should expect none. */
  readonly errors: Error[] = [];
  rewrite: Rewrite | undefined;

  private constructor(rewrite: Rewrite | undefined) {
    super();
    this.rewrite = rewrite;
  }

  static async start(opts: TamperProxyOptions): Promise<TamperProxy> {
    const p = new TamperProxy(opts.rewrite);
    p.relay = await LoopbackRelay.start(opts.address, opts.backend, {
      respond: (q, a, transport) => p.respond(q, a, transport === 'udp'),
    });
    return p;
  }

  /** Queries relayed for `name` (any type, or one type). */
  count(name: string, type?: string): number {
    return this.relay!.questions.count(name, type);
  }

  /** The bytes to send back for `answer` (a reply of the backend to `query`). */
  private respond(queryBytes: Uint8Array, answerBytes: Uint8Array, udp: boolean): Uint8Array {
    const fn = this.rewrite;
    if (!fn) return answerBytes;
    const query = parseOrUndefined(queryBytes);
    const answer = parseOrUndefined(answerBytes);
    if (!query || !answer) return answerBytes;
    let out: Message | Uint8Array | undefined;
    try {
      out = fn(query, answer, { transport: udp ? 'udp' : 'tcp' });
    } catch (err) {
      this.errors.push(err instanceof Error ? err : new Error(String(err)));
      return answerBytes;
    }
    if (out === undefined) return answerBytes;
    this.tampered++;
    if (out instanceof Uint8Array) return out;
    const maxSize = udp ? Math.max(512, query.edns?.udpSize ?? 512) : 65535;
    return serializeMessage(out, { maxSize }).bytes;
  }
}

// ---------------------------------------------------------------------------------------------------
// Records
// ---------------------------------------------------------------------------------------------------

/** One record from presentation format, e.g. `www.alg13.test. 300 IN A 6.6.6.6` (TTL default 300, names absolute). */
export function rr(text: string): RR {
  return parseRR(text, { defaultTtl: 300 });
}

export function rrs(...texts: string[]): RR[] {
  return texts.map(rr);
}

/** `owner TYPE rdata` of a record (owner lowercased, no TTL/class): a key for comparing records across replies. */
export function rrKey(r: RR): string {
  return `${nameKey(r.name)} ${typeToText(r.type)} ${rdataToText(r)}`;
}

/** The type a record stands for: the covered type for an RRSIG, else its own. */
export function coveredType(r: RR): number {
  return r.type === RRType.RRSIG ? (r.data as RRSIGData).typeCovered : r.type;
}

// ---------------------------------------------------------------------------------------------------
// Record filters
// ---------------------------------------------------------------------------------------------------

export type RRFilter = (r: RR) => boolean;

const typeNumber = (t: string | number): number => {
  if (typeof t === 'number') return t;
  const n = typeFromText(t);
  if (n === undefined) throw new Error(`unknown type ${t}`);
  return n;
};

/** Records at `name` (case-insensitive). */
export const atOwner = (name: string): RRFilter => {
  const n = Name.fromText(name);
  return (r) => r.name.equals(n);
};

/** Records of `type` (RRSIGs only when `type` is RRSIG). */
export const ofType = (type: string | number): RRFilter => {
  const t = typeNumber(type);
  return (r) => r.type === t;
};

/** RRSIGs covering `type`. */
export const sigsOf = (type: string | number): RRFilter => {
  const t = typeNumber(type);
  return (r) => r.type === RRType.RRSIG && coveredType(r) === t;
};

/** An RRset with its signatures: records of `type` and the RRSIGs covering it (at `owner` when given). */
export const rrset = (type: string | number, owner?: string): RRFilter => {
  const t = typeNumber(type);
  const at = owner === undefined ? (): boolean => true : atOwner(owner);
  return (r) => coveredType(r) === t && at(r);
};

export const both = (a: RRFilter, b: RRFilter): RRFilter => (r) => a(r) && b(r);
export const anyRR: RRFilter = () => true;

// ---------------------------------------------------------------------------------------------------
// Rewrites
// ---------------------------------------------------------------------------------------------------

/** Messages pass through `fns` in order; a step returning undefined leaves the message as it was; raw bytes end the chain. */
export function chain(...fns: Rewrite[]): Rewrite {
  return (query, answer) => {
    let m = answer;
    let changed = false;
    for (const f of fns) {
      const out = f(query, m);
      if (out instanceof Uint8Array) return out;
      if (out !== undefined) {
        m = out;
        changed = true;
      }
    }
    return changed ? m : undefined;
  };
}

/** Apply `fn` only to answers for this question (name case-insensitive, type mnemonic); others are relayed unchanged. */
export function onQuestion(name: string, type: string, fn: Rewrite): Rewrite {
  const n = nameKey(name);
  const t = typeNumber(type);
  return (query, answer) => {
    const q = query.question[0];
    if (!q || q.type !== t || nameKey(q.name) !== n) return undefined;
    return fn(query, answer);
  };
}

/** Several scoped rewrites at once: the first one that changes the answer wins. */
export function firstOf(...fns: Rewrite[]): Rewrite {
  return (query, answer) => {
    for (const f of fns) {
      const out = f(query, answer);
      if (out !== undefined) return out;
    }
    return undefined;
  };
}

const withSection = (m: Message, s: Section, records: RR[]): Message => ({ ...m, [s]: records });

/** Records put in front of a section. */
export function prepend(section: Section, records: readonly RR[]): Rewrite {
  return (_q, m) => withSection(m, section, [...records, ...m[section]]);
}

/** Records added at the end of a section. */
export function append(section: Section, records: readonly RR[]): Rewrite {
  return (_q, m) => withSection(m, section, [...m[section], ...records]);
}

/** Records inserted in a section just after the last record matching `after` (at the end when none does). */
export function insertAfter(section: Section, after: RRFilter, records: readonly RR[]): Rewrite {
  return (_q, m) => {
    const list = m[section];
    let at = -1;
    list.forEach((r, i) => { if (after(r)) at = i; });
    const i = at < 0 ? list.length : at + 1;
    return withSection(m, section, [...list.slice(0, i), ...records, ...list.slice(i)]);
  };
}

/** Records matching `filter` taken out of a section. */
export function remove(section: Section, filter: RRFilter): Rewrite {
  return (_q, m) => withSection(m, section, m[section].filter((r) => !filter(r)));
}

/** Records matching `filter` replaced, in place, by `records` (the first match's position). */
export function replace(section: Section, filter: RRFilter, records: readonly RR[]): Rewrite {
  return (_q, m) => {
    const list = m[section];
    const at = list.findIndex(filter);
    const kept = list.filter((r) => !filter(r));
    const i = at < 0 ? kept.length : list.slice(0, at).filter((r) => !filter(r)).length;
    return withSection(m, section, [...kept.slice(0, i), ...records, ...kept.slice(i)]);
  };
}

/** Records matching `filter` moved from one section to the front or end of another. */
export function move(from: Section, to: Section, filter: RRFilter, where: 'front' | 'end' = 'end'): Rewrite {
  return (_q, m) => {
    const moving = m[from].filter(filter);
    const left = withSection(m, from, m[from].filter((r) => !filter(r)));
    return withSection(left, to, where === 'front' ? [...moving, ...left[to]] : [...left[to], ...moving]);
  };
}

/** The RCODE changed (e.g. Rcode.NXDOMAIN). */
export function setRcode(rcode: number): Rewrite {
  return (_q, m) => ({ ...m, rcode });
}

// ---------------------------------------------------------------------------------------------------
// Asking a server directly (for genuine records to splice into answers)
// ---------------------------------------------------------------------------------------------------

/** One question to a loopback server over UDP (TCP when truncated), DO+CD by default. */
export async function ask(server: { address: string; port: number }, name: string, type: string,
  opts: { dnssec?: boolean; cd?: boolean; timeoutMs?: number } = {}): Promise<Message> {
  if (!LOOPBACK.test(server.address)) throw new Error(`only loopback servers, not ${server.address}`);
  const id = Math.floor(Math.random() * 0x10000);
  const q = serializeMessage(makeQuery(Name.fromText(name), typeNumber(type), {
    id, cd: opts.cd ?? true, edns: { udpSize: 1232, version: 0, dnssecOk: opts.dnssec ?? true, z: 0, options: [] },
  })).bytes;
  const timeoutMs = opts.timeoutMs ?? 3000;
  const overUdp = await new Promise<Message>((resolve, reject) => {
    const s = createSocket('udp4');
    const t = setTimeout(() => { s.close(); reject(new Error(`no answer from ${server.address}:${server.port} for ${name} ${type}`)); }, timeoutMs);
    s.on('error', (e) => { clearTimeout(t); s.close(); reject(e); });
    s.on('message', (b) => {
      const m = parseOrUndefined(b);
      if (!m || m.id !== id) return;
      clearTimeout(t);
      s.close();
      resolve(m);
    });
    s.send(q, server.port, server.address);
  });
  if (!overUdp.flags.tc) return overUdp;
  return new Promise<Message>((resolve, reject) => {
    const s = new TcpSocket();
    const dec = new FrameDecoder();
    s.setTimeout(timeoutMs, () => { s.destroy(); reject(new Error(`TCP timeout from ${server.address}:${server.port}`)); });
    s.on('error', reject);
    s.on('data', (d: Buffer) => {
      for (const b of dec.pushAll(d)) {
        s.destroy();
        const m = parseOrUndefined(b);
        if (m) resolve(m);
        else reject(new Error('unparsable TCP answer'));
      }
    });
    s.connect(server.port, server.address, () => s.write(frame(q)));
  });
}
