/**
 * bench/mta's expectation check (mta-client.ts's expectProblems): what a validating resolver must answer for the
 * hierarchy's names, as data (mta-zones.ts), catches a missing AD and a wrong address. No servers: the hierarchy
 * itself is checked in mta-world.world.test.ts.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { expectProblems, type DomainRun } from '../../bench/mta-client.js';
import { mtaWorldDef } from '../../bench/mta-zones.js';

describe('bench/mta expectations', () => {
  it('the expectation check catches a missing AD and a wrong address', () => {
    const def = mtaWorldDef('check', 10);
    const d = def.domains[0]!;
    const host = def.hosts.find((h) => h.name === d.mx[0]!.host)!;
    const run: DomainRun = { domain: d.name, ms: 1, asked: [
      { name: d.name, type: 'MX', rcode: 0, ad: false, data: d.mx.map((m) => `${m.preference} ${m.host}`), ms: 1 },
    ] };
    assert.match(expectProblems(def, [run]).join('\n'), /asked .* expected/);
    for (const m of d.mx) {
      const h = def.hosts.find((x) => x.name === m.host)!;
      run.asked.push({ name: h.name, type: 'A', rcode: 0, ad: true, data: [h === host ? '127.0.0.9' : h.a], ms: 1 },
        { name: h.name, type: 'AAAA', rcode: 0, ad: true, data: [h.aaaa], ms: 1 });
    }
    for (const m of d.mx) {
      const h = def.hosts.find((x) => x.name === m.host)!;
      run.asked.push({ name: `_25._tcp.${h.name}`, type: 'TLSA', rcode: h.tlsa ? 0 : 3, ad: true, data: h.tlsa ? [h.tlsa] : [], ms: 1 });
    }
    const problems = expectProblems(def, [run]);
    assert.equal(problems.length, 2, problems.join('\n'));
    assert.match(problems[0]!, new RegExp(`^${d.name.replace(/\./g, '\\.')} MX: .*AD false`));
    assert.match(problems[1]!, /A: .*127\.0\.0\.9/);
  });
});
