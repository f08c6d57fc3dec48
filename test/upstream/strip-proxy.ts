/**
 * A middlebox on loopback in front of a real resolver: relays UDP and TCP queries unchanged and strips
 * the RRSIG records (answer and authority) from the answers to the questions it is told to, as broken
 * firewalls and DNS "proxies" do. Counts the questions it relays, by "name TYPE".
 */
import { RRType, parseMessage, serializeMessage, typeToText, type Message } from '../../src/wire/index.js';
import { LoopbackRelay, RelayedProxy } from '../support/relay.js';

export interface StripProxyOptions {
  /** A loopback address to listen on. */
  readonly address: string;
  readonly backend: { readonly address: string; readonly port: number };
  /** Which answers lose their RRSIGs (by lowercased name without the final dot, and type). */
  strip?: (name: string, type: string) => boolean;
}


/** The question of a packet as "name TYPE" (name lowercased, no final dot), or undefined. */
function questionOf(bytes: Uint8Array): { name: string; type: string } | undefined {
  try {
    const q = parseMessage(bytes).question[0];
    return q ? { name: q.name.toText().toLowerCase().replace(/\.$/, ''), type: typeToText(q.type) } : undefined;
  } catch {
    return undefined;
  }
}

export function stripRrsigs(bytes: Uint8Array): Uint8Array {
  const m: Message = parseMessage(bytes);
  const keep = (rrs: Message['answer']): Message['answer'] => rrs.filter((rr) => rr.type !== RRType.RRSIG);
  return serializeMessage({ ...m, answer: keep(m.answer), authority: keep(m.authority) }).bytes;
}

export class StripProxy extends RelayedProxy {
  readonly counts = new Map<string, number>();
  /** Answers whose RRSIGs were removed. */
  stripped = 0;

  private constructor(private readonly opts: StripProxyOptions) {
    super();
  }

  static async start(opts: StripProxyOptions): Promise<StripProxy> {
    const p = new StripProxy(opts);
    p.relay = await LoopbackRelay.start(opts.address, opts.backend, { onQuery: (q) => p.note(q), respond: (q, a) => p.rewrite(q, a) });
    return p;
  }

  set strip(fn: StripProxyOptions['strip']) {
    this.opts.strip = fn;
  }

  /** Questions relayed for `name` (any type, or one type). */
  count(name: string, type?: string): number {
    const n = name.toLowerCase().replace(/\.$/, '');
    let c = 0;
    for (const [k, v] of this.counts) if (type ? k === `${n} ${type}` : k.startsWith(`${n} `)) c += v;
    return c;
  }

  /** Questions relayed for names at or below `suffix`. */
  countUnder(suffix: string): number {
    const s = suffix.toLowerCase().replace(/\.$/, '');
    let c = 0;
    for (const [k, v] of this.counts) {
      const name = k.slice(0, k.lastIndexOf(' '));
      if (name === s || name.endsWith(`.${s}`)) c += v;
    }
    return c;
  }

  private rewrite(query: Uint8Array, answer: Uint8Array): Uint8Array {
    const q = questionOf(query);
    if (!q || !this.opts.strip?.(q.name, q.type)) return answer;
    try {
      const out = stripRrsigs(answer);
      this.stripped++;
      return out;
    } catch {
      return answer;
    }
  }

  private note(query: Uint8Array): void {
    const q = questionOf(query);
    if (!q) return;
    const k = `${q.name} ${q.type}`;
    this.counts.set(k, (this.counts.get(k) ?? 0) + 1);
  }

}
