/**
 * The counts the components keep for the metrics, moved by real traffic through a real daemon in the world
 * and read back from its GET /metrics (and /status):
 *  - signature verifications by algorithm and result (valid for a secure name, invalid for KeyTrap's bad RRSIGs);
 *  - validation work limits reached (KeyTrap's RRSIG flood: signatures; a deep NSEC3 name with the hash budget
 *    lowered: nsec3-hashes);
 *  - each upstream's RTT histogram, its probes by verdict (capable, not-capable behind a middlebox that strips
 *    RRSIGs, unreachable: a socket that never answers), its BOGUS re-asks (a tampering upstream asked around);
 *  - RFC 5011 refreshes by result;
 *  - /status: answers per EDE code, the same numbers as answer_ede_total.
 * And `promtool check metrics` on the real output.
 */
import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { after, before, describe, it } from 'node:test';
import { Name } from '../../src/wire/index.js';
import { dig } from '../support/dig.js';
import { TamperProxy, onQuestion, prepend, rrs } from '../support/tamper-proxy.js';
import { StripProxy } from '../upstream/strip-proxy.js';
import { getWorld, stopWorld, type WorldInfo } from '../world/index.js';
import { NSEC3_DEEP_DEPTH, nsec3FloodName } from '../world/zones.js';
import { startFailoverDaemon } from '../daemon/failover-support.js';
import type { TestDaemon } from '../support/daemon.js';
import { waitFor } from '../support/wait.js';
import { P, promtool, requiredValue, scrapeMetrics, value, type Exposition } from './exposition.js';
import { daemonAddr } from '../world/net.js';

let world: WorldInfo;
let tamper: TamperProxy;
let strip: StripProxy;
let silent: Socket;
let d: TestDaemon;
let base = '';
const labels: Record<'tamper' | 'world' | 'strip' | 'silent', Record<string, string>> = { tamper: {}, world: {}, strip: {}, silent: {} };

const scrape = (): Promise<{ text: string; x: Exposition }> => scrapeMetrics(base);

/**
 * The metrics read here whose series appear only once something was counted: signature_verifications_total has a
 * series per (algorithm, result) with a count (src/crypto/memo.ts leaves out the zeros), so an absent one is a 0.
 * Every other series read here is always emitted with this daemon's setup (src/metrics/stats.ts: every upstream's
 * probe verdicts, RTT histogram and re-asks; the resolver's re-asks, rescues and every budget limit; every refresh
 * result of the managed root zone, there from the start): absent, it fails the test, naming it.
 */
const SPARSE = new Set(['signature_verifications_total']);

/** The value of one series now: strict, but for the SPARSE metrics (0 when they have no sample yet). */
async function now(name: string, l: Record<string, string> = {}): Promise<number> {
  const { x } = await scrape();
  return SPARSE.has(name) ? value(x, P + name, l) ?? 0 : requiredValue(x, P + name, l);
}

/** How much `series` grew while `act` ran. */
async function delta(series: [string, Record<string, string>?][], act: () => Promise<void>): Promise<number[]> {
  const before = await Promise.all(series.map(([n, l]) => now(n, l)));
  await act();
  const after = await Promise.all(series.map(([n, l]) => now(n, l)));
  return after.map((a, i) => a - before[i]!);
}

before(async () => {
  world = await getWorld();
  tamper = await TamperProxy.start({ address: daemonAddr(21, 10), backend: { address: world.upstream.host, port: world.upstream.port } });
  tamper.rewrite = onQuestion('www.alg13.test', 'A',
    prepend('answer', rrs('www.alg13.test. 300 IN CNAME www.evil.insecure.test.', 'www.evil.insecure.test. 300 IN A 6.6.6.6')));
  strip = await StripProxy.start({ address: daemonAddr(21, 11), backend: { address: world.upstream.host, port: world.upstream.port }, strip: () => true });
  silent = createSocket('udp4');
  await new Promise<void>((resolve) => silent.bind(0, daemonAddr(21, 12), resolve));
  const silentPort = silent.address().port;
  d = await startFailoverDaemon(world, {
    upstreams: [
      { address: tamper.address, port: tamper.port, priority: 1 },
      { address: world.upstream.host, port: world.upstream.port, priority: 2 },
      { address: strip.address, port: strip.port, priority: 3 },
      { address: daemonAddr(21, 12), port: silentPort, priority: 4 },
    ],
    upstream: { bogusConfirmations: 2, timeoutMs: 500 },
    validation: { maxNsec3HashesPerQuery: 50 },
    server: { warmupQueries: 0 },
  }, { http: ['127.0.0.1:0'] });
  base = `http://127.0.0.1:${d.daemon.httpAddresses[0]!.port}`;
  labels.tamper = { upstream: tamper.label, zone: '.' };
  labels.world = { upstream: `${world.upstream.host}:${world.upstream.port}`, zone: '.' };
  labels.strip = { upstream: strip.label, zone: '.' };
  labels.silent = { upstream: `${daemonAddr(21, 12)}:${silentPort}`, zone: '.' };
  await d.probed();
});

after(async () => {
  await d?.stop();
  await tamper?.stop();
  await strip?.stop();
  silent?.close();
  await stopWorld();
});

describe('counts moved by real traffic, read from the daemon\'s /metrics', () => {
  it('probes by verdict per upstream: capable, not-capable (RRSIGs stripped), unreachable (no answer)', async () => {
    const { x } = await scrape();
    const probes = (l: Record<string, string>): Record<string, number> =>
      Object.fromEntries(['capable', 'not-capable', 'unreachable'].map((r) => [r, requiredValue(x, `${P}upstream_probe_results_total`, { ...l, result: r })]));
    for (const who of ['tamper', 'world'] as const) {
      const p = probes(labels[who]);
      assert.ok(p['capable']! >= 1 && p['not-capable'] === 0 && p['unreachable'] === 0, `${who}: ${JSON.stringify(p)}`);
    }
    const s = probes(labels.strip);
    assert.ok(s['not-capable']! >= 1 && s['capable'] === 0, `strip: ${JSON.stringify(s)}`);
    const q = probes(labels.silent);
    assert.ok(q['unreachable']! >= 1 && q['capable'] === 0, `silent: ${JSON.stringify(q)}`);
    // probes by verdict add up to the probes run (none is running: probed() waited for them)
    for (const l of Object.values(labels)) {
      const p = probes(l);
      assert.equal(p['capable']! + p['not-capable']! + p['unreachable']!, requiredValue(x, `${P}upstream_probes_total`, l), JSON.stringify(l));
    }
    // a probe asked for now: one more for the world upstream, still capable
    const [more] = await delta([['upstream_probe_results_total', { ...labels.world, result: 'capable' }]], async () => {
      const r = await fetch(`${base}/upstreams/probe`, { method: 'POST' });
      assert.equal(r.status, 200);
    });
    assert.equal(more, 1);
  });

  it('a secure name: signatures verified valid (algorithm 8), one more RTT for the upstream that answered', async () => {
    const [valid, rtt, invalid] = await delta([
      ['signature_verifications_total', { algorithm: '8', result: 'valid' }],
      ['upstream_rtt_seconds_count', labels.tamper],
      ['signature_verifications_total', { algorithm: '8', result: 'invalid' }],
    ], async () => {
      const r = await dig(d.port, ['www.alg8.test.', 'A', '+dnssec']);
      assert.ok(r.flags.has('ad'), r.text);
    });
    const { x } = await scrape();
    // signature_verifications_total is SPARSE: the series of the verifications just counted is there now (a renamed
    // metric or label would read 0 before and after), and the invalid one, absent, is the 0 asserted below.
    requiredValue(x, `${P}signature_verifications_total`, { algorithm: '8', result: 'valid' });
    assert.ok(valid! >= 3, `the chain (DNSKEY, DS) and the answer: ${valid} valid`);
    assert.equal(invalid, 0);
    assert.ok(rtt! >= 1, `RTTs observed: ${rtt}`);
    const sum = requiredValue(x, `${P}upstream_rtt_seconds_sum`, labels.tamper);
    const count = requiredValue(x, `${P}upstream_rtt_seconds_count`, labels.tamper);
    assert.equal(requiredValue(x, `${P}upstream_rtt_seconds_bucket`, { ...labels.tamper, le: '+Inf' }), count);
    assert.ok(sum > 0 && sum / count < 1, `mean RTT ${sum / count} s on loopback`);
    assert.equal(requiredValue(x, `${P}upstream_rtt_seconds_count`, labels.silent), 0, 'an upstream that never answered has no RTT');
  });

  it('a tampered answer is asked around: one re-ask counted against the tampering upstream, none against the one that answered', async () => {
    const [tampered, good, reasks, rescues] = await delta([
      ['upstream_bogus_reasks_total', labels.tamper],
      ['upstream_bogus_reasks_total', labels.world],
      ['bogus_reasks_total'],
      ['bogus_rescues_total'],
    ], async () => {
      const r = await dig(d.port, ['www.alg13.test.', 'A', '+dnssec']);
      assert.ok(r.flags.has('ad') && !r.text.includes('6.6.6.6'), r.text);
    });
    assert.deepEqual({ tampered, good, reasks, rescues }, { tampered: 1, good: 0, reasks: 1, rescues: 1 });
  });

  it('KeyTrap: the RRSIG flood ends at the signatures limit; the bad RRSIGs are counted invalid (algorithm 13)', async () => {
    const [sigs, hashes, invalid] = await delta([
      ['validation_budget_exhausted_total', { limit: 'signatures' }],
      ['validation_budget_exhausted_total', { limit: 'nsec3-hashes' }],
      ['signature_verifications_total', { algorithm: '13', result: 'invalid' }],
    ], async () => {
      const r = await dig(d.port, ['www.keytrap-sigs.test.', 'A', '+dnssec']);
      assert.equal(r.status, 'SERVFAIL', r.text);
    });
    assert.equal(sigs, 1, 'one validation ended at the limit (not asked again: another upstream cannot change it)');
    assert.equal(hashes, 0);
    // SPARSE: the series of the bad RRSIGs just counted is there (a renamed metric or label would read 0 before and after)
    requiredValue((await scrape()).x, `${P}signature_verifications_total`, { algorithm: '13', result: 'invalid' });
    assert.ok(invalid! >= 7 && invalid! <= 8, `bad RRSIGs tried before the per-RRset limit of 8: ${invalid}`);
  });

  it(`NSEC3: a ${NSEC3_DEEP_DEPTH}-label name with the hash budget lowered to 50 ends at the nsec3-hashes limit`, async () => {
    const [hashes, sigs] = await delta([
      ['validation_budget_exhausted_total', { limit: 'nsec3-hashes' }],
      ['validation_budget_exhausted_total', { limit: 'signatures' }],
    ], async () => {
      const r = await dig(d.port, [nsec3FloodName(NSEC3_DEEP_DEPTH), 'A', '+dnssec']);
      assert.equal(r.status, 'SERVFAIL', r.text);
    });
    assert.deepEqual({ hashes, sigs }, { hashes: 1, sigs: 0 });
  });

  it('RFC 5011: the refresh at start and one asked for now, counted ok for the root', async () => {
    const manager = d.daemon.anchorManager!;
    await waitFor('the first refresh', async () => (await now('rfc5011_refreshes_total', { zone: '.', result: 'ok' })) >= 1, 10_000);
    const [ok, failed] = await delta([
      ['rfc5011_refreshes_total', { zone: '.', result: 'ok' }],
      ['rfc5011_refreshes_total', { zone: '.', result: 'fetch-failed' }],
    ], () => manager.refresh(Name.root));
    assert.deepEqual({ ok, failed }, { ok: 1, failed: 0 });
  });

  it('/status: answers per EDE code with their names, the same numbers as answer_ede_total; answers per status', async () => {
    const r = await dig(d.port, ['www.bogus-expired.test.', 'A', '+dnssec']);
    assert.equal(r.status, 'SERVFAIL', r.text);
    const res = await fetch(`${base}/status`);
    assert.equal(res.status, 200);
    const s = (await res.json()) as { ede: { code: number; name: string; count: number }[]; answers: Record<string, number> };
    const { x } = await scrape();
    const fromMetrics = x.samples.filter((v) => v.name === `${P}answer_ede_total`).map((v) => ({ code: Number(v.labels['code']), count: v.value }));
    assert.deepEqual(s.ede.map((e) => ({ code: e.code, count: e.count })), fromMetrics);
    assert.ok(s.ede.some((e) => e.code === 7 && e.name === 'SIGNATURE_EXPIRED' && e.count >= 1), JSON.stringify(s.ede));
    assert.ok(s.ede.some((e) => e.code === 0 && e.name === 'OTHER' && e.count >= 2), `the two work-limit SERVFAILs: ${JSON.stringify(s.ede)}`);
    for (const status of ['secure', 'bogus']) {
      assert.equal(s.answers[status], requiredValue(x, `${P}answers_total`, { status }), status);
    }
    assert.ok(s.answers['bogus']! >= 3, JSON.stringify(s.answers));
  });

  it('promtool check metrics accepts the real output', async () => {
    const { text } = await scrape();
    const r = promtool(['check', 'metrics'], text);
    assert.equal(r.status, 0, r.out);
    assert.equal(r.out.trim(), '', 'no lint remark');
  });
});
