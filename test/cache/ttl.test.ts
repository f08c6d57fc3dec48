/**
 * TTL rules of the answer cache: min of the records' TTLs, the SOA MINIMUM of negative answers, and the
 * validator's cap (RRSIG original TTL, time left to signature expiration), then maxTtl / minTtl; BOGUS
 * bogusTtl, failures failureTtl. The validator part is checked on really signed data.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { outcomeTtl, recordsTtl } from '../../src/cache/ttl.js';
import { outcomeOf } from '../../src/resolver/answer.js';
import { validateResponse } from '../../src/validator/response.js';
import { RRType, makeRR, type RR } from '../../src/wire/index.js';
import { contextAt, memoryKeySource, question as vq, response } from '../validator/resp-keysource.js';
import { TEST_NOW, ZoneSigner } from '../validator/resp-signer.js';
import { answerRes, cacheConfig, dataOutcome, failureRes, nxAuthority, positive, rrs, secure } from './helpers.js';

const cfg = cacheConfig();

describe('records TTL', () => {
  it('is the lowest TTL over every section', () => {
    const answer = rrs('www.example.test. 300 IN A 192.0.2.1', 'www.example.test. 120 IN A 192.0.2.2');
    const authority = rrs('example.test. 90 IN NS ns1.example.test.');
    const additional = rrs('ns1.example.test. 60 IN A 192.0.2.53');
    assert.equal(recordsTtl(answer, [], []), 120);
    assert.equal(recordsTtl(answer, authority, []), 90);
    assert.equal(recordsTtl(answer, authority, additional), 60);
    assert.equal(recordsTtl([], [], []), undefined);
  });

  it('folds in the SOA MINIMUM of a negative answer (RFC 2308 §5)', () => {
    assert.equal(recordsTtl([], nxAuthority(), []), 300);
    const lowMin = rrs('example.test. 3600 IN SOA ns1.example.test. h.example.test. 1 3600 900 604800 42');
    assert.equal(recordsTtl([], lowMin, []), 42);
    const lowTtl = rrs('example.test. 30 IN SOA ns1.example.test. h.example.test. 1 3600 900 604800 300');
    assert.equal(recordsTtl([], lowTtl, []), 30);
  });
});

describe('outcome TTL', () => {
  it('takes the validator cap when it is lower than the records', () => {
    assert.equal(outcomeTtl(dataOutcome(positive(300), { ttlCap: 100 }), cfg), 100);
    assert.equal(outcomeTtl(dataOutcome(positive(300), { ttlCap: 1000 }), cfg), 300);
    assert.equal(outcomeTtl(dataOutcome(positive(300)), cfg), 300);
  });

  it('applies maxTtl, then minTtl', () => {
    assert.equal(outcomeTtl(dataOutcome(positive(300)), cacheConfig({ maxTtl: 60 })), 60);
    assert.equal(outcomeTtl(dataOutcome(positive(30)), cacheConfig({ minTtl: 120 })), 120);
    assert.equal(outcomeTtl(dataOutcome(positive(0)), cacheConfig({ minTtl: 5 })), 5);
    assert.equal(outcomeTtl(dataOutcome(positive(0)), cfg), 0, 'TTL 0 is not cached');
  });

  it('does not cache an answer without any TTL information (no records, no SOA)', () => {
    assert.equal(outcomeTtl(dataOutcome([]), cacheConfig({ minTtl: 60 })), 0);
  });

  it('negative answers live min(SOA TTL, SOA MINIMUM, proof TTLs)', () => {
    const o = outcomeOf(answerRes(secure(300, 'nxdomain'), [], nxAuthority(), 3), 'nx.example.test. A');
    assert.equal(outcomeTtl(o, cfg), 300);
  });

  it('BOGUS lives bogusTtl, INDETERMINATE and upstream failures failureTtl', () => {
    const bogus = outcomeOf(answerRes({ security: 'bogus', kind: 'positive', trail: [], reason: { kind: 'rrsigs-missing', name: 'www.example.test.', type: 'A' } }, positive()), 'q');
    assert.equal(outcomeTtl(bogus, cfg), 60);
    assert.equal(outcomeTtl(bogus, cacheConfig({ bogusTtl: 7 })), 7);
    const ind = outcomeOf(answerRes({ security: 'indeterminate', kind: 'positive', trail: [], detail: 'timeout' }, positive()), 'q');
    assert.equal(outcomeTtl(ind, cfg), 5);
    const fail = outcomeOf(failureRes('timeout'), 'q');
    assert.equal(outcomeTtl(fail, cfg), 5);
    assert.equal(outcomeTtl(fail, cacheConfig({ failureTtl: 2, maxTtl: 1 })), 2, 'maxTtl does not apply to failures');
  });
});

describe('the validator folds RRSIG original TTL and signature expiry into verdict.ttlCap', () => {
  const zone = new ZoneSigner('example.test.');
  const keys = memoryKeySource({ secure: { 'example.test.': [zone.dnskey] } });
  const nowS = Math.floor(TEST_NOW / 1000);
  const q = vq('www.example.test.', RRType.A);
  const a = (ttl: number): RR => makeRR(q.name, RRType.A, ttl, { address: '192.0.2.1' });

  async function cap(records: RR[], sig: RR): Promise<number | undefined> {
    const v = (await validateResponse(q, response(q, { answer: [...records, sig] }), keys, contextAt(TEST_NOW))).verdict;
    assert.equal(v.security, 'secure');
    return v.security === 'secure' ? v.ttlCap : undefined;
  }

  it('RR TTL when it is the lowest', async () => {
    assert.equal(await cap([a(200)], zone.sign([a(3600)])), 200);
  });

  it('the RRSIG original TTL when the records claim more', async () => {
    // Signed with TTL 600; an upstream that raised the TTL to 3600 does not extend the cache lifetime.
    assert.equal(await cap([a(3600)], zone.sign([a(600)])), 600);
  });

  it('the time left to signature expiration', async () => {
    assert.equal(await cap([a(3600)], zone.sign([a(3600)], { expiration: nowS + 100 })), 100);
  });

  it('and the cache uses it', async () => {
    const records = [a(3600), zone.sign([a(3600)], { expiration: nowS + 100 })];
    const v = (await validateResponse(q, response(q, { answer: records }), keys, contextAt(TEST_NOW))).verdict;
    const o = outcomeOf(answerRes(v, records), 'www.example.test. A');
    assert.equal(outcomeTtl(o, cfg), 100);
  });
});
