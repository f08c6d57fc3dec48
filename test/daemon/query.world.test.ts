/** `dnssec-stubd query NAME [TYPE]`: the validation trace an operator reads, and its exit codes. */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readAnchorFile } from '../../src/anchors/load.js';
import { initialState } from '../../src/anchors/rfc5011.js';
import { writeStateFile } from '../../src/anchors/state-file.js';
import { systemClock } from '../../src/clock.js';
import { runCli, type CliRun } from '../support/daemon-process.js';
import { getWorld, stopWorld, type WorldInfo } from '../world/index.js';
import { reAddr, worldAddr } from '../world/net.js';

const REAL_ROOT_ANCHORS = fileURLToPath(new URL('../../../trust-anchors/root.zone', import.meta.url));
let world: WorldInfo;
/** A state directory of the test's own: an RFC 5011 state left on the machine (/var/lib/dnssec-stubd) is not read. */
let stateDir: string;

before(async () => {
  world = await getWorld();
  stateDir = mkdtempSync(join(tmpdir(), 'stubd-query-state-'));
});
after(() => {
  rmSync(stateDir, { recursive: true, force: true });
  return stopWorld();
});

const query = (...args: string[]): Promise<CliRun> => runCli(['query', ...args, '--upstream', `${world.upstream.host}:${world.upstream.port}`,
  '--trust-anchor', world.rootAnchorFile, ...(args.includes('--state-dir') ? [] : ['--state-dir', stateDir])], { timeoutMs: 30_000 });

describe('dnssec-stubd query', () => {
  it('a secure answer: status, records, and the chain from the anchor down', async () => {
    const r = await query('www.alg8.test.', 'A');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^www\.alg8\.test\. A: SECURE positive, rcode NOERROR/m);
    assert.match(r.stdout, new RegExp(`www\\.alg8\\.test\\.\\t\\d+\\tIN\\tA\\t${reAddr(worldAddr(100, 1))}`));
    for (const step of [/anchor +\. keys/, /keys +\. secure via anchor/, /ds +test\. secure/, /keys +alg8\.test\. secure via ds/, /rrset +www\.alg8\.test\. A secure key \d+ signer alg8\.test\./]) {
      assert.match(r.stdout, step);
    }
  });

  it('a bogus answer: exit 3, the reason, and that clients get SERVFAIL', async () => {
    const r = await query('www.bogus-expired.test.', 'A');
    assert.equal(r.code, 3);
    assert.match(r.stdout, /BOGUS positive: .*expired/);
    assert.match(r.stdout, /served as SERVFAIL/);
  });

  it('--trust-anchor is used as given, even where the daemon\'s RFC 5011 state holds other keys for the zone', async () => {
    // The daemon's state for the root trusts the real root's keys, which the world's root does not publish.
    const dir = mkdtempSync(join(tmpdir(), 'stubd-query-stale-'));
    try {
      const [real] = readAnchorFile(REAL_ROOT_ANCHORS, systemClock);
      await writeStateFile(dir, initialState(real!.zone, real!.dnskeys, Date.now()));
      const r = await query('www.alg8.test.', 'A', '--state-dir', dir);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.match(r.stdout, /^www\.alg8\.test\. A: SECURE positive/m);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('an insecure answer and a secure NXDOMAIN with its proof', async () => {
    const i = await query('www.unsigned.test.', 'A');
    assert.equal(i.code, 0);
    assert.match(i.stdout, /INSECURE positive: unsigned\.test\.: delegation proven unsigned/);
    const nx = await query('nx.nsec3-nosalt.test.', 'A');
    assert.equal(nx.code, 0);
    assert.match(nx.stdout, /SECURE nxdomain, rcode NXDOMAIN/);
    assert.match(nx.stdout, /proof +nxdomain by nsec3 secure/);
  });

  it('--cd shows the data unvalidated; --json is machine-readable; bad input exits 2', async () => {
    const cd = await query('www.bogus-expired.test.', 'A', '--cd');
    assert.equal(cd.code, 0);
    assert.match(cd.stdout, /not validated \(checking disabled\)/);
    const j = await query('www.alg13.test.', 'AAAA', '--json');
    const parsed = JSON.parse(j.stdout) as { kind: string; verdict: { security: string; trail: unknown[] } };
    assert.equal(parsed.kind, 'answer');
    assert.equal(parsed.verdict.security, 'secure');
    assert.ok(parsed.verdict.trail.length > 3);
    const bad = await query('www.alg8.test.', 'NOSUCHTYPE');
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /query: unknown record type "NOSUCHTYPE"/);
    assert.doesNotMatch(bad.stderr, /configuration error/i);
  });
});
