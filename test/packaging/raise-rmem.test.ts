/**
 * scripts/raise-rmem.sh, the step of scripts/install.sh that lifts the kernel's cap on socket receive buffers
 * (net.core.rmem_max) to the UDP receive buffer the configuration asks for (issue 14: a burst of 1,000 queries
 * loses none only when the kernel grants it). Run against a stand-in /proc/sys, sysctl.d directory and sysctl
 * (STUBD_PROC_SYS, STUBD_SYSCTL_D, STUBD_SYSCTL): this machine's kernel settings are never touched. And the wiring:
 * install.sh passes it the value `check-config` prints for its configuration.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO } from './stubdctl.js';
import { runCli } from '../support/daemon-process.js';
import { defaultConfig } from '../../src/config/schema.js';

interface Run { code: number | null; stdout: string; stderr: string; conf: string | undefined; sysctlCalls: string[] }

/** Run the script with `rmemMax` in the stand-in /proc (undefined: no such file) and a sysctl that succeeds or fails. */
function run(args: string[], rmemMax: string | undefined, sysctlOk = true): Run {
  const dir = mkdtempSync(join(tmpdir(), 'stubd-rmem-'));
  const proc = join(dir, 'proc');
  mkdirSync(join(proc, 'net', 'core'), { recursive: true });
  if (rmemMax !== undefined) writeFileSync(join(proc, 'net', 'core', 'rmem_max'), `${rmemMax}\n`);
  const calls = join(dir, 'sysctl-calls');
  const sysctl = join(dir, 'sysctl');
  writeFileSync(sysctl, `#!/bin/sh\necho "$*" >> ${calls}\nexit ${sysctlOk ? 0 : 1}\n`);
  chmodSync(sysctl, 0o755);
  const sysctlD = join(dir, 'sysctl.d');
  const r = spawnSync('bash', [join(REPO, 'scripts', 'raise-rmem.sh'), ...args], {
    encoding: 'utf8', env: { ...process.env, STUBD_PROC_SYS: proc, STUBD_SYSCTL_D: sysctlD, STUBD_SYSCTL: sysctl },
  });
  const confFile = join(sysctlD, '60-dnssec-stubd.conf');
  return {
    code: r.status, stdout: r.stdout, stderr: r.stderr,
    conf: existsSync(confFile) ? readFileSync(confFile, 'utf8') : undefined,
    sysctlCalls: existsSync(calls) ? readFileSync(calls, 'utf8').trim().split('\n') : [],
  };
}

describe('scripts/raise-rmem.sh', () => {
  it('below the wanted size (the kernel default, 212992): raised now and at boot, and says so', () => {
    const r = run(['4194304'], '212992');
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.sysctlCalls, ['-q -w net.core.rmem_max=4194304']);
    assert.equal(r.conf, 'net.core.rmem_max = 4194304\n');
    assert.match(r.stdout, /^raised net\.core\.rmem_max from 212992 to 4194304 \(.*\/sysctl\.d\/60-dnssec-stubd\.conf\) for the UDP receive buffer\n$/);
  });

  it('at or above it: nothing written, nothing run, never lowered', () => {
    for (const have of ['4194304', '16777216']) {
      const r = run(['4194304'], have);
      assert.equal(r.code, 0);
      assert.deepEqual(r.sysctlCalls, [], have);
      assert.equal(r.conf, undefined, have);
      assert.equal(r.stdout + r.stderr, '', have);
    }
  });

  it('0 (the configuration keeps the kernel default): nothing to do', () => {
    const r = run(['0'], '212992');
    assert.equal(r.code, 0);
    assert.deepEqual(r.sysctlCalls, []);
    assert.equal(r.conf, undefined);
  });

  it('where sysctl cannot (a container): a note on stderr, exit 0 (the install goes on), the boot-time file kept', () => {
    const r = run(['8388608'], '212992', false);
    assert.equal(r.code, 0);
    assert.equal(r.conf, 'net.core.rmem_max = 8388608\n');
    assert.match(r.stderr, /^note: net\.core\.rmem_max cannot be raised here \(a container\?\): the UDP receive buffer stays capped at 212992 bytes, a warning at start says so; .*60-dnssec-stubd\.conf sets it at the next boot\n$/);
    assert.equal(r.stdout, '');
  });

  it('no readable rmem_max: taken as 0, so raised', () => {
    const r = run(['4194304'], undefined);
    assert.equal(r.code, 0);
    assert.deepEqual(r.sysctlCalls, ['-q -w net.core.rmem_max=4194304']);
  });

  it('a size that is not a number: exit 2 with the usage, nothing touched', () => {
    for (const bad of ['4M', '-1', '']) {
      const r = run([bad], '212992');
      assert.equal(r.code, 2, bad);
      assert.match(r.stderr, bad === '' ? /usage: raise-rmem\.sh BYTES/ : /BYTES must be a number of bytes/);
      assert.deepEqual(r.sysctlCalls, []);
      assert.equal(r.conf, undefined);
    }
  });

  it('install.sh runs it with the "UDP receive buffer" line check-config prints for its configuration', async () => {
    const install = readFileSync(join(REPO, 'scripts', 'install.sh'), 'utf8');
    const m = /want_rmem=\$\(printf '%s\\n' "\$checked" \| sed -n '([^']+)'\)\nbash scripts\/raise-rmem\.sh "\$\{want_rmem:-(\d+)\}"/.exec(install);
    assert.ok(m, 'install.sh takes the size from check-config and runs raise-rmem.sh');
    assert.equal(Number(m[2]), defaultConfig().server.udpReceiveBuffer, 'its fallback is the default udpReceiveBuffer');
    // The sed expression install.sh uses, on what check-config prints for a configuration that asks for 8 MiB.
    const dir = mkdtempSync(join(tmpdir(), 'stubd-rmem-cfg-'));
    const config = join(dir, 'config.yaml');
    writeFileSync(config, 'upstreams: [{ address: 192.0.2.53 }]\nserver: { udpReceiveBuffer: 8388608 }\n');
    const checked = await runCli(['check-config', '--config', config]);
    assert.equal(checked.code, 0, checked.stderr);
    const sed = spawnSync('sed', ['-n', m[1]!], { input: checked.stdout, encoding: 'utf8' });
    assert.equal(sed.stdout, '8388608\n');
  });
});
