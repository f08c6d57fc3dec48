/**
 * The DANE check of one mail domain, in the vendor note's order: MX (none: the domain is its own host, RFC 5321
 * §5.1; null MX, RFC 7505), then for each MX host by preference its A and AAAA records, its TLSA records at
 * `_25._tcp.<host>` (RFC 7672 §2.2.3 when the host name is a CNAME: the expanded name's first), a STARTTLS
 * connection to each address and the match of the presented chain; the next address or MX host when one
 * fails. Every step is an event (`Step`), and the result ends with the policy's decision for the mode.
 */
import { performance } from 'node:perf_hooks';
import type { Clock } from '../clock.js';
import { mxHosts, tlsaOwners } from '../mail/destination.js';
import { Name, RRType, type NameData, type AData, type RR, type TLSAData } from '../wire/index.js';
import type { DaneLookup, LookupResult } from './lookup.js';
import { noReply } from './lookup.js';
import {
  decideDomain, decideHost, decideMx, wantsConnection, wantsTlsa,
  type AddressFacts, type Decision, type HostDecision, type Mode, type MxFacts, type TlsFacts, type TlsaFacts,
} from './policy.js';
import { describeFailure, starttls, type StarttlsFailure, type StarttlsOptions, type StarttlsResult } from './smtp.js';
import { describeTaProblem, describeUnusable, matchChain, tlsaText, usability, type TlsaRecord } from './tlsa.js';

/** One lookup as reported: name, type, status, records, EDEs, reason (the typed records left out). */
export type LookupStep = Omit<LookupResult, 'answer'>;

export type Step =
  | { readonly step: 'lookup'; readonly purpose: 'mx' | 'address' | 'tlsa'; readonly host?: string | undefined; readonly result: LookupStep }
  | { readonly step: 'mx-hosts'; readonly hosts: readonly { readonly host: string; readonly preference: number }[] }
  | { readonly step: 'no-mx' }
  | { readonly step: 'null-mx' }
  | { readonly step: 'host'; readonly host: string; readonly mxStatus: 'SECURE' | 'INSECURE' }
  | { readonly step: 'alias'; readonly host: string; readonly target: string }
  | { readonly step: 'addresses'; readonly host: string; readonly status: AddressFacts; readonly addresses: readonly { readonly type: 'A' | 'AAAA'; readonly address: string; readonly status: string }[] }
  | { readonly step: 'tlsa'; readonly host: string; readonly owner: string; readonly status: TlsaFacts['status']; readonly records: readonly { readonly text: string; readonly usable: boolean; readonly why?: string | undefined }[] }
  | { readonly step: 'connect'; readonly host: string; readonly address: string; readonly port: number }
  | { readonly step: 'connected'; readonly host: string; readonly address: string; readonly local: string }
  | { readonly step: 'tls'; readonly host: string; readonly address: string; readonly protocol: string; readonly cipher: string; readonly chain: readonly string[] }
  | { readonly step: 'connection-failed'; readonly host: string; readonly address: string; readonly failure: StarttlsFailure; readonly detail: string }
  | { readonly step: 'certificate'; readonly host: string; readonly address: string; readonly verified: true; readonly record: string; readonly usage: 'DANE-EE' | 'DANE-TA'; readonly depth: number; readonly name?: string | undefined }
  | { readonly step: 'certificate'; readonly host: string; readonly address: string; readonly verified: false; readonly usable: number; readonly problems: readonly string[] }
  | { readonly step: 'next-address'; readonly host: string; readonly address: string }
  | { readonly step: 'next-mx'; readonly host: string }
  | { readonly step: 'host-decision'; readonly host: string; readonly decision: HostDecision }
  | { readonly step: 'deadline'; readonly hostsLeft: number };

export interface CheckOptions {
  readonly domain: Name;
  readonly mode: Mode;
  readonly port: number;
  readonly lookup: DaneLookup;
  /** Timeout of each network step (lookup, connect, banner, EHLO, STARTTLS, handshake), in milliseconds. */
  readonly stepTimeoutMs: number;
  /** The whole check's limit, in milliseconds. */
  readonly deadlineMs: number;
  /** The EHLO name. */
  readonly helo: string;
  /** The time for certificate validity checks (DANE-TA). */
  readonly clock: Clock;
  /** Called with each step as it happens (the result holds them all too). */
  readonly onStep?: ((s: Step) => void) | undefined;
  /** The STARTTLS client (default: smtp.ts). */
  readonly connect?: ((o: StarttlsOptions) => Promise<StarttlsResult>) | undefined;
}

export interface CheckResult {
  readonly domain: string;
  readonly mode: Mode;
  readonly port: number;
  readonly steps: readonly Step[];
  readonly hosts: readonly { readonly host: string; readonly decision: HostDecision }[];
  readonly decision: Decision;
}

const stripAnswer = ({ answer: _answer, ...rest }: LookupResult): LookupStep => rest;

/** The records of `type` in an answer (the CNAMEs before them left out). */
function ofType<D>(r: LookupResult, type: number): RR<D>[] {
  return r.answer.filter((x) => x.type === type) as RR<D>[];
}

/** The final target of the CNAME chain in an answer that starts at `name`, or undefined when there is none. */
function cnameTarget(r: LookupResult, name: Name): Name | undefined {
  let cur = name;
  for (let i = 0; i < 16; i++) {
    const c = r.answer.find((x) => x.type === RRType.CNAME && x.name.equals(cur));
    if (!c) break;
    cur = (c.data as NameData).target;
  }
  return cur.equals(name) ? undefined : cur;
}

function mxFacts(r: LookupResult): { facts: MxFacts; hosts: { host: Name; preference: number }[] } {
  switch (r.status) {
    case 'BOGUS': return { facts: { status: 'bogus' }, hosts: [] };
    case 'NOANSWER': return { facts: { status: 'error' }, hosts: [] };
    case 'NXDOMAIN': return { facts: { status: 'nxdomain' }, hosts: [] };
    case 'SECURE':
    case 'INSECURE': {
      const status = r.status === 'SECURE' ? 'secure' : 'insecure';
      // No MX (the domain is its own host), RFC 7505 null MX, or the hosts by preference (mail/destination.ts).
      const mx = mxHosts(r.answer);
      if (mx.kind !== 'hosts') return { facts: { status, kind: mx.kind }, hosts: [] };
      return { facts: { status, kind: 'hosts' }, hosts: mx.hosts.map((m) => ({ host: m.exchange, preference: m.preference })) };
    }
  }
}

function addressFacts(results: readonly LookupResult[], addresses: readonly string[]): AddressFacts {
  if (results.some((r) => r.status === 'BOGUS')) return 'bogus';
  if (results.some((r) => r.status === 'NOANSWER')) return 'error';
  if (addresses.length === 0) return 'none';
  return results.every((r) => r.status === 'SECURE' || (r.status === 'NXDOMAIN' && r.ad)) ? 'secure' : 'insecure';
}

function tlsaFacts(r: LookupResult, records: readonly TlsaRecord[]): TlsaFacts {
  switch (r.status) {
    case 'BOGUS': return { status: 'bogus' };
    case 'NOANSWER': return { status: 'error' };
    case 'NXDOMAIN': return { status: 'nxdomain' };
    case 'INSECURE': return records.length ? { status: 'insecure' } : { status: 'nxdomain' };
    case 'SECURE': return records.length ? { status: 'secure', usable: records.filter((x) => usability(x).usable).length } : { status: 'nxdomain' };
  }
}

const TLS_RANK: Record<TlsFacts, number> = { failed: 0, unauthenticated: 1, authenticated: 2 };

/** Run the check. Never throws for what the network or DNS does; the deadline bounds it. */
export async function checkDomain(o: CheckOptions): Promise<CheckResult> {
  const end = performance.now() + o.deadlineMs;
  const steps: Step[] = [];
  const emit = (s: Step): void => {
    steps.push(s);
    o.onStep?.(s);
  };
  const connect = o.connect ?? starttls;
  /** A lookup bounded by the deadline (the lookup's own timeout bounds it too). */
  const ask = async (name: Name, type: number): Promise<LookupResult> => {
    const left = end - performance.now();
    if (left <= 0) return noReply(name, type, 'the check\'s deadline passed');
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<LookupResult>((resolve) => {
      timer = setTimeout(() => resolve(noReply(name, type, 'the check\'s deadline passed')), left);
    });
    try {
      return await Promise.race([o.lookup.lookup(name, type).catch((e: unknown) => noReply(name, type, `lookup failed: ${(e as Error).message ?? String(e)}`)), late]);
    } finally {
      clearTimeout(timer);
    }
  };
  const result = (hosts: { host: string; decision: HostDecision }[], decision: Decision): CheckResult =>
    ({ domain: o.domain.toText(), mode: o.mode, port: o.port, steps, hosts, decision });

  const mxResult = await ask(o.domain, RRType.MX);
  emit({ step: 'lookup', purpose: 'mx', result: stripAnswer(mxResult) });
  const { facts: mx, hosts: mxHosts } = mxFacts(mxResult);
  const early = decideMx(o.mode, mx);
  if (mx.status === 'secure' || mx.status === 'insecure') {
    if (mx.kind === 'null') emit({ step: 'null-mx' });
    else if (mx.kind === 'implicit') emit({ step: 'no-mx' });
    else emit({ step: 'mx-hosts', hosts: mxHosts.map((h) => ({ host: h.host.toText(), preference: h.preference })) });
  }
  if (early || (mx.status !== 'secure' && mx.status !== 'insecure')) return result([], early ?? decideDomain(o.mode, []));
  const mxStatus = mx.status === 'secure' ? 'SECURE' : 'INSECURE';
  const hostNames = mx.kind === 'implicit' ? [o.domain] : mxHosts.map((h) => h.host);

  const decided: { host: string; decision: HostDecision }[] = [];
  for (let i = 0; i < hostNames.length; i++) {
    const host = hostNames[i]!;
    const hostText = host.toText();
    if (performance.now() >= end) {
      emit({ step: 'deadline', hostsLeft: hostNames.length - i });
      break;
    }
    if (i > 0) emit({ step: 'next-mx', host: hostText });
    emit({ step: 'host', host: hostText, mxStatus });
    const decision = await checkHost(host, mx.status, { o, ask, emit, connect, end });
    emit({ step: 'host-decision', host: hostText, decision });
    decided.push({ host: hostText, decision });
    if (decision.action !== 'fail') break;
  }
  return result(decided, decideDomain(o.mode, decided));
}

interface HostContext {
  o: CheckOptions;
  ask(name: Name, type: number): Promise<LookupResult>;
  emit(s: Step): void;
  connect(o: StarttlsOptions): Promise<StarttlsResult>;
  end: number;
}

async function checkHost(host: Name, mxStatus: 'secure' | 'insecure', c: HostContext): Promise<HostDecision> {
  const hostText = host.toText();
  const [a, aaaa] = await Promise.all([c.ask(host, RRType.A), c.ask(host, RRType.AAAA)]);
  c.emit({ step: 'lookup', purpose: 'address', host: hostText, result: stripAnswer(a) });
  c.emit({ step: 'lookup', purpose: 'address', host: hostText, result: stripAnswer(aaaa) });
  const target = cnameTarget(a, host) ?? cnameTarget(aaaa, host);
  if (target) c.emit({ step: 'alias', host: hostText, target: target.toText() });
  const found = [
    ...ofType<AData>(a, RRType.A).map((x) => ({ type: 'A' as const, address: x.data.address, status: a.status })),
    ...ofType<AData>(aaaa, RRType.AAAA).map((x) => ({ type: 'AAAA' as const, address: x.data.address, status: aaaa.status })),
  ];
  const addresses = found.map((x) => x.address);
  const address = addressFacts([a, aaaa], addresses);
  c.emit({ step: 'addresses', host: hostText, status: address, addresses: found });
  if (!wantsTlsa(address)) return decideHost(c.o.mode, { mx: mxStatus, address });

  // RFC 7672 §2.2.3: with a (secure) CNAME, the expanded name's TLSA records first, then the original name's.
  let tlsa: { owner: Name; facts: TlsaFacts; records: TlsaRecord[] } | undefined;
  // (mail/destination.ts: `_<port>._tcp.<base>`, a base too long for the prefix left out.)
  for (const owner of tlsaOwners(host, target, c.o.port)) {
    const r = await c.ask(owner, RRType.TLSA);
    c.emit({ step: 'lookup', purpose: 'tlsa', host: hostText, result: stripAnswer(r) });
    const records = ofType<TLSAData>(r, RRType.TLSA).map((x) => x.data);
    const facts = tlsaFacts(r, records);
    tlsa = { owner, facts, records };
    if (facts.status !== 'insecure' && facts.status !== 'nxdomain') break;
  }
  if (!tlsa) return decideHost(c.o.mode, { mx: mxStatus, address, tlsa: { status: 'error' } });
  c.emit({
    step: 'tlsa', host: hostText, owner: tlsa.owner.toText(), status: tlsa.facts.status,
    records: tlsa.records.map((r) => {
      const u = usability(r);
      return u.usable ? { text: tlsaText(r), usable: true } : { text: tlsaText(r), usable: false, why: describeUnusable(u.why) };
    }),
  });
  if (!wantsConnection(tlsa.facts)) return decideHost(c.o.mode, { mx: mxStatus, address, tlsa: tlsa.facts });

  const reference = target ? [hostText, target.toText()] : [hostText];
  let tls: TlsFacts = 'failed';
  for (let j = 0; j < addresses.length; j++) {
    const ip = addresses[j]!;
    if (performance.now() >= c.end) break;
    if (j > 0) c.emit({ step: 'next-address', host: hostText, address: ip });
    c.emit({ step: 'connect', host: hostText, address: ip, port: c.o.port });
    const s = await c.connect({ address: ip, port: c.o.port, servername: hostText, helo: c.o.helo, stepTimeoutMs: c.o.stepTimeoutMs, deadline: c.end });
    if (s.kind !== 'ok') {
      c.emit({ step: 'connection-failed', host: hostText, address: ip, failure: s, detail: describeFailure(s) });
      continue;
    }
    c.emit({ step: 'connected', host: hostText, address: ip, local: s.localAddress });
    c.emit({ step: 'tls', host: hostText, address: ip, protocol: s.protocol, cipher: s.cipher, chain: s.chain.map((x) => x.subject.replace(/\n/g, ', ')) });
    const v = matchChain(s.chain, tlsa.records, { reference, now: c.o.clock.now() });
    let got: TlsFacts;
    if (v.kind === 'match') {
      c.emit({ step: 'certificate', host: hostText, address: ip, verified: true, record: tlsaText(v.record), usage: v.usage, depth: v.depth, name: v.name });
      got = 'authenticated';
    } else {
      const problems = [
        ...v.problems.map(describeTaProblem),
        ...(v.usable === 0 ? ['every TLSA record is unusable'] : v.problems.length === 0 ? ['no usable TLSA record matches the presented certificates'] : []),
      ];
      c.emit({ step: 'certificate', host: hostText, address: ip, verified: false, usable: v.usable, problems });
      got = 'unauthenticated';
    }
    if (TLS_RANK[got] > TLS_RANK[tls]) tls = got;
    // Done with this host when it authenticated, or when nothing can authenticate (TLS is all that is asked).
    if (tls === 'authenticated' || (tls === 'unauthenticated' && v.kind === 'no-match' && v.usable === 0)) break;
  }
  return decideHost(c.o.mode, { mx: mxStatus, address, tlsa: tlsa.facts, tls });
}
