/**
 * The error a new user gets when the test world's fixed addresses are taken (issue 14): which holder, which other
 * world (by its directory), and the environment variable that shares it. Pure parts and /proc lookups, no world.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { findHolders, worldClashMessage, worldDirOf } from './clash.js';

describe('a world clash', () => {
  it('finds the other world\'s directory in its servers\' command lines', () => {
    assert.equal(worldDirOf(['nsd', '-d', '-c', '/home/a/stubd/.world/run/nsd-root/nsd.conf']), '/home/a/stubd/.world');
    assert.equal(worldDirOf(['unbound', '-d', '-c', '/tmp/w/run/unbound-upstream/unbound.conf']), '/tmp/w');
    assert.equal(worldDirOf(['unbound', '-d', '-c', '/etc/unbound/unbound.conf']), undefined);
  });

  it('names the other world, STUBD_WORLD_DIR to share it, and how to stop it', () => {
    const m = worldClashMessage(['127.54.0.1:53'], '/mine/.world', [{ endpoint: '127.54.0.1:53', pid: 42, command: 'nsd', worldDir: '/other/.world' }]);
    assert.match(m, /^the test world cannot start: its addresses already answer DNS \(127\.54\.0\.1:53\)\./);
    assert.match(m, /another test world, in \/other\/\.world \(127\.54\.0\.1:53: nsd pid 42\)/);
    assert.match(m, /Share it: STUBD_WORLD_DIR=\/other\/\.world npm test/);
    assert.match(m, /Or stop it: STUBD_WORLD_DIR=\/other\/\.world node dist\/test\/world\/cli\.js stop/);
    const x = worldClashMessage(['127.54.1.1:53'], '/mine/.world', [{ endpoint: '127.54.1.1:53', pid: 7, command: 'dnsmasq', worldDir: undefined }]);
    assert.match(x, /No test world of another checkout was found among their holders \(127\.54\.1\.1:53: dnsmasq pid 7\)/);
  });

  it('finds the process holding a port from /proc, and its world directory', async () => {
    const child = spawn(process.execPath, ['-e', `
      const s = require('node:dgram').createSocket('udp4');
      s.bind(0, '127.0.0.1', () => console.log(s.address().port));
      setTimeout(() => {}, 30000);`, '--', '-c', '/tmp/some-world/run/nsd/nsd.conf'], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      const port = await new Promise<number>((resolve) => child.stdout.once('data', (d: Buffer) => resolve(Number(d.toString().trim()))));
      const [h] = findHolders([`127.0.0.1:${port}`]);
      assert.equal(h!.pid, child.pid);
      assert.equal(h!.command, 'node');
      assert.equal(h!.worldDir, '/tmp/some-world');
    } finally {
      child.kill();
    }
  });
});
