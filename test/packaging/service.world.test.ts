/**
 * The success path of scripts/install.sh's last step in background mode (scripts/dnssec-stubdctl start), against
 * the signed test world's DNSSEC-capable upstream: it reports ready only once the daemon validates, and a
 * restart keeps it so. Paths in a temporary directory, this checkout as the package, the user `nobody`.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { getWorld, stopWorld } from '../world/index.js';
import { freePort } from '../support/daemon-process.js';
import { dig } from '../support/dig.js';
import { backgroundCtl, type BackgroundCtl } from './stubdctl.js';

let c: BackgroundCtl;
let port: number;

before(async () => {
  const world = await getWorld();
  c = backgroundCtl({ waitSeconds: 60 });
  port = await freePort('127.0.0.1');
  const http = await freePort('127.0.0.1');
  writeFileSync(c.config, [
    `listen: [{ address: 127.0.0.1, port: ${port} }]`,
    `http: { listen: [{ address: 127.0.0.1, port: ${http} }] }`,
    `upstreams: [{ address: ${world.upstream.host}, port: ${world.upstream.port} }]`,
    `trustAnchors: [${world.rootAnchorFile}]`,
    '',
  ].join('\n'));
});
after(async () => {
  await c?.run('stop');
  c?.remove();
  await stopWorld();
});

describe('dnssec-stubdctl start with a DNSSEC-capable upstream', () => {
  it('exit 0 once it validates; restart keeps it so, with a new process', async () => {
    const r = await c.run('start');
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /^dnssec-stubd is ready:\n {2}HTTP API .*\/readyz says ready\n {2}DNS 127\.0\.0\.1:\d+: \. DNSKEY answered with AD \(validated\)\ndnssec-stubd is running \(pid (\d+)\) and ready\n$/);
    const pid = Number(readFileSync(c.pidFile, 'utf8'));
    const a = await dig(port, ['www.alg13.test.', 'A', '+dnssec']);
    assert.equal(a.status, 'NOERROR');
    assert.ok(a.flags.has('ad'));
    const again = await c.run('restart');
    assert.equal(again.code, 0, again.stdout + again.stderr);
    assert.match(again.stdout, new RegExp(`dnssec-stubd stopped \\(pid ${pid}\\)\\n[\\s\\S]*dnssec-stubd is running \\(pid \\d+\\) and ready`));
    assert.notEqual(Number(readFileSync(c.pidFile, 'utf8')), pid);
  });
});
