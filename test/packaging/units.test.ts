/**
 * Packaging that needs no world: the systemd unit of examples/systemd (as scripts/install.sh installs it) passes
 * `systemd-analyze verify` and keeps its exposure low (`systemd-analyze security --offline`), and every shipped
 * configuration file (the example and the container image's) loads through the real config loader.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { loadConfig } from '../../src/config/load.js';
import { addressCheckers } from '../../src/config/fields.js';

const execFileP = promisify(execFile);
const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
/** `systemd-analyze security` exposure, 0 (locked down) to 10; the unit measures 1.8 ("OK", systemd 252, --offline). */
const MAX_EXPOSURE = 2.5;

/** `systemd-analyze verify`: it exits 0 on unknown keys (it only warns), so its warnings count as failures too. */
async function verify(file: string): Promise<{ ok: boolean; out: string }> {
  const r = await execFileP('systemd-analyze', ['verify', file]).then(
    ({ stdout, stderr }) => ({ exited: true, out: stdout + stderr }),
    (e: { stdout?: string; stderr?: string; message: string }) => ({ exited: false, out: `${e.stdout ?? ''}${e.stderr ?? ''}${e.message}` }));
  return { ok: r.exited && !/Unknown (key|section)|Failed to parse|ignoring/i.test(r.out), out: r.out };
}

let dir: string;
let unitFile: string;
before(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'stubd-unit-'));
  // What install.sh writes for a checkout here: the example with this checkout's paths.
  const { stdout } = await execFileP('bash', [path.join(REPO, 'scripts/systemd-unit.sh'), REPO, process.execPath]);
  unitFile = path.join(dir, 'dnssec-stubd.service');
  writeFileSync(unitFile, stdout);
});
after(() => rmSync(dir, { recursive: true, force: true }));

describe('examples/systemd/dnssec-stubd.service', () => {
  it('is the unit install.sh installs, with this checkout in ExecStart', () => {
    const text = readFileSync(unitFile, 'utf8');
    const lines = text.split('\n');
    const ours = `${process.execPath} ${REPO}/bin/dnssec-stubd.js `;
    assert.ok(lines.includes(`ExecStart=${ours}serve --config /etc/dnssec-stubd/config.yaml --state-dir /var/lib/dnssec-stubd`), text);
    // every command that runs the daemon (ExecStart, the check of ExecReload) runs this checkout's, none the example's
    const runs = lines.filter((l) => /^Exec[A-Za-z]*=/.test(l) && l.includes('dnssec-stubd.js'));
    assert.deepEqual(runs.map((l) => l.slice(l.indexOf('=') + 1).startsWith(ours)), [true, true], runs.join('\n'));
    for (const line of ['DynamicUser=yes', 'StateDirectory=dnssec-stubd', 'AmbientCapabilities=CAP_NET_BIND_SERVICE',
      'CapabilityBoundingSet=CAP_NET_BIND_SERVICE', 'NoNewPrivileges=yes', 'ProtectSystem=strict']) {
      assert.match(text, new RegExp(`^${line}$`, 'm'), line);
    }
    assert.doesNotMatch(text, /^MemoryDenyWriteExecute=yes/m, 'V8 needs writable+executable memory');
  });

  it('reads the config file install.sh was given (DNSSEC_STUBD_CONFIG), in ExecStart and in the check of ExecReload', async () => {
    const other = '/srv/stubd/other.yaml';
    const { stdout } = await execFileP('bash', [path.join(REPO, 'scripts/systemd-unit.sh'), REPO, process.execPath, other]);
    const runs = stdout.split('\n').filter((l) => /^Exec[A-Za-z]*=/.test(l) && l.includes('dnssec-stubd.js'));
    assert.equal(runs.length, 2, stdout);
    for (const l of runs) assert.ok(l.includes(` --config ${other}`) && !l.includes('/etc/dnssec-stubd/'), l);
  });

  it('passes systemd-analyze verify without a warning', async () => {
    const r = await verify(unitFile);
    assert.ok(r.ok, r.out);
  });

  it(`keeps the exposure systemd-analyze security reports at ${MAX_EXPOSURE} or less`, async () => {
    const { stdout } = await execFileP('systemd-analyze', ['security', '--offline=true', '--no-pager', unitFile]);
    const m = /Overall exposure level for .*?: ([0-9.]+)/.exec(stdout);
    assert.ok(m, stdout.slice(-500));
    assert.ok(Number(m[1]) <= MAX_EXPOSURE, `exposure ${m[1]} > ${MAX_EXPOSURE}:\n${stdout}`);
  });

  it('a unit with a typo fails that check (the check can fail)', async () => {
    const bad = path.join(dir, 'bad.service');
    writeFileSync(bad, readFileSync(unitFile, 'utf8').replace('ProtectSystem=strict', 'ProtectSystm=strict'));
    const r = await verify(bad);
    assert.equal(r.ok, false);
    assert.match(r.out, /Unknown key '?ProtectSystm'?/);
  });
});

describe('the install paths: one source, dnssec-stubdctl', () => {
  const paths = async (env: NodeJS.ProcessEnv): Promise<string> =>
    (await execFileP('bash', [path.join(REPO, 'scripts/dnssec-stubdctl'), 'paths'], { env: { PATH: process.env.PATH, ...env } })).stdout;

  it('`dnssec-stubdctl paths` prints the defaults, and what the DNSSEC_STUBD_* variables set instead', async () => {
    assert.equal(await paths({ DNSSEC_STUBD_MODE: 'background' }), ['prefix=/opt/dnssec-stubd', 'config=/etc/dnssec-stubd/config.yaml',
      'state_dir=/var/lib/dnssec-stubd', 'run_dir=/run/dnssec-stubd', 'log=/var/log/dnssec-stubd.log', 'user=dnssec-stubd',
      'sbin=/usr/local/sbin', 'mode=background', ''].join('\n'));
    // auto: systemd where systemd runs
    const auto = existsSync('/run/systemd/system') ? 'systemd' : 'background';
    assert.match(await paths({}), new RegExp(`^mode=${auto}$`, 'm'));
    const out = await paths({ DNSSEC_STUBD_CONFIG: '/srv/a b/c.yaml', DNSSEC_STUBD_SBIN: '/x/sbin' });
    const { stdout } = await execFileP('bash', ['-c', `eval "$1"; printf '%s|%s|%s' "$config" "$sbin" "$prefix"`, 'sh', out]);
    assert.equal(stdout, '/srv/a b/c.yaml|/x/sbin|/opt/dnssec-stubd');
  });

  it('install.sh and uninstall.sh take them from there and restate no default', () => {
    for (const script of ['scripts/install.sh', 'scripts/uninstall.sh']) {
      const text = readFileSync(path.join(REPO, script), 'utf8');
      assert.match(text, /^eval "\$\(bash .*dnssec-stubdctl"? paths\)"$/m, script);
      assert.doesNotMatch(text, /\$\{DNSSEC_STUBD_[A-Z_]+:-/, `${script} restates a default`);
    }
  });
});

describe('shipped configuration files load', () => {
  it('docker/config.yaml: port 53 on every address, private clients, HTTP on loopback, the state volume', () => {
    const cfg = loadConfig({ config: path.join(REPO, 'docker/config.yaml') }, addressCheckers);
    assert.deepEqual(cfg.listen, [{ address: '0.0.0.0', port: 53 }]);
    assert.ok(cfg.allow.includes('172.16.0.0/12') && cfg.allow.includes('127.0.0.0/8'));
    assert.deepEqual(cfg.http.listen, [{ address: '127.0.0.1', port: 8053 }]);
    assert.equal(cfg.stateDir, '/var/lib/dnssec-stubd');
  });

  it('examples/config.yaml', () => {
    const cfg = loadConfig({ config: path.join(REPO, 'examples/config.yaml') }, addressCheckers);
    assert.deepEqual(cfg.listen, [{ address: '127.0.0.1', port: 5353 }]);
  });

  it('the Dockerfile copies the config the image runs with', () => {
    const text = readFileSync(path.join(REPO, 'Dockerfile'), 'utf8');
    assert.match(text, /^COPY docker\/config\.yaml \/etc\/dnssec-stubd\/config\.yaml$/m);
    assert.match(text, /^ENTRYPOINT \[.*"--config", "\/etc\/dnssec-stubd\/config\.yaml"\]$/m);
  });
});
