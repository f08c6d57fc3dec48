/**
 * The start-up self-test's signed tree, built in memory with fresh keys: a private root zone (its own
 * key, RSASHA256 like the real root's) delegating securely to `invalid.`, which delegates to
 * `warmup.invalid.` (RFC 6761: never resolvable), which delegates securely to one child per algorithm,
 * each child holding an apex, a host, a wildcard and an NSEC chain, plus one child `n3` denied by
 * NSEC3 (no salt, no extra iterations: RFC 9276). Insecure delegations, as most mail domains have:
 * `u1.warmup.invalid.` (no DS, denied by NSEC) and `u3.n3.warmup.invalid.` (denied by NSEC3), both
 * unsigned zones. CNAMEs in the first child: `alias` to the second child's host (secure to secure,
 * across zones) and `ualias` to u1's host (secure to insecure). And `answer()`, an authoritative
 * view of it as a DNSSEC-aware upstream would give it (RRSIGs, NSEC proofs, SOA for negative answers,
 * wildcard expansions). Nothing here touches the network.
 *
 * The private root makes the self-test's chains look like real ones (root, TLD, zone): names with no
 * labels, DS records at the root, keys of three levels. V8 optimizes the code for what the self-test
 * shows it; a tree without the root name left functions such as Name#equals to be de-optimized by the
 * first real query (seen with --trace-deopt).
 */
import { generateSigningKey, type SigningKey } from '../crypto/sign.js';
import { dsDigest, nsec3Hash } from '../crypto/hash.js';
import {
  Name, RRType, Rcode, base32hex, compareBytes, dsDigestInput, keyTag, makeRR, makeRrsig,
  type DNSKEYData, type DSData, type NSEC3Data, type NSECData, type Question, type RR, type RRSIGData, type SOAData,
} from '../wire/index.js';

export const SELFTEST_APEX = Name.fromText('warmup.invalid.');
/** The zones above the children, top first (each delegates to the next, the last to the children). */
const UPPER_ZONES: readonly { apex: Name; algorithm: number }[] = [
  { apex: Name.root, algorithm: 8 },
  { apex: Name.fromText('invalid.'), algorithm: 13 },
  { apex: SELFTEST_APEX, algorithm: 13 },
];

/** Algorithms of the children (RSA at 1024 bits: its code path is the same at any size). */
export const SELFTEST_ALGORITHMS: readonly number[] = [8, 13, 14, 15, 16];

interface SignedSet {
  rrs: RR[];
  sigs: RR<RRSIGData>[];
}

class Zone {
  /** RRsets by owner key, then type. */
  readonly sets = new Map<string, Map<number, SignedSet>>();
  /** NSEC RRsets in canonical order of their owners. */
  nsecs: SignedSet[] = [];
  /** The zone's DNSKEY; undefined for an unsigned zone (below an insecure delegation). */
  readonly dnskey: RR<DNSKEYData> | undefined;
  readonly tag: number;

  constructor(readonly apex: Name, readonly key: SigningKey | undefined, private readonly now: number, private readonly corrupt = false) {
    this.dnskey = key && makeRR<DNSKEYData>(apex, RRType.DNSKEY, 3600, { flags: 257, protocol: 3, algorithm: key.algorithm, publicKey: key.dnskey });
    this.tag = this.dnskey ? keyTag(this.dnskey.rdata) : 0;
  }

  /** Add an RRset, signed unless `unsigned` (delegation NS) or the zone is. */
  add(rrs: RR[], unsigned = false): void {
    const first = rrs[0]!;
    let byType = this.sets.get(first.name.key);
    if (!byType) this.sets.set(first.name.key, (byType = new Map()));
    byType.set(first.type, { rrs, sigs: unsigned || !this.key ? [] : [this.sign(rrs)] });
  }

  sign(rrs: RR[]): RR<RRSIGData> {
    const key = this.key!;
    const s = Math.floor(this.now / 1000);
    return makeRrsig(rrs, { algorithm: key.algorithm, keyTag: this.tag, signer: this.apex, inception: s - 3600, expiration: s + 7 * 86400 }, (data) => {
      const signature = key.sign(data);
      if (this.corrupt) signature[signature.length >> 1]! ^= 0x01;
      return signature;
    });
  }

  /** The NSEC chain over every owner (delegations included), signed. */
  chain(): void {
    const owners = [...this.sets.values()].map((m) => [...m.values()][0]!.rrs[0]!.name).sort((a, b) => a.compare(b));
    this.nsecs = owners.map((owner, i) => {
      const types = [...this.sets.get(owner.key)!.keys(), RRType.RRSIG, RRType.NSEC].sort((a, b) => a - b);
      const next = owners[(i + 1) % owners.length]!;
      const rr = makeRR<NSECData>(owner, RRType.NSEC, 300, { next, types });
      const set = { rrs: [rr], sigs: [this.sign([rr])] };
      this.sets.get(owner.key)!.set(RRType.NSEC, set);
      return set;
    });
  }

  /** NSEC3 RRsets (hash, set) sorted by hash; set for an NSEC3 zone. */
  nsec3s: { hash: Uint8Array; set: SignedSet }[] | undefined;

  /** The NSEC3 chain over every owner and empty non-terminal (RFC 5155 §7.1), signed. */
  chain3(): void {
    const owners = [...this.sets.values()].map((m) => [...m.values()][0]!.rrs[0]!.name);
    const all = new Map<string, Name>();
    for (const o of owners) for (let n = o; n.labelCount >= this.apex.labelCount; n = n.parent()) all.set(n.key, n);
    const hashed = [...all.values()].map((n) => ({ name: n, hash: this.hash(n) })).sort((a, b) => compareBytes(a.hash, b.hash));
    this.nsec3s = hashed.map((h, i) => {
      const here = this.sets.get(h.name.key);
      // RRSIG only where something is signed: not at an insecure delegation (NS alone, unsigned).
      const types = here ? [...here.keys(), ...([...here.values()].some((set) => set.sigs.length > 0) ? [RRType.RRSIG] : [])] : [];
      if (h.name.equals(this.apex)) types.push(RRType.NSEC3PARAM);
      const owner = Name.fromText(base32hex(h.hash), this.apex);
      const rr = makeRR<NSEC3Data>(owner, RRType.NSEC3, 300, {
        hashAlgorithm: 1, flags: 0, iterations: 0, salt: new Uint8Array(0), nextHashed: hashed[(i + 1) % hashed.length]!.hash,
        types: types.sort((a, b) => a - b),
      });
      return { hash: h.hash, set: { rrs: [rr], sigs: [this.sign([rr])] } };
    });
    this.add([makeRR(this.apex, RRType.NSEC3PARAM, 0, { hashAlgorithm: 1, flags: 0, iterations: 0, salt: new Uint8Array(0) })]);
  }

  hash(name: Name): Uint8Array {
    return nsec3Hash(name.toWire(true), new Uint8Array(0), 0)!;
  }

  /** The NSEC3 matching `name`'s hash, or else the one covering it. */
  nsec3For(name: Name): SignedSet {
    const h = this.hash(name);
    const list = this.nsec3s!;
    let found = list[list.length - 1]!;
    for (const e of list) {
      if (compareBytes(e.hash, h) <= 0) found = e;
      else break;
    }
    return found.set;
  }

  /** Whether `name` exists in the zone: an owner, or an empty non-terminal above one. */
  exists(name: Name): boolean {
    if (this.sets.has(name.key)) return true;
    for (const byType of this.sets.values()) if ([...byType.values()][0]!.rrs[0]!.name.isSubdomainOf(name)) return true;
    return false;
  }

  /** The NSEC whose owner is the last at or before `name` in canonical order. */
  cover(name: Name): SignedSet {
    let found = this.nsecs[this.nsecs.length - 1]!;
    for (const n of this.nsecs) {
      if (n.rrs[0]!.name.compare(name) <= 0) found = n;
      else break;
    }
    return found;
  }
}

const rrsOf = (s: SignedSet | undefined): RR[] => (s ? [...s.rrs, ...s.sigs] : []);
/** The RRset of the type at a name, or else its CNAME (an authoritative server answers with the CNAME). */
const typeOrCname = (byType: Map<number, SignedSet>, type: number): SignedSet | undefined =>
  byType.get(type) ?? (type === RRType.CNAME ? undefined : byType.get(RRType.CNAME));
const uniq = (rrs: RR[]): RR[] => [...new Set(rrs)];

export interface TreeAnswer {
  rcode: number;
  answer: RR[];
  authority: RR[];
}

/** A delegation: the child's NS, unsigned, in the parent, and its DS (SHA-256) when the child is signed. */
function delegate(parent: Zone, child: Zone): void {
  if (child.dnskey && child.key) {
    const digest = dsDigest(2, dsDigestInput(child.dnskey))!;
    parent.add([makeRR<DSData>(child.apex, RRType.DS, 3600, { keyTag: child.tag, algorithm: child.key.algorithm, digestType: 2, digest })]);
  }
  parent.add([makeRR(child.apex, RRType.NS, 3600, { target: Name.fromText('ns', child.apex) })], true);
}

export class SelfTestTree {
  private readonly zones: Zone[] = [];
  /** The trust anchor's zone: the private root. */
  readonly anchorZone: Name = Name.root;
  /** The anchor: the private root's DNSKEY. */
  readonly anchor: RR<DNSKEYData>;
  /** Child zone apexes, one per algorithm. */
  readonly children: Name[];
  /** Apexes of the unsigned zones below insecure delegations (NSEC-denied DS, NSEC3-denied DS). */
  readonly insecure: Name[] = [];
  /** CNAMEs in the first child: to the second child's host (secure) and to an unsigned zone's host (insecure). */
  readonly aliases: { secure: Name; insecure: Name };

  /** `corrupt`: a child label (e.g. "a13") whose signatures are all made invalid (for the self-test's own tests). */
  constructor(now: number, algorithms: readonly number[] = SELFTEST_ALGORITHMS, corrupt?: string) {
    const upper = UPPER_ZONES.map((z) => new Zone(z.apex, generateSigningKey(z.algorithm), now));
    const parent = upper[upper.length - 1]!;
    this.anchor = upper[0]!.dnskey!;
    this.children = [];
    const v4 = (a: string): { address: string } => ({ address: a });
    const fill = (z: Zone): void => {
      const apex = z.apex;
      const ns = apex.prepend(new TextEncoder().encode('ns'));
      z.add([makeRR<SOAData>(apex, RRType.SOA, 300, { mname: ns, rname: apex.prepend(new TextEncoder().encode('hostmaster')), serial: 1, refresh: 3600, retry: 900, expire: 604800, minimum: 300 })]);
      z.add([makeRR(apex, RRType.NS, 3600, { target: ns })]);
      if (z.dnskey) z.add([z.dnskey]);
      z.add([makeRR(ns, RRType.A, 3600, v4('192.0.2.53'))]);
      z.add([makeRR(Name.fromText('www', apex), RRType.A, 3600, v4('192.0.2.1'))]);
      z.add([makeRR(Name.fromText('*.wild', apex), RRType.A, 3600, v4('192.0.2.2'))]);
    };
    const specs = [...algorithms.map((alg) => ({ label: `a${alg}`, alg, nsec3: false })), { label: 'n3', alg: 13, nsec3: true }];
    const unsigned = (apex: Name, parentZone: Zone): Zone => {
      const z = new Zone(apex, undefined, now);
      fill(z);
      delegate(parentZone, z);
      this.zones.push(z);
      this.insecure.push(apex);
      return z;
    };
    const u1 = unsigned(Name.fromText('u1', SELFTEST_APEX), parent);
    const childApex = (i: number): Name => Name.fromText(specs[i % specs.length]!.label, SELFTEST_APEX);
    this.aliases = { secure: Name.fromText('alias', childApex(0)), insecure: Name.fromText('ualias', childApex(0)) };
    for (const { label, alg, nsec3 } of specs) {
      const child = new Zone(Name.fromText(label, SELFTEST_APEX), generateSigningKey(alg), now, label === corrupt);
      fill(child);
      if (nsec3) unsigned(Name.fromText('u3', child.apex), child);
      if (child.apex.equals(childApex(0))) {
        child.add([makeRR(this.aliases.secure, RRType.CNAME, 3600, { target: Name.fromText('www', childApex(1)) })]);
        child.add([makeRR(this.aliases.insecure, RRType.CNAME, 3600, { target: Name.fromText('www', u1.apex) })]);
      }
      if (nsec3) child.chain3();
      else child.chain();
      this.zones.push(child);
      this.children.push(child.apex);
      delegate(parent, child);
    }
    for (let i = 0; i + 1 < upper.length; i++) delegate(upper[i]!, upper[i + 1]!);
    for (const z of upper) {
      fill(z);
      z.chain();
      this.zones.push(z);
    }
  }

  /** What a DNSSEC-aware recursive resolver would answer for `q` (DO set). */
  answer(q: Question): TreeAnswer {
    const zone = this.zoneFor(q.name, q.type);
    if (!zone) return { rcode: Rcode.REFUSED, answer: [], authority: [] };
    if (!zone.key) return this.answerUnsigned(zone, q);
    if (zone.nsec3s) return this.answer3(zone, q);
    const soa = (): RR[] => rrsOf(zone.sets.get(zone.apex.key)!.get(RRType.SOA));
    const exact = zone.sets.get(q.name.key);
    if (exact) {
      const set = typeOrCname(exact, q.type);
      if (set) return { rcode: Rcode.NOERROR, answer: rrsOf(set), authority: [] };
      return { rcode: Rcode.NOERROR, answer: [], authority: [...soa(), ...rrsOf(exact.get(RRType.NSEC))] };
    }
    if (zone.exists(q.name)) return { rcode: Rcode.NOERROR, answer: [], authority: [...soa(), ...rrsOf(zone.cover(q.name))] };
    // The closest encloser and its wildcard.
    let ce = q.name.parent();
    while (!zone.exists(ce)) ce = ce.parent();
    const wc = ce.prepend(Uint8Array.of(0x2a));
    const cover = rrsOf(zone.cover(q.name));
    const atWild = zone.sets.get(wc.key);
    if (atWild) {
      const set = atWild.get(q.type);
      if (set) {
        const answer = rrsOf(set).map((r) => ({ ...r, name: q.name }));
        return { rcode: Rcode.NOERROR, answer, authority: cover };
      }
      return { rcode: Rcode.NOERROR, answer: [], authority: [...soa(), ...cover, ...rrsOf(atWild.get(RRType.NSEC))] };
    }
    const wcCover = zone.cover(wc);
    const authority = [...soa(), ...cover];
    if (wcCover.rrs[0] !== zone.cover(q.name).rrs[0]) authority.push(...rrsOf(wcCover));
    return { rcode: Rcode.NXDOMAIN, answer: [], authority };
  }

  /** The NSEC3 zone's answers (RFC 5155 §7.2). */
  private answer3(zone: Zone, q: Question): TreeAnswer {
    const soa = rrsOf(zone.sets.get(zone.apex.key)!.get(RRType.SOA));
    const n3 = (n: Name): RR[] => rrsOf(zone.nsec3For(n));
    const exact = zone.sets.get(q.name.key);
    const set = exact && typeOrCname(exact, q.type);
    if (set) return { rcode: Rcode.NOERROR, answer: rrsOf(set), authority: [] };
    if (zone.exists(q.name)) return { rcode: Rcode.NOERROR, answer: [], authority: [...soa, ...n3(q.name)] };
    let nc = q.name;
    let ce = q.name.parent();
    while (!zone.exists(ce)) {
      nc = ce;
      ce = ce.parent();
    }
    const wc = ce.prepend(Uint8Array.of(0x2a));
    const atWild = zone.sets.get(wc.key);
    const wset = atWild?.get(q.type);
    if (wset) return { rcode: Rcode.NOERROR, answer: rrsOf(wset).map((r) => ({ ...r, name: q.name })), authority: n3(nc) };
    const proof = uniq([...n3(ce), ...n3(nc), ...n3(wc)]);
    return { rcode: atWild ? Rcode.NOERROR : Rcode.NXDOMAIN, answer: [], authority: [...soa, ...proof] };
  }

  /** An unsigned zone's answers: data, NODATA or NXDOMAIN with the SOA, wildcards expanded; no proofs. */
  private answerUnsigned(zone: Zone, q: Question): TreeAnswer {
    const soa = zone.sets.get(zone.apex.key)!.get(RRType.SOA)!.rrs;
    const exact = zone.sets.get(q.name.key);
    const set = exact && typeOrCname(exact, q.type);
    if (set) return { rcode: Rcode.NOERROR, answer: set.rrs, authority: [] };
    if (exact || zone.exists(q.name)) return { rcode: Rcode.NOERROR, answer: [], authority: soa };
    let ce = q.name.parent();
    while (!zone.exists(ce)) ce = ce.parent();
    const atWild = zone.sets.get(ce.prepend(Uint8Array.of(0x2a)).key);
    const wset = atWild?.get(q.type);
    if (wset) return { rcode: Rcode.NOERROR, answer: wset.rrs.map((r) => ({ ...r, name: q.name })), authority: [] };
    return { rcode: atWild ? Rcode.NOERROR : Rcode.NXDOMAIN, answer: [], authority: soa };
  }

  /** The zone that answers: the deepest one at or above the name (DS: the parent side of a cut). */
  private zoneFor(name: Name, type: number): Zone | undefined {
    let best: Zone | undefined;
    for (const z of this.zones) {
      if (!name.isSubdomainOf(z.apex)) continue;
      if (type === RRType.DS && name.equals(z.apex) && !z.apex.isRoot()) continue;
      if (!best || z.apex.labelCount > best.apex.labelCount) best = z;
    }
    return best;
  }
}
