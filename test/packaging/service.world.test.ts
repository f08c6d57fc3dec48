/**
 * The success path of scripts/install.sh's last step in background mode (scripts/dnssec-stubdctl start), against
 * the signed test world's DNSSEC-capable upstream: it reports ready only once the daemon validates, and a
 * restart keeps it so. Paths in a temporary directory, this checkout as the package, the user `nobody`.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { getWorld, stopWorld } from '../world/index.js';
import { freePort } from '../support/daemon-process.js';
import { dig } from '../support/dig.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
let env: NodeJS.ProcessEnv;
let port: number;

function ctl(cmd: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => execFile('bash', [path.join(REPO, 'scripts/dnssec-stubdctl'), cmd], { env, timeout: 120_000 }, (err, stdout, stderr) =>
    resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr })));
}

before(async () => {
  const world = await getWorld();
  const dir = mkdtempSync(path.join(tmpdir(), 'stubd-svc-'));
  chmodSync(dir, 0o755);
  port = await freePort('127.0.0.1');
  const http = await freePort('127.0.0.1');
  writeFileSync(path.join(dir, 'config.yaml'), [
    `listen: [{ address: 127.0.0.1, port: ${port} }]`,
    `http: { listen: [{ address: 127.0.0.1, port: ${http} }] }`,
    `upstreams: [{ address: ${world.upstream.host}, port: ${world.upstream.port} }]`,
    `trustAnchors: [${world.rootAnchorFile}]`,
    '',
  ].join('\n'));
  env = {
    ...process.env,
    DNSSEC_STUBD_PREFIX: REPO, DNSSEC_STUBD_CONFIG: path.join(dir, 'config.yaml'), DNSSEC_STUBD_STATE_DIR: path.join(dir, 'state'),
    DNSSEC_STUBD_RUN_DIR: path.join(dir, 'run'), DNSSEC_STUBD_LOG: path.join(dir, 'dnssec-stubd.log'),
    DNSSEC_STUBD_USER: 'nobody', DNSSEC_STUBD_MODE: 'background', DNSSEC_STUBD_WAIT: '60',
  };
});
after(async () => {
  await ctl('stop');
  await stopWorld();
});

describe('dnssec-stubdctl start with a DNSSEC-capable upstream', () => {
  it('exit 0 once it validates; restart keeps it so, with a new process', async () => {
    const r = await ctl('start');
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /^dnssec-stubd is ready:\n {2}HTTP API .*\/readyz says ready\n {2}DNS 127\.0\.0\.1:\d+: \. DNSKEY answered with AD \(validated\)\ndnssec-stubd is running \(pid (\d+)\) and ready\n$/);
    const pid = Number(readFileSync(path.join(env.DNSSEC_STUBD_RUN_DIR!, 'dnssec-stubd.pid'), 'utf8'));
    const a = await dig(port, ['www.alg13.test.', 'A', '+dnssec']);
    assert.equal(a.status, 'NOERROR');
    assert.ok(a.flags.has('ad'));
    const again = await ctl('restart');
    assert.equal(again.code, 0, again.stdout + again.stderr);
    assert.match(again.stdout, new RegExp(`dnssec-stubd stopped \\(pid ${pid}\\)\\n[\\s\\S]*dnssec-stubd is running \\(pid \\d+\\) and ready`));
    assert.notEqual(Number(readFileSync(path.join(env.DNSSEC_STUBD_RUN_DIR!, 'dnssec-stubd.pid'), 'utf8')), pid);
  });
});
