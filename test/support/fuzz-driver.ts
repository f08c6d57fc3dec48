/**
 * The seeded differential tamper fuzz (security issue 9), shared by test/daemon/tamper-fuzz.world.test.ts (a short
 * run on every test run) and bench/tamper-fuzz.ts (long runs).
 *
 *   client ─► dnssec-stubd (in-process) ─┐
 *                                        ├─► TamperProxy ─► the world's upstream (recursive Unbound, no validation)
 *   client ─► validating Unbound ────────┘        │
 *                                          one question per case gets one seeded mutation
 *
 * Each case picks a question of the test world (test/world/zones.ts: every zone but the KeyTrap ones) and a
 * mutation seed, flushes both resolvers' caches (answers, keys, negative and bogus entries), and sets the
 * proxy to rewrite that one question's answers: the first genuine answer the proxy sees is mutated once
 * (`mutate`) and every later answer to that question in the case (whichever resolver asked, chain-of-trust
 * fetches included, UDP or TCP) is that same mutated answer with the asker's ID. Both resolvers are then
 * asked (DO=1, CD=0) and
 *   - the daemon's reply is held to the rule "an AD reply carries only data present in the real zone"
 *     (`Oracle`, against the zone files and the untampered upstream); the validating Unbound's too, as a
 *     check of the oracle itself;
 *   - the two replies are compared: they agree when both fail (SERVFAIL), or both give the same RCODE
 *     (NOERROR/NXDOMAIN), the same AD bit and the same answer RRsets (RRSIGs and TTLs aside).
 */
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import type { Daemon } from '../../src/daemon/index.js';
import {
  EdnsOptionCode, Name, RRClass, RRType, Rcode, parseZoneText, rcodeToText, rrToText, typeFromText, typeToText,
  type Message, type Question, type RR,
} from '../../src/wire/index.js';
import { UnboundFixture } from '../upstream/unbound-fixture.js';
import type { QueryCase, Status, WorldInfo, ZoneCase } from '../world/index.js';
import { ZONES } from '../world/zones.js';
import {
  caseSeed, coveredType, mulberry32, mutate, mutationContext, normalizeAnswer, pick, questionText, zoneOf,
  type Mutated,
} from './mutate.js';
import { FINDING_KINDS, Oracle, rdataKey, violationsText, type Violation } from './oracle.js';
import { TamperProxy, ask, type Rewrite } from './tamper-proxy.js';
import { startTestDaemon, type TestDaemon } from './daemon.js';

// ---------------------------------------------------------------------------------------------------
// Questions
// ---------------------------------------------------------------------------------------------------

export interface FuzzQuestion {
  readonly zone: ZoneCase;
  readonly query: QueryCase;
  readonly question: Question;
}

/**
 * Every query case of the world except the KeyTrap zones' (their verdicts depend on the limits and on the
 * order of RRSIGs and keys, which the fuzz rearranges).
 */
export function fuzzQuestions(zones: Record<string, ZoneCase> = ZONES): FuzzQuestion[] {
  const out: FuzzQuestion[] = [];
  for (const z of Object.values(zones)) {
    if (z.kind === 'keytrap') continue;
    for (const q of z.queries) {
      const type = typeFromText(q.type);
      if (type === undefined) continue;
      out.push({ zone: z, query: q, question: { name: Name.fromText(q.name), type, class: RRClass.IN } });
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------
// Replies and verdicts
// ---------------------------------------------------------------------------------------------------

export interface Reply {
  readonly message?: Message;
  /** Why there is no message (timeout, network error). */
  readonly error?: string;
  readonly ms: number;
}

/**
 * secure/insecure: NOERROR or NXDOMAIN with/without AD; bogus: SERVFAIL with an EDE of RFC 8914 6-12 (a DNSSEC
 * failure); servfail: any other SERVFAIL; no-reply: nothing within the client timeout; other: another RCODE.
 */
export type Verdict = 'secure' | 'insecure' | 'bogus' | 'servfail' | 'no-reply' | 'other';

export function edes(m: Message): { code: number; text: string }[] {
  return (m.edns?.options ?? []).filter((o) => o.code === EdnsOptionCode.EDE && o.data.length >= 2).map((o) => ({
    code: (o.data[0]! << 8) | o.data[1]!,
    text: Buffer.from(o.data.subarray(2)).toString('utf8'),
  }));
}

export function verdictOf(r: Reply): Verdict {
  const m = r.message;
  if (!m) return 'no-reply';
  if (m.rcode === Rcode.SERVFAIL) return edes(m).some((e) => e.code >= 6 && e.code <= 12) ? 'bogus' : 'servfail';
  if (m.rcode !== Rcode.NOERROR && m.rcode !== Rcode.NXDOMAIN) return 'other';
  return m.flags.ad ? 'secure' : 'insecure';
}

const failed = (v: Verdict): boolean => v === 'bogus' || v === 'servfail';

/** The answer section's data (RRSIGs aside) as a sorted list of distinct "owner TYPE rdata" keys. */
export function answerData(m: Message): string[] {
  return [...new Set(m.answer.filter((rr) => rr.type !== RRType.RRSIG).map((rr) => `${rr.name.key} ${typeToText(rr.type)} ${rdataKey(rr)}`))].sort();
}

/** Whether the daemon and the validating Unbound agree, and if not, the class of their disagreement. */
export function compareReplies(daemon: Reply, unbound: Reply): { agree: boolean; klass: string } {
  const dv = verdictOf(daemon);
  const uv = verdictOf(unbound);
  if (failed(dv) && failed(uv)) return { agree: true, klass: 'agree: both SERVFAIL' };
  const d = daemon.message;
  const u = unbound.message;
  const label = (v: Verdict, m?: Message): string => (v === 'other' && m ? rcodeToText(m.rcode) : v.toUpperCase());
  if (dv !== uv && !(failed(dv) && failed(uv))) {
    return { agree: false, klass: `daemon ${label(dv, d)} / unbound ${label(uv, u)}` };
  }
  if (!d || !u) return { agree: dv === uv, klass: dv === uv ? `agree: both ${label(dv)}` : 'no reply' };
  if (dv === 'other') {
    return d.rcode === u.rcode ? { agree: true, klass: `agree: both ${rcodeToText(d.rcode)}` } : { agree: false, klass: `daemon ${rcodeToText(d.rcode)} / unbound ${rcodeToText(u.rcode)}` };
  }
  if (d.rcode !== u.rcode) return { agree: false, klass: `both ${label(dv)}, daemon ${rcodeToText(d.rcode)} / unbound ${rcodeToText(u.rcode)}` };
  const da = answerData(d);
  const ua = answerData(u);
  if (da.length !== ua.length || da.some((x, i) => x !== ua[i])) {
    const extra = da.filter((x) => !ua.includes(x)).length;
    const missing = ua.filter((x) => !da.includes(x)).length;
    return { agree: false, klass: `both ${label(dv)} ${rcodeToText(d.rcode)}, answer differs (daemon +${extra} -${missing} records)` };
  }
  return { agree: true, klass: `agree: both ${label(dv)} ${rcodeToText(d.rcode)}` };
}

const shortRR = (rr: RR): string => {
  const t = rrToText(rr).replace(/\s+/g, ' ');
  if (rr.type === RRType.RRSIG) return `${rr.name.toText()} RRSIG ${typeToText(coveredType(rr))} ...`;
  return t.length > 90 ? `${t.slice(0, 87)}...` : t;
};

/** One line: RCODE, flags, sections, EDE. */
export function replyText(r: Reply): string {
  const m = r.message;
  if (!m) return `no reply (${r.error ?? '?'}, ${Math.round(r.ms)} ms)`;
  const flags = (['aa', 'tc', 'ad', 'cd'] as const).filter((f) => m.flags[f]).join(' ');
  const sec = (name: string, rrs: readonly RR[]): string => (rrs.length ? ` ${name}=[${rrs.map(shortRR).join('; ')}]` : '');
  const ede = edes(m).map((e) => ` EDE ${e.code} "${e.text}"`).join('');
  return `${rcodeToText(m.rcode)}${flags ? ` (${flags})` : ''}${sec('ans', m.answer)}${sec('auth', m.authority)}${sec('add', m.additional)}${ede}`;
}

// ---------------------------------------------------------------------------------------------------
// Cases
// ---------------------------------------------------------------------------------------------------

export interface CaseResult {
  readonly index: number;
  /** The case's own seed (question and mutation follow from it). */
  readonly seed: number;
  readonly question: string;
  readonly zone: string;
  /** The verdict a correct validator reaches without tampering (test/world/zones.ts). */
  readonly expected: Status;
  /** The mutation, or undefined when neither resolver's question reached the proxy. */
  readonly mutation: { readonly kind: string; readonly detail: string } | undefined;
  /** Answers the proxy rewrote in this case. */
  readonly tampered: number;
  readonly daemon: Reply;
  readonly unbound: Reply;
  readonly daemonVerdict: Verdict;
  readonly unboundVerdict: Verdict;
  /** Rule violations of the daemon's reply. */
  readonly violations: readonly Violation[];
  /** Findings beyond the rule in the daemon's AD reply (real data off the question's chain: `FINDING_KINDS`). */
  readonly findings: readonly Violation[];
  /** Rule violations of the validating Unbound's reply (a check of the oracle: expected none). */
  readonly unboundViolations: readonly Violation[];
  readonly agree: boolean;
  readonly klass: string;
  /** The daemon's upstream was not DNSSEC-capable after the case and was probed again. */
  readonly reprobed: boolean;
}

export function caseText(c: CaseResult): string {
  return [
    `case ${c.index} (case seed ${c.seed}): ${c.question} [zone ${c.zone}, expected ${c.expected}]`,
    `  mutation: ${c.mutation ? `${c.mutation.kind}: ${c.mutation.detail}` : '(question never reached the proxy)'}${c.tampered ? ` (${c.tampered} answers rewritten)` : ''}`,
    `  daemon:  ${c.daemonVerdict} ${replyText(c.daemon)}`,
    `  unbound: ${c.unboundVerdict} ${replyText(c.unbound)}`,
    ...(c.violations.length ? [`  VIOLATIONS:\n${violationsText(c.violations).replace(/^/gm, '    ')}`] : []),
    ...(c.findings.length ? [`  findings:\n${violationsText(c.findings).replace(/^/gm, '    ')}`] : []),
    ...(c.unboundViolations.length ? [`  unbound violations (oracle check):\n${violationsText(c.unboundViolations).replace(/^/gm, '    ')}`] : []),
  ].join('\n');
}

// ---------------------------------------------------------------------------------------------------
// The harness
// ---------------------------------------------------------------------------------------------------

export interface HarnessOptions {
  /** Loopback address for the proxy, the Unbound fixture and the daemon (default 127.0.0.1). */
  readonly address?: string;
  /** The daemon's per-attempt upstream timeout and overall deadline (ms). */
  readonly upstreamTimeoutMs?: number;
  readonly upstreamDeadlineMs?: number;
  /** How long a client waits for either resolver (ms). */
  readonly clientTimeoutMs?: number;
}

/** Signed RRsets (records with their RRSIGs) of the world's zone files, by zone: genuine data to replay out of place. */
function signedRRsets(world: WorldInfo): Map<string, RR[][]> {
  const out = new Map<string, RR[][]>();
  for (const [zone, file] of Object.entries(world.zoneFiles)) {
    const sets = new Map<string, RR[]>();
    for (const rr of parseZoneText(readFileSync(file, 'utf8'), { origin: zone })) {
      const k = `${rr.name.key}|${coveredType(rr)}`;
      const l = sets.get(k);
      if (l) l.push(rr);
      else sets.set(k, [rr]);
    }
    out.set(zone, [...sets.values()].filter((s) => s.some((rr) => rr.type === RRType.RRSIG) && s.some((rr) => rr.type !== RRType.RRSIG)));
  }
  return out;
}

/** Run every step in order, each even when an earlier one threw; with `rethrow`, the first error afterwards. */
async function settleAll(steps: readonly (() => unknown)[], rethrow = false): Promise<void> {
  let first: unknown;
  for (const step of steps) {
    try {
      await step();
    } catch (err) {
      first ??= err;
    }
  }
  if (rethrow && first !== undefined) throw first;
}

export class FuzzHarness {
  readonly questions = fuzzQuestions();
  private readonly replayByZone: Map<string, RR[][]>;
  private readonly replayOthers: RR[][];

  readonly daemon: Daemon;
  readonly daemonPort: number;

  private constructor(
    readonly world: WorldInfo,
    readonly proxy: TamperProxy,
    readonly unbound: UnboundFixture,
    private readonly stubd: TestDaemon,
    readonly oracle: Oracle,
    private readonly clientTimeoutMs: number,
  ) {
    this.daemon = stubd.daemon;
    this.daemonPort = stubd.port;
    this.replayByZone = signedRRsets(world);
    // Every 8th signed RRset of the whole world: replays across zones.
    this.replayOthers = [...this.replayByZone.values()].flat().filter((_, i) => i % 8 === 0);
  }

  static async start(world: WorldInfo, opts: HarnessOptions = {}): Promise<FuzzHarness> {
    const address = opts.address ?? '127.0.0.1';
    const proxy = await TamperProxy.start({ address, backend: { address: world.upstream.host, port: world.upstream.port } });
    const cleanup: (() => Promise<void>)[] = [() => proxy.stop()];
    try {
      const unbound = await UnboundFixture.start({
        address, forwardAll: { address: proxy.address, port: proxy.port }, validate: { anchorFile: world.rootAnchorFile },
      });
      cleanup.push(() => unbound.stop());
      const stubd = await startTestDaemon({
        config: { server: { warmupQueries: 0 }, upstream: { timeoutMs: opts.upstreamTimeoutMs ?? 600, deadlineMs: opts.upstreamDeadlineMs ?? 2500 } },
        cli: { listen: [`${address}:0`], upstream: [proxy.label], trustAnchor: [world.rootAnchorFile] },
      });
      cleanup.push(() => stubd.stop());
      const oracle = new Oracle({
        zoneFiles: world.zoneFiles,
        ask: (name, type) => ask({ address: world.upstream.host, port: world.upstream.port }, name.toText(), typeToText(type), { timeoutMs: 3000 }),
      });
      const h = new FuzzHarness(world, proxy, unbound, stubd, oracle, opts.clientTimeoutMs ?? 6000);
      await h.waitCapable(10_000);
      return h;
    } catch (err) {
      await settleAll(cleanup.reverse());
      throw err;
    }
  }

  /** Stop the daemon, the Unbound fixture and the proxy: each of them even when another fails. */
  async stop(): Promise<void> {
    await settleAll([
      () => this.stubd.stop(),
      () => this.unbound.stop(),
      () => this.proxy.stop(),
    ], true);
  }

  private capable(): boolean {
    return this.daemon.stack.router!.snapshot().every((r) => r.health.every((h) => h.state === 'DNSSEC-CAPABLE' && !h.probing));
  }

  private async waitCapable(timeoutMs: number): Promise<void> {
    const t0 = Date.now();
    while (!this.capable()) {
      if (Date.now() - t0 > timeoutMs) {
        const states = this.daemon.stack.router!.snapshot().flatMap((r) => r.health.map((h) => `${h.upstream} ${h.state} ${h.summary}`));
        throw new Error(`the daemon's upstream is not DNSSEC-capable: ${states.join('; ')}`);
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  private async ask(port: number, q: Question): Promise<Reply> {
    const t0 = performance.now();
    try {
      const message = await ask({ address: this.proxy.address, port }, q.name.toText(), typeToText(q.type), {
        dnssec: true, cd: false, timeoutMs: this.clientTimeoutMs,
      });
      return { message, ms: performance.now() - t0 };
    } catch (err) {
      return { error: err instanceof Error ? err.message : String(err), ms: performance.now() - t0 };
    }
  }

  /** Run case `index` of the run seeded with `seed`. */
  async runCase(seed: number, index: number): Promise<CaseResult> {
    const cs = caseSeed(seed, index);
    const rng = mulberry32(cs);
    const fq = pick(rng, this.questions);
    const mutationSeed = Math.floor(rng() * 0x100000000) >>> 0;
    const q = fq.question;
    const own = zoneOf(ZONES, q.name);
    const replay = [...(own ? this.replayByZone.get(own.name) ?? [] : []), ...this.replayOthers];
    const ctx = mutationContext(ZONES, q.name, replay);

    let memo: Mutated | undefined;
    let tampered = 0;
    const rewrite: Rewrite = (query, answer, via) => {
      const qq = query.question[0];
      if (!qq || qq.type !== q.type || qq.class !== q.class || !qq.name.equals(q.name)) return undefined;
      memo ??= mutate(normalizeAnswer(answer), qq, mulberry32(mutationSeed), ctx);
      tampered++;
      const out = via?.transport === 'tcp' && memo.tcp ? memo.tcp : memo.udp;
      if (out instanceof Uint8Array) {
        const b = Uint8Array.from(out);
        if (b.length >= 2) {
          b[0] = query.id >> 8;
          b[1] = query.id & 0xff;
        }
        return b;
      }
      return { ...out, id: query.id, question: query.question };
    };

    this.daemon.flush();
    await this.unbound.flushCaches();
    this.proxy.rewrite = rewrite;
    let daemon: Reply;
    let unbound: Reply;
    try {
      [daemon, unbound] = await Promise.all([this.ask(this.daemonPort, q), this.ask(this.unbound.port, q)]);
    } finally {
      this.proxy.rewrite = undefined;
    }

    const checked = daemon.message ? await this.oracle.check(q, daemon.message, fq.query.status) : [];
    const unboundChecked = unbound.message ? await this.oracle.check(q, unbound.message, fq.query.status) : [];
    const { agree, klass } = compareReplies(daemon, unbound);

    // A mutated probe question (the root's DNSKEY or SOA, test.'s DS) can leave the daemon's only upstream
    // NOT-DNSSEC-capable, which would fail every later case: probe it again, untampered.
    let reprobed = false;
    if (!this.capable()) {
      reprobed = true;
      // A probe still running from the case may be joined by probeNow and fail: probe again until one passes.
      for (let attempt = 1; ; attempt++) {
        await this.daemon.stack.router!.probeNow();
        try {
          await this.waitCapable(5000);
          break;
        } catch (err) {
          if (attempt >= 4) throw err;
        }
      }
    }
    return {
      index, seed: cs, question: questionText(q), zone: fq.zone.name, expected: fq.query.status,
      mutation: memo ? { kind: memo.kind, detail: memo.detail } : undefined, tampered,
      daemon, unbound, daemonVerdict: verdictOf(daemon), unboundVerdict: verdictOf(unbound),
      violations: checked.filter((v) => !FINDING_KINDS.has(v.kind)),
      findings: checked.filter((v) => v.kind === 'off-tree'),
      unboundViolations: unboundChecked.filter((v) => !FINDING_KINDS.has(v.kind)),
      agree, klass, reprobed,
    };
  }

  /** Run cases `from` .. `from + cases - 1`. */
  async run(opts: { seed: number; cases: number; from?: number; onCase?: (c: CaseResult) => void }): Promise<FuzzReport> {
    const t0 = performance.now();
    const results: CaseResult[] = [];
    const from = opts.from ?? 0;
    for (let i = from; i < from + opts.cases; i++) {
      const c = await this.runCase(opts.seed, i);
      results.push(c);
      opts.onCase?.(c);
    }
    return summarize(opts.seed, results, performance.now() - t0, this.oracle.genuineQueries, this.proxy.errors.length);
  }
}

// ---------------------------------------------------------------------------------------------------
// Reports
// ---------------------------------------------------------------------------------------------------

export interface ClassStats {
  count: number;
  /** The first case of the class. */
  example: CaseResult;
  /** Mutation kinds seen in the class, with counts. */
  kinds: Map<string, number>;
}

export interface FuzzReport {
  readonly seed: number;
  readonly cases: number;
  readonly agreements: number;
  /** agreements / cases. */
  readonly agreementRate: number;
  /** Cases whose daemon reply broke the rule. */
  readonly violating: readonly CaseResult[];
  /** Cases whose Unbound reply broke the rule (the oracle's own check). */
  readonly unboundViolating: readonly CaseResult[];
  /** Cases whose daemon AD reply held real data off the question's chain (findings, not rule violations). */
  readonly withFindings: readonly CaseResult[];
  /** Disagreement classes (and agreement classes) by label. */
  readonly classes: ReadonlyMap<string, ClassStats>;
  /** Per mutation kind: cases, agreements, violations. */
  readonly kinds: ReadonlyMap<string, { cases: number; agree: number; violations: number }>;
  /** Violation kinds with counts. */
  readonly violationKinds: ReadonlyMap<string, number>;
  readonly verdicts: ReadonlyMap<string, number>;
  readonly reprobes: number;
  readonly elapsedMs: number;
  readonly genuineQueries: number;
  /** Exceptions thrown by the proxy's rewrite (a harness bug when not 0). */
  readonly rewriteErrors: number;
  readonly results: readonly CaseResult[];
}

function bump<K>(m: Map<K, number>, k: K, n = 1): void {
  m.set(k, (m.get(k) ?? 0) + n);
}

export function summarize(seed: number, results: readonly CaseResult[], elapsedMs: number, genuineQueries = 0, rewriteErrors = 0): FuzzReport {
  const classes = new Map<string, ClassStats>();
  const kinds = new Map<string, { cases: number; agree: number; violations: number }>();
  const violationKinds = new Map<string, number>();
  const verdicts = new Map<string, number>();
  for (const c of results) {
    let cl = classes.get(c.klass);
    if (!cl) classes.set(c.klass, (cl = { count: 0, example: c, kinds: new Map() }));
    cl.count++;
    const kind = c.mutation?.kind ?? '(not asked)';
    bump(cl.kinds, kind);
    const k = kinds.get(kind) ?? { cases: 0, agree: 0, violations: 0 };
    k.cases++;
    if (c.agree) k.agree++;
    if (c.violations.length) k.violations++;
    kinds.set(kind, k);
    for (const v of new Set(c.violations.map((x) => x.kind))) bump(violationKinds, v);
    bump(verdicts, `daemon ${c.daemonVerdict} / unbound ${c.unboundVerdict}`);
  }
  const agreements = results.filter((c) => c.agree).length;
  return {
    seed, cases: results.length, agreements, agreementRate: results.length ? agreements / results.length : 1,
    violating: results.filter((c) => c.violations.length > 0),
    unboundViolating: results.filter((c) => c.unboundViolations.length > 0),
    withFindings: results.filter((c) => c.findings.length > 0),
    classes, kinds, violationKinds, verdicts,
    reprobes: results.filter((c) => c.reprobed).length,
    elapsedMs, genuineQueries, rewriteErrors, results,
  };
}

const pct = (x: number): string => `${(100 * x).toFixed(1)}%`;

/** The report as text: agreement, rule violations, disagreement classes with one example each. */
export function reportText(r: FuzzReport, opts: { examples?: number; perClass?: number } = {}): string {
  const lines: string[] = [];
  const maxExamples = opts.examples ?? 5;
  const perClass = opts.perClass ?? 1;
  lines.push(`tamper fuzz: seed ${r.seed}, ${r.cases} cases in ${(r.elapsedMs / 1000).toFixed(1)} s`);
  lines.push(`AGREEMENT with the validating Unbound: ${r.agreements}/${r.cases} = ${pct(r.agreementRate)}`);
  lines.push(`RULE VIOLATIONS (daemon AD replies with data not in the real zone): ${r.violating.length} cases` +
    (r.violationKinds.size ? ` (${[...r.violationKinds].map(([k, n]) => `${k} ${n}`).join(', ')})` : ''));
  lines.push(`findings beyond the rule (daemon AD replies with real data off the question's chain): ${r.withFindings.length} cases`);
  lines.push(`oracle check: the validating Unbound's replies broke the rule in ${r.unboundViolating.length} cases`);
  lines.push(`daemon upstream re-probed after ${r.reprobes} cases; ${r.genuineQueries} genuine-upstream questions; rewrite errors ${r.rewriteErrors}`);
  lines.push('');
  lines.push('verdicts (daemon / unbound):');
  for (const [k, n] of [...r.verdicts].sort((a, b) => b[1] - a[1])) lines.push(`  ${String(n).padStart(5)}  ${k}`);
  lines.push('');
  lines.push('disagreement classes (count, mutation kinds, one example):');
  const dis = [...r.classes].filter(([k]) => !k.startsWith('agree')).sort((a, b) => b[1].count - a[1].count);
  if (dis.length === 0) lines.push('  (none)');
  for (const [k, s] of dis) {
    const kinds = [...s.kinds].sort((a, b) => b[1] - a[1]).map(([kk, n]) => `${kk} ${n}`).join(', ');
    lines.push(`  ${String(s.count).padStart(5)}  ${k}   [${kinds}]`);
    // One example per mutation kind of the class, the most frequent kinds first, up to perClass.
    const shown = new Set<string>();
    for (const c of r.results) {
      if (shown.size >= perClass) break;
      const kind = c.mutation?.kind ?? '(not asked)';
      if (c.klass !== k || shown.has(kind)) continue;
      shown.add(kind);
      lines.push(caseText(c).replace(/^/gm, '         '));
    }
  }
  lines.push('');
  lines.push('agreement classes:');
  for (const [k, s] of [...r.classes].filter(([kk]) => kk.startsWith('agree')).sort((a, b) => b[1].count - a[1].count)) {
    lines.push(`  ${String(s.count).padStart(5)}  ${k}`);
  }
  lines.push('');
  lines.push('by mutation kind (cases, agreement, cases with violations):');
  for (const [k, s] of [...r.kinds].sort((a, b) => b[1].cases - a[1].cases)) {
    lines.push(`  ${k.padEnd(32)} ${String(s.cases).padStart(5)}  ${pct(s.agree / s.cases).padStart(6)}  ${s.violations}`);
  }
  if (r.violating.length) {
    lines.push('');
    lines.push(`rule violations (first ${Math.min(maxExamples, r.violating.length)} of ${r.violating.length}):`);
    for (const c of r.violating.slice(0, maxExamples)) lines.push(caseText(c).replace(/^/gm, '  '));
  }
  if (r.withFindings.length) {
    lines.push('');
    lines.push(`findings (first ${Math.min(maxExamples, r.withFindings.length)} of ${r.withFindings.length}):`);
    for (const c of r.withFindings.slice(0, maxExamples)) lines.push(caseText(c).replace(/^/gm, '  '));
  }
  if (r.unboundViolating.length) {
    lines.push('');
    lines.push(`Unbound replies the oracle flags (first ${Math.min(maxExamples, r.unboundViolating.length)}):`);
    for (const c of r.unboundViolating.slice(0, maxExamples)) lines.push(caseText(c).replace(/^/gm, '  '));
  }
  return lines.join('\n');
}
