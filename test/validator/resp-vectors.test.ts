/**
 * The response validator on the RFC 4035 and RFC 5155 Appendix B responses, with KeySources built from
 * the Appendix A DNSKEYs (the "example." zone is a trust point).
 *
 * Outcomes decided here, beyond what the RFCs state:
 * - Referrals (RFC 4035 B.4/B.5, RFC 5155 B.3) are kind 'referral': secure when the DS RRset verifies,
 *   insecure when the parent proves there is no DS (NSEC, or NSEC3 opt-out). A stub asking a recursive
 *   resolver with RD never gets one; the resolver must not hand a referral out as an answer.
 * - RFC 5155 B.1 (name error) is insecure (opt-out), not secure: see the expectation below.
 * - The "DS Child Zone No Data" responses (RFC 4035 B.8, RFC 5155 B.6) come from the child's servers:
 *   the NSEC/NSEC3 at the child apex says nothing about the parent's DS (RFC 5155 B.6 says so; RFC 4035
 *   §3.1.4.1). With a secure parent they are bogus (proof-invalid), not secure NODATA.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { validateResponse } from '../../src/validator/response.js';
import type { Verdict } from '../../src/validator/types.js';
import { RRType, parseRR, typeFromText, type DNSKEYData, type Message, type RR } from '../../src/wire/index.js';
import { loadVector } from '../wire/helpers.js';
import { contextAt, memoryKeySource, question, response, rrs, type MemoryKeySourceOptions } from './resp-keysource.js';
import { ZoneSigner } from './resp-signer.js';

interface VectorItem {
  section: string;
  header: string;
  question: { qname: string; qtype: string };
  records_normalized: { answer: string[]; authority: string[]; additional: string[] };
}

function load(file: string): { items: VectorItem[]; keys: RR<DNSKEYData>[]; time: number } {
  const v = loadVector(file);
  const keys = (v.dnskeys as { owner: string; flags: number; protocol: number; algorithm: number; public_key_b64: string }[])
    .map((k) => parseRR(`${k.owner} 3600 IN DNSKEY ${k.flags} ${k.protocol} ${k.algorithm} ${k.public_key_b64}`) as RR<DNSKEYData>);
  return { items: v.responses.items, keys, time: v.signature_validity.suggested_validation_time.unix * 1000 };
}

function message(item: VectorItem): { q: ReturnType<typeof question>; msg: Message } {
  const q = question(item.question.qname, typeFromText(item.question.qtype)!);
  const rcode = Number(/RCODE=(\d+)/.exec(item.header)![1]);
  const r = item.records_normalized;
  return { q, msg: response(q, { rcode, answer: rrs(r.answer), authority: rrs(r.authority), additional: rrs(r.additional) }) };
}

function brief(v: Verdict): string {
  const why = v.security === 'bogus' || v.security === 'insecure' ? ` ${v.reason.kind}` : v.security === 'indeterminate' ? ` ${v.detail}` : '';
  return `${v.security} ${v.kind}${why}`;
}

/** A secure root with keys nobody signed with: the parent side of "example." for the DS cases. */
const root = new ZoneSigner('.');

type Expect = { security: string; kind: string; reason?: string; proofs?: number };

function suite(file: string, expected: Record<string, Expect>, extra: (keys: RR<DNSKEYData>[]) => MemoryKeySourceOptions = () => ({})): void {
  const { items, keys, time } = load(file);
  for (const item of items) {
    const exp = expected[item.section];
    if (!exp) continue;
    it(`${item.section} ${item.question.qname} ${item.question.qtype}: ${exp.security} ${exp.kind}${exp.reason ? ` (${exp.reason})` : ''}`, async () => {
      const { q, msg } = message(item);
      const more = extra(keys);
      const ks = memoryKeySource({ ...more, secure: { 'example.': keys, ...more.secure } });
      const res = await validateResponse(q, msg, ks, contextAt(time));
      const v = res.verdict;
      assert.equal(brief(v), `${exp.security} ${exp.kind}${exp.reason ? ` ${exp.reason}` : ''}`, JSON.stringify(v.trail));
      assert.equal(res.chase, undefined);
      if (v.security === 'secure') {
        assert.ok(res.ttl !== undefined && res.ttl > 0 && res.ttl <= 3600, `ttl ${res.ttl}`);
        assert.ok(v.trail.some((s) => s.step === 'rrset' && s.security === 'secure'));
      }
      if (exp.proofs !== undefined) assert.equal(v.trail.filter((s) => s.step === 'proof').length, exp.proofs, JSON.stringify(v.trail));
    });
  }
}

describe('RFC 4035 Appendix B responses', () => {
  suite('rfc4035.json', {
    'B.1': { security: 'secure', kind: 'positive', proofs: 0 },
    'B.2': { security: 'secure', kind: 'nxdomain', proofs: 1 },
    'B.3': { security: 'secure', kind: 'nodata', proofs: 1 },
    'B.4': { security: 'secure', kind: 'referral' },
    'B.5': { security: 'insecure', kind: 'referral', reason: 'no-ds', proofs: 1 },
    'B.6': { security: 'secure', kind: 'positive', proofs: 1 },
    'B.7': { security: 'secure', kind: 'nodata', proofs: 1 },
    'B.8': { security: 'bogus', kind: 'nodata', reason: 'proof-invalid' },
  }, () => ({ secure: { '.': [root.dnskey] } }));

  it('B.8 with an insecure parent: insecure NODATA (the parent side decides)', async () => {
    const { items, keys, time } = load('rfc4035.json');
    const { q, msg } = message(items.find((i) => i.section === 'B.8')!);
    const ks = memoryKeySource({ secure: { 'example.': keys }, insecure: ['.'] });
    const v = (await validateResponse(q, msg, ks, contextAt(time))).verdict;
    assert.equal(brief(v), 'insecure nodata no-ds');
  });

  it('B.1 outside the signature validity: bogus signature-expired', async () => {
    const { items, keys } = load('rfc4035.json');
    const { q, msg } = message(items.find((i) => i.section === 'B.1')!);
    const v = (await validateResponse(q, msg, memoryKeySource({ secure: { 'example.': keys } }), contextAt(Date.UTC(2004, 6, 1)))).verdict;
    assert.equal(brief(v), 'bogus positive signature-expired');
  });

  it('B.6 without the NSEC: bogus nsec-missing (wildcard proof)', async () => {
    const { items, keys, time } = load('rfc4035.json');
    const item = items.find((i) => i.section === 'B.6')!;
    const { q, msg } = message(item);
    msg.authority = msg.authority.filter((r) => r.type !== RRType.NSEC && !(r.type === RRType.RRSIG && (r.data as { typeCovered: number }).typeCovered === RRType.NSEC));
    const v = (await validateResponse(q, msg, memoryKeySource({ secure: { 'example.': keys } }), contextAt(time))).verdict;
    assert.equal(brief(v), 'bogus positive nsec-missing');
    assert.equal(v.security === 'bogus' && v.reason.kind === 'nsec-missing' && v.reason.proof, 'wildcard');
  });

  it('B.1 without the answer RRSIG: bogus rrsigs-missing', async () => {
    const { items, keys, time } = load('rfc4035.json');
    const { q, msg } = message(items.find((i) => i.section === 'B.1')!);
    msg.answer = msg.answer.filter((r) => r.type !== RRType.RRSIG);
    const v = (await validateResponse(q, msg, memoryKeySource({ secure: { 'example.': keys } }), contextAt(time))).verdict;
    assert.equal(brief(v), 'bogus positive rrsigs-missing');
  });

  it('B.2 without NSECs: bogus nsec-missing; B.2 unsigned in an insecure zone: insecure', async () => {
    const { items, keys, time } = load('rfc4035.json');
    const { q, msg } = message(items.find((i) => i.section === 'B.2')!);
    msg.authority = msg.authority.filter((r) => r.type === RRType.SOA || (r.type === RRType.RRSIG && (r.data as { typeCovered: number }).typeCovered === RRType.SOA));
    let v = (await validateResponse(q, msg, memoryKeySource({ secure: { 'example.': keys } }), contextAt(time))).verdict;
    assert.equal(brief(v), 'bogus nxdomain nsec-missing');
    msg.authority = msg.authority.filter((r) => r.type === RRType.SOA);
    v = (await validateResponse(q, msg, memoryKeySource({ insecure: ['example.'] }), contextAt(time))).verdict;
    assert.equal(brief(v), 'insecure nxdomain no-ds');
  });
});

describe('RFC 5155 Appendix B responses', () => {
  suite('rfc5155.json', {
    // Every NSEC3 of the RFC 5155 zone has Opt-Out set, including the one covering the next closer name
    // c.x.w.example: an unsigned delegation could exist there, so denial.ts makes the NXDOMAIN insecure
    // (RFC 5155 §9.2, RFC 7129 §5.1) although the records verify.
    'B.1': { security: 'insecure', kind: 'nxdomain', reason: 'opt-out', proofs: 1 },
    'B.2': { security: 'secure', kind: 'nodata', proofs: 1 },
    'B.2.1': { security: 'secure', kind: 'nodata', proofs: 1 },
    'B.3': { security: 'insecure', kind: 'referral', reason: 'opt-out', proofs: 1 },
    // The same holds for the wildcard expansion and the wildcard NODATA: the next closer z.w.example. lies in
    // an Opt-Out span (RFC 5155 §9.2; the validating Unbound of the test world agrees on nsec3-optout.test.).
    'B.4': { security: 'insecure', kind: 'positive', reason: 'opt-out', proofs: 1 },
    'B.5': { security: 'insecure', kind: 'nodata', reason: 'opt-out', proofs: 1 },
    'B.6': { security: 'bogus', kind: 'nodata', reason: 'proof-invalid' },
  }, () => ({ secure: { '.': [root.dnskey] } }));
});
