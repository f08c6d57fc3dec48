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
  /**
   * Set only by a salvaging parse (`additional: 'salvage'`) that dropped a malformed additional
   * section: why it did not parse. `edns` is then the OPT record found by the section's framing
   * alone, or undefined when it could not be found or parsed (salvageOpt).
   */
  additionalDropped?: string | undefined;
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

export interface ParseOptions {
  /**
   * What a malformed additional section does (anything wrong from its first record to the end of
   * the message: a bad record, a bad or second OPT, trailing octets). 'strict' (the default) rejects
   * the message. 'salvage' keeps it with no additional records, and with the OPT record when the
   * section's framing still leads to it (salvageOpt). For upstream answers: the validator never
   * reads the additional section, and one bad glue record must not cost a good signed answer.
   * The header, question, answer and authority sections are parsed strictly either way.
   */
  readonly additional?: 'strict' | 'salvage';
}

/** The additional section read: its records without the OPT, the EDNS it carried, the extended RCODE bits. */
interface AdditionalPart {
  readonly additional: RR[];
  readonly edns: Edns | undefined;
  /** The OPT's upper 8 RCODE bits, already shifted into place (0 without an OPT). */
  readonly extRcode: number;
  readonly dropped?: string;
}

/** Parse a whole message. Throws WireError on anything malformed, including trailing bytes (but see ParseOptions). */
export function parseMessage(buf: Uint8Array, opts?: ParseOptions): Message {
  const h = parseHeader(buf);
  const r = new WireReader(buf, 12);
  const question: Question[] = [];
  for (let i = 0; i < h.counts[0]; i++) {
    const name = Name.read(r);
    question.push({ name, type: r.u16('question type'), class: r.u16('question class') });
  }
  const answer = readSection(r, h.counts[1]);
  const authority = readSection(r, h.counts[2]);
  const start = r.off;
  let add: AdditionalPart;
  try {
    add = readAdditional(r, h.counts[3]);
  } catch (e) {
    if (opts?.additional !== 'salvage' || !(e instanceof WireError)) throw e;
    // Compression pointers only point backwards, so nothing read so far depends on these octets.
    const opt = salvageOpt(buf, start, h.counts[3]);
    add = { additional: [], edns: opt?.edns, extRcode: opt?.extRcode ?? 0, dropped: e.message };
  }
  for (const rr of [...answer, ...authority]) {
    if (rr.type === RRType.OPT) throw new WireError('bad-opt', 'OPT record outside the additional section');
  }
  const m: Message = {
    id: h.id, opcode: h.opcode, flags: h.flags, rcode: h.rcode | add.extRcode, question, answer, authority, additional: add.additional, edns: add.edns,
  };
  if (add.dropped !== undefined) m.additionalDropped = add.dropped;
  return m;
}

function readSection(r: WireReader, n: number): RR[] {
  const out: RR[] = [];
  for (let i = 0; i < n; i++) out.push(readRR(r));
  return out;
}

/** The additional section to the end of the message, strictly: every record, no trailing octets, at most one OPT. */
function readAdditional(r: WireReader, count: number): AdditionalPart {
  const all = readSection(r, count);
  if (r.remaining !== 0) throw new WireError('trailing-data', `${r.remaining} octets after the last record`, r.off);
  let opt: { edns: Edns; extRcode: number } | undefined;
  const additional: RR[] = [];
  for (const rr of all) {
    if (rr.type !== RRType.OPT) {
      additional.push(rr);
      continue;
    }
    if (opt) throw new WireError('bad-opt', 'more than one OPT record');
    opt = ednsOf(rr);
  }
  return { additional, edns: opt?.edns, extRcode: opt?.extRcode ?? 0 };
}

/** The EDNS(0) fields of an OPT record (RFC 6891 §6.1.2-3); throws WireError when it is malformed. */
function ednsOf(rr: RR): { edns: Edns; extRcode: number } {
  if (!rr.name.isRoot()) throw new WireError('bad-opt', 'OPT owner is not the root');
  const edns: Edns = {
    udpSize: rr.class,
    version: (rr.ttl >>> 16) & 0xff,
    dnssecOk: (rr.ttl & 0x8000) !== 0,
    z: rr.ttl & 0x7fff,
    options: parseOptions(rr.rdata),
  };
  return { edns, extRcode: ((rr.ttl >>> 24) & 0xff) << 4 };
}

/**
 * The end of the name at `off`, by its labels in place (a compression pointer ends it; its target
 * is not followed, so a bad pointer does not hide where the record goes on), or undefined when the
 * octets cannot be a name (reserved label types, the message ends).
 */
function skipName(buf: Uint8Array, off: number): number | undefined {
  // At most 127 labels fit in 255 octets; a longer run is no name.
  for (let labels = 0; labels < 128; labels++) {
    if (off >= buf.length) return undefined;
    const len = buf[off]!;
    if ((len & 0xc0) === 0xc0) return off + 2 <= buf.length ? off + 2 : undefined;
    if ((len & 0xc0) !== 0) return undefined;
    if (len === 0) return off + 1;
    off += 1 + len;
  }
  return undefined;
}

/**
 * The OPT record of an additional section that did not parse, found by the section's framing
 * alone: each record's owner name (in place), fixed fields and RDLENGTH say where the next one
 * starts, whatever its RDATA or compression pointers hold. So a record whose RDATA or owner pointer
 * is bad is stepped over and an OPT after it (servers put it last) is still found. Undefined when
 * the framing breaks before an OPT is reached (a broken name or an RDLENGTH past the end: where the
 * next record starts is unknowable), when there are two OPTs (RFC 6891 §6.1.1: which one would be
 * a guess), or when the OPT itself is malformed (its WireError is swallowed: the section is dropped).
 * Framing that went astray (a damaged RDLENGTH still inside the message) could at worst take garbage
 * for an OPT: its extended RCODE bits can only turn the answer's rcode into an error (>= 16), and its
 * DO bit is what an upstream could have sent anyway; nothing here makes a bad answer good.
 */
function salvageOpt(buf: Uint8Array, start: number, count: number): { edns: Edns; extRcode: number } | undefined {
  const opts: number[] = [];
  let off = start;
  for (let i = 0; i < count; i++) {
    const fixed = skipName(buf, off);
    if (fixed === undefined || fixed + 10 > buf.length) break;
    const rdlen = (buf[fixed + 8]! << 8) | buf[fixed + 9]!;
    if (fixed + 10 + rdlen > buf.length) break;
    if (((buf[fixed]! << 8) | buf[fixed + 1]!) === RRType.OPT) opts.push(off);
    off = fixed + 10 + rdlen;
  }
  if (opts.length !== 1) return undefined;
  try {
    return ednsOf(readRR(new WireReader(buf, opts[0]!)));
  } catch (e) {
    if (e instanceof WireError) return undefined;
    throw e;
  }
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
