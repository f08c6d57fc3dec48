/**
 * The DNSSEC-capability probe of one upstream. Every question carries DO+CD (like every upstream
 * query) and goes only to the upstream's configured address. In order:
 *
 *   1. anchor DNSKEY over UDP: does it answer at all (else UNREACHABLE; an error rcode is an answer), with EDNS,
 *      echoing DO, with RRSIGs?
 *   2. anchor SOA: with RRSIGs?
 *   3. a random name under the anchor zone: NXDOMAIN with signed NSEC/NSEC3 records?
 *   4. DS of a delegation found in those NSEC records (owner with the DS bit, or next names): with RRSIGs?
 *      (skipped when the zone uses NSEC3 and no name can be learnt)
 *   5. anchor SOA over TCP: answered, with RRSIGs?
 *
 * A resolver that strips RRSIGs, drops DO, or cannot return DS or denial proofs fails a check and is
 * NOT-DNSSEC-capable. Signatures are not verified here: that is the validator's job for every answer;
 * the probe only asks whether the records a validator needs come through at all.
 */
import { randomBytes } from 'node:crypto';
import { Name, RRType, Rcode, rcodeToText, typeToText, hasType, type Message, type NSECData, type RR, type RRSIGData } from '../wire/index.js';
import type { Clock } from '../clock.js';
import type { ProbeCheck, ProbeCheckName, ProbeEvidence } from './capability.js';
import type { Exchanger } from './pool.js';
import { makeQuestion } from './query.js';
import type { FailureCause } from './state.js';
import type { ExchangeOutcome, UpstreamEndpoint } from './transport.js';

export interface ProbeOptions {
  /** The trust anchor zone to probe (the root for the shipped anchors). */
  readonly zone: Name;
  /** Per question and attempt. */
  readonly timeoutMs: number;
  /** Attempts per question when it times out (default 2). */
  readonly tries?: number;
  readonly clock: Clock;
  /** The label of the random name (default: random hex); tests pin it. */
  readonly randomLabel?: () => string;
}

export type ProbeVerdict =
  | { readonly kind: 'capable'; readonly evidence: ProbeEvidence; readonly rttMs: number }
  | { readonly kind: 'not-capable'; readonly failed: readonly ProbeCheckName[]; readonly evidence: ProbeEvidence; readonly rttMs: number }
  | { readonly kind: 'unreachable'; readonly failure: string; readonly cause: FailureCause; readonly evidence: ProbeEvidence };

function sigsCovering(rrs: readonly RR[], owner: Name | undefined, type: number): RR<RRSIGData>[] {
  return rrs.filter((rr): rr is RR<RRSIGData> =>
    rr.type === RRType.RRSIG && (rr.data as RRSIGData).typeCovered === type && (!owner || rr.name.equals(owner)));
}

function ofType(rrs: readonly RR[], owner: Name | undefined, type: number): RR[] {
  return rrs.filter((rr) => rr.type === type && (!owner || rr.name.equals(owner)));
}

function outcomeText(out: ExchangeOutcome): string {
  switch (out.kind) {
    case 'response':
      return rcodeToText(out.message.rcode);
    case 'timeout':
      return `timeout over ${out.transport.toUpperCase()}`;
    case 'network-error':
      return `network error ${out.error.code} over ${out.transport.toUpperCase()}`;
  }
}

/** The signed-RRset check shared by DNSKEY, SOA, DS and TCP: data of `type` at `owner`, with RRSIGs over it. */
function signedCheck(check: ProbeCheckName, what: string, msg: Message, owner: Name, type: number): ProbeCheck {
  const t = typeToText(type);
  const data = ofType(msg.answer, owner, type);
  const sigs = sigsCovering(msg.answer, owner, type);
  if (data.length === 0) return { check, result: 'fail', detail: `${what}: ${rcodeToText(msg.rcode)} without a ${t} RRset` };
  if (sigs.length === 0) return { check, result: 'fail', detail: `${what}: ${data.length} ${t}, no RRSIG` };
  return { check, result: 'pass', detail: `${what}: ${data.length} ${t}, ${sigs.length} RRSIG` };
}

/** Delegations under `zone` named by NSEC records: owners with the DS bit first, then next names. */
export function delegationCandidates(zone: Name, authority: readonly RR[]): { name: Name; hasDs: boolean }[] {
  const out: { name: Name; hasDs: boolean }[] = [];
  const add = (n: Name, hasDs: boolean): void => {
    if (!n.isSubdomainOf(zone) || n.labelCount <= zone.labelCount) return;
    const child = n.suffix(zone.labelCount + 1);
    const seen = out.find((c) => c.name.equals(child));
    if (seen) seen.hasDs ||= hasDs && child.equals(n);
    else out.push({ name: child, hasDs: hasDs && child.equals(n) });
  };
  const nsecs = authority.filter((rr): rr is RR<NSECData> => rr.type === RRType.NSEC);
  for (const rr of nsecs) if (hasType(rr.data, RRType.DS)) add(rr.name, true);
  for (const rr of nsecs) add(rr.data.next, false);
  for (const rr of nsecs) add(rr.name, false);
  return out.sort((a, b) => Number(b.hasDs) - Number(a.hasDs));
}

export async function probeUpstream(up: UpstreamEndpoint, exchange: Exchanger, opts: ProbeOptions): Promise<ProbeVerdict> {
  const { zone, clock } = opts;
  const zt = zone.toText();
  const tries = Math.max(1, opts.tries ?? 2);
  const startedAt = clock.now();
  const checks: ProbeCheck[] = [];
  let rttMs = 0;
  const ask = async (name: Name, type: number, tcpOnly = false): Promise<ExchangeOutcome> => {
    let out: ExchangeOutcome | undefined;
    for (let i = 0; i < tries; i++) {
      try {
        out = await exchange(up, makeQuestion(name, type), { timeoutMs: opts.timeoutMs, tcpOnly });
      } catch (e) {
        const err = e as NodeJS.ErrnoException;
        out = {
          kind: 'network-error', transport: tcpOnly ? 'tcp' : 'udp', elapsedMs: 0, tcpFallback: false,
          ignored: { 'unparsable': 0, 'not-response': 0, 'wrong-id': 0, 'wrong-question': 0, 'wrong-source': 0 },
          ignoredTotal: { 'unparsable': 0, 'not-response': 0, 'wrong-id': 0, 'wrong-question': 0, 'wrong-source': 0 },
          error: { phase: 'socket', code: typeof err?.code === 'string' ? err.code : 'EUNKNOWN', message: String(err?.message ?? e) },
        };
      }
      if (out.kind === 'response') rttMs = Math.max(rttMs, out.rttMs);
      if (out.kind !== 'timeout') break;
    }
    return out!;
  };
  const evidence = (): ProbeEvidence => ({ zone: zt, startedAt, finishedAt: clock.now(), checks: [...checks] });

  // 1. Reachability, EDNS, DO, and the anchor's DNSKEY RRSIGs. Only no reply at all is UNREACHABLE: an upstream
  // that answers with an error rcode (NXDOMAIN, REFUSED, SERVFAIL, ...) is there, and cannot give the anchor's
  // keys; the checks below record what it does give (NOT-DNSSEC-CAPABLE with that evidence).
  const keys = await ask(zone, RRType.DNSKEY);
  if (keys.kind !== 'response') {
    const failure = `${zt} DNSKEY: ${outcomeText(keys)}`;
    checks.push({ check: 'reachable', result: 'fail', detail: failure });
    const cause: FailureCause = keys.kind === 'timeout' ? { kind: 'timeout' } : { kind: 'network-error', error: keys.error };
    return { kind: 'unreachable', failure, cause, evidence: evidence() };
  }
  const km = keys.message;
  const rcode = km.rcode === Rcode.NOERROR ? '' : ` with ${rcodeToText(km.rcode)}`;
  checks.push({ check: 'reachable', result: 'pass', detail: `${zt} DNSKEY answered${rcode} over ${keys.transport.toUpperCase()} in ${Math.round(keys.rttMs)} ms` });
  // An OPT lost with a malformed additional section (transport: salvaged answers) fails like a missing
  // one: DO cannot be seen echoed. The detail says so, and a second probe round confirms it (health.ts).
  checks.push(km.edns
    ? { check: 'edns', result: 'pass', detail: `EDNS version ${km.edns.version}, payload ${km.edns.udpSize}` }
    : { check: 'edns', result: 'fail', detail: km.additionalDropped ? `no OPT record found: malformed additional section (${km.additionalDropped})` : 'no OPT record in the answer' });
  checks.push(km.edns?.dnssecOk
    ? { check: 'do-bit', result: 'pass', detail: 'DO echoed' }
    : { check: 'do-bit', result: 'fail', detail: km.edns ? 'DO bit not echoed' : 'no EDNS, so no DO bit' });
  checks.push(signedCheck('dnskey-rrsig', `${zt} DNSKEY`, km, zone, RRType.DNSKEY));

  // 2. The anchor's SOA RRSIGs.
  const soa = await ask(zone, RRType.SOA);
  checks.push(soa.kind === 'response'
    ? signedCheck('soa-rrsig', `${zt} SOA`, soa.message, zone, RRType.SOA)
    : { check: 'soa-rrsig', result: 'fail', detail: `${zt} SOA: ${outcomeText(soa)}` });

  // 3. A denial proof for a random name.
  const label = opts.randomLabel?.() ?? `stubd-probe-${randomBytes(6).toString('hex')}`;
  const random = Name.fromText(label, zone);
  const nx = await ask(random, RRType.A);
  let authority: readonly RR[] = [];
  if (nx.kind !== 'response') {
    checks.push({ check: 'denial-proof', result: 'fail', detail: `${random.toText()} A: ${outcomeText(nx)}` });
  } else {
    authority = nx.message.authority;
    const nsec = ofType(authority, undefined, RRType.NSEC).length;
    const nsec3 = ofType(authority, undefined, RRType.NSEC3).length;
    const sigs = sigsCovering(authority, undefined, RRType.NSEC).length + sigsCovering(authority, undefined, RRType.NSEC3).length;
    const what = `${random.toText()} A: ${rcodeToText(nx.message.rcode)}`;
    if (nsec + nsec3 === 0) checks.push({ check: 'denial-proof', result: 'fail', detail: `${what} without NSEC/NSEC3 records` });
    else if (sigs === 0) checks.push({ check: 'denial-proof', result: 'fail', detail: `${what}, ${nsec + nsec3} ${nsec ? 'NSEC' : 'NSEC3'} without RRSIG` });
    else checks.push({ check: 'denial-proof', result: 'pass', detail: `${what}, ${nsec ? `${nsec} NSEC` : `${nsec3} NSEC3`}, ${sigs} RRSIG` });
  }

  // 4. DS of a delegation the NSEC records name.
  checks.push(await dsCheck(zone, authority, (n) => ask(n, RRType.DS)));

  // 5. TCP.
  const tcp = await ask(zone, RRType.SOA, true);
  checks.push(tcp.kind === 'response'
    ? { ...signedCheck('tcp', `${zt} SOA over TCP`, tcp.message, zone, RRType.SOA) }
    : { check: 'tcp', result: 'fail', detail: `${zt} SOA: ${outcomeText(tcp)}` });

  const failed = checks.filter((c) => c.result === 'fail').map((c) => c.check);
  return failed.length === 0
    ? { kind: 'capable', evidence: evidence(), rttMs }
    : { kind: 'not-capable', failed, evidence: evidence(), rttMs };
}

async function dsCheck(zone: Name, authority: readonly RR[], askDs: (n: Name) => Promise<ExchangeOutcome>): Promise<ProbeCheck> {
  const candidates = delegationCandidates(zone, authority).slice(0, 3);
  if (candidates.length === 0) {
    return { check: 'ds', result: 'skipped', detail: 'no delegation named by the denial (NSEC3 or no NSEC records)' };
  }
  const tried: string[] = [];
  for (const c of candidates) {
    const r = await askDs(c.name);
    const what = `${c.name.toText()} DS`;
    if (r.kind !== 'response') return { check: 'ds', result: 'fail', detail: `${what}: ${outcomeText(r)}` };
    if (ofType(r.message.answer, c.name, RRType.DS).length > 0) return signedCheck('ds', what, r.message, c.name, RRType.DS);
    // The NSEC record said this name has a DS RRset: an answer without it is a resolver that cannot return DS.
    if (c.hasDs) return { check: 'ds', result: 'fail', detail: `${what}: ${rcodeToText(r.message.rcode)} without DS, though the NSEC lists DS` };
    tried.push(`${what}: ${rcodeToText(r.message.rcode)} without DS`);
  }
  return { check: 'ds', result: 'skipped', detail: `no signed delegation found (${tried.join('; ')})` };
}
