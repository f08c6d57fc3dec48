/**
 * Authenticated denial in a response (RFC 4035 §5.4, RFC 5155 §8, RFC 6840 §4): the NXDOMAIN and
 * NODATA proofs at the end of an answer chain, the proof that a wildcard expansion was legitimate, and
 * the DS-or-no-DS check of a referral. The NSEC/NSEC3 logic itself is denial.ts; this file picks the
 * zone whose records must prove it, verifies their RRSIGs with that zone's keys and reads the result.
 */
import { RRType, typeToText, type Name, type SOAData } from '../wire/index.js';
import { wildcardAt } from './proof.js';
import { trustName } from './classify.js';
import { proveNoDs, proveNodata, proveNxdomain, proveWildcardAnswer, type DenialResult } from './denial.js';
import type { DenialRecords, Run, SecureCheck, SecureKeys } from './trust.js';
import type { ProofKind, SignedRRset } from './types.js';

/** Read a denial result into the tally. */
function record(run: Run, res: DenialResult, recs: DenialRecords): void {
  run.tally.step(res.step);
  if (res.security === 'secure') return;
  if (res.security === 'insecure') {
    run.tally.insecureLink(res.reason);
    return;
  }
  // A proof that fails while some NSEC of the zone did not verify: the verification failure is the cause.
  if (recs.failure) {
    run.tally.step(recs.failure.step);
    run.tally.bogus(recs.failure.reason);
  } else run.tally.bogus(res.reason);
}

/** No usable (verified) NSEC/NSEC3 of the zone at all. */
function missing(run: Run, recs: DenialRecords, name: Name, type: number, proof: ProofKind): void {
  if (recs.failure) {
    run.tally.step(recs.failure.step);
    run.tally.bogus(recs.failure.reason);
  } else run.tally.bogus({ kind: 'nsec-missing', name: name.toText(), type: typeToText(type), proof });
}

/**
 * RFC 4035 §5.3.4 / RFC 5155 §8.8: an answer synthesized from a wildcard must come with the proof that
 * `name` itself does not exist (and no closer match), made by the zone that signed the answer.
 */
export async function proveWildcard(run: Run, set: SignedRRset, keys: SecureKeys, check: SecureCheck): Promise<void> {
  const { name, type } = set;
  const zone = check.signer;
  const recs = run.denialRecords(zone, keys);
  if (recs.records.length === 0) return missing(run, recs, name, type, 'wildcard');
  const res = proveWildcardAnswer(name, check.wildcard!.closestEncloser, recs.records, zone, run.ctx);
  record(run, res, recs);
  if (res.security === 'secure') {
    // The wildcard RRset itself (as signed, at "*.<closest encloser>") answers other names below it later.
    const source = wildcardAt(check.wildcard!.closestEncloser);
    const proven = run.provenSet(set, check, keys);
    run.learned.wildcards.push({ zone, set: { ...proven, name: source, rrs: proven.rrs.map((r) => ({ ...r, name: source })) }, ttl: check.ttl });
  }
}

/**
 * Negative answer at the end of the chain: NXDOMAIN or NODATA for `name`/`qtype`. The proof comes
 * from the deepest zone above `name` whose NSEC/NSEC3 RRsets are in the authority section (for DS, a
 * zone strictly above the name: the child's apex NSEC says nothing about the parent's DS, RFC 4035
 * §3.1.4.1, RFC 5155 Appendix B.6). Without signed denial records the answer is insecure only where
 * the zone is proven insecure; in a secure zone it is bogus (nsec-missing).
 */
export async function proveNegative(run: Run, name: Name, qtype: number, kind: 'nxdomain' | 'nodata'): Promise<void> {
  const isDs = qtype === RRType.DS && !name.isRoot();
  const zone = run.denialSigners(name, qtype)[0];
  if (!zone) {
    const zo = await run.zoneOf(trustName(name, qtype));
    if (zo.security === 'secure') {
      const childSide = isDs && run.index.denial.some((s) => s.sigs.some((g) => g.data.signer.equals(name)));
      if (childSide) {
        run.tally.bogus({
          kind: 'proof-invalid', name: name.toText(), type: typeToText(qtype), proof: kind,
          detail: 'DS denial signed by the child zone (an answer from the wrong side of the cut, RFC 4035 §3.1.4.1)',
        });
      } else run.tally.bogus({ kind: 'nsec-missing', name: name.toText(), type: typeToText(qtype), proof: kind });
    } else if (zo.security === 'insecure') run.tally.insecureLink(zo.reason);
    else if (zo.security === 'bogus') run.tally.bogus(zo.reason);
    else run.tally.indeterminate(zo.detail);
  } else {
    const zk = await run.keysFor(zone);
    if (zk.security === 'secure') {
      const recs = run.denialRecords(zone, zk);
      if (recs.records.length === 0) missing(run, recs, name, qtype, kind);
      else {
        const res = kind === 'nxdomain'
          ? proveNxdomain(name, recs.records, zone, run.ctx)
          : proveNodata(name, qtype, recs.records, zone, run.ctx);
        record(run, res, recs);
      }
    } else if (zk.security === 'insecure') await run.confirmInsecure(name, qtype, zk);
    else if (zk.security === 'bogus') run.tally.bogus(zk.reason);
    else run.tally.indeterminate(zk.detail);
  }
  if (run.tally.stopped) return;
  await checkSoa(run, name, isDs);
}

/**
 * The SOA of a negative answer: verified when signed (a bad signature makes the answer bogus), and it
 * bounds the TTL (RFC 2308 §5: min of its TTL and MINIMUM). An unsigned SOA is not required by the proof.
 */
async function checkSoa(run: Run, name: Name, strictlyAbove: boolean): Promise<void> {
  const soa = run.index.soaFor(name, strictlyAbove);
  if (!soa) return;
  if (soa.sigs.length > 0) {
    const r = await run.checkRRset(soa);
    if (r.security !== 'secure' && r.security !== 'insecure') return;
    if (r.security === 'secure') {
      run.learned.soa.push({ zone: r.check.signer, set: run.proveAuthority(soa, r.check, r.keys), ttl: r.check.ttl });
    }
  }
  for (const rr of soa.rrs) run.tally.noteTtl(Math.min(rr.ttl, (rr.data as SOAData).minimum));
}

/**
 * A referral to `cut` (the upstream did not recurse). The delegation is secure when a DS RRset for
 * it verifies, insecure when the parent proves there is no DS (RFC 4035 §5.2, RFC 5155 §8.9 opt-out),
 * bogus when a secure parent gives neither.
 */
export async function proveReferral(run: Run, cut: Name): Promise<void> {
  const ds = run.index.authorityOfType(RRType.DS).find((s) => s.name.equals(cut));
  if (ds) {
    const r = await run.checkRRset(ds);
    if (r.security === 'secure') run.proveAuthority(ds, r.check, r.keys);
    return;
  }
  const zone = run.denialSigners(cut, RRType.DS)[0];
  if (!zone) {
    const zo = await run.zoneOf(cut.parent());
    if (zo.security === 'secure') run.tally.bogus({ kind: 'nsec-missing', name: cut.toText(), type: 'DS', proof: 'referral' });
    else if (zo.security === 'insecure') run.tally.insecureLink(zo.reason);
    else if (zo.security === 'bogus') run.tally.bogus(zo.reason);
    else run.tally.indeterminate(zo.detail);
    return;
  }
  const zk = await run.keysFor(zone);
  if (zk.security === 'insecure') {
    await run.confirmInsecure(cut, RRType.DS, zk);
    return;
  }
  if (zk.security === 'bogus') return run.tally.bogus(zk.reason);
  if (zk.security === 'indeterminate') return run.tally.indeterminate(zk.detail);
  const recs = run.denialRecords(zone, zk);
  if (recs.records.length === 0) return missing(run, recs, cut, RRType.DS, 'referral');
  const res = proveNoDs(cut, recs.records, zone, run.ctx);
  if (res.security !== 'secure') return record(run, res, recs);
  run.tally.step(res.step);
  if (res.notDelegation) {
    // The parent proves there is no zone cut at all: the referral's NS RRset cannot be right.
    return run.tally.bogus({
      kind: 'proof-invalid', name: cut.toText(), type: 'DS', proof: 'referral',
      detail: `the parent proves ${cut.toText()} is not a delegation`,
    });
  }
  run.tally.insecureLink({ kind: 'no-ds', zone: cut.toText() });
}
