/**
 * Start-up self-test and warm-up. Before the daemon answers anyone, it resolves and validates a tree
 * it has just signed (tree.ts: one child zone per algorithm, wildcards, NSEC denial) through the same
 * code a client query takes: its own UDP listener, the caching resolver, the aggressive-NSEC store, the
 * resolver, the chain of trust, the crypto backend, the upstream pool and transport, against an
 * in-process upstream on a loopback port. Everything here is a separate instance: nothing reaches the
 * real caches, and no packet leaves 127.0.0.1.
 *
 * Two purposes:
 * - a self-test: each algorithm's answers must come out SECURE (and tampered data BOGUS would be the
 *   validator's own tests' job); a failure is reported, so a host whose crypto refuses an algorithm is
 *   known at start, not at the first signed domain;
 * - a warm-up: V8 compiles JavaScript lazily and optimizes it after many calls. A fresh process runs
 *   its first few thousand queries in slow tiers; running them here first means the first real
 *   queries (an MTA's burst after a restart) are answered at full speed (bench/cold measures it).
 */
import { createSocket, type Socket } from 'node:dgram';
import { randomInt } from 'node:crypto';
import { literalLookup } from '../net/lookup.js';
import {
  Name, RRType, Rcode, emptyFlags, makeQuery, parseMessage, serializeMessage, typeToText, type Message,
} from '../wire/index.js';
import { SelfTestTree } from './tree.js';

export interface SelfTestReport {
  queries: number;
  /** Answers that were not what the signed tree says (status or rcode), at most a few listed. */
  failures: string[];
  /**
   * Checks whose answers all came out as expected: the child zones (a<algorithm>, n3 for NSEC3),
   * 'insecure' (unsigned zones below NSEC- and NSEC3-denied delegations) and 'cname' (chains across zones).
   */
  passed: string[];
  /** Checks with a failure. */
  failed: string[];
  ms: number;
}

export const LOOPBACK = '127.0.0.1';

/** The in-process upstream: answers every question from the tree, as a DNSSEC-aware resolver would. */
export async function serveTree(tree: SelfTestTree): Promise<{ port: number; close(): void }> {
  const sock = createSocket({ type: 'udp4', lookup: literalLookup });
  sock.on('message', (packet, rinfo) => {
    let q: Message;
    try {
      q = parseMessage(packet);
    } catch {
      return;
    }
    const question = q.question[0];
    if (!question) return;
    const a = tree.answer(question);
    const reply: Message = {
      id: q.id, opcode: 0, flags: { ...emptyFlags(), qr: true, rd: q.flags.rd, ra: true, cd: q.flags.cd }, rcode: a.rcode,
      question: [question], answer: a.answer, authority: a.authority, additional: [],
      edns: { udpSize: 1232, version: 0, dnssecOk: q.edns?.dnssecOk ?? false, z: 0, options: [] },
    };
    sock.send(serializeMessage(reply).bytes, rinfo.port, rinfo.address);
  });
  await new Promise<void>((resolve, reject) => {
    sock.once('error', reject);
    sock.bind(0, LOOPBACK, () => resolve());
  });
  return { port: sock.address().port, close: () => sock.close() };
}

export interface Probe {
  name: string;
  type: number;
  rcode: number;
  /** Expected answer records of the type (0 for negative answers). */
  data: boolean;
  /** Expected AD bit: false for the answers below insecure delegations. */
  secure: boolean;
  /** What the report calls it: the child zone's label, 'insecure' or 'cname'. */
  label: string;
}

/** Labels of the report: the algorithm children (a8, ..., n3), then the insecure delegations and the CNAME chains. */
export function checkLabels(tree: SelfTestTree): string[] {
  return [...tree.children.map((z) => z.toText().split('.')[0]!), 'insecure', 'cname'];
}

/** The questions: for every zone, each kind of answer, with distinct names so each is a miss first. */
export function questions(tree: SelfTestTree, rounds: number, prefix: string): Probe[] {
  const out: Probe[] = [];
  const probe = (name: string, type: number, rcode: number, data: boolean, secure: boolean, label: string): Probe =>
    ({ name, type, rcode, data, secure, label });
  for (let i = 0; i < rounds; i++) {
    for (const z of tree.children) {
      const zone = z.toText();
      const label = zone.split('.')[0]!;
      out.push(
        probe(`www.${zone}`, RRType.A, Rcode.NOERROR, true, true, label),
        probe(`${prefix}${i}.wild.${zone}`, RRType.A, Rcode.NOERROR, true, true, label),
        probe(`nx${prefix}${i}.${zone}`, RRType.A, Rcode.NXDOMAIN, false, true, label),
        probe(`${prefix}${i}.wild.${zone}`, RRType.TXT, Rcode.NOERROR, false, true, label),
        probe(`www.${zone}`, i % 2 ? RRType.AAAA : RRType.MX, Rcode.NOERROR, false, true, label),
      );
    }
    // Most mail domains are unsigned: their delegations must come out insecure, never bogus.
    for (const z of tree.insecure) {
      const zone = z.toText();
      out.push(
        probe(`www.${zone}`, RRType.A, Rcode.NOERROR, true, false, 'insecure'),
        probe(`${prefix}${i}.wild.${zone}`, RRType.A, Rcode.NOERROR, true, false, 'insecure'),
        probe(`nx${prefix}${i}.${zone}`, RRType.A, Rcode.NXDOMAIN, false, false, 'insecure'),
      );
    }
    out.push(
      probe(tree.aliases.secure.toText(), RRType.A, Rcode.NOERROR, true, true, 'cname'),
      probe(tree.aliases.insecure.toText(), RRType.A, Rcode.NOERROR, true, false, 'cname'),
    );
  }
  return out;
}

/**
 * Ask `probes` at the listener, `inFlight` at a time; returns the failures. Gives up (reporting it) once
 * `deadline` (ms since the epoch) has passed or `inFlight` questions in a row went unanswered, so that a
 * host where loopback UDP does not work delays the start by seconds, not minutes.
 */
export async function askProbes(port: number, probes: Probe[], inFlight: number, deadline: number): Promise<string[]> {
  const sock: Socket = createSocket({ type: 'udp4', lookup: literalLookup });
  await new Promise<void>((resolve) => sock.bind(0, LOOPBACK, () => resolve()));
  const failures: string[] = [];
  const waiting = new Map<number, { probe: Probe; done: () => void; timer: NodeJS.Timeout }>();
  sock.on('message', (packet) => {
    let m: Message;
    try {
      m = parseMessage(packet);
    } catch {
      return;
    }
    const w = waiting.get(m.id);
    if (!w) return;
    waiting.delete(m.id);
    clearTimeout(w.timer);
    const p = w.probe;
    const data = m.answer.some((r) => r.type === p.type);
    if (m.flags.ad !== p.secure || m.rcode !== p.rcode || data !== p.data) {
      failures.push(`${p.name} ${typeToText(p.type)}: rcode ${m.rcode}, AD ${m.flags.ad}, data ${data}`);
    }
    w.done();
  });
  let next = 0;
  let silentInARow = 0;
  let gaveUp: string | undefined;
  const worker = async (): Promise<void> => {
    while (next < probes.length && !gaveUp) {
      if (Date.now() > deadline) gaveUp = 'the self-test ran out of time';
      else if (silentInARow >= inFlight) gaveUp = `${silentInARow} questions in a row got no answer`;
      if (gaveUp) break;
      const probe = probes[next++]!;
      await new Promise<void>((done) => {
        let id = randomInt(0, 65536);
        while (waiting.has(id)) id = (id + 1) & 0xffff;
        const timer = setTimeout(() => {
          waiting.delete(id);
          silentInARow++;
          failures.push(`${probe.name} ${typeToText(probe.type)}: no answer`);
          done();
        }, 2000);
        waiting.set(id, { probe, done: () => { silentInARow = 0; done(); }, timer });
        const q = makeQuery(Name.fromText(probe.name), probe.type, { id, ad: true, edns: { udpSize: 1232, version: 0, dnssecOk: probe.data, z: 0, options: [] } });
        sock.send(serializeMessage(q).bytes, port, LOOPBACK);
      });
    }
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
  sock.close();
  if (gaveUp) failures.unshift(`gave up: ${gaveUp}`);
  return failures;
}

