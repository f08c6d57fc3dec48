/**
 * Entries and the fast path: the record blob round-trips, owner names are compressed against the
 * question, and the reply built from bytes carries exactly what the normal path (shapeOutcome +
 * replyMessage + serializeReply) sends, for every combination of DO, AD, CD, EDNS and question case.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeEntry, encodeEntry, entryOutcome, questionWire, type CacheEntry } from '../../src/cache/entry.js';
import { questionKey } from '../../src/cache/key.js';
import { renderReply, udpLimit, viewQuery } from '../../src/cache/render.js';
import { tailStats } from '../../src/cache/reply-store.js';
import { STALE_EDE } from '../../src/resolver/cached.js';
import { outcomeOf, shapeOutcome } from '../../src/resolver/answer.js';
import { echoQuery, replyMessage, serializeReply } from '../../src/server/responder.js';
import type { EdeEntry } from '../../src/wire/index.js';
import {
  EdnsOptionCode, Name, RRType, Rcode, makeQuery, parseMessage, rrToText, serializeMessage, type Message, type RR,
} from '../../src/wire/index.js';
import { answerRes, failureRes, nxAuthority, positive, queryMessage, queryPacket, rrs, secure, SIG, T0 } from './helpers.js';

const QN = 'www.example.test.';

function entryFor(name: string, res: Parameters<typeof outcomeOf>[0], ttl = 300): CacheEntry {
  return encodeEntry(Name.fromText(name), outcomeOf(res, `${name} A`), ttl, T0);
}

const bogusRes = answerRes(
  { security: 'bogus', kind: 'positive', trail: [], reason: { kind: 'signature-expired', name: QN, type: 'A', keyTag: 12345, expiration: 1, inception: 0, signer: 'example.' } },
  positive(),
);
const insecureUnsupported = answerRes(
  { security: 'insecure', kind: 'positive', trail: [], ttlCap: undefined, reason: { kind: 'unsupported-algorithm', zone: 'example.test.', algorithms: [253] } },
  rrs(`${QN} 300 IN A 192.0.2.1`),
);

/** Entries by label; each is asked for under its own name (the key guarantees that). */
const ENTRIES: Record<string, CacheEntry> = {
  'secure positive with RRSIG': entryFor(QN, answerRes(secure(), positive(), rrs('example.test. 300 IN NS ns1.example.test.'))),
  'secure NXDOMAIN with proofs': entryFor('nx.example.test.', answerRes(secure(300, 'nxdomain'), [], nxAuthority(), Rcode.NXDOMAIN)),
  'CNAME chain': entryFor('alias.example.test.', answerRes(secure(), rrs(`alias.example.test. 300 IN CNAME ${QN}`, `${QN} 300 IN A 192.0.2.1`))),
  'insecure, informational EDE': entryFor(QN, insecureUnsupported),
  bogus: entryFor(QN, bogusRes, 60),
  'upstream failure': entryFor(QN, failureRes('network-error'), 5),
  unchecked: encodeEntry(Name.fromText(QN), outcomeOf({ kind: 'unchecked', rcode: 0, answer: positive(), authority: [], additional: rrs('ns1.example.test. 300 IN A 192.0.2.53'), upstreams: [] }, 'q'), 300, T0),
};

/** Everything a client can observe, as text. */
function observe(m: Message): string[] {
  const f = m.flags;
  const out = [
    `id ${m.id} rcode ${m.rcode} qr ${f.qr} aa ${f.aa} tc ${f.tc} rd ${f.rd} ra ${f.ra} z ${f.z} ad ${f.ad} cd ${f.cd}`,
    `question ${m.question.map((q) => `${q.name.toText()} ${q.type} ${q.class}`).join()}`,
  ];
  for (const [s, list] of [['an', m.answer], ['ns', m.authority], ['ar', m.additional]] as const) {
    for (const rr of list) out.push(`${s} ${rrToText(rr)}`);
  }
  if (m.edns) {
    out.push(`edns ${m.edns.udpSize} v${m.edns.version} do ${m.edns.dnssecOk} z ${m.edns.z}`);
    for (const o of m.edns.options) out.push(`opt ${o.code} ${Buffer.from(o.data).toString('hex')}`);
  }
  return out;
}

function normalPath(q: Message, e: CacheEntry, ttl: number, extra?: EdeEntry): Message {
  const answer = shapeOutcome(q, entryOutcome(e, questionWire(q.question[0]!), ttl), extra);
  return parseMessage(serializeReply(replyMessage(echoQuery(q), answer, 1232), 65535).bytes);
}

function fastPath(q: Message, e: CacheEntry, ttl: number, extra?: EdeEntry): Message {
  const packet = serializeMessage(q, { compress: false }).bytes;
  const view = viewQuery(packet);
  assert.ok(view, 'the fast path accepts a plain query');
  const bytes = renderReply(packet, view, e, ttl, extra, 1232, 65535);
  assert.ok(bytes);
  return parseMessage(bytes);
}

describe('entry encoding', () => {
  it('round-trips the records, with the TTL asked for', () => {
    const e = ENTRIES['secure NXDOMAIN with proofs']!;
    const qw = questionWire({ name: Name.fromText('nx.example.test.'), type: RRType.A, class: 1 });
    const d = decodeEntry(e, qw, 42);
    assert.equal(d.answer.length, 0);
    assert.deepEqual(d.authority.map((r) => rrToText(r).split('\t').slice(2).join(' ')), nxAuthority().map((r) => rrToText(r).split('\t').slice(2).join(' ')));
    assert.ok(d.authority.every((r) => r.ttl === 42));
  });

  it('compresses owner names against the question: a pointer to offset 12 for the question name', () => {
    const e = ENTRIES['secure positive with RRSIG']!;
    const b = Buffer.from(e.records, 'latin1');
    assert.equal(b.readUInt16BE(0), 0xc00c, 'answer owner = question name');
    // "example.test." is label 1 of www.example.test: offset 12 + 4.
    const authorityAt = b.indexOf(Buffer.from([0xc0, 16]));
    assert.ok(authorityAt > 0, 'NS owner points into the question');
    // A typical signed A answer stays small: A (16) + RRSIG (~110 with a 64-octet signature).
    assert.ok(positive().length === 2 && encodeEntry(Name.fromText(QN), outcomeOf(answerRes(secure(), positive()), 'q'), 300, T0).records.length < 140);
  });

  it('keeps names in RDATA uncompressed and exactly as received', () => {
    const e = ENTRIES['CNAME chain']!;
    const d = decodeEntry(e, questionWire({ name: Name.fromText('ALIAS.example.test.'), type: RRType.A, class: 1 }), 300);
    assert.equal(d.answer[0]!.name.toText(), 'ALIAS.example.test.', 'owner takes the case of the question');
    assert.equal((d.answer[0]!.data as { target: Name }).target.toText(), QN);
  });

  it('keys fold ASCII case only, and carry type, class and CD', () => {
    const a = questionKey({ name: Name.fromText('WwW.Example.TEST.'), type: 1, class: 1 }, false);
    assert.equal(a, questionKey({ name: Name.fromText(QN), type: 1, class: 1 }, false));
    assert.notEqual(a, questionKey({ name: Name.fromText(QN), type: 1, class: 1 }, true));
    assert.notEqual(a, questionKey({ name: Name.fromText(QN), type: 28, class: 1 }, false));
    assert.notEqual(a, questionKey({ name: Name.fromText(QN), type: 1, class: 3 }, false));
    assert.notEqual(questionKey({ name: Name.fromText('\\192.example.test.'), type: 1, class: 1 }, false),
      questionKey({ name: Name.fromText('\\224.example.test.'), type: 1, class: 1 }, false), 'no Latin-1 case folding');
    const packet = queryPacket('WWW.example.test.', RRType.A);
    assert.equal(viewQuery(packet)!.key, a);
  });
});

describe('fast path replies equal the normal path', () => {
  const variants: { label: string; name: string; type?: number; o: Parameters<typeof queryMessage>[2] }[] = [
    { label: 'no EDNS', name: QN, o: { edns: false } },
    { label: 'EDNS, no DO', name: QN, o: {} },
    { label: 'DO', name: QN, o: { dnssecOk: true } },
    { label: 'AD bit, no DO', name: QN, o: { ad: true } },
    { label: 'CD', name: QN, o: { cd: true, dnssecOk: true } },
    { label: 'RD=0', name: QN, o: { rd: false } },
    { label: 'mixed case', name: 'wWw.ExAmPlE.tEsT.', o: { dnssecOk: true } },
    { label: 'qtype RRSIG without DO keeps RRSIGs', name: QN, type: RRType.RRSIG, o: {} },
  ];
  const NAMES: Record<string, string> = { 'secure NXDOMAIN with proofs': 'nx.example.test.', 'CNAME chain': 'alias.example.test.' };
  for (const [what, e] of Object.entries(ENTRIES)) {
    const own = NAMES[what] ?? QN;
    for (const v of variants) {
      it(`${what}: ${v.label}`, () => {
        const name = v.name === QN ? own : own.replace(/[a-z]/g, (c, i: number) => (i % 2 ? c.toUpperCase() : c));
        const q = queryMessage(name, v.type ?? RRType.A, { id: 0xbeef, ...v.o });
        assert.deepEqual(observe(fastPath(q, e, 123)), observe(normalPath(q, e, 123)));
      });
    }
    it(`${what}: stale, with EDE 3`, () => {
      const q = queryMessage(own, RRType.A, { dnssecOk: true });
      const fast = fastPath(q, e, 30, STALE_EDE);
      assert.deepEqual(observe(fast), observe(normalPath(q, e, 30, STALE_EDE)));
      assert.ok(fast.edns!.options.some((o) => o.code === EdnsOptionCode.EDE && o.data[1] === 3));
    });
  }

  it('TTLs are the ones asked for', () => {
    const m = fastPath(queryMessage(QN, RRType.A, { dnssecOk: true }), ENTRIES['secure positive with RRSIG']!, 77);
    assert.ok([...m.answer, ...m.authority, ...m.additional].every((r: RR) => r.ttl === 77));
  });

  it('strips RRSIG/NSEC for clients without DO and fixes the counts', () => {
    const m = fastPath(queryMessage('nx.example.test.', RRType.A), ENTRIES['secure NXDOMAIN with proofs']!, 10);
    assert.deepEqual(m.authority.map((r) => r.type), [RRType.SOA]);
    assert.equal(m.rcode, Rcode.NXDOMAIN);
  });
});

describe('what the fast path leaves to the normal path', () => {
  const e = ENTRIES['secure positive with RRSIG']!;
  const base = (): Buffer => Buffer.from(queryPacket(QN, RRType.A));

  it('replies over the client limit (the normal path truncates)', () => {
    const packet = queryPacket(QN, RRType.A, { edns: false, dnssecOk: false });
    const view = viewQuery(packet)!;
    assert.equal(udpLimit(view, 1232), 512);
    assert.equal(renderReply(packet, view, e, 10, undefined, 1232, 60), undefined);
    const small = viewQuery(queryPacket(QN, RRType.A, { udpSize: 100 }))!;
    assert.equal(udpLimit(small, 1232), 512);
    assert.equal(udpLimit(viewQuery(queryPacket(QN, RRType.A, { udpSize: 4096 }))!, 1232), 1232);
  });

  it('anything but a plain query', () => {
    const cases: Record<string, (b: Buffer) => Buffer> = {
      response: (b) => { b[2]! |= 0x80; return b; },
      'opcode NOTIFY': (b) => { b[2] = (b[2]! & 0x87) | (4 << 3); return b; },
      'two questions': (b) => { b[5] = 2; return b; },
      'an answer record': (b) => { b[7] = 1; return b; },
      'trailing data': (b) => Buffer.concat([b, Buffer.from([0])]),
      'truncated OPT': (b) => b.subarray(0, b.length - 3),
      'EDNS version 1': (b) => { b[b.length - 5] = 1; return b; },
      'qtype AXFR': (b) => { b[12 + 18] = 0; b[12 + 19] = 252; return b; },
    };
    for (const [what, f] of Object.entries(cases)) assert.equal(viewQuery(f(base())), undefined, what);
    const compressed = Buffer.from(serializeMessage(makeQuery(Name.fromText(QN), RRType.A, { id: 1 })).bytes);
    assert.ok(viewQuery(compressed), 'sanity: plain query accepted');
    // A question name made of a compression pointer (to the header: nonsense, but it must not be read).
    const ptr = Buffer.from([0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 0x00, 0, 1, 0, 1]);
    assert.equal(viewQuery(ptr), undefined);
  });

  it('EDNS options are accepted when well-formed (e.g. a DNS cookie), refused when not', () => {
    const withCookie = serializeMessage(makeQuery(Name.fromText(QN), RRType.A, {
      id: 7, edns: { udpSize: 1232, version: 0, dnssecOk: false, z: 0, options: [{ code: EdnsOptionCode.COOKIE, data: new Uint8Array(8) }] },
    })).bytes;
    assert.ok(viewQuery(withCookie));
    const bad = Buffer.from(withCookie);
    bad[bad.length - 9] = 9; // option length 9 overruns the OPT RDATA
    assert.equal(viewQuery(bad), undefined);
  });
});

describe('replies too large for the client (issue 15: the truncated reply from bytes)', () => {
  const ZONE = 'big.example.test.';
  const key = (i: number): string => Buffer.alloc(260, i + 1).toString('base64');
  /** A DNSKEY RRset far larger than any UDP limit (the KeyTrap zone of the world has one), signed. */
  const bigKeys = rrs(...Array.from({ length: 8 }, (_, i) => `${ZONE} 300 IN DNSKEY 256 3 8 ${key(i)}`),
    `${ZONE} 300 IN RRSIG ${SIG.replace(/^A 13 3/, 'DNSKEY 13 3').replace('example.test.', ZONE)}`);
  const cases: Record<string, CacheEntry> = {
    'secure, huge first RRset': entryFor(ZONE, answerRes(secure(), bigKeys)),
    'secure, huge RRset with an informational EDE': entryFor(ZONE, answerRes(
      { security: 'insecure', kind: 'positive', trail: [], ttlCap: undefined, reason: { kind: 'unsupported-algorithm', zone: ZONE, algorithms: [253] } },
      bigKeys)),
  };
  /** What the server sends for `q` over UDP: the fast path's bytes, or the normal path's when it gives none. */
  function both(q: Message, e: CacheEntry, extra?: EdeEntry): { fast: Uint8Array | undefined; normal: Uint8Array } {
    const packet = serializeMessage(q, { compress: false }).bytes;
    const view = viewQuery(packet)!;
    const limit = udpLimit(view, 1232);
    const fast = renderReply(packet, view, e, 99, extra, 1232, limit);
    const answer = shapeOutcome(q, entryOutcome(e, questionWire(q.question[0]!), 99), extra);
    const normal = serializeReply(replyMessage(echoQuery(q), answer, 1232), limit).bytes;
    return { fast, normal };
  }
  for (const [what, e] of Object.entries(cases)) {
    for (const [label, o] of Object.entries({ DO: { dnssecOk: true }, 'no DO': {}, 'no EDNS': { edns: false }, 'EDNS 4096': { udpSize: 4096, dnssecOk: true }, 'AD, mixed case': { ad: true } })) {
      it(`${what}, ${label}: header, question and OPT with TC=1, as the normal path sends`, () => {
        const name = label.includes('mixed') ? 'BiG.eXample.TEST.' : ZONE;
        const { fast, normal } = both(queryMessage(name, RRType.DNSKEY, { id: 0x1234, ...o }), e);
        assert.ok(fast, 'the fast path answers');
        assert.ok(parseMessage(normal).flags.tc && parseMessage(normal).answer.length === 0, 'sanity: the normal path keeps no record');
        assert.deepEqual(observe(parseMessage(fast)), observe(parseMessage(normal)));
        assert.equal(Buffer.compare(fast, normal), 0, 'byte for byte');
      });
    }
    it(`${what}, stale (EDE 3 added): as the normal path sends`, () => {
      const q = queryMessage(ZONE, RRType.DNSKEY, { dnssecOk: true });
      const { fast, normal } = both(q, e, STALE_EDE);
      assert.ok(fast);
      assert.deepEqual(observe(parseMessage(fast)), observe(parseMessage(normal)));
    });
  }

  it('leaves it to the normal path when some RRsets would fit (it truncates after them)', () => {
    const e = entryFor(ZONE, answerRes(secure(), [...rrs(`${ZONE} 300 IN A 192.0.2.1`), ...bigKeys]));
    const q = queryMessage(ZONE, RRType.A, { dnssecOk: true });
    const { fast, normal } = both(q, e);
    assert.equal(fast, undefined);
    assert.ok(parseMessage(normal).flags.tc && parseMessage(normal).answer.length === 1);
  });

  it('leaves it to the normal path when the first record could fit once compressed (names in RDATA)', () => {
    const longNs = Array.from({ length: 40 }, (_, i) => `${ZONE} 300 IN NS ns${i}.a-rather-long-label-for-the-name-server-host.${ZONE}`);
    const e = entryFor(ZONE, answerRes(secure(), rrs(...longNs)));
    const q = queryMessage(ZONE, RRType.NS, { edns: false });
    const { fast, normal } = both(q, e);
    assert.equal(fast, undefined);
    assert.ok(parseMessage(normal).flags.tc);
  });

  it('leaves it to the normal path when not even the question and OPT fit with the EDE texts', () => {
    const long: EdeEntry = { code: 0, text: 'x'.repeat(600) };
    const e = encodeEntry(Name.fromText(ZONE), { kind: 'data', status: 'insecure', rcode: 0, answer: bigKeys, authority: [], additional: [], ede: [long, long], ttlCap: undefined }, 300, T0);
    const { fast, normal } = both(queryMessage(ZONE, RRType.DNSKEY, { dnssecOk: true }), e);
    assert.equal(fast, undefined);
    assert.ok(normal.length <= 1232);
  });
});

describe('reply tails kept on entries (issue 15)', () => {
  it('hits rendered from a kept tail equal the normal path, whatever the ID, case, RD, CD and AD of each query', () => {
    const e = entryFor(QN, answerRes(secure(), positive(), rrs('example.test. 300 IN NS ns1.example.test.')));
    const queries = [
      queryMessage(QN, RRType.A, { id: 1, dnssecOk: true }),
      queryMessage('WWW.example.TEST.', RRType.A, { id: 2, dnssecOk: true, rd: false }),
      queryMessage('www.EXAMPLE.test.', RRType.A, { id: 3, dnssecOk: true, cd: true }),
      queryMessage(QN, RRType.A, { id: 4, ad: true }),
      queryMessage(QN, RRType.A, { id: 5 }),
      queryMessage(QN, RRType.A, { id: 6, edns: false }),
      queryMessage(QN, RRType.A, { id: 7, edns: false, rd: false }),
    ];
    for (let round = 0; round < 3; round++) {
      for (const q of queries) assert.deepEqual(observe(fastPath(q, e, 200)), observe(normalPath(q, e, 200)), `round ${round}, id ${q.id}`);
    }
    assert.equal(typeof e.rendered, 'object', 'a tail is kept once the entry was rendered twice the same way');
    // The next second: the TTL changes, the tail is rendered again.
    const later = fastPath(queries[0]!, e, 199);
    assert.ok(later.answer.every((r) => r.ttl === 199));
    assert.deepEqual(observe(later), observe(normalPath(queries[0]!, e, 199)));
  });

  it('the octets kept over all entries stay within the budget', () => {
    for (let i = 0; i < 10000; i++) {
      const name = `h${i}.example.test.`;
      const e = entryFor(name, answerRes(secure(), rrs(`${name} 300 IN TXT "${'x'.repeat(200)}"`, `${name} 300 IN RRSIG ${SIG.replace(/^A /, 'TXT ')}`)));
      const q = queryMessage(name, RRType.TXT, { dnssecOk: true });
      fastPath(q, e, 300);
      fastPath(q, e, 300);
    }
    const s = tailStats();
    assert.ok(s.octets <= 2 * 1024 * 1024, `${s.octets} octets kept`);
    assert.ok(s.holders > 1000 && s.holders < 10000, `${s.holders} entries hold a tail`);
  });

  it('entries whose tail was given up (asked another way) do not pile up in the holders list', () => {
    // Each name: kept (asked twice with DO), then given up (asked without DO): the octets never reach the
    // budget, so only the list's own bound keeps the entries it references from accumulating.
    for (let i = 0; i < 20000; i++) {
      const name = `g${i}.example.test.`;
      const e = entryFor(name, answerRes(secure(), rrs(`${name} 300 IN A 192.0.2.1`, `${name} 300 IN RRSIG ${SIG}`)));
      fastPath(queryMessage(name, RRType.A, { dnssecOk: true }), e, 300);
      fastPath(queryMessage(name, RRType.A, { dnssecOk: true }), e, 300);
      fastPath(queryMessage(name, RRType.A, {}), e, 300);
    }
    const s = tailStats();
    assert.ok(s.listed > 0, 'the entries were listed (the pattern reached the list)');
    assert.ok(s.listed <= 8192, `${s.listed} entries listed`);
  });
});
