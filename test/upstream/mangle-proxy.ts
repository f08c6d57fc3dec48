/**
 * A middlebox on loopback in front of a real resolver (test scaffolding): relays UDP and TCP queries
 * unchanged and hands each answer's bytes to `mangle`, which may return other bytes to send instead
 * (a garbled header, a malformed record, a changed rcode). Counts the answers it changed, by "name TYPE".
 */
import { Rcode, parseMessage, serializeMessage, typeToText } from '../../src/wire/index.js';
import { LoopbackRelay, RelayedProxy } from '../support/relay.js';

/** The question of an answer: name lowercased without the final dot ("." for the root), type as text. */
export interface Asked {
  readonly name: string;
  readonly type: string;
  readonly transport: 'udp' | 'tcp';
}

/** Bytes to send instead of `answer`, or undefined to relay it unchanged. */
export type Mangle = (asked: Asked, answer: Uint8Array) => Uint8Array | undefined;


function questionOf(query: Uint8Array): { name: string; type: string } | undefined {
  try {
    const q = parseMessage(query).question[0];
    if (!q) return undefined;
    const t = q.name.toText().toLowerCase();
    return { name: t === '.' ? '.' : t.replace(/\.$/, ''), type: typeToText(q.type) };
  } catch {
    return undefined;
  }
}

/** Answer bytes with the QR bit cleared: a packet a stub must ignore (not a response). */
export function clearQr(answer: Uint8Array): Uint8Array {
  const out = answer.slice();
  out[2] = out[2]! & 0x7f;
  return out;
}

/** A SERVFAIL in place of the answer, as a resolver sends one when an authority fails it: no records, its OPT kept. */
export function servfailFor(answer: Uint8Array): Uint8Array {
  const m = parseMessage(answer);
  return serializeMessage({ ...m, rcode: Rcode.SERVFAIL, answer: [], authority: [], additional: [] }).bytes;
}

/** Answer bytes with the header RCODE set to `rcode` (0-15); records untouched. */
export function withRcode(answer: Uint8Array, rcode: number): Uint8Array {
  const out = answer.slice();
  out[3] = (out[3]! & 0xf0) | (rcode & 0xf);
  return out;
}

export class MangleProxy extends RelayedProxy {
  /** Answers changed, by "name TYPE". */
  readonly mangled = new Map<string, number>();
  mangle: Mangle | undefined;

  static async start(opts: { address: string; backend: { address: string; port: number }; mangle?: Mangle }): Promise<MangleProxy> {
    const p = new MangleProxy();
    p.mangle = opts.mangle;
    p.relay = await LoopbackRelay.start(opts.address, opts.backend, { respond: (q, a, transport) => p.rewrite(q, a, transport) });
    return p;
  }

  /** Answers changed for (name, type), or for every question when no name is given. */
  count(name?: string, type?: string): number {
    let c = 0;
    for (const [k, v] of this.mangled) if (!name || k === `${name} ${type}`) c += v;
    return c;
  }

  private rewrite(query: Uint8Array, answer: Uint8Array, transport: 'udp' | 'tcp'): Uint8Array {
    const q = questionOf(query);
    if (!q || !this.mangle) return answer;
    let out: Uint8Array | undefined;
    try {
      out = this.mangle({ ...q, transport }, answer);
    } catch {
      return answer;
    }
    if (!out) return answer;
    const k = `${q.name} ${q.type}`;
    this.mangled.set(k, (this.mangled.get(k) ?? 0) + 1);
    return out;
  }

}
