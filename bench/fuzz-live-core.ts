/**
 * The live fuzz (issue 14): seeded malformed and mutated DNS messages sent to a running daemon over UDP and TCP,
 * not only to the parser. Shared by test/daemon/fuzz-live.world.test.ts (a short run) and bench/fuzz-live.ts
 * (1,000,000 cases).
 *
 * Inputs: a corpus of queries of every shape a client can send (world names and random ones, every kind of
 * QTYPE and QCLASS, EDNS with options, version 1, odd flags and opcodes, records in the other sections, no or two
 * questions). 7 cases in 10 are one of them mutated by the wire fuzzer's mutations (bench/fuzz-core.ts: bit
 * flips, truncation, splices, counts, compression pointers, ...; one in 16 of those random bytes), 3 in 10 one
 * of them with one small change that mostly keeps it well-formed (flags, QTYPE, QCLASS, a name byte, EDNS
 * fields), so that many reach the resolver. QR is cleared in 9 cases of 10. Each case gets a unique ID.
 *
 * The oracle, from the input alone (what src/server promises):
 *   - shorter than a header, or QR=1: no reply;
 *   - does not parse: FORMERR (NOTIMP for an opcode other than QUERY);
 *   - parses: NOTIMP (opcode, AXFR/IXFR/MAILA/MAILB), BADVERS (EDNS version), FORMERR (not one question, QTYPE
 *     OPT), the RFC 8482 HINFO for ANY, else an answer of the resolver: NOERROR, NXDOMAIN or SERVFAIL;
 *   - every reply parses, is a response with the case's ID, echoes the question when it answers one, and over
 *     UDP fits the size the query allows (512 without EDNS).
 * Anything else is a finding; a reply missing where one is due is counted (`silent`), and is a finding past
 * a small share (UDP may lose a datagram under load).
 */
import * as dgram from 'node:dgram';
import * as net from 'node:net';
import {
  EdnsOptionCode, Name, Opcode, RRClass, RRType, Rcode, makeQuery, makeRR, parseMessage, serializeMessage,
  type Edns, type Message,
} from '../src/wire/index.js';
import { makeInput, prng } from './fuzz-core.js';

const enc = new TextEncoder();

/** The query corpus (deterministic). */
export function queryCorpus(): Uint8Array[] {
  const rand = prng(0xc0ffee);
  const label = (n: number): string => Array.from({ length: n }, () => 'abcdefghijklmnopqrstuvwxyz0123456789-'[Math.floor(rand() * 37)]).join('').replace(/^-|-$/g, 'x');
  const names = [
    '.', 'test.', 'alg13.test.', 'www.alg8.test.', 'ns1.nsd.test.', 'unsigned.test.', 'nsec3-optout.test.',
    'bogus-expired.test.', 'cname.test.', 'dane.test.', '_25._tcp.mail.dmx.test.', 'no-such-tld.', 'Mixed.CASE.alg15.Test.',
    `${label(12)}.alg13.test.`, `${label(8)}.unsigned.test.`, `${label(30)}.${label(30)}.nsec3-salt.test.`,
    `${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(61)}.`, 'x\\000y\\255.test.', '*.alg8.test.',
    'localhost.', '1.0.0.127.in-addr.arpa.',
  ];
  const types = [RRType.A, RRType.AAAA, RRType.MX, RRType.TLSA, RRType.DS, RRType.DNSKEY, RRType.TXT, RRType.SOA, RRType.NS,
    RRType.CNAME, RRType.ANY, RRType.AXFR, RRType.IXFR, RRType.OPT, RRType.RRSIG, RRType.NSEC3, 0, 65535, 254, 253, 99, 65280];
  const classes = [RRClass.IN, RRClass.IN, RRClass.IN, RRClass.CH, RRClass.ANY, 0, 254];
  const opt = (code: number, data: number[]): { code: number; data: Uint8Array } => ({ code, data: Uint8Array.from(data) });
  const ednses: (Edns | undefined)[] = [
    undefined,
    { udpSize: 1232, version: 0, dnssecOk: true, z: 0, options: [] },
    { udpSize: 512, version: 0, dnssecOk: false, z: 0, options: [] },
    { udpSize: 0, version: 0, dnssecOk: true, z: 0x7fff, options: [] },
    { udpSize: 65535, version: 0, dnssecOk: true, z: 0, options: [opt(EdnsOptionCode.COOKIE, [1, 2, 3, 4, 5, 6, 7, 8])] },
    { udpSize: 4096, version: 1, dnssecOk: true, z: 0, options: [] },
    { udpSize: 1232, version: 0, dnssecOk: true, z: 0, options: [opt(EdnsOptionCode.PADDING, new Array(40).fill(0)), opt(EdnsOptionCode.CLIENT_SUBNET, [0, 1, 24, 0, 192, 0, 2])] },
    { udpSize: 1232, version: 0, dnssecOk: false, z: 0, options: [opt(EdnsOptionCode.EDE, [0, 6, 0x41]), opt(65001, [9, 9]), opt(EdnsOptionCode.KEEPALIVE, [])] },
  ];
  const out: Uint8Array[] = [];
  for (let i = 0; i < 400; i++) {
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
    const name = Name.fromText(pick(names));
    const m: Message = makeQuery(name, pick(types), { id: i, rd: rand() < 0.8, cd: rand() < 0.2, ad: rand() < 0.2, edns: pick(ednses), klass: pick(classes) });
    const r = rand();
    if (r < 0.05) m.opcode = pick([Opcode.IQUERY, Opcode.STATUS, Opcode.NOTIFY, Opcode.UPDATE, 15]);
    else if (r < 0.08) m.question = [];
    else if (r < 0.11) m.question = [...m.question, { name: Name.fromText(pick(names)), type: RRType.A, class: RRClass.IN }];
    else if (r < 0.16) m.additional = [makeRR(name, RRType.A, 300, { address: '192.0.2.1' })];
    else if (r < 0.19) m.answer = [makeRR(name, RRType.TXT, 0, { strings: [enc.encode('query with an answer')] })];
    else if (r < 0.21) m.flags = { ...m.flags, tc: true, z: true, aa: true };
    out.push(serializeMessage(m, { compress: rand() < 0.5 }).bytes);
  }
  return out;
}

/**
 * A query of the corpus with one small change that mostly keeps it well-formed, so that the cases reach the
 * resolver too: header flags, QTYPE, QCLASS, a byte of the question name, or the EDNS fields.
 */
function gentle(rand: () => number, corpus: readonly Uint8Array[]): Uint8Array {
  const b = Uint8Array.from(corpus[Math.floor(rand() * corpus.length)]!);
  const int = (n: number): number => Math.floor(rand() * n);
  // The question's end, when it has one with an uncompressed name.
  let q = 12;
  while (q < b.length && b[q]! !== 0 && b[q]! < 0x40) q += b[q]! + 1;
  const qEnd = q + 5 <= b.length ? q + 5 : -1;
  switch (int(5)) {
    case 0: // header flags (opcode, AA, TC, RD, RA, Z, AD, CD, RCODE)
      b[2] = int(256);
      b[3] = int(256);
      break;
    case 1: // QTYPE
      if (qEnd > 0) { b[q + 1] = int(4) === 0 ? int(256) : 0; b[q + 2] = int(256); }
      break;
    case 2: // QCLASS
      if (qEnd > 0) { b[q + 3] = int(4) === 0 ? int(256) : 0; b[q + 4] = int(256); }
      break;
    case 3: // a byte of the name (a letter, a dot, an escape-worthy octet)
      if (q > 13) b[13 + int(q - 13)] = [0x41, 0x2e, 0x00, 0xff, 0x5c, 0x20, 0x2a][int(7)]!;
      break;
    default: // the rest: EDNS size, version, flags, option bytes
      if (qEnd > 0 && b.length > qEnd + 4) b[qEnd + 3 + int(b.length - qEnd - 3)] = int(256);
  }
  return b;
}

/** One case: mutated (or random) bytes with a unique ID, QR cleared 9 times in 10. */
export function makeCase(rand: () => number, corpus: readonly Uint8Array[], id: number): Uint8Array {
  const b = rand() < 0.3 ? gentle(rand, corpus) : makeInput(rand, corpus);
  if (b.length >= 2) {
    b[0] = (id >> 8) & 0xff;
    b[1] = id & 0xff;
  }
  if (b.length >= 3 && rand() < 0.9) b[2] = b[2]! & 0x7f;
  return b;
}

/** What the server must do with an input. */
export type Expect =
  | { kind: 'silence'; why: string }
  | { kind: 'reply'; rcodes: readonly number[]; question: Message['question'] | undefined; any: boolean; udpLimit: number };

const UNSUPPORTED = new Set<number>([RRType.AXFR, RRType.IXFR, 253, 254]);

export function expectFor(b: Uint8Array, udpMaxSize = 1232): Expect {
  if (b.length < 12) return { kind: 'silence', why: 'short' };
  if ((b[2]! & 0x80) !== 0) return { kind: 'silence', why: 'QR=1' };
  const opcode = (b[2]! >> 3) & 0x0f;
  let m: Message;
  try {
    m = parseMessage(b);
  } catch {
    return { kind: 'reply', rcodes: [opcode === Opcode.QUERY ? Rcode.FORMERR : Rcode.NOTIMP], question: [], any: false, udpLimit: 512 };
  }
  const udpLimit = m.edns ? Math.min(Math.max(m.edns.udpSize, 512), udpMaxSize) : 512;
  const reply = (rcodes: number[], question: Message['question'] | undefined = m.question, any = false): Expect => ({ kind: 'reply', rcodes, question, any, udpLimit });
  if (m.opcode !== Opcode.QUERY) return reply([Rcode.NOTIMP]);
  if (m.edns && m.edns.version !== 0) return reply([Rcode.BADVERS]);
  if (m.question.length !== 1) return reply([Rcode.FORMERR], []);
  const t = m.question[0]!.type;
  if (t === RRType.OPT) return reply([Rcode.FORMERR]);
  if (UNSUPPORTED.has(t)) return reply([Rcode.NOTIMP]);
  if (t === RRType.ANY) return reply([Rcode.NOERROR], m.question, true);
  return reply([Rcode.NOERROR, Rcode.NXDOMAIN, Rcode.SERVFAIL]);
}

/** Why a reply breaks the promise for its input (undefined: it keeps it). */
export function checkReply(input: Uint8Array, reply: Uint8Array, e: Extract<Expect, { kind: 'reply' }>, transport: 'udp' | 'tcp'): string | undefined {
  let m: Message;
  try {
    m = parseMessage(reply);
  } catch (err) {
    return `reply does not parse: ${(err as Error).message}`;
  }
  const id = (input[0]! << 8) | input[1]!;
  if (!m.flags.qr) return 'reply without QR';
  if (m.id !== id) return `reply ID ${m.id} for query ID ${id}`;
  if (!e.rcodes.includes(m.rcode)) return `rcode ${m.rcode}, expected one of ${e.rcodes.join('/')}`;
  if (transport === 'udp' && reply.length > e.udpLimit) return `UDP reply of ${reply.length} octets over the limit ${e.udpLimit}`;
  if (e.question) {
    const want = e.question.map((q) => `${q.name.toText()}/${q.type}/${q.class}`).join(',');
    const got = m.question.map((q) => `${q.name.toText()}/${q.type}/${q.class}`).join(',');
    // FORMERR for a bad question section carries none; others echo the question exactly.
    if (got !== want && !(m.rcode === Rcode.FORMERR && got === '')) return `question ${got || '(none)'} echoed for ${want || '(none)'}`;
  }
  if (e.any && (m.answer.length !== 1 || m.answer[0]!.type !== RRType.HINFO || m.flags.ad)) return 'ANY not answered with the RFC 8482 HINFO alone';
  return undefined;
}

export interface LiveFuzzStats {
  cases: number;
  udp: number;
  tcp: number;
  replies: number;
  /** Inputs correctly left without a reply (short, QR=1). */
  silentOk: number;
  /** Replies due that did not come (UDP loss, a drop under load, or a bug). */
  silent: number;
  byRcode: Record<number, number>;
  findings: { hex: string; transport: 'udp' | 'tcp'; problem: string }[];
  /** Canary questions asked between the cases, and the ones answered wrongly. */
  canaries: number;
  canaryFailures: string[];
  elapsedMs: number;
}

export function newStats(): LiveFuzzStats {
  return { cases: 0, udp: 0, tcp: 0, replies: 0, silentOk: 0, silent: 0, byRcode: {}, findings: [], canaries: 0, canaryFailures: [], elapsedMs: 0 };
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

function record(stats: LiveFuzzStats, input: Uint8Array, reply: Uint8Array | undefined, transport: 'udp' | 'tcp', maxFindings: number): void {
  const e = expectFor(input);
  if (e.kind === 'silence') {
    if (reply) {
      if (stats.findings.length < maxFindings) stats.findings.push({ hex: hex(input), transport, problem: `a reply to an input that must get none (${e.why})` });
    } else stats.silentOk++;
    return;
  }
  if (!reply) {
    stats.silent++;
    return;
  }
  stats.replies++;
  let rcode = -1;
  try {
    rcode = parseMessage(reply).rcode;
  } catch {
    // checkReply says why
  }
  stats.byRcode[rcode] = (stats.byRcode[rcode] ?? 0) + 1;
  const problem = checkReply(input, reply, e, transport);
  if (problem && stats.findings.length < maxFindings) stats.findings.push({ hex: hex(input), transport, problem });
}

export interface LiveFuzzOptions {
  port: number;
  host?: string;
  seed: number;
  /** UDP cases (TCP cases: a tenth as many more, in connections of `tcpBatch`). */
  cases: number;
  /** UDP queries outstanding (default 128). */
  window?: number;
  /** Wait for a reply this long (default 8 s: a resolution may take the upstream deadline). */
  replyTimeoutMs?: number;
  /** Ask the canary every this many cases (default 2,000). */
  canaryEvery?: number;
  canary: () => Promise<string | undefined>;
  /** Local address of the fuzzing client (default 127.0.0.1). */
  from?: string;
  tcpBatch?: number;
  /** TCP connections at a time (default 16). */
  tcpParallel?: number;
  onProgress?: (stats: LiveFuzzStats) => void;
  maxFindings?: number;
}

/** Run the UDP cases, then the TCP ones, asking the canary in between. */
export async function runLiveFuzz(o: LiveFuzzOptions): Promise<LiveFuzzStats> {
  const stats = newStats();
  const corpus = queryCorpus();
  const rand = prng(o.seed);
  const t0 = performance.now();
  const canaryEvery = o.canaryEvery ?? 2000;
  const maxFindings = o.maxFindings ?? 50;
  const ask = async (): Promise<void> => {
    stats.canaries++;
    const bad = await o.canary();
    if (bad && stats.canaryFailures.length < 20) stats.canaryFailures.push(`after ${stats.cases} cases: ${bad}`);
  };
  await ask();
  await udpCases(o, stats, rand, corpus, canaryEvery, ask, maxFindings);
  await ask();
  // TCP: `tcpParallel` connections at a time, each with `tcpBatch` cases (a batch waits for its slowest answer).
  const tcpCases = Math.ceil(o.cases / 10);
  const batch = o.tcpBatch ?? 25;
  let started = 0;
  let sinceCanary = 0;
  const worker = async (): Promise<void> => {
    while (started < tcpCases) {
      const n = Math.min(batch, tcpCases - started);
      started += n;
      await tcpBatch(o, stats, rand, corpus, n, maxFindings);
      sinceCanary += n;
      if (sinceCanary >= canaryEvery) {
        sinceCanary = 0;
        await ask();
        o.onProgress?.(stats);
      }
    }
  };
  await Promise.all(Array.from({ length: o.tcpParallel ?? 16 }, worker));
  await ask();
  stats.elapsedMs = performance.now() - t0;
  return stats;
}

async function udpCases(
  o: LiveFuzzOptions, stats: LiveFuzzStats, rand: () => number, corpus: Uint8Array[], canaryEvery: number,
  ask: () => Promise<void>, maxFindings: number,
): Promise<void> {
  const sock = dgram.createSocket({ type: 'udp4', recvBufferSize: 8 << 20 });
  await new Promise<void>((r) => sock.bind(0, o.from ?? '127.0.0.1', r));
  const pending = new Map<number, { input: Uint8Array; timer: NodeJS.Timeout; done: () => void }>();
  sock.on('message', (b) => {
    if (b.length < 2) return;
    const p = pending.get(b.readUInt16BE(0));
    if (!p) return;
    clearTimeout(p.timer);
    pending.delete(b.readUInt16BE(0));
    record(stats, p.input, b, 'udp', maxFindings);
    p.done();
  });
  const window = o.window ?? 128;
  let free = window;
  let wake: (() => void) | undefined;
  const release = (): void => {
    free++;
    const w = wake;
    wake = undefined;
    w?.();
  };
  let id = 0;
  for (let i = 0; i < o.cases; i++) {
    while (free === 0) await new Promise<void>((r) => { wake = r; });
    // A free ID (cases whose reply never comes hold theirs until their timeout).
    do id = (id + 1) & 0xffff; while (pending.has(id));
    const input = makeCase(rand, corpus, id);
    stats.cases++;
    stats.udp++;
    const e = expectFor(input);
    const wait = e.kind === 'silence' ? 300 : (o.replyTimeoutMs ?? 8000);
    free--;
    const key = input.length >= 2 ? id : -1 - i;
    const timer = setTimeout(() => {
      pending.delete(key);
      record(stats, input, undefined, 'udp', maxFindings);
      release();
    }, wait);
    pending.set(key, { input, timer, done: release });
    sock.send(input, o.port, o.host ?? '127.0.0.1');
    if (stats.cases % canaryEvery === 0) {
      await ask();
      o.onProgress?.(stats);
    }
  }
  while (free < window) await new Promise<void>((r) => { wake = r; });
  sock.close();
}

/** One TCP connection: `n` framed cases (one in ten with a wrong length prefix), replies matched by ID. */
async function tcpBatch(o: LiveFuzzOptions, stats: LiveFuzzStats, rand: () => number, corpus: Uint8Array[], n: number, maxFindings: number): Promise<void> {
  const inputs = new Map<number, Uint8Array>();
  const chunks: Buffer[] = [];
  let framingBroken = false;
  for (let i = 0; i < n; i++) {
    const id = 0x8000 | (stats.tcp & 0x7fff);
    const input = makeCase(rand, corpus, id);
    stats.cases++;
    stats.tcp++;
    const len = Buffer.alloc(2);
    if (rand() < 0.1) {
      len.writeUInt16BE(Math.max(0, input.length + Math.floor(rand() * 9) - 4) & 0xffff);
      framingBroken = true;
    } else len.writeUInt16BE(input.length);
    chunks.push(len, Buffer.from(input));
    if (!framingBroken && input.length >= 2) inputs.set(id, input);
  }
  const replies = await new Promise<Buffer[]>((resolve) => {
    const got: Buffer[] = [];
    let buf = Buffer.alloc(0);
    const s = net.connect({ port: o.port, host: o.host ?? '127.0.0.1', localAddress: o.from ?? '127.0.0.1' });
    const finish = (): void => {
      clearTimeout(timer);
      s.destroy();
      resolve(got);
    };
    // The replies due, or the server closing, or a deadline (a resolution may take the upstream deadline).
    const timer = setTimeout(finish, o.replyTimeoutMs ?? 8000);
    s.on('connect', () => {
      s.write(Buffer.concat(chunks));
      s.end();
    });
    s.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        got.push(buf.subarray(2, 2 + buf.readUInt16BE(0)));
        buf = buf.subarray(2 + buf.readUInt16BE(0));
      }
    });
    s.on('error', finish);
    s.on('close', finish);
  });
  const seen = new Set<number>();
  for (const r of replies) {
    const rid = r.length >= 2 ? r.readUInt16BE(0) : -1;
    const input = inputs.get(rid);
    if (!input) {
      // With the framing broken the server sees other messages than we sent: a reply must still be a response.
      let ok = false;
      try {
        ok = parseMessage(r).flags.qr;
      } catch {
        ok = false;
      }
      if (!ok && stats.findings.length < maxFindings) stats.findings.push({ hex: hex(r), transport: 'tcp', problem: 'a reply that is not a DNS response' });
      if (framingBroken) continue;
      if (stats.findings.length < maxFindings) stats.findings.push({ hex: hex(r), transport: 'tcp', problem: `a reply with ID ${rid}, asked for none` });
      continue;
    }
    seen.add(rid);
    record(stats, input, r, 'tcp', maxFindings);
  }
  if (!framingBroken) for (const [id, input] of inputs) if (!seen.has(id)) record(stats, input, undefined, 'tcp', maxFindings);
}
