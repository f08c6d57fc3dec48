/**
 * The rule of security issue 9, checked against the real zones: an AD reply carries only data present in
 * the real zone.
 *
 * For a reply with AD set:
 *   - every record of the answer and authority sections (OPT aside) must be a record of the real zone: same
 *     owner (case-insensitively), class, type and RDATA (canonical form: names lowercased where RFC 4034
 *     §6.2 / RFC 6840 §5.1 lowercase them, so exactly what a signature covers), TTL ignored. RRSIGs are
 *     records like any other: an RRSIG must be one the real zone serves at that owner for that covered type.
 *   - an RRset must not be a strict part of the real RRset (a record of it left out);
 *   - the additional section holds nothing (but OPT);
 *   - the RCODE is the real one for the question, and an empty answer section is not given for a question
 *     the real zone answers with data.
 *
 * "Real" records come from two sources, both untouched by the tamper proxy:
 *   1. the zone files the world's authoritative servers serve (`zoneFiles`): every record of every zone,
 *      NSEC3 records included (their owners cannot be asked for: a query for an NSEC3 owner is answered
 *      NXDOMAIN with other NSEC3 records);
 *   2. the world's genuine upstream (the recursive Unbound, asked directly with DO+CD), for what no file
 *      holds as such: wildcard expansions (records and RRSIGs at the query name), asked for the record's
 *      owner and type (RRSIG: the covered type), and the same question the client asked (its answer and
 *      authority sections: CNAME chains across zones, NSEC/NSEC3/SOA proofs).
 * A record found in neither is a violation.
 */
import { readFileSync } from 'node:fs';
import {
  Name, RRType, canonicalRData, parseZoneText, rcodeToText, rrToText, typeToText, type Message, type Question, type RR,
} from '../../src/wire/index.js';
import { coveredType } from './mutate.js';

export type ViolationKind =
  /** A record of the answer or authority section that the real zone does not hold. */
  | 'not-in-zone'
  /** An RRset with only part of the real RRset's records. */
  | 'partial-rrset'
  /** Records in the additional section of an AD reply. */
  | 'additional'
  /** An RCODE the real zone does not give for this question. */
  | 'rcode'
  /** No answer records where the real zone has some. */
  | 'missing-answer'
  /** AD on an answer whose untampered verdict is not secure (an attacker cannot make data secure). */
  | 'ad-not-secure'
  /**
   * Real data that is not part of the answer to the question: an answer RRset off the CNAME/DNAME chain from
   * the question name, or an authority RRset outside the zones of that chain and their ancestors (a genuine,
   * validly signed RRset of another zone replayed into the reply). Beyond the rule's letter: reported as a
   * finding (`FINDING_KINDS`), not counted as a rule violation.
   */
  | 'off-tree'
  /** The genuine upstream did not answer: the reply could not be checked (not a rule violation, but reported). */
  | 'unchecked';

/** Kinds reported as findings beyond the rule "an AD reply carries only data present in the real zone". */
export const FINDING_KINDS: ReadonlySet<ViolationKind> = new Set<ViolationKind>(['off-tree', 'unchecked']);

export interface Violation {
  readonly kind: ViolationKind;
  readonly text: string;
}

/** Asks the genuine (untampered) upstream one question with DO+CD; throws or returns undefined when it gets no answer. */
export type GenuineAsk = (name: Name, type: number) => Promise<Message | undefined>;

const hexOf = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');

/** Owner, class, type (RRSIG: with the covered type): the RRset a record belongs to. */
export function rrsetKey(rr: RR): string {
  return rr.type === RRType.RRSIG
    ? `${rr.name.key}|${rr.class}|RRSIG:${coveredType(rr)}`
    : `${rr.name.key}|${rr.class}|${rr.type}`;
}

/** The canonical RDATA of a record as hex (TTL and owner case ignored). */
export function rdataKey(rr: RR): string {
  return hexOf(canonicalRData(rr));
}

/**
 * Real RRsets: RRset key -> the sets of canonical RDATA (hex) known for it, one per source (zone file, genuine
 * answer). One owner and type can have several real RRsets: at a zone cut the parent's NSEC (or NS) and the
 * child's apex NSEC (or NS) share owner and type but are different RRsets of different zones.
 */
class RecordPool {
  private readonly sets = new Map<string, Set<string>[]>();
  private readonly all = new Map<string, Set<string>>();

  /** Add the records of one source (a zone file, one genuine answer): one set per RRset key. */
  addSource(rrs: readonly RR[]): void {
    const bySet = new Map<string, Set<string>>();
    for (const rr of rrs) {
      if (rr.type === RRType.OPT) continue;
      const k = rrsetKey(rr);
      let s = bySet.get(k);
      if (!s) bySet.set(k, (s = new Set()));
      s.add(rdataKey(rr));
      let a = this.all.get(k);
      if (!a) this.all.set(k, (a = new Set()));
      a.add(rdataKey(rr));
    }
    for (const [k, s] of bySet) {
      const list = this.sets.get(k);
      if (!list) this.sets.set(k, [s]);
      else if (!list.some((x) => x.size === s.size && [...s].every((d) => x.has(d)))) list.push(s);
    }
  }

  has(rr: RR): boolean {
    return this.all.get(rrsetKey(rr))?.has(rdataKey(rr)) ?? false;
  }

  /** The real RRsets known under `key`. */
  setsOf(key: string): readonly ReadonlySet<string>[] {
    return this.sets.get(key) ?? [];
  }

  get size(): number {
    return this.sets.size;
  }
}

export interface OracleOptions {
  /** The genuine upstream. */
  readonly ask: GenuineAsk;
  /**
   * Zone name -> zone file served by the world's authoritative servers (WorldInfo.zoneFiles); their names are
   * also the zone cuts for the off-tree check.
   */
  readonly zoneFiles?: Readonly<Record<string, string>>;
}

/** The deepest of `zones` containing `name` (the root when none does). */
function zoneOfName(zones: readonly Name[], name: Name): Name {
  let best = Name.root;
  for (const z of zones) if (name.isSubdomainOf(z) && z.labelCount > best.labelCount) best = z;
  return best;
}

/**
 * The names of the CNAME/DNAME chain from `qname` through `answer`: the question name, each CNAME target
 * (and DNAME owners above a chain name, with the names they synthesize), as long as the answer continues it.
 */
export function chainNames(qname: Name, answer: readonly RR[]): Name[] {
  const names: Name[] = [qname];
  const seen = new Set<string>([qname.key]);
  let cur = qname;
  for (let hops = 0; hops < 16; hops++) {
    const cname = answer.find((rr) => rr.type === RRType.CNAME && rr.name.equals(cur));
    let next: Name | undefined;
    if (cname) next = (cname.data as { target: Name }).target;
    else {
      const dname = answer.find((rr) => rr.type === RRType.DNAME && cur.isSubdomainOf(rr.name) && !cur.equals(rr.name));
      if (dname) {
        if (!seen.has(dname.name.key)) names.push(dname.name);
        const target = (dname.data as { target: Name }).target;
        try {
          next = Name.fromLabels([...cur.labels.slice(0, cur.labelCount - dname.name.labelCount), ...target.labels]);
        } catch {
          next = undefined;
        }
      }
    }
    if (!next || seen.has(next.key)) break;
    seen.add(next.key);
    names.push(next);
    cur = next;
  }
  return names;
}

const shorten = (s: string, n = 160): string => (s.length > n ? `${s.slice(0, n - 3)}...` : s);
const recText = (rr: RR): string => shorten(rrToText(rr).replace(/\s+/g, ' '));

export class Oracle {
  /** Records of the zone files. */
  private readonly files = new RecordPool();
  /** The zones of the world (zone cuts). */
  private readonly zones: Name[];
  /** Records the genuine upstream gave (answer and authority sections), cumulated over every check. */
  private readonly asked = new RecordPool();
  /** Genuine answers by "name|type" (the world does not change while it runs). */
  private readonly answers = new Map<string, Promise<Message | undefined>>();
  /** Genuine upstream questions asked (for statistics). */
  genuineQueries = 0;

  constructor(private readonly opts: OracleOptions) {
    this.zones = Object.keys(opts.zoneFiles ?? {}).map((z) => Name.fromText(z));
    for (const [zone, file] of Object.entries(opts.zoneFiles ?? {})) {
      this.files.addSource(parseZoneText(readFileSync(file, 'utf8'), { origin: zone }));
    }
  }

  /** Number of RRsets known from the zone files. */
  get zoneFileRRsets(): number {
    return this.files.size;
  }

  /** The genuine answer to a question (asked once per oracle), its records added to the pool. */
  genuine(name: Name, type: number): Promise<Message | undefined> {
    const k = `${name.key}|${type}`;
    let p = this.answers.get(k);
    if (!p) {
      this.genuineQueries++;
      p = this.opts.ask(name, type).then(
        (m) => {
          if (m) this.asked.addSource([...m.answer, ...m.authority]);
          return m;
        },
        () => undefined,
      );
      this.answers.set(k, p);
    }
    return p;
  }

  private known(rr: RR): boolean {
    return this.files.has(rr) || this.asked.has(rr);
  }

  /** The real RRsets (canonical RDATA) for a key: the zone files' ones and those the genuine upstream gave. */
  private realSets(key: string): readonly ReadonlySet<string>[] {
    return [...this.files.setsOf(key), ...this.asked.setsOf(key)];
  }

  /**
   * The violations of the rule in `reply`, the answer a resolver gave to `question`. Nothing is checked
   * when AD is clear: the rule is about authenticated data only. `expected`, the verdict a correct validator
   * reaches for the untampered answer (test/world/zones.ts), adds a check: AD only where that is secure.
   */
  async check(question: Question, reply: Message, expected?: 'secure' | 'insecure' | 'bogus'): Promise<Violation[]> {
    if (!reply.flags.ad) return [];
    const out: Violation[] = [];
    if (expected !== undefined && expected !== 'secure') {
      out.push({ kind: 'ad-not-secure', text: `AD reply for a question whose untampered answer is ${expected}` });
    }
    const real = await this.genuine(question.name, question.type);
    if (!real) out.push({ kind: 'unchecked', text: `the genuine upstream did not answer ${question.name.toText()} ${typeToText(question.type)}` });

    for (const rr of reply.additional) {
      out.push({ kind: 'additional', text: `additional section of an AD reply holds ${recText(rr)}` });
    }

    for (const section of ['answer', 'authority'] as const) {
      const bySet = new Map<string, RR[]>();
      for (const rr of reply[section]) {
        if (rr.type === RRType.OPT) continue;
        const k = rrsetKey(rr);
        const l = bySet.get(k);
        if (l) l.push(rr);
        else bySet.set(k, [rr]);
      }
      for (const [key, rrs] of bySet) {
        const head = rrs[0]!;
        // Not in the files nor in what was asked so far: ask the upstream for this owner and (covered) type.
        if (!rrs.every((rr) => this.known(rr))) await this.genuine(head.name, coveredType(head));
        for (const rr of rrs) {
          if (!this.known(rr)) out.push({ kind: 'not-in-zone', text: `${section}: ${recText(rr)} is not in the real zone` });
        }
        if (head.type === RRType.RRSIG) continue;
        // Partial: some real RRset holds more than these records and none holds exactly these.
        const have = new Set(rrs.map(rdataKey));
        const supersets = this.realSets(key).filter((r) => [...have].every((d) => r.has(d)));
        const exact = supersets.some((r) => r.size === have.size);
        if (supersets.length === 0 && rrs.every((rr) => this.known(rr)) && have.size > 1) {
          out.push({ kind: 'not-in-zone', text: `${section}: ${head.name.toText()} ${typeToText(head.type)} combines records of different real RRsets` });
        } else if (supersets.length > 0 && !exact) {
          const real = Math.min(...supersets.map((r) => r.size));
          out.push({
            kind: 'partial-rrset',
            text: `${section}: ${head.name.toText()} ${typeToText(head.type)} has ${have.size} of the ${real} records of the real RRset`,
          });
        }
      }
    }

    out.push(...this.offTree(question, reply));

    if (real) {
      if (real.rcode !== reply.rcode) {
        out.push({ kind: 'rcode', text: `AD reply with ${rcodeToText(reply.rcode)}, the real zone answers ${rcodeToText(real.rcode)}` });
      } else if (reply.answer.length === 0 && real.answer.some((rr) => rr.type !== RRType.RRSIG)) {
        out.push({ kind: 'missing-answer', text: `AD reply with no answer records, the real zone answers ${real.answer.length} records (${recText(real.answer[0]!)})` });
      }
    }
    return out;
  }

  /** Real data off the question's chain (see 'off-tree'). */
  private offTree(question: Question, reply: Message): Violation[] {
    const out: Violation[] = [];
    const chain = chainNames(question.name, reply.answer);
    const onChain = new Set(chain.map((n) => n.key));
    // A DNAME above a chain name is part of the chain (with or without the CNAME it synthesizes).
    for (const rr of reply.answer) {
      if (rr.type === RRType.DNAME && chain.some((n) => n.isSubdomainOf(rr.name) && !n.equals(rr.name))) onChain.add(rr.name.key);
    }
    const reported = new Set<string>();
    for (const rr of reply.answer) {
      if (rr.type === RRType.OPT || onChain.has(rr.name.key)) continue;
      const k = rrsetKey(rr);
      if (reported.has(k)) continue;
      reported.add(k);
      out.push({ kind: 'off-tree', text: `answer: ${rr.name.toText()} ${typeToText(coveredType(rr))}${rr.type === RRType.RRSIG ? ' RRSIG' : ''} is not on the chain from ${question.name.toText()} (${chain.map((n) => n.toText()).join(' -> ')})` });
    }
    if (this.zones.length === 0) return out;
    const chainZones = chain.map((n) => zoneOfName(this.zones, n));
    for (const rr of reply.authority) {
      if (rr.type === RRType.OPT) continue;
      const z = zoneOfName(this.zones, rr.name);
      // At a zone cut the parent's records (NSEC, DS) have the child apex as owner: the parent zone counts too.
      const zs = rr.name.equals(z) && !z.isRoot() ? [z, zoneOfName(this.zones, z.parent())] : [z];
      if (chainZones.some((c) => zs.some((x) => c.isSubdomainOf(x)))) continue;
      const k = rrsetKey(rr);
      if (reported.has(k)) continue;
      reported.add(k);
      out.push({ kind: 'off-tree', text: `authority: ${rr.name.toText()} ${typeToText(coveredType(rr))}${rr.type === RRType.RRSIG ? ' RRSIG' : ''} (zone ${z.toText()}) is outside the zones of the answer (${[...new Set(chainZones.map((c) => c.toText()))].join(', ')})` });
    }
    return out;
  }
}

/** One line per violation. */
export function violationsText(vs: readonly Violation[]): string {
  return vs.map((v) => `[${v.kind}] ${v.text}`).join('\n');
}
