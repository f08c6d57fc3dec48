/**
 * Seeded mutations of DNS answers for the tamper fuzz (test/daemon/tamper-fuzz.world.test.ts, bench/tamper-fuzz.ts):
 * what an on-path attacker between a validating stub and its upstream could do to one answer. Pure: no I/O,
 * no clock, no Math.random; the same answer, question, context and seed always give the same mutation.
 *
 *   const rng = mulberry32(caseSeed(seed, i));
 *   const m = mutate(normalizeAnswer(answer), question, rng, mutationContext(ZONES, question.name));
 *   // m.kind ("flip-rdata", "add-rrset", ...), m.detail (one line), m.udp (a Message or raw bytes),
 *   // m.tcp (what to answer over TCP instead, when different: the untruncated answer after a truncation)
 */
import {
  Name, RRClass, RRType, Rcode, WireError, canonicalRData, compareBytes, parseRR, rcodeToText, rrFromRData,
  rrToText, serializeMessage, typeToText, type Message, type Question, type RR, type RRSIGData,
} from '../../src/wire/index.js';
import type { ZoneCase } from '../world/zones.js';
import { prng } from '../../bench/fuzz-core.js';
import { worldAddr, worldAddr6 } from '../world/net.js';

// ---------------------------------------------------------------------------------------------------
// PRNG
// ---------------------------------------------------------------------------------------------------

/** A uniform float in [0, 1). */
export type Rng = () => number;

/** mulberry32: a small, fast 32-bit seeded PRNG (deterministic for a seed); the wire fuzz's own. */
export const mulberry32: (seed: number) => Rng = prng;

/** The seed of case `index` of a run seeded with `seed` (a 32-bit mix, so neighbouring cases are unrelated). */
export function caseSeed(seed: number, index: number): number {
  let h = (Math.imul(seed >>> 0, 0x9e3779b1) ^ Math.imul(index + 1, 0x85ebca77)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d) >>> 0;
  h = Math.imul(h ^ (h >>> 15), 0x846ca68b) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}

export function randInt(rng: Rng, n: number): number {
  return Math.floor(rng() * n);
}

export function pick<T>(rng: Rng, items: readonly T[]): T {
  if (items.length === 0) throw new Error('pick from an empty list');
  return items[randInt(rng, items.length)]!;
}

/** One of `choices`, chosen with probability proportional to its weight. */
export function weighted<T>(rng: Rng, choices: readonly (readonly [T, number])[]): T {
  const total = choices.reduce((s, [, w]) => s + w, 0);
  let x = rng() * total;
  for (const [v, w] of choices) {
    if ((x -= w) < 0) return v;
  }
  return choices[choices.length - 1]![0];
}

// ---------------------------------------------------------------------------------------------------
// World context: names to rename owners to and to add records at
// ---------------------------------------------------------------------------------------------------

export interface MutationContext {
  /** The zone (of the test world) the question name belongs to; the root when none matches. */
  readonly zone: Name;
  /** Whether that zone is signed. */
  readonly zoneSigned: boolean;
  /** Existing and non-existing names in the question's zone (apex, www, mail, alias, wildcard names, nx...). */
  readonly sameZone: readonly Name[];
  /** Names in other signed zones of the world. */
  readonly otherSigned: readonly Name[];
  /** Names in unsigned zones of the world. */
  readonly unsigned: readonly Name[];
  /** Genuine signed RRsets (records and their RRSIGs) of the real zones, for replays out of context. */
  readonly replay: readonly (readonly RR[])[];
}

/** The owners a zone's record lines name (relative to the zone), as absolute names, plus a few that do not exist. */
function zoneNames(z: ZoneCase): Name[] {
  const origin = Name.fromText(z.name);
  const out = new Map<string, Name>();
  const add = (n: Name): void => {
    out.set(n.key, n);
  };
  add(origin);
  for (const line of z.records) {
    const owner = line.trim().split(/\s+/)[0]!;
    try {
      if (owner.startsWith('*.')) {
        add(Name.fromText(owner, origin));
        add(Name.fromText(`fz.${owner.slice(2)}`, origin));
      } else add(Name.fromText(owner, origin));
    } catch {
      /* not a name: ignore */
    }
  }
  for (const rel of ['nx', 'fuzz-new', 'sub.www']) add(Name.fromText(rel, origin));
  return [...out.values()];
}

/** The deepest zone of `zones` containing `qname`. */
export function zoneOf(zones: Record<string, ZoneCase>, qname: Name): ZoneCase | undefined {
  let best: ZoneCase | undefined;
  let bestLabels = -1;
  for (const z of Object.values(zones)) {
    const n = Name.fromText(z.name);
    if (qname.isSubdomainOf(n) && n.labelCount > bestLabels) {
      best = z;
      bestLabels = n.labelCount;
    }
  }
  return best;
}

/** The mutation context of a question name in the test world (`zones`: test/world/zones.ts ZONES). */
export function mutationContext(zones: Record<string, ZoneCase>, qname: Name, replay: readonly (readonly RR[])[] = []): MutationContext {
  const own = zoneOf(zones, qname);
  const zone = own ? Name.fromText(own.name) : Name.root;
  const otherSigned: Name[] = [];
  const unsigned: Name[] = [];
  for (const z of Object.values(zones)) {
    if (z.name === own?.name || z.name === '.' || z.name === 'test.') continue;
    (z.signer === 'none' ? unsigned : otherSigned).push(...zoneNames(z));
  }
  return {
    zone,
    zoneSigned: own ? own.signer !== 'none' : true,
    sameZone: own ? zoneNames(own) : [Name.root],
    otherSigned,
    unsigned,
    replay,
  };
}

// ---------------------------------------------------------------------------------------------------
// Records and RRsets
// ---------------------------------------------------------------------------------------------------

export type SectionName = 'answer' | 'authority' | 'additional';
const SECTIONS: readonly SectionName[] = ['answer', 'authority', 'additional'];

/** The type an RRSIG covers, or the record's own type. */
export function coveredType(rr: RR): number {
  if (rr.type !== RRType.RRSIG) return rr.type;
  return rr.rdata.length >= 2 ? (rr.rdata[0]! << 8) | rr.rdata[1]! : 0;
}

const unitKey = (rr: RR): string => `${rr.name.key}|${rr.class}|${coveredType(rr)}`;

/** An RRset of one section together with the RRSIGs covering it (indices into the section). */
interface Unit {
  readonly section: SectionName;
  readonly key: string;
  readonly owner: Name;
  readonly type: number;
  readonly data: number[];
  readonly sigs: number[];
}

function units(m: Message): Unit[] {
  const out: Unit[] = [];
  for (const s of SECTIONS) {
    const byKey = new Map<string, Unit>();
    m[s].forEach((rr, i) => {
      const k = unitKey(rr);
      let u = byKey.get(k);
      if (!u) {
        u = { section: s, key: k, owner: rr.name, type: coveredType(rr), data: [], sigs: [] };
        byKey.set(k, u);
        out.push(u);
      }
      (rr.type === RRType.RRSIG ? u.sigs : u.data).push(i);
    });
  }
  return out;
}

const byRData = (a: RR, b: RR): number => compareBytes(canonicalRData(a), canonicalRData(b));

/**
 * The answer in a canonical arrangement: in each section, RRsets in order of first appearance, each one's
 * records sorted by RDATA and followed by its RRSIGs (sorted too). An upstream that rotates RRsets (Unbound's
 * rrset-roundrobin) then gives the same input to `mutate` whatever the query ID was.
 */
export function normalizeAnswer(m: Message): Message {
  const out: Message = { ...m, question: [...m.question], answer: [], authority: [], additional: [] };
  for (const u of units(m)) {
    const list = m[u.section];
    out[u.section].push(...u.data.map((i) => list[i]!).sort(byRData), ...u.sigs.map((i) => list[i]!).sort(byRData));
  }
  return out;
}

function clone(m: Message): Message {
  return { ...m, flags: { ...m.flags }, question: [...m.question], answer: [...m.answer], authority: [...m.authority], additional: [...m.additional] };
}

/** The record as presentation text, shortened for one-line details. */
function short(rr: RR): string {
  const t = rrToText(rr).replace(/\s+/g, ' ');
  return t.length > 110 ? `${t.slice(0, 107)}...` : t;
}

const unitText = (u: Unit): string => `${u.owner.toText()} ${typeToText(u.type)} (${u.section}, ${u.data.length}+${u.sigs.length} sig)`;

function flipBits(b: Uint8Array, bits: readonly number[]): Uint8Array {
  const out = Uint8Array.from(b);
  for (const bit of bits) out[bit >> 3]! ^= 0x80 >> (bit & 7);
  return out;
}

/** Types whose names are compressed in messages: their typed data must stay consistent with the bytes. */
const COMPRESSIBLE = new Set<number>([RRType.NS, RRType.CNAME, RRType.SOA, RRType.PTR, RRType.MX]);

/**
 * A record with changed RDATA bytes. Parsed again when possible (so its typed view matches); when the bytes
 * do not parse, kept as raw bytes (the proxy writes `rdata` as it is for non-compressible types), or
 * undefined for compressible types (their RDATA is re-encoded from the typed view on the wire).
 */
function recordWithBytes(rr: RR, type: number, rdata: Uint8Array): { rr: RR; malformed: boolean } | undefined {
  try {
    return { rr: rrFromRData(rr.name, type, rr.class, rr.ttl, rdata), malformed: false };
  } catch (e) {
    if (!(e instanceof WireError)) throw e;
    if (COMPRESSIBLE.has(type)) return undefined;
    return { rr: { ...rr, type, rdata, data: { raw: rdata } }, malformed: true };
  }
}

/** The bit range [from, to) of the interesting part of a record's RDATA (signature, bitmap, digest, key). */
function payloadBits(rr: RR): [number, number] {
  const n = rr.rdata.length * 8;
  switch (rr.type) {
    case RRType.RRSIG: {
      const signer = (rr.data as RRSIGData).signer?.wireLength ?? 1;
      return [Math.min(n, (18 + signer) * 8), n];
    }
    case RRType.NSEC: {
      // After the next-owner name: the type bitmap.
      let off = 0;
      while (off < rr.rdata.length && rr.rdata[off] !== 0) off += rr.rdata[off]! + 1;
      return [Math.min(n, (off + 1) * 8), n];
    }
    case RRType.NSEC3: {
      // hash alg, flags, iterations(2), salt len + salt, hash len + hash, bitmap: flip in the hash or bitmap.
      const saltLen = rr.rdata[4] ?? 0;
      return [Math.min(n, (5 + saltLen) * 8), n];
    }
    case RRType.DS:
      return [Math.min(n, 4 * 8), n];
    case RRType.DNSKEY:
      return [Math.min(n, 4 * 8), n];
    case RRType.TLSA:
      return [Math.min(n, 3 * 8), n];
    default:
      return [0, n];
  }
}

// ---------------------------------------------------------------------------------------------------
// Records to add
// ---------------------------------------------------------------------------------------------------

function hexBytes(rng: Rng, n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) s += randInt(rng, 256).toString(16).padStart(2, '0');
  return s;
}

const ADDED_TYPES = ['A', 'AAAA', 'CNAME', 'TXT', 'NS', 'SOA', 'NSEC', 'TLSA', 'MX', 'DS', 'DNAME', 'DNSKEY'] as const;
type AddedType = (typeof ADDED_TYPES)[number];

/** An unsigned record of `type` at `owner` with attacker data that stays on loopback (the world's 127.X.100.0/24, net.ts). */
function forgedRecord(rng: Rng, ctx: MutationContext, owner: Name, type: AddedType, ttl: number): RR {
  const o = owner.toText();
  const someName = (): string => pick(rng, [...ctx.sameZone, ...ctx.otherSigned, ...ctx.unsigned]).toText();
  const host = 66 + randInt(rng, 34);
  let rdata: string;
  switch (type) {
    case 'A': rdata = worldAddr(100, host); break;
    case 'AAAA': rdata = worldAddr6(100, host); break;
    case 'CNAME': rdata = someName(); break;
    case 'DNAME': rdata = pick(rng, [...ctx.otherSigned, ...ctx.unsigned]).toText(); break;
    case 'TXT': rdata = `"injected ${host}"`; break;
    case 'NS': rdata = pick(rng, ['ns1.nsd.test.', 'ns1.bind.test.', `ns.evil.${ctx.zone.toText() === '.' ? '' : ctx.zone.toText()}`]); break;
    case 'SOA': rdata = `ns1.nsd.test. hostmaster.test. ${1 + randInt(rng, 1_000_000)} 3600 900 604800 ${pick(rng, [0, 300, 86400])}`; break;
    case 'NSEC': rdata = `${someName()} ${pick(rng, ['A RRSIG NSEC', 'NS SOA RRSIG NSEC DNSKEY', 'RRSIG NSEC', 'NS DS RRSIG NSEC', 'CNAME RRSIG NSEC'])}`; break;
    case 'TLSA': rdata = `3 1 1 ${hexBytes(rng, 32)}`; break;
    case 'MX': rdata = `10 ${someName()}`; break;
    case 'DS': rdata = `${randInt(rng, 65536)} 13 2 ${hexBytes(rng, 32)}`; break;
    case 'DNSKEY': rdata = `${pick(rng, [256, 257])} 3 13 ${Buffer.from(hexBytes(rng, 64), 'hex').toString('base64')}`; break;
  }
  return parseRR(`${o} ${ttl} IN ${type} ${rdata}`);
}

/** The added type standing for `type` (a question type), TXT when there is no forged form for it. */
function addedType(type: number): AddedType {
  const t = typeToText(type);
  return (ADDED_TYPES as readonly string[]).includes(t) ? (t as AddedType) : 'TXT';
}

// ---------------------------------------------------------------------------------------------------
// Mutations
// ---------------------------------------------------------------------------------------------------

export interface Mutated {
  /** The mutation family, for statistics: flip-rdata, drop-record, add-rrset, rcode, truncate, ... */
  readonly kind: string;
  /** One line saying exactly what was done. */
  readonly detail: string;
  /** What to answer over UDP (and over TCP unless `tcp` is set): a message or raw bytes. */
  readonly udp: Message | Uint8Array;
  /** What to answer over TCP instead, when it differs (after a truncation: the whole answer). */
  readonly tcp?: Message | Uint8Array;
}

type Attempt = (m: Message, q: Question, rng: Rng, ctx: MutationContext) => Mutated | undefined;

const all = (m: Message): { s: SectionName; i: number; rr: RR }[] =>
  SECTIONS.flatMap((s) => m[s].map((rr, i) => ({ s, i, rr })));

const flipRData: Attempt = (m, _q, rng) => {
  const recs = all(m).filter((r) => r.rr.rdata.length > 0);
  if (recs.length === 0) return undefined;
  for (let tries = 0; tries < 12; tries++) {
    const r = pick(rng, recs);
    const [from, to] = rng() < 0.7 ? payloadBits(r.rr) : [0, r.rr.rdata.length * 8];
    if (to <= from) continue;
    const nbits = weighted(rng, [[1, 6], [2, 2], [8, 1]] as const);
    const first = from + randInt(rng, to - from);
    const bits = nbits === 8 ? Array.from({ length: 8 }, (_, k) => ((first >> 3) << 3) + k) : Array.from({ length: nbits }, (_, k) => Math.min(to - 1, first + k * 7));
    const changed = recordWithBytes(r.rr, r.rr.type, flipBits(r.rr.rdata, bits));
    if (!changed) continue;
    const out = clone(m);
    out[r.s][r.i] = changed.rr;
    const where = r.rr.type === RRType.RRSIG && first >= payloadBits(r.rr)[0] ? ' (signature)' : '';
    return {
      kind: changed.malformed ? 'flip-rdata-malformed' : `flip-rdata-${typeToText(r.rr.type)}`,
      detail: `flip bit(s) ${bits.join(',')} of the RDATA of ${short(r.rr)}${where} in ${r.s}`,
      udp: out,
    };
  }
  return undefined;
};

const dropRecord: Attempt = (m, _q, rng) => {
  const recs = all(m);
  if (recs.length === 0) return undefined;
  const r = pick(rng, recs);
  const out = clone(m);
  out[r.s].splice(r.i, 1);
  return { kind: r.rr.type === RRType.RRSIG ? 'drop-rrsig' : 'drop-record', detail: `drop ${short(r.rr)} from ${r.s}`, udp: out };
};

const dropRRset: Attempt = (m, _q, rng) => {
  const us = units(m);
  if (us.length === 0) return undefined;
  const u = pick(rng, us);
  const mode = weighted(rng, [['whole', 3], ['data', 1], ['sigs', 2]] as const);
  const drop = new Set(mode === 'whole' ? [...u.data, ...u.sigs] : mode === 'data' ? u.data : u.sigs);
  if (drop.size === 0) return undefined;
  const out = clone(m);
  out[u.section] = m[u.section].filter((_, i) => !drop.has(i));
  const what = mode === 'whole' ? 'RRset and its RRSIGs' : mode === 'data' ? 'RRset, keeping its RRSIGs' : 'RRSIGs only';
  return { kind: mode === 'sigs' ? 'strip-rrsigs' : 'drop-rrset', detail: `drop ${unitText(u)}: ${what}`, udp: out };
};

const duplicate: Attempt = (m, _q, rng) => {
  const recs = all(m);
  if (recs.length === 0) return undefined;
  const r = pick(rng, recs);
  const to = rng() < 0.6 ? r.s : pick(rng, SECTIONS);
  const out = clone(m);
  if (to === r.s) out[to].splice(r.i + 1, 0, r.rr);
  else out[to].push(r.rr);
  return { kind: 'duplicate-record', detail: `duplicate ${short(r.rr)} from ${r.s} into ${to}`, udp: out };
};

const moveRRset: Attempt = (m, _q, rng) => {
  const us = units(m);
  if (us.length === 0) return undefined;
  const u = pick(rng, us);
  const to = pick(rng, SECTIONS.filter((s) => s !== u.section));
  const withSigs = rng() < 0.75;
  const moving = new Set(withSigs ? [...u.data, ...u.sigs] : u.data.length ? u.data : u.sigs);
  const out = clone(m);
  const moved = m[u.section].filter((_, i) => moving.has(i));
  out[u.section] = m[u.section].filter((_, i) => !moving.has(i));
  out[to] = rng() < 0.5 ? [...moved, ...out[to]] : [...out[to], ...moved];
  return { kind: 'move-rrset', detail: `move ${unitText(u)}${withSigs ? '' : ' without its RRSIGs'} to ${to}`, udp: out };
};

/** A name to rename an owner to (or to add records at). */
function otherOwner(rng: Rng, q: Question, ctx: MutationContext, from?: Name): { name: Name; where: string } {
  const where = weighted(rng, [['qname', 2], ['same-zone', 4], ['other-zone', 2], ['unsigned-zone', 2], ['case', 1], ['child', 1]] as const);
  const base = from ?? q.name;
  switch (where) {
    case 'qname':
      return { name: q.name, where };
    case 'same-zone':
      return { name: pick(rng, ctx.sameZone), where };
    case 'other-zone':
      return { name: pick(rng, ctx.otherSigned), where };
    case 'unsigned-zone':
      return { name: pick(rng, ctx.unsigned), where };
    case 'case': {
      // The same name with its letters' case flipped (0x20): the same name in DNS.
      const labels = base.labels.map((l) => Uint8Array.from(l, (c) => ((c | 0x20) >= 0x61 && (c | 0x20) <= 0x7a ? c ^ 0x20 : c)));
      return { name: Name.fromLabels(labels), where };
    }
    case 'child':
      return { name: base.prepend(new TextEncoder().encode(pick(rng, ['sub', 'x', '*']))), where };
  }
}

const renameOwner: Attempt = (m, q, rng, ctx) => {
  const us = units(m);
  if (us.length === 0) return undefined;
  const u = pick(rng, us);
  const mode = weighted(rng, [['with-sigs', 3], ['data-only', 1], ['sigs-only', 1]] as const);
  const idx = mode === 'with-sigs' ? [...u.data, ...u.sigs] : mode === 'data-only' ? u.data : u.sigs;
  if (idx.length === 0) return undefined;
  const { name, where } = otherOwner(rng, q, ctx, u.owner);
  if (name.equals(u.owner) && where !== 'case') return undefined;
  const out = clone(m);
  for (const i of idx) out[u.section][i] = { ...m[u.section][i]!, name };
  return { kind: `rename-owner-${where}`, detail: `rename ${unitText(u)} (${mode}) to ${name.toText()}`, udp: out };
};

const RETYPE_TO = [RRType.A, RRType.AAAA, RRType.TXT, RRType.CNAME, RRType.NS, RRType.MX, RRType.TLSA, RRType.DS, RRType.NSEC, RRType.DNSKEY, RRType.SOA, RRType.PTR, 10, 65280];

const retype: Attempt = (m, _q, rng) => {
  const us = units(m).filter((u) => u.data.length > 0);
  if (us.length === 0) return undefined;
  const u = pick(rng, us);
  const type = pick(rng, RETYPE_TO.filter((t) => t !== u.type));
  const sigsToo = rng() < 0.5;
  const out = clone(m);
  let malformed = false;
  for (const i of u.data) {
    const r = recordWithBytes(m[u.section][i]!, type, m[u.section][i]!.rdata);
    if (!r) return undefined;
    malformed ||= r.malformed;
    out[u.section][i] = r.rr;
  }
  if (sigsToo) {
    for (const i of u.sigs) {
      const s = m[u.section][i]!;
      const b = Uint8Array.from(s.rdata);
      b[0] = type >> 8;
      b[1] = type & 0xff;
      out[u.section][i] = recordWithBytes(s, RRType.RRSIG, b)!.rr;
    }
  }
  return {
    kind: malformed ? 'retype-malformed' : 'retype',
    detail: `retype ${unitText(u)} to ${typeToText(type)}${sigsToo ? ' (RRSIG type covered too)' : ''}`,
    udp: out,
  };
};

const swapSigs: Attempt = (m, _q, rng) => {
  const us = units(m).filter((u) => u.sigs.length > 0);
  if (us.length < 2) return undefined;
  const a = pick(rng, us);
  const b = pick(rng, us.filter((u) => u !== a));
  const patchCovered = rng() < 0.5;
  const out = clone(m);
  // a's signatures go to b's place and owner, b's to a's.
  const move = (from: Unit, to: Unit): RR[] => from.sigs.map((i) => {
    const s = m[from.section][i]!;
    let moved: RR = { ...s, name: to.owner };
    if (patchCovered) {
      const bytes = Uint8Array.from(s.rdata);
      bytes[0] = to.type >> 8;
      bytes[1] = to.type & 0xff;
      moved = recordWithBytes(moved, RRType.RRSIG, bytes)!.rr;
    }
    return moved;
  });
  const aSigs = move(a, b);
  const bSigs = move(b, a);
  const drop = new Map<SectionName, Set<number>>(SECTIONS.map((s) => [s, new Set<number>()]));
  for (const i of a.sigs) drop.get(a.section)!.add(i);
  for (const i of b.sigs) drop.get(b.section)!.add(i);
  for (const s of SECTIONS) {
    const list: RR[] = [];
    m[s].forEach((rr, i) => {
      if (!drop.get(s)!.has(i)) list.push(rr);
      // Insert the swapped signatures where the first signature of the other unit was.
      if (s === b.section && i === b.sigs[0]) list.push(...aSigs);
      if (s === a.section && i === a.sigs[0]) list.push(...bSigs);
    });
    out[s] = list;
  }
  return {
    kind: 'swap-rrsigs',
    detail: `swap the RRSIGs of ${unitText(a)} and ${unitText(b)}${patchCovered ? ' (type covered rewritten to match)' : ''}`,
    udp: out,
  };
};

const changeRcode: Attempt = (m, _q, rng) => {
  const to = pick(rng, [Rcode.NOERROR, Rcode.NXDOMAIN, Rcode.SERVFAIL].filter((r) => r !== m.rcode));
  const body = weighted(rng, [['keep', 3], ['clear-answer', 2], ['clear-all', 1]] as const);
  const out = clone(m);
  out.rcode = to;
  if (body !== 'keep') out.answer = [];
  if (body === 'clear-all') {
    out.authority = [];
    out.additional = [];
  }
  return { kind: `rcode-${rcodeToText(to)}`, detail: `rcode ${rcodeToText(m.rcode)} -> ${rcodeToText(to)} (${body})`, udp: out };
};

const headerBits: Attempt = (m, _q, rng) => {
  const bit = weighted(rng, [['aa', 2], ['tc', 2], ['qr', 1], ['ad', 2], ['ra', 1]] as const);
  const out = clone(m);
  switch (bit) {
    case 'aa':
      out.flags.aa = !m.flags.aa;
      return { kind: 'header-aa', detail: `AA ${m.flags.aa ? 'cleared' : 'set'}`, udp: out };
    case 'tc':
      // TC over UDP on a complete answer: the client should ask again over TCP, where the answer is untouched.
      out.flags.tc = true;
      return { kind: 'header-tc', detail: 'TC set over UDP on the complete answer (TCP answer untouched)', udp: out, tcp: m };
    case 'qr':
      out.flags.qr = false;
      return { kind: 'header-qr', detail: 'QR cleared (the answer looks like a query)', udp: out };
    case 'ad':
      out.flags.ad = !m.flags.ad;
      return { kind: 'header-ad', detail: `AD ${m.flags.ad ? 'cleared' : 'set'} by the upstream`, udp: out };
    case 'ra':
      out.flags.ra = !m.flags.ra;
      return { kind: 'header-ra', detail: `RA ${m.flags.ra ? 'cleared' : 'set'}`, udp: out };
  }
};

const addRRset: Attempt = (m, q, rng, ctx) => {
  const { name, where } = rng() < 0.45 ? { name: q.name, where: 'qname' } : otherOwner(rng, q, ctx);
  // At the question name, often the question's type: a forged record joining (or beside) the signed RRset.
  const type = name.equals(q.name) && rng() < 0.4 ? addedType(q.type) : pick(rng, ADDED_TYPES);
  const count = rng() < 0.8 ? 1 : 2;
  const ttl = pick(rng, [60, 300, 3600, 86400]);
  const recs: RR[] = [];
  for (let i = 0; i < count; i++) recs.push(forgedRecord(rng, ctx, name, type, ttl));
  // Sometimes with a borrowed signature: an RRSIG of the answer renamed to the new owner and type.
  const sigs = all(m).filter((r) => r.rr.type === RRType.RRSIG);
  let sigNote = '';
  if (sigs.length > 0 && rng() < 0.3) {
    const s = pick(rng, sigs).rr;
    const b = Uint8Array.from(s.rdata);
    b[0] = recs[0]!.type >> 8;
    b[1] = recs[0]!.type & 0xff;
    recs.push(recordWithBytes({ ...s, name, ttl }, RRType.RRSIG, b)!.rr);
    sigNote = ' with a borrowed RRSIG';
  }
  const section = weighted(rng, [['answer', 6], ['authority', 3], ['additional', 2]] as const);
  const front = rng() < 0.4;
  const out = clone(m);
  out[section] = front ? [...recs, ...m[section]] : [...m[section], ...recs];
  return {
    kind: `add-rrset-${where}`,
    detail: `add ${count} unsigned ${typeToText(recs[0]!.type)} at ${name.toText()}${sigNote} to the ${front ? 'front' : 'end'} of ${section}: ${short(recs[0]!)}`,
    udp: out,
  };
};

/**
 * Issue 9's attack: an unsigned CNAME from the question name to a target of the attacker's choice and the
 * target's records (of the question type), put in front of (or after, or instead of) the genuine answer. A
 * DNAME variant redirects the question name's parent instead, with the synthesized CNAME.
 */
const forgeChain: Attempt = (m, q, rng, ctx) => {
  const where = weighted(rng, [['evil', 3], ['unsigned-zone', 2], ['other-zone', 2], ['same-zone', 1]] as const);
  const zoneText = ctx.zone.isRoot() ? '' : ctx.zone.toText();
  const target = where === 'evil' ? Name.fromText(pick(rng, ['www.evil.insecure.test.', `evil.${zoneText}`, 'www.evil.'])) :
    where === 'unsigned-zone' ? pick(rng, ctx.unsigned) : where === 'other-zone' ? pick(rng, ctx.otherSigned) : pick(rng, ctx.sameZone);
  const ttl = pick(rng, [60, 300, 3600]);
  const recs: RR[] = [];
  let what: string;
  const parent = q.name.labelCount > ctx.zone.labelCount ? q.name.parent() : undefined;
  if (parent && rng() < 0.2) {
    // DNAME at the parent of the question name, to the target's parent; the CNAME it synthesizes.
    const to = target.labelCount > 1 ? target.parent() : target;
    const first = q.name.labels[0]!;
    const synth = to.prepend(first);
    recs.push(parseRR(`${parent.toText()} ${ttl} IN DNAME ${to.toText()}`));
    recs.push(parseRR(`${q.name.toText()} ${ttl} IN CNAME ${synth.toText()}`));
    recs.push(forgedRecord(rng, ctx, synth, addedType(q.type), ttl));
    what = `DNAME ${parent.toText()} -> ${to.toText()}, CNAME and ${typeToText(q.type)} at ${synth.toText()}`;
  } else {
    recs.push(parseRR(`${q.name.toText()} ${ttl} IN CNAME ${target.toText()}`));
    recs.push(forgedRecord(rng, ctx, target, addedType(q.type), ttl));
    what = `CNAME ${q.name.toText()} -> ${target.toText()} and ${short(recs[1]!)}`;
  }
  const how = weighted(rng, [['front', 5], ['end', 2], ['replace', 2]] as const);
  const out = clone(m);
  out.answer = how === 'front' ? [...recs, ...m.answer] : how === 'end' ? [...m.answer, ...recs] : recs;
  if (how === 'replace' && rng() < 0.5) out.rcode = Rcode.NOERROR;
  return { kind: `forge-chain-${where}`, detail: `${how === 'replace' ? 'replace the answer with' : `${how}:`} unsigned ${what}`, udp: out };
};

const addSigned: Attempt = (m, _q, rng, ctx) => {
  if (ctx.replay.length === 0) return undefined;
  const set = pick(rng, ctx.replay);
  const section = weighted(rng, [['answer', 5], ['authority', 3], ['additional', 2]] as const);
  const out = clone(m);
  out[section] = rng() < 0.5 ? [...set, ...m[section]] : [...m[section], ...set];
  return { kind: 'replay-signed', detail: `add the genuine signed RRset ${short(set[0]!)} (+${set.length - 1}) to ${section}`, udp: out };
};

const changeTtl: Attempt = (m, _q, rng) => {
  const us = units(m);
  if (us.length === 0) return undefined;
  const scope = weighted(rng, [['rrset', 3], ['one-record', 1], ['everything', 1]] as const);
  const ttl = pick(rng, [0, 1, 7 * 86400, 0x7fffffff, 0x80000000, 0xffffffff]);
  const out = clone(m);
  let what: string;
  if (scope === 'everything') {
    for (const s of SECTIONS) out[s] = m[s].map((rr) => ({ ...rr, ttl }));
    what = 'every record';
  } else {
    const u = pick(rng, us);
    const idx = scope === 'rrset' ? [...u.data, ...u.sigs] : [pick(rng, [...u.data, ...u.sigs])];
    for (const i of idx) out[u.section][i] = { ...m[u.section][i]!, ttl };
    what = scope === 'rrset' ? unitText(u) : `one record of ${unitText(u)}`;
  }
  return { kind: 'ttl', detail: `TTL of ${what} set to ${ttl}`, udp: out };
};

const truncate: Attempt = (m, _q, rng) => {
  const mode = weighted(rng, [['cut-tc', 3], ['drop-tail-tc', 3], ['cut-no-tc', 1]] as const);
  if (mode === 'drop-tail-tc') {
    // A well-formed truncated answer: whole records cut from the end, TC set; the TCP answer is complete.
    const recs = all(m);
    const keep = randInt(rng, Math.max(1, recs.length));
    const out = clone(m);
    const kept = new Set(recs.slice(0, keep).map((r) => `${r.s}:${r.i}`));
    for (const s of SECTIONS) out[s] = m[s].filter((_, i) => kept.has(`${s}:${i}`));
    out.flags.tc = true;
    return { kind: 'truncate-records', detail: `keep the first ${keep} of ${recs.length} records, TC set (TCP answer untouched)`, udp: out, tcp: m };
  }
  const bytes = serializeMessage(m).bytes;
  const cut = 12 + randInt(rng, Math.max(1, bytes.length - 12));
  const udp = bytes.slice(0, cut);
  if (mode === 'cut-tc') udp[2]! |= 0x02;
  return {
    kind: mode === 'cut-tc' ? 'truncate-bytes-tc' : 'truncate-bytes',
    detail: `wire cut to ${cut} of ${bytes.length} octets${mode === 'cut-tc' ? ', TC set (TCP answer untouched)' : ', TC not set'}`,
    udp,
    ...(mode === 'cut-tc' ? { tcp: m } : {}),
  };
};

const emptySection: Attempt = (m, _q, rng) => {
  const s = weighted(rng, [['answer', 3], ['authority', 2]] as const);
  if (m[s].length === 0) return undefined;
  const out = clone(m);
  out[s] = [];
  return { kind: `empty-${s}`, detail: `remove all ${m[s].length} records of ${s}`, udp: out };
};

const ATTEMPTS: readonly (readonly [Attempt, number])[] = [
  [flipRData, 16],
  [dropRecord, 5],
  [dropRRset, 6],
  [duplicate, 4],
  [moveRRset, 6],
  [renameOwner, 8],
  [retype, 4],
  [swapSigs, 4],
  [changeRcode, 6],
  [headerBits, 4],
  [addRRset, 16],
  [forgeChain, 8],
  [addSigned, 5],
  [changeTtl, 5],
  [truncate, 4],
  [emptySection, 3],
];

/**
 * One mutation of `answer` (the genuine upstream answer to `question`, ideally through `normalizeAnswer`),
 * chosen and carried out with `rng`. Never returns the answer unchanged: a family that does not apply
 * (no RRSIG to swap, no record to drop) is replaced by another draw.
 */
export function mutate(answer: Message, question: Question, rng: Rng, ctx: MutationContext): Mutated {
  for (let i = 0; i < 20; i++) {
    const attempt = weighted(rng, ATTEMPTS);
    const out = attempt(answer, question, rng, ctx);
    if (out) return out;
  }
  // Always applicable.
  return changeRcode(answer, question, rng, ctx)!;
}

/** A question (for logs): "name TYPE". */
export function questionText(q: Question): string {
  return `${q.name.toText()} ${typeToText(q.type)}${q.class === RRClass.IN ? '' : ` CLASS${q.class}`}`;
}
