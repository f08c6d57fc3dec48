/**
 * NSEC3 denial-of-existence proofs (RFC 5155 §8, RFC 9276). `records` are NSEC3 RRs whose
 * signatures the caller verified, all from `zone`. Every name hashed costs one
 * `budget.spendNsec3Hash()`; the iteration limit is checked before any hashing.
 */
import { nsec3Hash } from '../crypto/index.js';
import {
  Name, RRType, bytesEqual, compareBytes, fromBase32hex, typeToText, type NSEC3Data, type RR,
} from '../wire/index.js';
import { ProofOutcome, nodataBitmapProblem, wildcardAt, type DenialResult } from './proof.js';
import type { ProofKind, ValidationContext } from './types.js';

const OPT_OUT = 0x01;
const SHA1 = 1;

interface N3 {
  rr: RR<NSEC3Data>;
  /** The owner's first label, base32hex-decoded. */
  hash: Uint8Array;
}

/** Thrown inside a proof when the NSEC3 hash budget runs out. */
class HashBudgetExhausted extends Error {}

/** The usable NSEC3 records of one proof, with their shared parameters and a hash cache. */
class Nsec3Set {
  private readonly cache = new Map<string, Uint8Array>();
  constructor(
    readonly list: N3[],
    private readonly salt: Uint8Array,
    private readonly iterations: number,
    private readonly ctx: ValidationContext,
  ) {}

  hash(name: Name): Uint8Array {
    const key = name.key;
    const hit = this.cache.get(key);
    if (hit) return hit;
    if (!this.ctx.budget.spendNsec3Hash(1)) throw new HashBudgetExhausted();
    const h = nsec3Hash(name.toWire(true), this.salt, this.iterations, SHA1);
    if (!h) throw new Error(`NSEC3 hash of ${name.toText()} failed`);
    this.cache.set(key, h);
    return h;
  }

  matching(name: Name): N3 | undefined {
    const h = this.hash(name);
    return this.list.find((n) => bytesEqual(n.hash, h));
  }

  covering(name: Name): N3 | undefined {
    const h = this.hash(name);
    return this.list.find((n) => nsec3CoversHash(n.hash, n.rr.data.nextHashed, h));
  }
}

/** owner < h < next, or past the last owner / before the first with the chain wrapping around. */
export function nsec3CoversHash(owner: Uint8Array, next: Uint8Array, h: Uint8Array): boolean {
  if (compareBytes(owner, next) < 0) return compareBytes(owner, h) < 0 && compareBytes(h, next) < 0;
  return compareBytes(owner, h) < 0 || compareBytes(h, next) < 0;
}

/** Decoded owner hashes of records seen before (the RFC 8198 store hands the same records to every proof). */
const ownerHashes = new WeakMap<RR<NSEC3Data>, Uint8Array | null>();

function decodeOwner(rr: RR<NSEC3Data>): Uint8Array | undefined {
  const memo = ownerHashes.get(rr);
  if (memo !== undefined) return memo ?? undefined;
  const h = decodeOwnerUncached(rr);
  ownerHashes.set(rr, h ?? null);
  return h;
}

function decodeOwnerUncached(rr: RR<NSEC3Data>): Uint8Array | undefined {
  const label = rr.name.labels[0];
  if (!label) return undefined;
  try {
    const h = fromBase32hex(Buffer.from(label).toString('latin1'), 'NSEC3 owner');
    return h.length === rr.data.nextHashed.length ? h : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Pick the NSEC3 records a proof may use (RFC 5155 §8.1/§8.2): owner one label below the zone,
 * flags 0 or 1 (Opt-Out), hash algorithm 1, all with the same iterations and salt. Returns a
 * result instead when no proof can be made (missing, unknown hash algorithm, too many iterations).
 */
function prepare(records: readonly RR[], zone: Name, ctx: ValidationContext, out: ProofOutcome): Nsec3Set | DenialResult {
  const candidates = records.filter(
    (r): r is RR<NSEC3Data> => r.type === RRType.NSEC3 && r.name.labelCount === zone.labelCount + 1 && r.name.isSubdomainOf(zone),
  );
  const known: N3[] = [];
  let unknownAlg: number | undefined;
  for (const rr of candidates) {
    if ((rr.data.flags & ~OPT_OUT) !== 0) continue;
    if (rr.data.hashAlgorithm !== SHA1) {
      unknownAlg ??= rr.data.hashAlgorithm;
      continue;
    }
    const hash = decodeOwner(rr);
    if (hash) known.push({ rr, hash });
  }
  if (known.length === 0) {
    if (unknownAlg !== undefined) {
      return out.insecure({ kind: 'nsec3-hash-algorithm', zone: zone.toText(), algorithm: unknownAlg }, `NSEC3 hash algorithm ${unknownAlg}`);
    }
    return out.missing('no usable NSEC3 records');
  }
  const first = known[0]!.rr.data;
  if (known.some((n) => n.rr.data.iterations !== first.iterations || !bytesEqual(n.rr.data.salt, first.salt))) {
    return out.invalid('NSEC3 records with different parameters');
  }
  const limit = ctx.limits.maxNsec3Iterations;
  if (first.iterations > limit) {
    return out.insecure(
      { kind: 'nsec3-iterations', zone: zone.toText(), iterations: first.iterations, limit }, `NSEC3 iterations ${first.iterations} > ${limit}`,
    );
  }
  return new Nsec3Set(known, first.salt, first.iterations, ctx);
}

const has = (n: N3, t: number): boolean => n.rr.data.types.includes(t);
const optOut = (n: N3): boolean => (n.rr.data.flags & OPT_OUT) !== 0;
const ownerText = (n: N3): string => n.rr.name.labels[0] ? Buffer.from(n.rr.name.labels[0]).toString('latin1').toLowerCase() : '?';

type Encloser =
  | { kind: 'exists'; match: N3 }
  | { kind: 'proven'; ce: Name; ceRec: N3; nextCloser: Name; ncRec: N3 }
  | { kind: 'missing' | 'invalid'; detail: string };

/** The closest encloser proof of RFC 5155 §8.3. */
function closestEncloser(set: Nsec3Set, qname: Name, zone: Name): Encloser {
  if (!qname.isSubdomainOf(zone)) return { kind: 'invalid', detail: `${qname.toText()} is not in the zone ${zone.toText()}` };
  let n = qname;
  for (;;) {
    const m = set.matching(n);
    if (m) {
      if (n.equals(qname)) return { kind: 'exists', match: m };
      if (has(m, RRType.NS) && !has(m, RRType.SOA)) return { kind: 'invalid', detail: `the closest encloser ${n.toText()} is a delegation` };
      if (has(m, RRType.DNAME)) return { kind: 'invalid', detail: `the closest encloser ${n.toText()} has a DNAME` };
      const nextCloser = qname.suffix(n.labelCount + 1);
      const ncRec = set.covering(nextCloser);
      if (!ncRec) return { kind: 'missing', detail: `no NSEC3 covers the next closer name ${nextCloser.toText()}` };
      return { kind: 'proven', ce: n, ceRec: m, nextCloser, ncRec };
    }
    if (n.labelCount <= zone.labelCount) return { kind: 'missing', detail: `no NSEC3 matches an ancestor of ${qname.toText()}` };
    n = n.parent();
  }
}

/** Run a proof body, turning an exhausted hash budget into bogus budget-exceeded. */
function run(
  proof: ProofKind, qname: Name, qtype: number, records: readonly RR[], zone: Name, ctx: ValidationContext,
  body: (set: Nsec3Set, out: ProofOutcome) => DenialResult,
): DenialResult {
  const out = new ProofOutcome('nsec3', proof, qname, qtype);
  const set = prepare(records, zone, ctx, out);
  if (!(set instanceof Nsec3Set)) return set;
  try {
    return body(set, out);
  } catch (e) {
    if (!(e instanceof HashBudgetExhausted)) throw e;
    const limit = ctx.limits.maxNsec3HashesPerQuery;
    return out.bogus({ kind: 'budget-exceeded', what: 'nsec3-hashes', limit }, `NSEC3 hash budget of ${limit} exhausted`);
  }
}

function encloserFailure(enc: Extract<Encloser, { kind: 'missing' | 'invalid' }>, out: ProofOutcome): DenialResult {
  return enc.kind === 'missing' ? out.missing(enc.detail) : out.invalid(enc.detail);
}

/** NXDOMAIN (RFC 5155 §8.4): closest encloser, next closer covered, wildcard at the encloser covered. */
export function nsec3ProveNxdomain(qname: Name, records: RR[], zone: Name, ctx: ValidationContext): DenialResult {
  return run('nxdomain', qname, 0, records, zone, ctx, (set, out) => {
    const enc = closestEncloser(set, qname, zone);
    if (enc.kind === 'exists') return out.invalid(`NSEC3 ${ownerText(enc.match)} matches ${qname.toText()}: the name exists`);
    if (enc.kind !== 'proven') return encloserFailure(enc, out);
    const wc = wildcardAt(enc.ce);
    if (set.matching(wc)) return out.invalid(`the wildcard ${wc.toText()} exists`);
    const wcRec = set.covering(wc);
    if (!wcRec) return out.missing(`no NSEC3 covers the wildcard ${wc.toText()}`);
    const detail = `closest encloser ${enc.ce.toText()}, next closer ${enc.nextCloser.toText()} covered by ${ownerText(enc.ncRec)}`;
    if (optOut(enc.ncRec)) return out.insecure({ kind: 'opt-out', zone: zone.toText() }, `${detail} (Opt-Out)`);
    return out.secure(`${detail}, ${wc.toText()} covered by ${ownerText(wcRec)}`, { closestEncloser: enc.ce, used: [enc.ceRec.rr, enc.ncRec.rr, wcRec.rr] });
  });
}

/** NODATA (RFC 5155 §8.5-§8.7): matching NSEC3 without the type, wildcard NODATA, or DS under Opt-Out. */
export function nsec3ProveNodata(qname: Name, qtype: number, records: RR[], zone: Name, ctx: ValidationContext): DenialResult {
  return run('nodata', qname, qtype, records, zone, ctx, (set, out) => {
    const enc = closestEncloser(set, qname, zone);
    if (enc.kind === 'exists') {
      const problem = nodataBitmapProblem(enc.match.rr.data.types, qtype, qname);
      if (problem) return out.invalid(`NSEC3 ${ownerText(enc.match)} for ${qname.toText()}: ${problem}`);
      return out.secure(`NSEC3 ${ownerText(enc.match)} matches ${qname.toText()} without ${typeToText(qtype)}`, { used: [enc.match.rr] });
    }
    if (enc.kind !== 'proven') return encloserFailure(enc, out);
    const wc = wildcardAt(enc.ce);
    const wcRec = set.matching(wc);
    if (wcRec) {
      const wout = new ProofOutcome('nsec3', 'wildcard-nodata', qname, qtype);
      const problem = nodataBitmapProblem(wcRec.rr.data.types, qtype, qname);
      if (problem) return wout.invalid(`NSEC3 ${ownerText(wcRec)} for ${wc.toText()}: ${problem}`);
      // RFC 5155 §9.2: an Opt-Out span over the next closer may hide an unsigned delegation there.
      if (optOut(enc.ncRec)) {
        return wout.insecure(
          { kind: 'opt-out', zone: zone.toText() }, `next closer ${enc.nextCloser.toText()} covered by Opt-Out NSEC3 ${ownerText(enc.ncRec)}`,
        );
      }
      return wout.secure(`closest encloser ${enc.ce.toText()}, ${wc.toText()} matched by ${ownerText(wcRec)} without ${typeToText(qtype)}`, {
        closestEncloser: enc.ce, used: [enc.ceRec.rr, enc.ncRec.rr, wcRec.rr],
      });
    }
    // No match for qname or the wildcard: only an Opt-Out span can explain it (§8.6 for DS; for other
    // types the name may lie under an unsigned delegation in the span).
    if (optOut(enc.ncRec)) {
      return out.insecure(
        { kind: 'opt-out', zone: zone.toText() }, `next closer ${enc.nextCloser.toText()} covered by Opt-Out NSEC3 ${ownerText(enc.ncRec)}`,
      );
    }
    return out.invalid(`no NSEC3 matches ${qname.toText()} or ${wc.toText()} and the next closer span is not Opt-Out`);
  });
}

/** Wildcard answer (RFC 5155 §8.8): the next closer name below the wildcard's closest encloser is covered. */
export function nsec3ProveWildcardAnswer(qname: Name, ce: Name, records: RR[], zone: Name, ctx: ValidationContext): DenialResult {
  return run('wildcard', qname, 0, records, zone, ctx, (set, out) => {
    if (!qname.isSubdomainOf(ce) || qname.labelCount <= ce.labelCount || !ce.isSubdomainOf(zone)) {
      return out.invalid(`${qname.toText()} is not below the closest encloser ${ce.toText()} in ${zone.toText()}`);
    }
    const nextCloser = qname.suffix(ce.labelCount + 1);
    if (set.matching(nextCloser)) return out.invalid(`the next closer name ${nextCloser.toText()} exists`);
    const nc = set.covering(nextCloser);
    if (!nc) return out.missing(`no NSEC3 covers the next closer name ${nextCloser.toText()}`);
    // RFC 5155 §9.2: under an Opt-Out span the name may belong to an unsigned delegation: not provably secure.
    if (optOut(nc)) {
      return out.insecure({ kind: 'opt-out', zone: zone.toText() }, `next closer ${nextCloser.toText()} covered by Opt-Out NSEC3 ${ownerText(nc)}`);
    }
    return out.secure(`next closer ${nextCloser.toText()} covered by ${ownerText(nc)}`, { closestEncloser: ce, used: [nc.rr] });
  });
}

/** No DS at `name`: matching NSEC3 with NS and without DS/SOA; Opt-Out span -> insecure. */
export function nsec3ProveNoDs(name: Name, records: RR[], zone: Name, ctx: ValidationContext): DenialResult {
  return run('no-ds', name, RRType.DS, records, zone, ctx, (set, out) => {
    const enc = closestEncloser(set, name, zone);
    if (enc.kind === 'exists') {
      const m = enc.match;
      const at = `NSEC3 ${ownerText(m)} for ${name.toText()}`;
      if (has(m, RRType.DS)) return out.invalid(`${at} lists DS`);
      if (has(m, RRType.SOA) && !name.isRoot()) return out.invalid(`${at} is from the child zone apex (SOA set)`);
      if (has(m, RRType.CNAME)) return out.invalid(`${at} lists CNAME`);
      if (has(m, RRType.NS)) return out.secure(`${at}: delegation without DS`);
      return out.secure(`${at}: no NS, not a delegation`, { notDelegation: true });
    }
    if (enc.kind !== 'proven') return encloserFailure(enc, out);
    if (optOut(enc.ncRec)) {
      return out.insecure(
        { kind: 'opt-out', zone: zone.toText() }, `next closer ${enc.nextCloser.toText()} covered by Opt-Out NSEC3 ${ownerText(enc.ncRec)}`,
      );
    }
    return out.secure(`closest encloser ${enc.ce.toText()}: ${name.toText()} does not exist`, { notDelegation: true });
  });
}
