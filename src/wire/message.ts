import { RRClass, RRType } from './constants.js';
import { WireError } from './errors.js';
import { Name } from './name.js';
import { WireReader } from './reader.js';
import { readRR, writeRR, type Question, type RR } from './record.js';
import { WireWriter } from './writer.js';

export interface EdnsOption {
  readonly code: number;
  /** Option data exactly as received. */
  readonly data: Uint8Array;
}

/** EDNS(0) pseudo-record (RFC 6891). The extended RCODE bits are folded into Message.rcode. */
export interface Edns {
  udpSize: number;
  version: number;
  dnssecOk: boolean;
  /** The 15 Z bits after DO, kept as received. */
  z: number;
  options: EdnsOption[];
}

export interface Flags {
  qr: boolean;
  aa: boolean;
  tc: boolean;
  rd: boolean;
  ra: boolean;
  /** The reserved Z bit, kept as received. */
  z: boolean;
  ad: boolean;
  cd: boolean;
}

export interface Message {
  id: number;
  opcode: number;
  flags: Flags;
  /** Full RCODE: the 4 header bits plus, with EDNS, the 8 extended bits (RFC 6891 §6.1.3). */
  rcode: number;
  question: Question[];
  answer: RR[];
  authority: RR[];
  /** Additional records without the OPT pseudo-record. */
  additional: RR[];
  edns?: Edns | undefined;
}

export function emptyFlags(): Flags {
  return { qr: false, aa: false, tc: false, rd: false, ra: false, z: false, ad: false, cd: false };
}

/** The 12-octet header alone: enough to answer FORMERR to a packet whose body does not parse. */
export interface Header {
  id: number;
  opcode: number;
  flags: Flags;
  rcode: number;
  counts: [number, number, number, number];
}

export function parseHeader(buf: Uint8Array): Header {
  const r = new WireReader(buf);
  const id = r.u16('header ID');
  const f = r.u16('header flags');
  const counts: [number, number, number, number] = [r.u16('QDCOUNT'), r.u16('ANCOUNT'), r.u16('NSCOUNT'), r.u16('ARCOUNT')];
  return {
    id,
    opcode: (f >> 11) & 0xf,
    rcode: f & 0xf,
    flags: {
      qr: (f & 0x8000) !== 0, aa: (f & 0x0400) !== 0, tc: (f & 0x0200) !== 0, rd: (f & 0x0100) !== 0,
      ra: (f & 0x0080) !== 0, z: (f & 0x0040) !== 0, ad: (f & 0x0020) !== 0, cd: (f & 0x0010) !== 0,
    },
    counts,
  };
}

/** Parse a whole message. Throws WireError on anything malformed, including trailing bytes. */
export function parseMessage(buf: Uint8Array): Message {
  const h = parseHeader(buf);
  const r = new WireReader(buf, 12);
  const question: Question[] = [];
  for (let i = 0; i < h.counts[0]; i++) {
    const name = Name.read(r);
    question.push({ name, type: r.u16('question type'), class: r.u16('question class') });
  }
  const section = (n: number): RR[] => {
    const out: RR[] = [];
    for (let i = 0; i < n; i++) out.push(readRR(r));
    return out;
  };
  const answer = section(h.counts[1]);
  const authority = section(h.counts[2]);
  const additionalAll = section(h.counts[3]);
  if (r.remaining !== 0) throw new WireError('trailing-data', `${r.remaining} octets after the last record`, r.off);

  let edns: Edns | undefined;
  let rcode = h.rcode;
  const additional: RR[] = [];
  for (const rr of additionalAll) {
    if (rr.type !== RRType.OPT) {
      additional.push(rr);
      continue;
    }
    if (edns) throw new WireError('bad-opt', 'more than one OPT record');
    if (!rr.name.isRoot()) throw new WireError('bad-opt', 'OPT owner is not the root');
    edns = {
      udpSize: rr.class,
      version: (rr.ttl >>> 16) & 0xff,
      dnssecOk: (rr.ttl & 0x8000) !== 0,
      z: rr.ttl & 0x7fff,
      options: parseOptions(rr.rdata),
    };
    rcode |= ((rr.ttl >>> 24) & 0xff) << 4;
  }
  for (const rr of [...answer, ...authority]) {
    if (rr.type === RRType.OPT) throw new WireError('bad-opt', 'OPT record outside the additional section');
  }
  return { id: h.id, opcode: h.opcode, flags: h.flags, rcode, question, answer, authority, additional, edns };
}

export function parseOptions(rdata: Uint8Array): EdnsOption[] {
  const r = new WireReader(rdata);
  const out: EdnsOption[] = [];
  while (r.remaining > 0) {
    if (r.remaining < 4) throw new WireError('bad-opt', 'EDNS option header truncated', r.off);
    const code = r.u16();
    const len = r.u16();
    if (len > r.remaining) throw new WireError('bad-opt', `EDNS option ${code} overruns the OPT RDATA`, r.off);
    out.push({ code, data: r.bytes(len) });
  }
  return out;
}

export interface SerializeOptions {
  /** Largest message allowed (UDP payload size); records that do not fit are dropped at RRset boundaries. */
  maxSize?: number;
  /** Compress names (default true). */
  compress?: boolean;
}

export interface Serialized {
  bytes: Uint8Array;
  /** Set when RRsets from the answer or authority section had to be dropped (TC is then set in the bytes). */
  truncated: boolean;
}

function flagBits(f: Flags): number {
  return (f.qr ? 0x8000 : 0) | (f.aa ? 0x0400 : 0) | (f.tc ? 0x0200 : 0) | (f.rd ? 0x0100 : 0) |
    (f.ra ? 0x0080 : 0) | (f.z ? 0x0040 : 0) | (f.ad ? 0x0020 : 0) | (f.cd ? 0x0010 : 0);
}

function optRR(m: Message, e: Edns): RR {
  const w = new WireWriter(64);
  for (const o of e.options) {
    w.u16(o.code);
    w.u16(o.data.length);
    w.bytes(o.data);
  }
  const ttl = ((((m.rcode >> 4) & 0xff) << 24) | ((e.version & 0xff) << 16) | (e.dnssecOk ? 0x8000 : 0) | (e.z & 0x7fff)) >>> 0;
  const rdata = w.finish();
  return { name: Name.root, type: RRType.OPT, class: Math.max(e.udpSize, 0) & 0xffff, ttl, data: { raw: rdata }, rdata };
}

/** The type an RRSIG covers (its first two RDATA octets), or the record's own type. */
function unitType(rr: RR): number {
  return rr.type === RRType.RRSIG && rr.rdata.length >= 2 ? (rr.rdata[0]! << 8) | rr.rdata[1]! : rr.type;
}

/**
 * Group consecutive records of one section into units kept or dropped whole: an RRset (same owner,
 * type, class) together with the RRSIGs covering it that follow or precede it (RFC 4035 §3.1.1).
 */
function rrsetRuns(rrs: readonly RR[]): RR[][] {
  const runs: RR[][] = [];
  for (const rr of rrs) {
    const last = runs[runs.length - 1];
    const head = last?.[0];
    if (head && unitType(head) === unitType(rr) && head.class === rr.class && head.name.equals(rr.name)) last!.push(rr);
    else runs.push([rr]);
  }
  return runs;
}

/**
 * Serialize a message. With `maxSize`, RRsets that do not fit are left out whole: additional
 * ones silently, answer/authority ones with TC set (RFC 2181 §9). The OPT record always fits first.
 */
export function serializeMessage(m: Message, opts: SerializeOptions = {}): Serialized {
  const compress = opts.compress ?? true;
  const max = Math.min(opts.maxSize ?? 65535, 65535);
  const w = new WireWriter(512);
  w.u16(m.id);
  const flagsAt = w.off;
  w.u16(flagBits(m.flags) | ((m.opcode & 0xf) << 11) | (m.rcode & 0xf));
  const countsAt = w.off;
  w.u16(m.question.length);
  w.u16(0);
  w.u16(0);
  w.u16(0);
  for (const q of m.question) {
    q.name.write(w, compress);
    w.u16(q.type);
    w.u16(q.class);
  }
  if (m.rcode > 0xf && !m.edns) throw new WireError('bad-opt', `RCODE ${m.rcode} needs EDNS`);
  const opt = m.edns ? optRR(m, m.edns) : undefined;
  // Space kept for the OPT record: root name (1) + type/class/ttl/rdlen (10) + options.
  const optSize = opt ? 11 + opt.rdata.length : 0;
  let truncated = false;
  const counts = [0, 0, 0];
  const sections: [RR[], number][] = [[m.answer, 0], [m.authority, 1], [m.additional, 2]];
  outer: for (const [rrs, idx] of sections) {
    for (const run of rrsetRuns(rrs)) {
      const mark = w.off;
      for (const rr of run) writeRR(w, rr, compress);
      if (w.off + optSize > max) {
        w.rewind(mark);
        if (idx < 2) truncated = true;
        break outer;
      }
      counts[idx]! += run.length;
    }
  }
  if (opt) {
    writeRR(w, opt, false);
    counts[2]! += 1;
  }
  w.patchU16(countsAt + 2, counts[0]!);
  w.patchU16(countsAt + 4, counts[1]!);
  w.patchU16(countsAt + 6, counts[2]!);
  if (truncated || m.flags.tc) w.patchU16(flagsAt, flagBits({ ...m.flags, tc: true }) | ((m.opcode & 0xf) << 11) | (m.rcode & 0xf));
  return { bytes: w.finish(), truncated };
}

/** A query message as a stub sends it. */
export function makeQuery(name: Name, type: number, opts: { id: number; rd?: boolean; cd?: boolean; ad?: boolean; edns?: Edns | undefined; klass?: number }): Message {
  return {
    id: opts.id,
    opcode: 0,
    flags: { ...emptyFlags(), rd: opts.rd ?? true, cd: opts.cd ?? false, ad: opts.ad ?? false },
    rcode: 0,
    question: [{ name, type, class: opts.klass ?? RRClass.IN }],
    answer: [],
    authority: [],
    additional: [],
    edns: opts.edns,
  };
}
