/**
 * What is served is what was validated (issue 9): the response validator's `served` sections, for
 * answers an upstream on the path has tampered with. Small signed data built in the test.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { validateResponse } from '../../src/validator/response.js';
import { servedRecords } from '../../src/validator/served.js';
import type { SignedRRset, Verdict } from '../../src/validator/types.js';
import { RRType, rrToText } from '../../src/wire/index.js';
import { contextAt, memoryKeySource, question, response, rrs, type Sections } from './resp-keysource.js';
import { TEST_NOW, ZoneSigner } from './resp-signer.js';

const S = new ZoneSigner('secure.test.');
const O = new ZoneSigner('other.test.');

const keys = (): ReturnType<typeof memoryKeySource> =>
  memoryKeySource({ secure: { 'secure.test.': [S.dnskey], 'other.test.': [O.dnskey] }, insecure: ['insecure.test.'] });

function brief(v: Verdict): string {
  const why = v.security === 'bogus' || v.security === 'insecure' ? ` ${v.reason.kind}` : v.security === 'indeterminate' ? ' -' : '';
  return `${v.security} ${v.kind}${why}`;
}

async function run(qname: string, qtype: number, s: Sections) {
  const q = question(qname, qtype);
  return validateResponse(q, response(q, s), keys(), contextAt(TEST_NOW));
}

const soa = (zone: string, mname = `ns.${zone}`): string => `${zone} 3600 IN SOA ${mname} host.${zone} 1 3600 600 86400 300`;
/** "owner TYPE" of each served RRset, with its number of signatures. */
const shape = (sets: readonly SignedRRset[] | undefined): string[] => (sets ?? []).map((s) => `${s.name.toText()} ${s.type}/${s.sigs.length}`);
const texts = (sets: readonly SignedRRset[] | undefined): string => servedRecords(sets ?? []).map(rrToText).join('\n');

const WWW = 'www.secure.test. 600 IN A 192.0.2.1';

describe('served: the answer section', () => {
  it('a forged unsigned CNAME (and its target) in front of a genuine signed RRset: bogus, nothing served', async () => {
    const r = await run('www.secure.test.', RRType.A, {
      answer: [...rrs(['www.secure.test. 300 IN CNAME www.evil.insecure.test.', 'www.evil.insecure.test. 300 IN A 6.6.6.6']), ...S.signed([WWW])],
    });
    assert.equal(brief(r.verdict), 'bogus other upstream-inconsistent');
    assert.match(r.verdict.security === 'bogus' && r.verdict.reason.kind === 'upstream-inconsistent' ? r.verdict.reason.detail : '', /CNAME and other data \(A\) at www\.secure\.test\./);
    assert.equal(r.served, undefined);
  });

  it('two different CNAMEs at one owner: bogus; the same CNAME twice is one record', async () => {
    let r = await run('alias.secure.test.', RRType.A, {
      answer: [...S.signed(['alias.secure.test. 300 IN CNAME www.secure.test.']), ...rrs(['alias.secure.test. 300 IN CNAME evil.insecure.test.']), ...S.signed([WWW])],
    });
    assert.equal(brief(r.verdict), 'bogus other upstream-inconsistent');
    const cname = S.signed(['alias.secure.test. 300 IN CNAME www.secure.test.']);
    r = await run('alias.secure.test.', RRType.A, { answer: [...cname, cname[0]!, ...S.signed([WWW])] });
    assert.equal(brief(r.verdict), 'secure positive');
    assert.deepEqual(shape(r.served?.answer), ['alias.secure.test. 5/1', 'www.secure.test. 1/1'], 'served once');
    assert.equal(servedRecords(r.served!.answer).filter((rr) => rr.type === RRType.CNAME).length, 1);
  });

  it('unsigned RRsets off the chain (other owners, other types at the name, other zones): dropped, the answer stays secure', async () => {
    const r = await run('www.secure.test.', RRType.A, {
      answer: [
        ...rrs(['evil.secure.test. 300 IN A 6.6.6.6', 'www.secure.test. 300 IN TXT "forged"', 'www.evil.insecure.test. 300 IN A 6.6.6.6']),
        ...S.signed([WWW]),
        ...O.signed(['web.other.test. 300 IN A 192.0.2.9']),
      ],
    });
    assert.equal(brief(r.verdict), 'secure positive');
    assert.deepEqual(shape(r.served?.answer), ['www.secure.test. 1/1']);
    assert.doesNotMatch(texts(r.served?.answer), /6\.6\.6\.6|forged|192\.0\.2\.9/);
  });

  it('only the signature that verified is served with a secure RRset', async () => {
    const good = S.signed([WWW]);
    const bad = S.signed([WWW], { corrupt: true }).filter((rr) => rr.type === RRType.RRSIG);
    const r = await run('www.secure.test.', RRType.A, { answer: [...good.filter((rr) => rr.type === RRType.A), ...bad, ...good.filter((rr) => rr.type === RRType.RRSIG)] });
    assert.equal(brief(r.verdict), 'secure positive');
    assert.deepEqual(shape(r.served?.answer), ['www.secure.test. 1/1']);
    const served = servedRecords(r.served!.answer).find((rr) => rr.type === RRType.RRSIG)!;
    const genuine = good.find((rr) => rr.type === RRType.RRSIG)!;
    assert.deepEqual(served.rdata, genuine.rdata);
  });

  it('a secure CNAME chain is served link by link, each RRset with its signature', async () => {
    const r = await run('alias.secure.test.', RRType.A, {
      answer: [...S.signed(['alias.secure.test. 300 IN CNAME web.other.test.']), ...O.signed(['web.other.test. 300 IN A 192.0.2.4']), ...rrs(['web.other.test. 300 IN TXT "x"'])],
    });
    assert.equal(brief(r.verdict), 'secure positive');
    assert.deepEqual(shape(r.served?.answer), ['alias.secure.test. 5/1', 'web.other.test. 1/1']);
  });

  it('an insecure answer: only the chain, records in other names dropped', async () => {
    const r = await run('www.insecure.test.', RRType.A, {
      answer: rrs(['www.insecure.test. 300 IN A 192.0.2.7', 'www.secure.test. 300 IN A 6.6.6.6', 'evil.insecure.test. 300 IN A 6.6.6.6']),
    });
    assert.equal(brief(r.verdict), 'insecure positive no-ds');
    assert.deepEqual(shape(r.served?.answer), ['www.insecure.test. 1/0']);
  });
});

describe('served: the authority section', () => {
  const nodata = (): ReturnType<typeof S.signed> => [...S.signed([soa('secure.test.')]), ...S.nsec('www.secure.test.', 'z.secure.test.', 'A')];

  it('a secure NODATA: the SOA and the NSEC that proved it, each with its signature', async () => {
    const r = await run('www.secure.test.', RRType.TXT, { authority: nodata() });
    assert.equal(brief(r.verdict), 'secure nodata');
    assert.deepEqual(shape(r.served?.authority).sort(), ['secure.test. 6/1', 'www.secure.test. 47/1']);
  });

  it('a NODATA whose SOA lost its RRSIG, a forged SOA naming another primary, a fake unsigned NSEC: bogus', async () => {
    const nsec = S.nsec('www.secure.test.', 'z.secure.test.', 'A');
    let r = await run('www.secure.test.', RRType.TXT, { authority: [...rrs([soa('secure.test.')]), ...nsec] });
    assert.equal(brief(r.verdict), 'bogus nodata upstream-inconsistent');
    r = await run('www.secure.test.', RRType.TXT, { authority: [...nodata().filter((rr) => rr.type !== RRType.SOA && !(rr.type === RRType.RRSIG && (rr.data as { typeCovered: number }).typeCovered === RRType.SOA)), ...rrs([soa('secure.test.', 'evil.example.')])] });
    assert.equal(brief(r.verdict), 'bogus nodata upstream-inconsistent');
    r = await run('www.secure.test.', RRType.A, {
      answer: S.signed([WWW]),
      authority: rrs(['www.secure.test. 300 IN NSEC zz.secure.test. A TLSA RRSIG NSEC']),
    });
    assert.equal(brief(r.verdict), 'bogus positive upstream-inconsistent');
  });

  it('records of an insecure zone beside a secure answer cannot downgrade it: bogus, not insecure', async () => {
    const r = await run('www.secure.test.', RRType.A, { answer: S.signed([WWW]), authority: rrs([soa('insecure.test.')]) });
    assert.equal(brief(r.verdict), 'bogus positive upstream-inconsistent');
  });

  it('NS RRsets, and records signed by a zone the answer does not rest on, are dropped; its own zone\'s signed extras are served', async () => {
    let r = await run('www.secure.test.', RRType.A, { answer: S.signed([WWW]), authority: rrs(['secure.test. 300 IN NS ns.evil.example.']) });
    assert.equal(brief(r.verdict), 'secure positive');
    assert.deepEqual(shape(r.served?.authority), []);
    r = await run('www.secure.test.', RRType.A, { answer: S.signed([WWW]), authority: [...O.signed([soa('other.test.')]), ...O.nsec('a.other.test.', 'b.other.test.', 'A')] });
    assert.equal(brief(r.verdict), 'secure positive');
    assert.deepEqual(shape(r.served?.authority), [], 'another zone\'s genuine SOA and NSEC: not served, not fetched');
    r = await run('www.secure.test.', RRType.A, { answer: S.signed([WWW]), authority: S.signed([soa('secure.test.')]) });
    assert.equal(brief(r.verdict), 'secure positive');
    assert.deepEqual(shape(r.served?.authority), ['secure.test. 6/1']);
    r = await run('www.secure.test.', RRType.A, { answer: S.signed([WWW]), authority: S.signed([soa('secure.test.')], { corrupt: true }) });
    assert.equal(brief(r.verdict), 'bogus positive upstream-inconsistent', 'its own zone\'s SOA with a bad signature');
  });

  it('types that never belong in the authority section (A, CNAME, TXT) are dropped unread: the answer stays secure', async () => {
    const r = await run('www.secure.test.', RRType.A, {
      answer: S.signed([WWW]),
      authority: rrs(['www.secure.test. 300 IN A 6.6.6.6', 'www.secure.test. 300 IN CNAME evil.insecure.test.', 'secure.test. 300 IN TXT "forged"']),
    });
    assert.equal(brief(r.verdict), 'secure positive');
    assert.deepEqual(shape(r.served?.authority), []);
  });

  it('an insecure NXDOMAIN keeps its SOA, not records outside the insecure zone', async () => {
    const q = 'nx.insecure.test.';
    const r = await run(q, RRType.A, {
      rcode: 3,
      authority: rrs([soa('insecure.test.'), 'secure.test. 300 IN NS ns.evil.example.', 'evil.example. 300 IN SOA a. b. 1 1 1 1 1', 'other.insecure.test. 300 IN TXT "x"']),
    });
    assert.equal(brief(r.verdict), 'insecure nxdomain no-ds');
    assert.deepEqual(shape(r.served?.authority), ['insecure.test. 6/0']);
  });
});
