/**
 * The wire fuzzer: random packets and mutations of a corpus of real ones. Every input must either
 * parse — and then re-serialize, re-parse to an equal message, and have every record survive
 * rrToText -> parseRR — or throw WireError. Anything else, or a case over the time limit, is a failure.
 */
import { performance } from 'node:perf_hooks';
import {
  WireError, parseMessage, parseRR, rrToText, serializeMessage, type Message, type RR,
} from '../src/wire/index.js';

export interface FuzzFailure {
  readonly hex: string;
  readonly error: string;
  readonly ms: number;
}

export interface FuzzStats {
  cases: number;
  parsedOk: number;
  wireErrors: number;
  /** WireError counts by code. */
  byCode: Record<string, number>;
  failures: FuzzFailure[];
  /** Cases over the limit once that were timed again (a GC pause); they fail only if still slow. */
  retimed: number;
  /** Slowest case (best of the retimings for retimed ones). */
  maxMs: number;
  elapsedMs: number;
}

export interface FuzzOptions {
  cases: number;
  seed: number;
  corpus: readonly Uint8Array[];
  /** A case slower than this fails (default 100 ms). */
  limitMs?: number;
  /** Stop collecting failures after this many (default 20). */
  maxFailures?: number;
  onProgress?: (done: number, stats: FuzzStats) => void;
}

/** mulberry32: small, fast, reproducible. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const INTERESTING = [0x00, 0x01, 0x3f, 0x40, 0x7f, 0x80, 0xbf, 0xc0, 0xc0, 0xff, 0x0c, 0x29, 0x2e, 0x2f, 0x30, 0x32];

/** One input: random bytes, or a corpus packet with 1..4 stacked mutations. */
export function makeInput(rand: () => number, corpus: readonly Uint8Array[]): Uint8Array {
  const int = (n: number): number => Math.floor(rand() * n);
  if (int(16) === 0) {
    const b = new Uint8Array(int(600));
    for (let i = 0; i < b.length; i++) b[i] = int(256);
    if (b.length >= 12 && int(2)) for (let i = 4; i < 12; i += 2) { b[i] = 0; b[i + 1] = int(4); }
    return b;
  }
  let b = Uint8Array.from(corpus[int(corpus.length)]!);
  const n = 1 + int(4);
  for (let k = 0; k < n; k++) {
    const at = b.length ? int(b.length) : 0;
    switch (int(11)) {
      case 0: // bit flips
        for (let j = 1 + int(8); j > 0 && b.length; j--) b[int(b.length)]! ^= 1 << int(8);
        break;
      case 1: // random byte
        if (b.length) b[at] = int(256);
        break;
      case 2: // interesting byte
        if (b.length) b[at] = INTERESTING[int(INTERESTING.length)]!;
        break;
      case 3: // truncate
        b = b.slice(0, int(b.length + 1));
        break;
      case 4: { // splice: prefix of this one, suffix of another
        const o = corpus[int(corpus.length)]!;
        const tail = o.subarray(int(o.length + 1));
        const out = new Uint8Array(at + tail.length);
        out.set(b.subarray(0, at));
        out.set(tail, at);
        b = out;
        break;
      }
      case 5: // counts
        if (b.length >= 12) {
          const c = 4 + 2 * int(4);
          const v = int(3) === 0 ? int(65536) : Math.max(0, ((b[c]! << 8) | b[c + 1]!) + int(5) - 2);
          b[c] = (v >> 8) & 0xff;
          b[c + 1] = v & 0xff;
        }
        break;
      case 6: // compression pointer to anywhere
        if (b.length >= 2) {
          const p = at >= b.length - 1 ? b.length - 2 : at;
          const target = int(3) === 0 ? int(0x4000) : int(b.length);
          b[p] = 0xc0 | (target >> 8);
          b[p + 1] = target & 0xff;
        }
        break;
      case 7: { // duplicate a chunk
        const len = int(Math.min(64, b.length - at) + 1);
        const out = new Uint8Array(b.length + len);
        out.set(b.subarray(0, at + len));
        out.set(b.subarray(at, at + len), at + len);
        out.set(b.subarray(at + len), at + 2 * len);
        b = out;
        break;
      }
      case 8: { // delete a chunk
        const len = int(Math.min(32, b.length - at) + 1);
        b = Uint8Array.from([...b.subarray(0, at), ...b.subarray(at + len)]);
        break;
      }
      case 9: // 16-bit field nudge (RDLENGTH, type, class, option lengths)
        if (at + 1 < b.length) {
          const v = (((b[at]! << 8) | b[at + 1]!) + int(9) - 4) & 0xffff;
          b[at] = v >> 8;
          b[at + 1] = v & 0xff;
        }
        break;
      default: { // append random bytes
        const extra = Uint8Array.from({ length: 1 + int(16) }, () => int(256));
        b = Uint8Array.from([...b, ...extra]);
      }
    }
  }
  return b;
}

const hexOf = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');

/** A string that two parses of the same message share exactly. */
export function messageKey(m: Message): string {
  const rrs = (l: readonly RR[]): string => l.map((r) => `${hexOf(r.name.toWire())}/${r.type}/${r.class}/${r.ttl}/${hexOf(r.rdata)}`).join(',');
  const e = m.edns;
  return [
    m.id, m.opcode, JSON.stringify(m.flags), m.rcode,
    m.question.map((q) => `${hexOf(q.name.toWire())}/${q.type}/${q.class}`).join(','),
    rrs(m.answer), rrs(m.authority), rrs(m.additional),
    e ? `${e.udpSize}/${e.version}/${e.dnssecOk}/${e.z}/${e.options.map((o) => `${o.code}:${hexOf(o.data)}`).join(',')}` : '-',
  ].join('|');
}

/** Check one input; returns 'ok', a WireError code, or throws an Error describing the failure. */
export function checkOne(input: Uint8Array): string {
  let m: Message;
  try {
    m = parseMessage(input);
  } catch (e) {
    if (e instanceof WireError) return `wire:${e.code}`;
    throw e;
  }
  const again = parseMessage(serializeMessage(m).bytes);
  if (messageKey(again) !== messageKey(m)) throw new Error('re-serialized message parses differently');
  for (const rr of [...m.answer, ...m.authority, ...m.additional]) {
    const text = rrToText(rr);
    const back = parseRR(text);
    if (!back.name.equals(rr.name) || hexOf(back.name.toWire()) !== hexOf(rr.name.toWire()) || back.type !== rr.type ||
        back.class !== rr.class || back.ttl !== rr.ttl || hexOf(back.rdata) !== hexOf(rr.rdata)) {
      throw new Error(`text round trip changed the record: ${text}`);
    }
  }
  return 'ok';
}

export function runFuzz(opts: FuzzOptions): FuzzStats {
  const rand = prng(opts.seed);
  const limit = opts.limitMs ?? 100;
  const maxFailures = opts.maxFailures ?? 20;
  const stats: FuzzStats = { cases: 0, parsedOk: 0, wireErrors: 0, byCode: {}, failures: [], retimed: 0, maxMs: 0, elapsedMs: 0 };
  const start = performance.now();
  for (let i = 0; i < opts.cases; i++) {
    const input = makeInput(rand, opts.corpus);
    const t0 = performance.now();
    let outcome: string;
    try {
      outcome = checkOne(input);
    } catch (e) {
      outcome = 'fail';
      if (stats.failures.length < maxFailures) {
        stats.failures.push({ hex: hexOf(input), error: e instanceof Error ? `${e.name}: ${e.message}` : String(e), ms: performance.now() - t0 });
      }
    }
    let ms = performance.now() - t0;
    if (ms > limit && outcome !== 'fail') {
      // A garbage-collection pause can land in any case: time it again and keep the best of three.
      stats.retimed++;
      for (let k = 0; k < 3 && ms > limit; k++) {
        const t1 = performance.now();
        checkOne(input);
        ms = Math.min(ms, performance.now() - t1);
      }
      if (ms > limit) {
        outcome = 'fail';
        if (stats.failures.length < maxFailures) stats.failures.push({ hex: hexOf(input), error: `slow: ${ms.toFixed(1)} ms`, ms });
      }
    }
    if (ms > stats.maxMs) stats.maxMs = ms;
    stats.cases++;
    if (outcome === 'ok') stats.parsedOk++;
    else if (outcome.startsWith('wire:')) {
      stats.wireErrors++;
      const code = outcome.slice(5);
      stats.byCode[code] = (stats.byCode[code] ?? 0) + 1;
    }
    if (opts.onProgress && (i + 1) % 100000 === 0) opts.onProgress(i + 1, stats);
  }
  stats.elapsedMs = performance.now() - start;
  return stats;
}

const TEXT_BITS = ['"', '(', ')', ';', '\\', '\\#', '\n', ' ', '\t', '.', '@', '$TTL 5\n', '$ORIGIN a.\n', '0', '9', '65535', '=', ',', 'TYPE65535', 'CLASS0', '\\255', '\\0', 'ANY', '-', 'A', '\u00e9', '\u20ac'];

/** Mutate presentation text: insert, delete or replace characters with the tokenizer's special ones. */
export function makeTextInput(rand: () => number, base: string): string {
  const int = (n: number): number => Math.floor(rand() * n);
  const lines = base.split('\n');
  const from = int(lines.length);
  let s = lines.slice(from, from + 1 + int(4)).join('\n');
  for (let k = 1 + int(4); k > 0; k--) {
    const at = int(s.length + 1);
    const bit = TEXT_BITS[int(TEXT_BITS.length)]!;
    switch (int(3)) {
      case 0: s = s.slice(0, at) + bit + s.slice(at); break;
      case 1: s = s.slice(0, at) + s.slice(at + 1 + int(8)); break;
      default: s = s.slice(0, at) + bit + s.slice(at + bit.length);
    }
  }
  return s;
}

/** Text inputs must parse (and then round-trip through wire and text) or throw WireError. */
export function checkText(input: string, parseZone: (t: string) => RR[]): string {
  let rrs: RR[];
  try {
    rrs = parseZone(input);
  } catch (e) {
    if (e instanceof WireError) return `wire:${e.code}`;
    throw e;
  }
  for (const rr of rrs) {
    const back = parseRR(rrToText(rr));
    if (hexOf(back.rdata) !== hexOf(rr.rdata) || hexOf(back.name.toWire()) !== hexOf(rr.name.toWire())) {
      throw new Error(`text round trip changed the record: ${rrToText(rr)}`);
    }
  }
  return 'ok';
}
