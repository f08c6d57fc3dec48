/** Shared fixtures of the cache tests: records, outcomes, resolutions, a scripted resolver, query bytes. */
import { ManualClock } from '../../src/clock.js';
import { defaultConfig, type CacheConfig } from '../../src/config/schema.js';
import type { Outcome } from '../../src/cache/outcome.js';
import type { Resolution } from '../../src/resolver/resolve.js';
import type { Verdict } from '../../src/validator/types.js';
import {
  Name, RRClass, makeQuery, parseRR, serializeMessage, type Edns, type Message, type Question, type RR,
} from '../../src/wire/index.js';

export const rr = (line: string): RR => parseRR(line);
export const rrs = (...lines: string[]): RR[] => lines.map((l) => parseRR(l));

export const SIG = 'A 13 3 300 20270101000000 20260101000000 12345 example.test. ' +
  'gIoHwQyZ6Wah0f0iGe/ED5MotrNMHbWpTdzCqAiSZkbBzurMxR7qAoit9rI+b1VNhoNgAFdbhVbJy+Z5yht6IA==';

/** A signed positive answer for www.example.test A (TTL 300). */
export function positive(ttl = 300): RR[] {
  return rrs(`www.example.test. ${ttl} IN A 192.0.2.1`, `www.example.test. ${ttl} IN RRSIG ${SIG}`);
}

/** Authority of a signed NXDOMAIN for nx.example.test (SOA TTL 3600, MINIMUM 300; NSEC TTL 300). */
export function nxAuthority(): RR[] {
  return rrs(
    'example.test. 3600 IN SOA ns1.example.test. hostmaster.example.test. 1 3600 900 604800 300',
    `example.test. 3600 IN RRSIG ${SIG.replace(/^A 13 3/, 'SOA 13 2')}`,
    'mail.example.test. 300 IN NSEC www.example.test. A RRSIG NSEC',
    `mail.example.test. 300 IN RRSIG ${SIG.replace(/^A 13 3/, 'NSEC 13 3')}`,
  );
}

export function cacheConfig(over: Partial<CacheConfig> = {}): CacheConfig {
  return { ...defaultConfig().cache, ...over };
}

export function question(name: string, type: number, klass: number = RRClass.IN): Question {
  return { name: Name.fromText(name), type, class: klass };
}

export function secure(ttlCap: number | undefined = undefined, kind: Verdict['kind'] = 'positive'): Verdict {
  return { security: 'secure', kind, trail: [], ttlCap };
}

export function answerRes(verdict: Verdict, answer: RR[], authority: RR[] = [], rcode = 0): Resolution {
  return { kind: 'answer', rcode, answer, authority, verdict, upstreams: ['127.0.0.1:53'] };
}

export function dataOutcome(answer: RR[], o: Partial<Extract<Outcome, { kind: 'data' }>> = {}): Outcome {
  return { kind: 'data', status: 'secure', rcode: 0, answer, authority: [], additional: [], ede: [], ttlCap: undefined, ...o };
}

export function edns(dnssecOk = false, udpSize = 1232, options: Edns['options'] = []): Edns {
  return { udpSize, version: 0, dnssecOk, z: 0, options };
}

export interface QueryOpts {
  id?: number;
  dnssecOk?: boolean;
  edns?: boolean;
  udpSize?: number;
  cd?: boolean;
  ad?: boolean;
  rd?: boolean;
}

export function queryMessage(name: string, type: number, o: QueryOpts = {}): Message {
  const withEdns = o.edns ?? true;
  return makeQuery(Name.fromText(name), type, {
    id: o.id ?? 4321,
    cd: o.cd ?? false,
    ad: o.ad ?? false,
    rd: o.rd ?? true,
    edns: withEdns ? edns(o.dnssecOk ?? false, o.udpSize ?? 1232) : undefined,
  });
}

export function queryPacket(name: string, type: number, o: QueryOpts = {}): Uint8Array {
  return serializeMessage(queryMessage(name, type, o), { compress: false }).bytes;
}

/** A resolver that answers from a script and counts what it was asked. */
export class ScriptedResolver {
  calls: string[] = [];
  /** Pending resolutions are held until release() when set. */
  hold = false;
  private waiting: (() => void)[] = [];
  constructor(public script: (q: Question, cd: boolean) => Resolution) {}

  async resolve(q: Question, opts: { checkingDisabled?: boolean } = {}): Promise<Resolution> {
    this.calls.push(`${q.name.toText()} ${q.type}${opts.checkingDisabled ? ' cd' : ''}`);
    if (this.hold) await new Promise<void>((r) => this.waiting.push(r));
    return this.script(q, opts.checkingDisabled ?? false);
  }

  release(): void {
    this.hold = false;
    for (const w of this.waiting.splice(0)) w();
  }
}

export const T0 = Date.UTC(2026, 10, 1);
export const clockAt = (ms = T0): ManualClock => new ManualClock(ms);

/** Let pending promise callbacks run. */
export const settle = (): Promise<void> => new Promise((r) => setImmediate(r));

/** An upstream failure as the resolver reports it (cast: the variant's details belong to the upstream layer). */
export function failureRes(reason = 'timeout'): Resolution {
  return {
    kind: 'upstream-failure', reason, upstreams: [],
    cause: { kind: 'no-answer', validated: true, reason, attempts: [], unusable: [] },
  } as unknown as Resolution;
}
