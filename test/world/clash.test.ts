/**
 * The error a new user gets when the test world's addresses are taken (issue 14): which holder, which other
 * world (by its directory), the block both use with STUBD_WORLD_NET and a free block to move to, and the variable
 * that shares the other world. Pure parts and /proc lookups, no world.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { findHolders, worldClashMessage, worldDirOf } from './clash.js';

const DEFAULT = { octet: 54, isDefault: true } as const;
const FREE = { octet: 60, isDefault: false } as const;

describe('a world clash', () => {
  it('finds the other world\'s directory in its servers\' command lines', () => {
    assert.equal(worldDirOf(['nsd', '-d', '-c', '/home/a/stubd/.world/run/nsd-root/nsd.conf']), '/home/a/stubd/.world');
    assert.equal(worldDirOf(['nsd', '-d', '-c', '/home/a/stubd/.world-127.64/run/nsd-root/nsd.conf']), '/home/a/stubd/.world-127.64');
    assert.equal(worldDirOf(['unbound', '-d', '-c', '/tmp/w/run/unbound-upstream/unbound.conf']), '/tmp/w');
    assert.equal(worldDirOf(['unbound', '-d', '-c', '/etc/unbound/unbound.conf']), undefined);
  });

  it('names the other world, the block both use, STUBD_WORLD_NET with a free block, STUBD_WORLD_DIR to share, and how to stop it', () => {
    const m = worldClashMessage(['127.54.0.1:53'], '/mine/.world', [{ endpoint: '127.54.0.1:53', pid: 42, command: 'nsd', worldDir: '/other/.world' }], DEFAULT, FREE);
    assert.match(m, /^the test world cannot start: its addresses already answer DNS \(127\.54\.0\.1:53\)\./);
    assert.match(m, /another test world, in \/other\/\.world \(127\.54\.0\.1:53: nsd pid 42\): both use the block 127\.54\.0\.0\/16 \(STUBD_WORLD_NET=127\.54, the default\)\./);
    assert.match(m, /\nRun beside it on another block: STUBD_WORLD_NET=127\.60 npm test \(or STUBD_WORLD_NET=127\.60 node scripts\/run-tests\.mjs \.\.\.\): that world takes 127\.60\.0\.0\/16, the daemons under test 127\.61\.0\.0\/16, and its own directory \(\.world-127\.60 in the checkout\)\./);
    assert.match(m, /Or share it: STUBD_WORLD_DIR=\/other\/\.world npm test/);
    assert.match(m, /Or stop it: STUBD_WORLD_DIR=\/other\/\.world node dist\/test\/world\/cli\.js stop/);
  });

  it('for another DNS server on the block: stop it or move, on a block that is no default', () => {
    const x = worldClashMessage(['127.64.1.1:53'], '/mine/.world-127.64', [{ endpoint: '127.64.1.1:53', pid: 7, command: 'dnsmasq', worldDir: undefined }],
      { octet: 64, isDefault: false }, { octet: 66, isDefault: false });
    assert.match(x, /No test world of another checkout was found among their holders \(127\.64\.1\.1:53: dnsmasq pid 7\)/);
    assert.match(x, /Stop it \(the world needs 127\.64\.0\.1-4:53 and 127\.64\.1\.1-2:53 of its block 127\.64\.0\.0\/16 \(STUBD_WORLD_NET=127\.64\)\), or move this world\./);
    assert.match(x, /STUBD_WORLD_NET=127\.66 npm test/);
  });

  it('says so when no free block is left, still naming the variable', () => {
    const m = worldClashMessage(['127.54.0.1:53'], '/mine/.world', [{ endpoint: '127.54.0.1:53', pid: 42, command: 'nsd', worldDir: '/other/.world' }], DEFAULT, null);
    assert.match(m, /Run beside it on another block: no free one found .*; free one, then STUBD_WORLD_NET=127\.X npm test\./);
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
