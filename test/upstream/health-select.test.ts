/**
 * Pure parts of upstream health: which upstreams a query may use by what it needs, routing by suffix,
 * delegations learnt from NSEC records, and the SERVFAIL texts for "no usable upstream".
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { failureEde } from '../../src/resolver/failure.js';
import type { DnssecCapability } from '../../src/upstream/capability.js';
import { UpstreamPool } from '../../src/upstream/pool.js';
import { delegationCandidates } from '../../src/upstream/probe.js';
import { UpstreamRouter } from '../../src/upstream/router.js';
import { selectUpstreams } from '../../src/upstream/select.js';
import { DEFAULT_HOLD_DOWN, UpstreamState } from '../../src/upstream/state.js';
import { EdeCode, Name, RRType, parseZoneText } from '../../src/wire/index.js';

const evidence = { zone: '.', startedAt: 0, finishedAt: 0, checks: [] };
const CAPABLE: DnssecCapability = { kind: 'capable', checkedAt: 0, evidence };
const NOT: DnssecCapability = { kind: 'not-capable', checkedAt: 0, cause: { source: 'probe', failed: ['do-bit'] }, evidence };
const DEAD_WAS: DnssecCapability = { kind: 'unreachable', checkedAt: 0, failure: 'timeout', evidence, wasCapable: true };
const DEAD: DnssecCapability = { kind: 'unreachable', checkedAt: 0, failure: 'timeout', evidence, wasCapable: false };

function st(i: number, priority: number, dnssec: DnssecCapability, heldDown = false): UpstreamState {
  const s = new UpstreamState({ address: `192.0.2.${i}`, port: 53, priority }, i, DEFAULT_HOLD_DOWN);
  s.dnssec = dnssec;
  if (heldDown) s.recordFailure(0, 0, { kind: 'timeout' });
  return s;
}
const labels = (xs: readonly UpstreamState[]): string[] => xs.map((s) => s.config.address);

describe('selectUpstreams', () => {
  const all = [st(1, 1, NOT), st(2, 2, CAPABLE, true), st(3, 3, CAPABLE), st(4, 4, DEAD_WAS), st(5, 5, DEAD), st(6, 6, { kind: 'unprobed' })];

  it('dnssec: capable ones (available first), then formerly capable unreachable ones; never the others', () => {
    const s = selectUpstreams(all, 100, 'dnssec', undefined, true);
    assert.deepEqual(labels(s.order), ['192.0.2.3', '192.0.2.2', '192.0.2.4']);
    assert.deepEqual(s.unusable.map((u) => `${u.upstream} ${u.why}`), ['192.0.2.1:53 not-capable', '192.0.2.5:53 unreachable', '192.0.2.6:53 unprobed']);
  });

  it('without a monitor (not strict), unprobed upstreams count as DNSSEC-capable', () => {
    assert.deepEqual(labels(selectUpstreams(all, 100, 'dnssec', undefined, false).order), ['192.0.2.3', '192.0.2.6', '192.0.2.2', '192.0.2.4']);
  });

  it('prefer-dnssec, insecure, any; exclusions', () => {
    assert.deepEqual(labels(selectUpstreams(all, 100, 'prefer-dnssec', undefined, true).order), ['192.0.2.3', '192.0.2.2', '192.0.2.4', '192.0.2.1', '192.0.2.5', '192.0.2.6']);
    assert.deepEqual(labels(selectUpstreams(all, 100, 'insecure', undefined, true).order), ['192.0.2.1', '192.0.2.5', '192.0.2.6']);
    assert.deepEqual(labels(selectUpstreams(all, 100, 'any', undefined, true).order), ['192.0.2.1', '192.0.2.3', '192.0.2.4', '192.0.2.5', '192.0.2.6', '192.0.2.2']);
    const ex = selectUpstreams(all, 100, 'dnssec', new Set(['192.0.2.3:53']), true);
    assert.deepEqual(labels(ex.order), ['192.0.2.2', '192.0.2.4']);
    assert.deepEqual(ex.unusable[0], { upstream: '192.0.2.3:53', why: 'excluded' });
  });
});

describe('UpstreamRouter', () => {
  const pool = (a: string): UpstreamPool => new UpstreamPool([{ address: a, port: 53, priority: 1 }]);
  const g = pool('192.0.2.1');
  const corp = pool('192.0.2.2');
  const deep = pool('192.0.2.3');
  const r = new UpstreamRouter({ suffix: null, pool: g }, [
    { suffix: Name.fromText('corp.example.'), pool: corp },
    { suffix: Name.fromText('lab.corp.example.'), pool: deep },
  ]);
  const at = (name: string, type: number = RRType.A): UpstreamPool => r.poolFor(Name.fromText(name), type);

  it('longest suffix wins; the rest goes to the global pool', () => {
    assert.equal(at('www.corp.example.'), corp);
    assert.equal(at('CORP.example.'), corp);
    assert.equal(at('x.lab.corp.example.'), deep);
    assert.equal(at('lab.corp.example.'), deep);
    assert.equal(at('example.'), g);
    assert.equal(at('notcorp.example.'), g);
    assert.equal(at('.', RRType.DS), g);
  });

  it('DS goes by the parent: the apex DS of a forward zone comes from the parent\'s pool', () => {
    assert.equal(at('corp.example.', RRType.DS), g);
    assert.equal(at('lab.corp.example.', RRType.DS), corp);
    assert.equal(at('x.lab.corp.example.', RRType.DS), deep);
    assert.equal(at('corp.example.', RRType.DNSKEY), corp);
  });
});

describe('delegationCandidates', () => {
  it('owners with the DS bit first, then the children of the zone named by next names', () => {
    const rrs = parseZoneText([
      '. 300 IN NSEC aaa. NS SOA RRSIG NSEC DNSKEY',
      'com. 300 IN NSEC www.example.com. NS DS RRSIG NSEC',
      'net. 300 IN NSEC org. NS RRSIG NSEC',
    ].join('\n'));
    const c = delegationCandidates(Name.root, rrs);
    assert.deepEqual(c.map((x) => `${x.name.toText()} ${x.hasDs}`), ['com. true', 'aaa. false', 'org. false', 'net. false']);
  });
});

describe('failureEde', () => {
  it('no DNSSEC-capable upstream: EDE 22 naming the non-DNSSEC ones', () => {
    const e = failureEde({ kind: 'no-dnssec-upstream', unusable: [{ upstream: '192.0.2.2:53', why: 'not-capable' }, { upstream: '192.0.2.3:53', why: 'unreachable' }] }, 'example. MX');
    assert.deepEqual(e, {
      code: EdeCode.NO_REACHABLE_AUTHORITY,
      text: 'no DNSSEC-capable upstream reachable for example. MX; 192.0.2.2:53 is not DNSSEC-capable; 192.0.2.3:53 is unreachable',
    });
  });

  it('DNSSEC-capable ones tried and failed: 23 for network errors, 22 for timeouts, with the attempts', () => {
    const unusable = [{ upstream: '192.0.2.2:53', why: 'not-capable' as const }];
    const net = failureEde({ kind: 'no-answer', validated: true, reason: 'network-error', attempts: [{ upstream: '192.0.2.1:53', outcome: 'network error ECONNREFUSED' }], unusable }, 'a. A');
    assert.equal(net.code, EdeCode.NETWORK_ERROR);
    assert.equal(net.text, 'no DNSSEC-capable upstream reachable for a. A (192.0.2.1:53: network error ECONNREFUSED); 192.0.2.2:53 is not DNSSEC-capable');
    const t = failureEde({ kind: 'no-answer', validated: true, reason: 'timeout', attempts: [{ upstream: '192.0.2.1:53', outcome: 'timeout' }], unusable: [] }, 'a. A');
    assert.equal(t.code, EdeCode.NO_REACHABLE_AUTHORITY);
    const cd = failureEde({ kind: 'no-answer', validated: false, reason: 'timeout', attempts: [], unusable: [] }, 'a. A');
    assert.equal(cd.text, 'no upstream answered a. A: timeout');
  });
});
