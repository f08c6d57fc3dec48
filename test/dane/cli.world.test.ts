/**
 * `dnssec-stubd daneverify` as an operator runs it, in the mail world: asking a running daemon over DNS
 * (--server), validating in process (--upstream), the exit codes (0 success, 1 fail, 2 fallback, 3 usage), the
 * text and --json output, and the deadline (a silent server never makes it hang).
 */
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { describe, it } from 'node:test';
import { useWorldDaemon } from '../support/world-daemon.js';
import { runCli, type CliRun } from '../support/daemon-process.js';
import { tempStateDir } from '../support/state-dir.js';
import { reAddr, worldAddr } from '../world/net.js';

const ctx = useWorldDaemon();

const run = (...args: string[]): Promise<CliRun> => runCli(['daneverify', ...args], { timeoutMs: 60_000 });
const daemon = (): string[] => ['--server', `127.0.0.1:${ctx.port}`];

describe('dnssec-stubd daneverify', () => {
  it('success: exit 0, the note\'s lines, the decision last', async () => {
    const r = await run('ok.dmx.test', '--mode', 'mandatory', ...daemon());
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const lines = r.stdout.trimEnd().split('\n');
    assert.equal(lines[0], 'SECURE MX record(ok.dhost.test.) found for ok.dmx.test.');
    assert.ok(lines.includes('Certificate verification successful'));
    assert.ok(lines.includes('DANE SUCCESS for ok.dmx.test.'));
    assert.match(lines[lines.length - 1]!, /^Decision \(mandatory\): DANE Success/);
  });
  it('DANE fail: exit 1 (badcert, every mode)', async () => {
    for (const mode of ['mandatory', 'opportunistic', 'rfc7672']) {
      const r = await run('badcert.dmx.test', '--mode', mode, ...daemon());
      assert.equal(r.code, 1, `${mode}: ${r.stdout}${r.stderr}`);
      assert.match(r.stdout, /^Certificate verification failed$/m);
      assert.match(r.stdout, /^DANE FAILED for badcert\.dmx\.test\.$/m);
    }
  });
  it('fallback: exit 2 (no TLSA, opportunistic); the same domain is a DANE Fail when mandatory', async () => {
    const r = await run('notlsa.dmx.test', '--mode', 'opportunistic', ...daemon());
    assert.equal(r.code, 2, r.stdout + r.stderr);
    assert.match(r.stdout, /^No TLSA record found for MX\(notlsa\.dhost\.test\.\) in notlsa\.dmx\.test\. at _25\._tcp\.notlsa\.dhost\.test\. \(NXDOMAIN, SECURE\)$/m);
    assert.equal((await run('notlsa.dmx.test', '--mode', 'mandatory', ...daemon())).code, 1);
  });
  it('--json: the steps (name, type, status, records, EDE, reason) and the decision', async () => {
    const r = await run('tlsa-bogus.dmx.test', '--mode', 'rfc7672', '--json', ...daemon());
    assert.equal(r.code, 1, r.stderr);
    const j = JSON.parse(r.stdout) as { decision: { action: string; reason: { code: string } }; steps: { step: string; purpose?: string; result?: Record<string, unknown> }[] };
    assert.deepEqual(j.decision.reason, { code: 'tlsa-bogus' });
    const tlsa = j.steps.find((s) => s.purpose === 'tlsa')!.result!;
    assert.equal(tlsa['name'], '_25._tcp.tlsa-bogus.dhost.test.');
    assert.equal(tlsa['type'], 'TLSA');
    assert.equal(tlsa['status'], 'BOGUS');
    assert.equal(tlsa['rcode'], 'SERVFAIL');
    assert.ok((tlsa['ede'] as { code: number }[]).length > 0);
    assert.ok(typeof tlsa['reason'] === 'string');
    assert.ok(!('answer' in tlsa), 'typed records are not part of the JSON');
  });
  it('--upstream: validates in process (no daemon asked)', async () => {
    const r = await run('ta201.dmx.test', '--upstream', `${ctx.world.upstream.host}:${ctx.world.upstream.port}`,
      '--trust-anchor', ctx.world.rootAnchorFile, '--state-dir', tempStateDir());
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /matched TLSA 2 0 1 [0-9A-F]{64} \(DANE-TA at depth 1, name ta201\.dhost\.test\)/);
  });
  it('the deadline: a silent server with --timeout 0.5 --deadline 2 ends within seconds (exit 1)', async () => {
    const t0 = performance.now();
    const r = await run('silent.dmx.test', '--timeout', '0.5', '--deadline', '2', ...daemon());
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stdout, new RegExp(`Connection to ${reAddr(worldAddr(102, 22))} failed: timeout at banner\\.`));
    assert.ok(performance.now() - t0 < 10_000);
  });
  it('usage errors: exit 3 with a message', async () => {
    for (const args of [[], ['a.test', 'b.test'], ['ok.dmx.test', '--mode', 'strict'], ['ok.dmx.test', '--port', '0'], ['ok.dmx.test', '--timeout', 'x'],
      ['ok.dmx.test', '--bogus-flag'], ['bad..name'], ['ok.dmx.test', '--server', 'not-an-address']]) {
      const r = await run(...args);
      assert.equal(r.code, 3, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
      assert.match(r.stderr, /daneverify/);
    }
  });
  it('nothing listening where --server points: every lookup gets no answer, exit 1', async () => {
    const r = await run('ok.dmx.test', '--server', '127.0.0.1:9', '--timeout', '0.5');
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stdout, /^No answer for the MX record of ok\.dmx\.test\./m);
  });
});
