/** Resolution -> Outcome: what each verdict lets through to clients. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { outcomeOf } from '../../src/resolver/answer.js';
import type { Resolution } from '../../src/resolver/resolve.js';
import type { Verdict } from '../../src/validator/types.js';
import { Name, RRType, makeRR } from '../../src/wire/index.js';
import { worldAddr } from '../world/net.js';

const mx = makeRR(Name.fromText('example.test.'), RRType.MX, 300, { preference: 10, exchange: Name.fromText('mail.other.test.') });
const glue = makeRR(Name.fromText('mail.other.test.'), RRType.A, 300, { address: worldAddr(100, 25) });

function answer(verdict: Verdict): Resolution {
  return { kind: 'answer', rcode: 0, answer: [mx], authority: [], verdict, upstreams: [`${worldAddr(1, 1)}:53`] };
}

describe('outcomeOf', () => {
  it('secure and insecure answers serve what the resolver validated, with no additional section', () => {
    for (const v of [
      { security: 'secure', kind: 'positive', trail: [], ttlCap: 300 },
      { security: 'insecure', kind: 'positive', reason: { kind: 'no-ds', zone: 'test.' }, trail: [], ttlCap: 300 },
    ] as Verdict[]) {
      const o = outcomeOf(answer(v), 'example.test. MX');
      assert.equal(o.kind, 'data');
      if (o.kind !== 'data') return;
      assert.equal(o.status, v.security);
      assert.deepEqual(o.answer, [mx]);
      assert.deepEqual(o.additional, []);
    }
  });

  it('CD=1 (unchecked) data keeps the upstream\'s additional section as received', () => {
    const res: Resolution = { kind: 'unchecked', rcode: 0, answer: [mx], authority: [], additional: [glue], upstreams: [`${worldAddr(1, 1)}:53`] };
    const o = outcomeOf(res, 'example.test. MX');
    assert.ok(o.kind === 'data' && o.status === 'unchecked' && o.additional.length === 1);
  });

  it('a bogus answer is a SERVFAIL whose EDE names the query and the reason', () => {
    const o = outcomeOf(answer({ security: 'bogus', kind: 'positive', reason: { kind: 'rrsigs-missing', name: 'example.test.', type: 'MX' }, trail: [] }), 'example.test. MX');
    assert.equal(o.kind, 'servfail');
    if (o.kind !== 'servfail') return;
    assert.equal(o.ede[0]!.code, 10);
    assert.match(o.ede[0]!.text ?? '', /example\.test\. MX/);
  });
});
