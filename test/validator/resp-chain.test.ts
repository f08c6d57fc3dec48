/**
 * The response validator on small signed data built in the test (ECDSA P-256 keys from node:crypto):
 * CNAME/DNAME chains across secure, insecure and bogus zones, loops and long chains, chains the
 * upstream stopped short, wildcard expansions, and the header checks.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { validateResponse, weakest } from '../../src/validator/response.js';
import type { KeySource, Verdict } from '../../src/validator/types.js';
import { RRType, Rcode, parseRR, type RR } from '../../src/wire/index.js';
import { contextAt, memoryKeySource, question, response, rrs, type Sections } from './resp-keysource.js';
import { TEST_NOW, ZoneSigner } from './resp-signer.js';

const S = new ZoneSigner('secure.test.');
const O = new ZoneSigner('other.test.');
const B = new ZoneSigner('bogus.test.');

const keys = (): ReturnType<typeof memoryKeySource> =>
  memoryKeySource({
    secure: { 'secure.test.': [S.dnskey], 'other.test.': [O.dnskey] },
    insecure: ['insecure.test.'],
    bogus: ['bogus.test.'],
    indeterminate: ['down.test.'],
  });

function brief(v: Verdict): string {
  const why = v.security === 'bogus' || v.security === 'insecure' ? ` ${v.reason.kind}` : v.security === 'indeterminate' ? ' -' : '';
  return `${v.security} ${v.kind}${why}`;
}

async function run(qname: string, qtype: number, s: Sections, ks: KeySource = keys(), limits = {}) {
  const q = question(qname, qtype);
  return validateResponse(q, response(q, s), ks, contextAt(TEST_NOW, limits));
}

const soa = (zone: string): string => `${zone} 3600 IN SOA ns.${zone} host.${zone} 1 3600 600 86400 300`;

describe('validateResponse: single answers', () => {
  it('signed answer in a secure zone: secure positive, TTL from the records', async () => {
    const r = await run('www.secure.test.', RRType.A, { answer: S.signed(['www.secure.test. 600 IN A 192.0.2.1']) });
    assert.equal(brief(r.verdict), 'secure positive');
    assert.equal(r.ttl, 600);
    assert.equal(r.chase, undefined);
    assert.deepEqual(r.verdict.trail.map((s) => s.step), ['keys', 'rrset']);
  });

  it('unsigned answer from an insecure zone: insecure positive', async () => {
    const r = await run('www.insecure.test.', RRType.A, { answer: rrs(['www.insecure.test. 300 IN A 192.0.2.2']) });
    assert.equal(brief(r.verdict), 'insecure positive no-ds');
    assert.equal(r.ttl, 300);
  });

  it('answer without RRSIGs in a secure zone: bogus rrsigs-missing', async () => {
    const r = await run('www.secure.test.', RRType.A, { answer: rrs(['www.secure.test. 600 IN A 192.0.2.1']) });
    assert.equal(brief(r.verdict), 'bogus positive rrsigs-missing');
    assert.equal(r.ttl, undefined);
  });

  it('corrupted signature: bogus signature-invalid', async () => {
    const r = await run('www.secure.test.', RRType.A, { answer: S.signed(['www.secure.test. 600 IN A 192.0.2.1'], { corrupt: true }) });
    assert.equal(brief(r.verdict), 'bogus positive signature-invalid');
  });

  it('signed by a zone whose keys are bogus: bogus; keys not available: indeterminate', async () => {
    let r = await run('www.bogus.test.', RRType.A, { answer: B.signed(['www.bogus.test. 600 IN A 192.0.2.3']) });
    assert.equal(brief(r.verdict), 'bogus positive ds-mismatch');
    const D = new ZoneSigner('down.test.');
    r = await run('www.down.test.', RRType.A, { answer: D.signed(['www.down.test. 600 IN A 192.0.2.3']) });
    assert.equal(brief(r.verdict), 'indeterminate positive -');
  });

  it('records off the chain do not change the verdict', async () => {
    const r = await run('www.secure.test.', RRType.A, {
      answer: [...S.signed(['www.secure.test. 600 IN A 192.0.2.1']), ...rrs(['junk.secure.test. 600 IN A 192.0.2.99', 'www.secure.test. 600 IN TXT "x"'])],
    });
    assert.equal(brief(r.verdict), 'secure positive');
  });

  it('an RRSIG naming an insecure signer does not downgrade data of a secure zone', async () => {
    const base = keys();
    const lying: KeySource = {
      keysForZone: async (z, ctx) =>
        z.toText() === 'www.secure.test.'
          ? { security: 'insecure', zone: z, reason: { kind: 'no-ds', zone: z.toText() }, validUntil: Infinity, trail: [] }
          : base.keysForZone(z, ctx),
      zoneOf: (n, ctx) => base.zoneOf(n, ctx),
    };
    const F = new ZoneSigner('www.secure.test.');
    const r = await run('www.secure.test.', RRType.A, { answer: F.signed(['www.secure.test. 600 IN A 192.0.2.1']) }, lying);
    assert.equal(brief(r.verdict), 'bogus positive bad-rrsig');
  });

  it('DS RRset signed by the child zone itself: bogus bad-rrsig', async () => {
    const C = new ZoneSigner('child.secure.test.');
    const ks = memoryKeySource({ secure: { 'secure.test.': [S.dnskey], 'child.secure.test.': [C.dnskey] } });
    const r = await run('child.secure.test.', RRType.DS, { answer: C.signed(['child.secure.test. 3600 IN DS 1 13 2 0011223344556677889900112233445566778899001122334455667788990011']) }, ks);
    assert.equal(brief(r.verdict), 'bogus positive bad-rrsig');
  });
});

describe('validateResponse: CNAME and DNAME chains', () => {
  it('CNAME secure -> secure: secure positive with an alias step', async () => {
    const r = await run('www.secure.test.', RRType.A, {
      answer: [...S.signed(['www.secure.test. 900 IN CNAME web.other.test.']), ...O.signed(['web.other.test. 700 IN A 192.0.2.4'])],
    });
    assert.equal(brief(r.verdict), 'secure positive');
    assert.equal(r.ttl, 700);
    assert.ok(r.verdict.trail.some((s) => s.step === 'alias' && s.kind === 'cname' && s.to === 'web.other.test.'));
  });

  it('CNAME secure -> insecure: insecure', async () => {
    const r = await run('www.secure.test.', RRType.A, {
      answer: [...S.signed(['www.secure.test. 900 IN CNAME web.insecure.test.']), ...rrs(['web.insecure.test. 60 IN A 192.0.2.5'])],
    });
    assert.equal(brief(r.verdict), 'insecure positive no-ds');
    assert.equal(r.ttl, 60);
  });

  it('CNAME secure -> a tail that fails inside the message: not bogus yet, the tail is to be asked on its own', async () => {
    let r = await run('www.secure.test.', RRType.A, {
      answer: [...S.signed(['www.secure.test. 900 IN CNAME web.bogus.test.']), ...B.signed(['web.bogus.test. 60 IN A 192.0.2.6'])],
    });
    assert.equal(brief(r.verdict), 'secure cname');
    assert.equal(r.chase?.name.toText(), 'web.bogus.test.');
    assert.equal(r.chase?.type, RRType.A);
    // Only the good part is served, and the failed tail left no trace in the trail.
    assert.deepEqual(r.served?.answer.map((s) => `${s.name.toText()} ${s.type}`), ['www.secure.test. 5']);
    assert.ok(!r.verdict.trail.some((s) => s.step === 'bogus'));
    r = await run('www.secure.test.', RRType.A, {
      answer: [...S.signed(['www.secure.test. 900 IN CNAME web.other.test.']), ...O.signed(['web.other.test. 60 IN A 192.0.2.6'], { corrupt: true })],
    });
    assert.equal(brief(r.verdict), 'secure cname');
    assert.equal(r.chase?.name.toText(), 'web.other.test.');
  });

  it('a CNAME at the query name that fails is bogus at once (nothing to ask on its own)', async () => {
    const r = await run('www.secure.test.', RRType.A, {
      answer: [...S.signed(['www.secure.test. 900 IN CNAME web.other.test.'], { corrupt: true }), ...O.signed(['web.other.test. 60 IN A 192.0.2.6'])],
    });
    assert.equal(brief(r.verdict), 'bogus cname signature-invalid');
    assert.equal(r.chase, undefined);
    assert.equal(r.served, undefined);
  });

  it('CNAME query: the CNAME is the answer, not followed', async () => {
    const r = await run('www.secure.test.', RRType.CNAME, { answer: S.signed(['www.secure.test. 900 IN CNAME web.elsewhere.']) });
    assert.equal(brief(r.verdict), 'secure positive');
    assert.equal(r.chase, undefined);
  });

  it('DNAME with its synthesized (unsigned) CNAME: secure', async () => {
    const answer = [
      ...S.signed(['dn.secure.test. 1200 IN DNAME other.test.']),
      ...rrs(['a.b.dn.secure.test. 1200 IN CNAME a.b.other.test.']),
      ...O.signed(['a.b.other.test. 800 IN A 192.0.2.7']),
    ];
    let r = await run('a.b.dn.secure.test.', RRType.A, { answer });
    assert.equal(brief(r.verdict), 'secure positive');
    assert.ok(r.verdict.trail.some((s) => s.step === 'alias' && s.kind === 'dname' && s.to === 'a.b.other.test.'));
    // Without the synthesized CNAME (a DNAME-aware upstream may leave it out): the same.
    r = await run('a.b.dn.secure.test.', RRType.A, { answer: answer.filter((x) => x.type !== RRType.CNAME) });
    assert.equal(brief(r.verdict), 'secure positive');
    // A CNAME query is answered by the synthesized CNAME, validated through the DNAME.
    r = await run('a.b.dn.secure.test.', RRType.CNAME, { answer: answer.slice(0, 3) });
    assert.equal(brief(r.verdict), 'secure positive');
  });

  it('synthesized CNAME that is not the DNAME substitution: bogus upstream-inconsistent', async () => {
    const r = await run('a.dn.secure.test.', RRType.A, {
      answer: [
        ...S.signed(['dn.secure.test. 1200 IN DNAME other.test.']),
        ...rrs(['a.dn.secure.test. 1200 IN CNAME evil.example.']),
        ...rrs(['evil.example. 800 IN A 192.0.2.66']),
      ],
    });
    assert.equal(brief(r.verdict), 'bogus other upstream-inconsistent');
  });

  it('DNAME without RRSIG in a secure zone: bogus rrsigs-missing', async () => {
    const r = await run('a.dn.secure.test.', RRType.A, {
      answer: rrs(['dn.secure.test. 1200 IN DNAME other.test.', 'a.dn.secure.test. 1200 IN CNAME a.other.test.']),
    });
    assert.equal(brief(r.verdict), 'bogus cname rrsigs-missing');
  });

  it('DNAME substitution longer than 255 octets: YXDOMAIN is the answer (secure other)', async () => {
    const l63 = 'x'.repeat(63);
    const target = `${l63}.${l63}.${'y'.repeat(40)}.other.test.`;
    const qname = `${l63}.${'z'.repeat(60)}.dn.secure.test.`;
    const answer = S.signed([`dn.secure.test. 1200 IN DNAME ${target}`]);
    let r = await run(qname, RRType.A, { answer, rcode: Rcode.YXDOMAIN });
    assert.equal(brief(r.verdict), 'secure other');
    r = await run(qname, RRType.A, { answer, rcode: Rcode.NOERROR });
    assert.equal(brief(r.verdict), 'bogus other upstream-inconsistent');
  });

  it('CNAME loop: bogus chain-too-long', async () => {
    const r = await run('a.secure.test.', RRType.A, {
      answer: S.signed(['a.secure.test. 300 IN CNAME b.secure.test.', 'b.secure.test. 300 IN CNAME a.secure.test.']),
    });
    assert.equal(brief(r.verdict), 'bogus cname chain-too-long');
  });

  it('12 links are followed, 13 are bogus chain-too-long', async () => {
    const chain = (n: number): RR[] => [
      ...S.signed(Array.from({ length: n }, (_, i) => `c${i}.secure.test. 300 IN CNAME c${i + 1}.secure.test.`)),
      ...S.signed([`c${n}.secure.test. 300 IN A 192.0.2.8`]),
    ];
    let r = await run('c0.secure.test.', RRType.A, { answer: chain(12) });
    assert.equal(brief(r.verdict), 'secure positive');
    assert.equal(r.verdict.trail.filter((s) => s.step === 'alias').length, 12);
    r = await run('c0.secure.test.', RRType.A, { answer: chain(13) });
    assert.equal(brief(r.verdict), 'bogus cname chain-too-long');
    r = await run('c0.secure.test.', RRType.A, { answer: chain(3) }, keys(), { maxChainLength: 2 });
    assert.equal(brief(r.verdict), 'bogus cname chain-too-long');
  });

  it('a chain the upstream stopped short: chase the last name, combine with weakest()', async () => {
    const first = await run('www.secure.test.', RRType.A, { answer: S.signed(['www.secure.test. 900 IN CNAME web.other.test.']) });
    assert.equal(brief(first.verdict), 'secure cname');
    assert.equal(first.chase?.name.toText(), 'web.other.test.');
    assert.equal(first.chase?.type, RRType.A);
    const rest = await run('web.other.test.', RRType.A, { answer: rrs(['web.other.test. 60 IN A 192.0.2.9']) });
    assert.equal(brief(rest.verdict), 'bogus positive rrsigs-missing');
    const both = weakest(first.verdict, rest.verdict);
    assert.equal(brief(both), 'bogus positive rrsigs-missing');
    assert.equal(both.trail.length, first.verdict.trail.length + rest.verdict.trail.length);
    const ok = await run('web.other.test.', RRType.A, { answer: O.signed(['web.other.test. 60 IN A 192.0.2.9']) });
    const good = weakest(first.verdict, ok.verdict);
    assert.equal(brief(good), 'secure positive');
    assert.equal(good.security === 'secure' && good.ttlCap, 60);
  });

  it('CNAME into a name the upstream says does not exist: NXDOMAIN proven in the target zone', async () => {
    const r = await run('www.secure.test.', RRType.A, {
      rcode: Rcode.NXDOMAIN,
      answer: S.signed(['www.secure.test. 900 IN CNAME nx.other.test.']),
      authority: [
        ...O.signed([soa('other.test.')]),
        ...O.nsec('other.test.', 'a.other.test.', 'SOA NS'),
        ...O.nsec('a.other.test.', 'www.other.test.', 'A'),
      ],
    });
    assert.equal(brief(r.verdict), 'secure nxdomain');
    assert.equal(r.ttl, 300);
    assert.ok(r.verdict.trail.some((s) => s.step === 'proof' && s.security === 'secure'));
  });
});

describe('validateResponse: wildcards and negative answers', () => {
  const wildcardAnswer = (): RR[] => {
    const a = parseRR('host.secure.test. 600 IN A 192.0.2.10');
    return [a, S.sign([a], { labels: 2 })];
  };

  it('wildcard expansion with its NSEC proof: secure; without: bogus nsec-missing (wildcard)', async () => {
    const proof = S.nsec('*.secure.test.', 'www.secure.test.', 'A');
    let r = await run('host.secure.test.', RRType.A, { answer: wildcardAnswer(), authority: proof });
    assert.equal(brief(r.verdict), 'secure positive');
    assert.ok(r.verdict.trail.some((s) => s.step === 'rrset' && s.wildcard === '*.secure.test.'));
    r = await run('host.secure.test.', RRType.A, { answer: wildcardAnswer() });
    assert.equal(brief(r.verdict), 'bogus positive nsec-missing');
    assert.equal(r.verdict.security === 'bogus' && r.verdict.reason.kind === 'nsec-missing' && r.verdict.reason.proof, 'wildcard');
  });

  it('NODATA: secure with the NSEC, bogus without, insecure in an insecure zone', async () => {
    let r = await run('www.secure.test.', RRType.AAAA, {
      authority: [...S.signed([soa('secure.test.')]), ...S.nsec('www.secure.test.', 'z.secure.test.', 'A')],
    });
    assert.equal(brief(r.verdict), 'secure nodata');
    r = await run('www.secure.test.', RRType.AAAA, { authority: S.signed([soa('secure.test.')]) });
    assert.equal(brief(r.verdict), 'bogus nodata nsec-missing');
    r = await run('www.insecure.test.', RRType.AAAA, { authority: rrs([soa('insecure.test.')]) });
    assert.equal(brief(r.verdict), 'insecure nodata no-ds');
  });

  it('NODATA whose SOA signature is broken: bogus', async () => {
    const r = await run('www.secure.test.', RRType.AAAA, {
      authority: [...S.signed([soa('secure.test.')], { corrupt: true }), ...S.nsec('www.secure.test.', 'z.secure.test.', 'A')],
    });
    assert.equal(brief(r.verdict), 'bogus nodata signature-invalid');
  });

  it('referral below an insecure parent: insecure referral', async () => {
    const r = await run('www.sub.insecure.test.', RRType.A, { authority: rrs(['sub.insecure.test. 3600 IN NS ns.sub.insecure.test.']) });
    assert.equal(brief(r.verdict), 'insecure referral no-ds');
  });

  it('unsigned referral from a secure parent: bogus nsec-missing', async () => {
    const r = await run('www.sub.secure.test.', RRType.A, { authority: rrs(['sub.secure.test. 3600 IN NS ns.sub.secure.test.']) });
    assert.equal(brief(r.verdict), 'bogus referral nsec-missing');
  });
});

describe('validateResponse: header checks', () => {
  it('a response for another question: bogus upstream-inconsistent', async () => {
    const q = question('www.secure.test.', RRType.A);
    const msg = response(q, { echo: question('www.other.test.', RRType.A), answer: O.signed(['www.other.test. 60 IN A 192.0.2.1']) });
    const r = await validateResponse(q, msg, keys(), contextAt(TEST_NOW));
    assert.equal(brief(r.verdict), 'bogus other upstream-inconsistent');
    const r2 = await validateResponse(q, response(q, { echo: question('www.secure.test.', RRType.AAAA) }), keys(), contextAt(TEST_NOW));
    assert.equal(brief(r2.verdict), 'bogus other upstream-inconsistent');
  });

  it('SERVFAIL and REFUSED: indeterminate, no key lookups', async () => {
    for (const rcode of [Rcode.SERVFAIL, Rcode.REFUSED]) {
      const ks = keys();
      const r = await run('www.secure.test.', RRType.A, { rcode }, ks);
      assert.equal(brief(r.verdict), 'indeterminate other -');
      assert.deepEqual(ks.calls, []);
    }
  });

  it('case differences in the echoed question are fine', async () => {
    const q = question('WWW.Secure.TEST.', RRType.A);
    const msg = response(question('www.secure.test.', RRType.A), { answer: S.signed(['www.secure.test. 600 IN A 192.0.2.1']) });
    const r = await validateResponse(q, msg, keys(), contextAt(TEST_NOW));
    assert.equal(brief(r.verdict), 'secure positive');
  });
});

describe('validateResponse: query types and odd shapes', () => {
  it('ANY: every RRset at the name is validated', async () => {
    const answer = S.signed(['www.secure.test. 600 IN A 192.0.2.1', 'www.secure.test. 500 IN TXT "hello"']);
    let r = await run('www.secure.test.', RRType.ANY, { answer });
    assert.equal(brief(r.verdict), 'secure positive');
    assert.equal(r.ttl, 500);
    r = await run('www.secure.test.', RRType.ANY, { answer: [...answer.slice(0, 2), ...rrs(['www.secure.test. 500 IN TXT "hello"'])] });
    assert.equal(brief(r.verdict), 'bogus positive rrsigs-missing');
  });

  it('RRSIG queries and truncated responses: indeterminate', async () => {
    let r = await run('www.secure.test.', RRType.RRSIG, { answer: S.signed(['www.secure.test. 600 IN A 192.0.2.1']).slice(1) });
    assert.equal(brief(r.verdict), 'indeterminate other -');
    const q = question('www.secure.test.', RRType.A);
    const msg = response(q, { answer: S.signed(['www.secure.test. 600 IN A 192.0.2.1']) });
    msg.flags.tc = true;
    r = await validateResponse(q, msg, keys(), contextAt(TEST_NOW));
    assert.equal(brief(r.verdict), 'indeterminate other -');
  });

  it('NXDOMAIN rcode with data at the end of the chain: bogus upstream-inconsistent', async () => {
    const r = await run('www.secure.test.', RRType.A, { rcode: Rcode.NXDOMAIN, answer: S.signed(['www.secure.test. 600 IN A 192.0.2.1']) });
    assert.equal(brief(r.verdict), 'bogus other upstream-inconsistent');
  });

  it('DS NODATA proven by the parent: secure; a referral-shaped DS answer at the cut is read as NODATA', async () => {
    const proof = S.nsec('child.secure.test.', 'z.secure.test.', 'NS');
    let r = await run('child.secure.test.', RRType.DS, { authority: [...S.signed([soa('secure.test.')]), ...proof] });
    assert.equal(brief(r.verdict), 'secure nodata');
    r = await run('child.secure.test.', RRType.DS, { authority: [...rrs(['child.secure.test. 3600 IN NS ns.child.secure.test.']), ...proof] });
    assert.equal(brief(r.verdict), 'secure nodata');
    r = await run('child.secure.test.', RRType.DS, { authority: rrs(['child.secure.test. 3600 IN NS ns.child.secure.test.']) });
    assert.equal(brief(r.verdict), 'bogus nodata nsec-missing');
  });

  it('a signed DS in a referral: secure referral; one with a bad signature: bogus', async () => {
    const ds = 'child.secure.test. 3600 IN DS 1 13 2 0011223344556677889900112233445566778899001122334455667788990011';
    const ns = rrs(['child.secure.test. 3600 IN NS ns.child.secure.test.']);
    let r = await run('www.child.secure.test.', RRType.A, { authority: [...ns, ...S.signed([ds])] });
    assert.equal(brief(r.verdict), 'secure referral');
    r = await run('www.child.secure.test.', RRType.A, { authority: [...ns, ...S.signed([ds], { corrupt: true })] });
    assert.equal(brief(r.verdict), 'bogus referral signature-invalid');
  });

  it('negative answer signed by a zone the KeySource says is insecure: insecure when its zone is', async () => {
    const I = new ZoneSigner('insecure.test.');
    const r = await run('www.insecure.test.', RRType.AAAA, {
      authority: [...I.signed([soa('insecure.test.')]), ...I.nsec('www.insecure.test.', 'z.insecure.test.', 'A')],
    });
    assert.equal(brief(r.verdict), 'insecure nodata no-ds');
  });
});

describe('weakest', () => {
  const sec = (ttl: number): Verdict => ({ security: 'secure', kind: 'cname', trail: [], ttlCap: ttl });
  const ins: Verdict = { security: 'insecure', kind: 'positive', reason: { kind: 'no-ds', zone: 'x.' }, trail: [], ttlCap: 30 };
  const bog: Verdict = { security: 'bogus', kind: 'positive', reason: { kind: 'chain-too-long', name: 'x.' }, trail: [] };
  const ind: Verdict = { security: 'indeterminate', kind: 'positive', detail: 'timeout', trail: [] };
  it('orders bogus < indeterminate < insecure < secure and takes the later kind', () => {
    assert.equal(brief(weakest(sec(100), ins)), 'insecure positive no-ds');
    assert.equal(weakest(sec(100), ins).security === 'insecure' && (weakest(sec(100), ins) as { ttlCap: number }).ttlCap, 30);
    assert.equal(weakest(ind, bog).security, 'bogus');
    assert.equal(weakest(bog, ind).security, 'bogus');
    assert.equal(weakest(ins, ind).security, 'indeterminate');
    assert.equal(weakest(sec(5), sec(9)).security === 'secure' && (weakest(sec(5), sec(9)) as { ttlCap: number }).ttlCap, 5);
  });
});
