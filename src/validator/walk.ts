/**
 * One walk down the chain of trust: the fetches it makes (each question asked at most once per walk)
 * and the step that turns a parent's state plus the DS (and DNSKEY) answers for a name into that
 * name's state. The strategy (what is fetched when) is described at the top of chain.ts.
 */
import { RRClass, RRType, Rcode, rcodeToText, typeToText, type DSData, type Message, type Name, type RR } from '../wire/index.js';
import { precheck } from './classify.js';
import { proveNoDs } from './denial.js';
import { usableDs, validateKeysWithAnchor, validateKeysWithDs } from './dnskey.js';
import {
  BOGUS_TTL_MS, INDETERMINATE_TTL_MS, capValidUntil, nodeTrail, zoneBelow, type ChainNode, type EndKeys, type SecureKeys,
} from './keycache.js';
import { splitSignedRRsets, verifyRRset } from './rrsig.js';
import type { BogusReason, InsecureReason, SignedRRset, TrailStep, TrustAnchor, ValidationContext, ZoneKeys } from './types.js';

/** What the fetcher returns: an answer (any rcode the pool accepted, with the upstream that gave it) or why there is none. */
export type FetchResult = { kind: 'answer'; message: Message; upstream?: string } | { kind: 'failure'; reason: string };

/** How a walk asks one question: the walk's shared fetches, or a re-check's fetches from other upstreams. */
type Ask = (name: Name, type: number) => Promise<FetchResult>;

/** A bogus step that another upstream's answers made non-bogus: the first upstreams' answers lacked something. */
export interface Disagreement {
  readonly name: Name;
  readonly reason: BogusReason;
  /** The upstreams whose answers gave the bogus step. */
  readonly upstreams: readonly string[];
  /** The upstream whose answers validated. */
  readonly confirmedBy: string;
}

export interface WalkRetry {
  /**
   * DNSSEC-capable upstreams that must agree before a step is bogus (the first included): a bogus
   * step is redone with fresh DS/DNSKEY answers from upstreams not asked yet, up to this many in all.
   */
  readonly confirmations: number;
  readonly onDisagreement?: (d: Disagreement) => void;
}

const emptySet = (name: Name, type: number): SignedRRset => ({ name, type, class: RRClass.IN, rrs: [], sigs: [] });

/** The RRset of `type` owned by `name` in the answer section, with its RRSIGs. */
function answerSet(msg: Message, name: Name, type: number): SignedRRset | undefined {
  return splitSignedRRsets(msg.answer).find((s) => s.type === type && s.class === RRClass.IN && s.name.equals(name));
}

/** A DNAME RRset in the answer owned by a proper ancestor of `name` inside `zone` (the deepest one). */
function dnameAbove(msg: Message, name: Name, zone: Name): SignedRRset | undefined {
  return splitSignedRRsets(msg.answer)
    .filter((s) => s.type === RRType.DNAME && s.class === RRClass.IN && s.name.labelCount < name.labelCount &&
      name.isSubdomainOf(s.name) && s.name.isSubdomainOf(zone))
    .sort((a, b) => b.name.labelCount - a.name.labelCount)[0];
}

/**
 * Why an answer for (name, DS or DNSKEY) contradicts itself, if it does: an RRset of that type at the
 * name together with a denial of it. The rcode says NXDOMAIN (or YXDOMAIN) while the RRset is there,
 * or the answer section is empty (NODATA) while the RRset sits in the authority section. Either
 * half alone would be evidence (a DS RRset makes a cut, a denial makes the zone go on or end), so
 * neither is believed: the step is bogus (upstream-inconsistent), which re-asks it from another
 * DNSSEC-capable upstream and gives this one a strike. Like Unbound's val_classify_response, which
 * takes an RRset of the qtype as an answer only with NOERROR and leaves such replies unclassified.
 */
function selfContradiction(msg: Message, name: Name, type: number): string | undefined {
  const t = typeToText(type);
  const inAnswer = answerSet(msg, name, type) !== undefined;
  const inAuthority = msg.authority.some((rr) => rr.type === type && rr.class === RRClass.IN && rr.name.equals(name));
  if (msg.rcode !== Rcode.NOERROR && (inAnswer || inAuthority)) return `${rcodeToText(msg.rcode)} with a ${t} RRset at the name`;
  if (!inAnswer && inAuthority) return `NODATA with a ${t} RRset at the name in the authority section`;
  return undefined;
}

/** A DS answer that carries a DS RRset with at least one usable record: the name is (very likely) a signed cut. */
function promisesKeys(name: Name, res: FetchResult, ctx: ValidationContext): boolean {
  // A DS RRset under an error rcode is a contradiction (selfContradiction), not a promise.
  if (res.kind !== 'answer' || res.message.rcode !== Rcode.NOERROR) return false;
  const ds = answerSet(res.message, name, RRType.DS);
  return ds !== undefined && usableDs(ds.rrs as RR<DSData>[], ctx).usable.length > 0;
}

export class Walk {
  private readonly fetches = new Map<string, Promise<FetchResult>>();

  constructor(
    private readonly fetchUpstream: (name: Name, type: number, exclude?: ReadonlySet<string>) => Promise<FetchResult>,
    readonly ctx: ValidationContext,
    private readonly retry: WalkRetry = { confirmations: 1 },
  ) {}

  /** Ask once per walk; later calls for the same question share the answer. */
  fetch(name: Name, type: number): Promise<FetchResult> {
    const k = `${name.key}|${type}`;
    let p = this.fetches.get(k);
    if (!p) {
      p = this.fetchUpstream(name, type);
      this.fetches.set(k, p);
    }
    return p;
  }

  /**
   * Run one step; when it is bogus by itself (not inherited from above), redo it with answers from
   * other DNSSEC-capable upstreams before believing it: a resolver or middlebox that strips RRSIGs
   * or proofs must not make a zone BOGUS. The first non-bogus, non-indeterminate redo wins.
   */
  private async confirmed(parent: ChainNode | undefined, run: (ask: Ask) => Promise<ChainNode>): Promise<ChainNode> {
    const used = new Set<string>();
    const note = (r: FetchResult): FetchResult => {
      if (r.kind === 'answer' && r.upstream) used.add(r.upstream);
      return r;
    };
    const node = await run((n, t) => this.fetch(n, t).then(note));
    if (this.retry.confirmations <= 1 || node === parent || node.kind !== 'end' || node.keys.security !== 'bogus') return node;
    const reason = node.keys.reason;
    for (let i = 1; i < this.retry.confirmations && used.size > 0; i++) {
      const exclude = new Set(used);
      const local = new Map<string, Promise<FetchResult>>();
      let answeredBy: string | undefined;
      const ask: Ask = (n, t) => {
        const k = `${n.key}|${t}`;
        let p = local.get(k);
        if (!p) {
          p = this.fetchUpstream(n, t, exclude).then((r) => {
            if (r.kind === 'answer' && r.upstream && !exclude.has(r.upstream)) answeredBy ??= r.upstream;
            return note(r);
          });
          local.set(k, p);
        }
        return p;
      };
      const alt = await run(ask);
      if (!answeredBy) break; // no other DNSSEC-capable upstream answered
      const altBogus = alt.kind === 'end' && (alt.keys.security === 'bogus' || alt.keys.security === 'indeterminate');
      if (!altBogus) {
        this.retry.onDisagreement?.({ name: node.name, reason, upstreams: [...exclude], confirmedBy: answeredBy });
        return alt;
      }
    }
    return node;
  }

  /** Ask DS(name) now; the moment an answer shows a usable DS RRset, ask DNSKEY(name) too (no waiting for the parent). */
  prefetchDs(name: Name): void {
    void this.fetch(name, RRType.DS).then((res) => {
      if (promisesKeys(name, res, this.ctx)) void this.fetch(name, RRType.DNSKEY);
    });
  }

  private now(): number {
    return this.ctx.clock.now();
  }

  private end(name: Name, keys: EndKeys, validUntil = keys.validUntil): ChainNode {
    const until = capValidUntil(keys, Math.min(validUntil, keys.validUntil), this.now());
    return { kind: 'end', name, keys: { ...keys, validUntil: until }, validUntil: until };
  }

  private bogus(name: Name, reason: BogusReason, trail: TrailStep[], steps: TrailStep[] = []): ChainNode {
    const validUntil = this.now() + BOGUS_TTL_MS;
    return this.end(name, { security: 'bogus', zone: name, reason, validUntil, trail: [...trail, ...steps, { step: 'bogus', reason }] });
  }

  private insecure(name: Name, reason: InsecureReason, validUntil: number, trail: TrailStep[], steps: TrailStep[]): ChainNode {
    return this.end(name, { security: 'insecure', zone: name, reason, validUntil, trail: [...trail, ...steps, { step: 'insecure', reason }] });
  }

  private indeterminate(name: Name, detail: string, trail: TrailStep[]): ChainNode {
    const validUntil = this.now() + INDETERMINATE_TTL_MS;
    return this.end(name, { security: 'indeterminate', zone: name, detail, validUntil, trail });
  }

  /** The answer to (name, type), or the node that ends the chain when there is none to work with. */
  private async answer(ask: Ask, name: Name, type: number, trail: TrailStep[]): Promise<Message | ChainNode> {
    const res = await ask(name, type);
    const what = `${name.toText()} ${typeToText(type)}`;
    if (res.kind === 'failure') return this.indeterminate(name, `no answer for ${what}: ${res.reason}`, trail);
    const pre = precheck({ name, type, class: RRClass.IN }, res.message);
    if (pre?.security === 'indeterminate') return this.indeterminate(name, `${what}: ${pre.detail}`, trail);
    if (pre) return this.bogus(name, { kind: 'upstream-inconsistent', name: name.toText(), detail: pre.detail }, trail);
    const contradiction = selfContradiction(res.message, name, type);
    if (contradiction) return this.bogus(name, { kind: 'upstream-inconsistent', name: name.toText(), detail: `${what}: ${contradiction}` }, trail);
    return res.message;
  }

  /** The anchor zone: its DNSKEY RRset checked against the configured anchor. */
  anchorNode(anchor: TrustAnchor): Promise<ChainNode> {
    return this.confirmed(undefined, (ask) => this.anchorWith(ask, anchor));
  }

  private async anchorWith(ask: Ask, anchor: TrustAnchor): Promise<ChainNode> {
    const zone = anchor.zone;
    const msg = await this.answer(ask, zone, RRType.DNSKEY, []);
    if (!isMessage(msg)) return msg;
    const set = answerSet(msg, zone, RRType.DNSKEY) ?? emptySet(zone, RRType.DNSKEY);
    return this.fromKeys(zone, validateKeysWithAnchor(anchor, set, this.ctx), Infinity, []);
  }

  /** A ZoneKeys from dnskey.ts as a node; `trail` goes before its own steps. */
  private fromKeys(name: Name, zk: ZoneKeys, validUntil: number, trail: TrailStep[]): ChainNode {
    const full = { ...zk, trail: [...trail, ...zk.trail] } as ZoneKeys;
    const until = Math.min(zk.validUntil, validUntil);
    if (full.security === 'secure') return { kind: 'zone', name, keys: { ...full, validUntil: until }, validUntil: until };
    return this.end(name, { ...full, validUntil: until } as EndKeys, until);
  }

  /**
   * The state of `name` given its parent's: one step of RFC 4035 §5.2. The DS answer comes from the
   * zone that holds `name` (the parent's zone): a DS RRset signed by it makes `name` a cut whose
   * DNSKEY RRset must match; a signed denial proves either an unsigned delegation (trust ends) or
   * that `name` is no cut at all (the parent zone goes on).
   */
  step(name: Name, parent: ChainNode): Promise<ChainNode> {
    return this.confirmed(parent, (ask) => this.stepWith(ask, name, parent));
  }

  private async stepWith(ask: Ask, name: Name, parent: ChainNode): Promise<ChainNode> {
    const zone = zoneBelow(parent);
    if (!zone) return parent; // trust ended above: insecure/bogus/indeterminate for everything below
    const trail = nodeTrail(parent);
    const msg = await this.answer(ask, name, RRType.DS, trail);
    if (!isMessage(msg)) return msg;

    const ds = answerSet(msg, name, RRType.DS);
    if (ds) return this.delegation(ask, name, zone, ds, trail);
    const dname = dnameAbove(msg, name, zone.zone);
    if (dname) return this.alias(name, zone, dname, trail, `below the DNAME at ${dname.name.toText()}: not a zone cut`);
    const cname = answerSet(msg, name, RRType.CNAME);
    if (cname) return this.alias(name, zone, cname, trail, 'CNAME owner: not a zone cut');
    return this.denial(name, zone, msg, trail);
  }

  /** Only RRSIGs by the parent's zone count for a DS RRset; a missing or foreign signer ends the chain. */
  private signedBy(set: SignedRRset, zone: SecureKeys, trail: TrailStep[]): SignedRRset | ChainNode {
    const name = set.name;
    const type = typeToText(set.type);
    if (set.sigs.length === 0) {
      return this.bogus(name, { kind: 'rrsigs-missing', name: name.toText(), type }, trail, [{ step: 'rrset', name: name.toText(), type, security: 'bogus' }]);
    }
    const sigs = set.sigs.filter((s) => s.data.signer.equals(zone.zone));
    if (sigs.length === 0) {
      const signers = [...new Set(set.sigs.map((s) => s.data.signer.toText()))].join(', ');
      return this.bogus(name, {
        kind: 'upstream-inconsistent', name: name.toText(), detail: `${type} RRset signed by ${signers}, expected the zone ${zone.zone.toText()}`,
      }, trail, [{ step: 'rrset', name: name.toText(), type, security: 'bogus' }]);
    }
    return { ...set, sigs };
  }

  private async delegation(ask: Ask, name: Name, zone: SecureKeys, dsSet: SignedRRset, trail: TrailStep[]): Promise<ChainNode> {
    const signed = this.signedBy(dsSet, zone, trail);
    if (!isSet(signed)) return signed;
    const check = verifyRRset(signed, zone, this.ctx);
    if (check.security === 'bogus') return this.bogus(name, check.reason, trail, [check.step]);
    const dsUntil = this.now() + check.ttl * 1000;
    const ds = dsSet.rrs as RR<DSData>[];
    let dnskeys = emptySet(name, RRType.DNSKEY);
    // Without a usable DS the zone is insecure (RFC 4035 §5.2): its DNSKEY RRset is not needed.
    if (usableDs(ds, this.ctx).usable.length > 0) {
      const msg = await this.answer(ask, name, RRType.DNSKEY, [...trail, check.step]);
      if (!isMessage(msg)) return msg;
      dnskeys = answerSet(msg, name, RRType.DNSKEY) ?? dnskeys;
    }
    return this.fromKeys(name, validateKeysWithDs(name, dnskeys, ds, this.ctx), dsUntil, [...trail, check.step]);
  }

  /**
   * A CNAME at the name, or a DNAME above it, signed by the zone: an alias owner is never a zone cut
   * (RFC 2181 §10.1) and nothing exists below a DNAME (RFC 6672 §2.3), so the zone goes on.
   */
  private alias(name: Name, zone: SecureKeys, set: SignedRRset, trail: TrailStep[], detail: string): ChainNode {
    const signed = this.signedBy(set, zone, trail);
    if (!isSet(signed)) return signed;
    const check = verifyRRset(signed, zone, this.ctx);
    if (check.security === 'bogus') return this.bogus(name, check.reason, trail, [check.step]);
    const step: TrailStep = { step: 'ds', zone: name.toText(), security: 'secure', detail };
    return this.inside(name, zone, [...trail, check.step, step], this.now() + check.ttl * 1000);
  }

  private inside(name: Name, zone: SecureKeys, trail: TrailStep[], validUntil: number): ChainNode {
    return { kind: 'inside', name, zone, trail, validUntil: Math.min(validUntil, zone.validUntil) };
  }

  /** NODATA or NXDOMAIN for DS(name): the zone's NSEC/NSEC3 records must say why. */
  private denial(name: Name, zone: SecureKeys, msg: Message, trail: TrailStep[]): ChainNode {
    const records: RR[] = [];
    const steps: TrailStep[] = [];
    let ttl = Infinity;
    let failure: { reason: BogusReason; step: TrailStep } | undefined;
    let foreign: string | undefined;
    for (const set of splitSignedRRsets(msg.authority)) {
      if ((set.type !== RRType.NSEC && set.type !== RRType.NSEC3) || set.class !== RRClass.IN) continue;
      const sigs = set.sigs.filter((s) => s.data.signer.equals(zone.zone));
      if (sigs.length === 0 || !set.name.isSubdomainOf(zone.zone)) {
        if (set.sigs.length > 0) foreign ??= set.sigs[0]!.data.signer.toText();
        continue;
      }
      const check = verifyRRset({ ...set, sigs }, zone, this.ctx);
      if (check.security === 'bogus') {
        failure ??= { reason: check.reason, step: check.step };
        continue;
      }
      if (check.wildcard) {
        failure ??= {
          reason: { kind: 'bad-rrsig', name: set.name.toText(), type: typeToText(set.type), detail: 'NSEC/NSEC3 RRSIG with a wildcard label count' },
          step: { ...check.step, security: 'bogus' } as TrailStep,
        };
        continue;
      }
      steps.push(check.step);
      records.push(...set.rrs);
      ttl = Math.min(ttl, check.ttl);
    }
    // A denial RRset that does not verify makes the answer bogus (it was meant to prove something).
    if (failure) return this.bogus(name, failure.reason, trail, [...steps, failure.step]);
    if (records.length === 0) {
      const reason: BogusReason = foreign
        ? { kind: 'upstream-inconsistent', name: name.toText(), detail: `DS denial signed by ${foreign}, expected the zone ${zone.zone.toText()}` }
        : { kind: 'nsec-missing', name: name.toText(), type: 'DS', proof: 'no-ds' };
      return this.bogus(name, reason, trail);
    }
    const res = proveNoDs(name, records, zone.zone, this.ctx);
    const until = this.now() + (Number.isFinite(ttl) ? ttl : 0) * 1000;
    const all = [...steps, res.step];
    if (res.security === 'bogus') return this.bogus(name, res.reason, trail, all);
    if (res.security === 'insecure') return this.insecure(name, res.reason, until, trail, all);
    if (res.notDelegation) return this.inside(name, zone, [...trail, ...all], until);
    return this.insecure(name, { kind: 'no-ds', zone: name.toText() }, until, trail, all);
  }
}

function isMessage(x: Message | ChainNode): x is Message {
  return 'rcode' in x;
}

function isSet(x: SignedRRset | ChainNode): x is SignedRRset {
  return 'rrs' in x;
}
