/**
 * STUBD_WORLD_NET (issue 14): which values name a block, the error naming the variable for the others, the
 * addresses and directory a block gives, and the free block suggested on a clash. Pure, no world.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import dgram from 'node:dgram';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { daemonBlock, defaultWorldDirName, freeWorldNet, parseWorldNet, usedLoopbackOctets, worldBlock } from './net.js';

const NET = path.join(path.dirname(fileURLToPath(import.meta.url)), 'net.js');

describe('STUBD_WORLD_NET', () => {
  it('unset or empty is the default block 127.54 (world) and 127.55 (daemons), in .world', () => {
    for (const v of [undefined, '', '  ']) {
      const r = parseWorldNet(v);
      assert.deepEqual(r, { ok: true, net: { octet: 54, isDefault: true } });
    }
    const d = { octet: 54, isDefault: true };
    assert.equal(worldBlock(d), '127.54.0.0/16');
    assert.equal(daemonBlock(d), '127.55.0.0/16');
    assert.equal(defaultWorldDirName(d), '.world');
    assert.deepEqual(parseWorldNet('127.54'), { ok: true, net: { octet: 54, isDefault: true } });
  });

  it('127.X with X even, 2-254, not 58, is a block of its own with its own directory', () => {
    for (const [v, x] of [['127.64', 64], ['127.2', 2], ['127.254', 254], [' 127.100 ', 100], ['127.56', 56]] as const) {
      const r = parseWorldNet(v);
      assert.deepEqual(r, { ok: true, net: { octet: x, isDefault: false } }, v);
    }
    const n = { octet: 64, isDefault: false };
    assert.equal(worldBlock(n), '127.64.0.0/16');
    assert.equal(daemonBlock(n), '127.65.0.0/16');
    assert.equal(defaultWorldDirName(n), '.world-127.64');
  });

  it('anything else is refused with an error naming the variable, the rule and an example', () => {
    for (const v of ['127.65', '127.58', '127.0', '127.256', '127.1', '128.64', '127.64.0.0/16', '64', '127.64.1', 'x', '127.0x40', '127.-2']) {
      const r = parseWorldNet(v);
      assert.equal(r.ok, false, v);
      if (r.ok) continue;
      assert.ok(r.error.startsWith(`STUBD_WORLD_NET=${JSON.stringify(v)} is not a test world block: give 127.X with X even, 2-254, not 58`), r.error);
      assert.match(r.error, /e\.g\. STUBD_WORLD_NET=127\.64; unset means 127\.54$/);
    }
  });

  it('a bad value stops whoever reads the addresses, with that error', () => {
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', `import(${JSON.stringify(NET)}).then((m) => m.worldAddr(0, 1))`],
      { env: { ...process.env, STUBD_WORLD_NET: '127.55' }, encoding: 'utf8' });
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /STUBD_WORLD_NET="127\.55" is not a test world block/);
    const ok = spawnSync(process.execPath, ['--input-type=module', '-e', `import(${JSON.stringify(NET)}).then((m) => console.log(m.worldAddr(0, 1), m.daemonAddr(20, 9), m.worldAddr6(102, 20)))`],
      { env: { ...process.env, STUBD_WORLD_NET: '127.64' }, encoding: 'utf8' });
    assert.equal(ok.stdout.trim(), '127.64.0.1 127.65.20.9 ::ffff:127.64.102.20');
  });

  it('the suggested block skips the own one, the default, the reserved ones and any pair with a bound socket', () => {
    const own = { octet: 54, isDefault: true };
    assert.deepEqual(freeWorldNet(new Set(), own), { octet: 60, isDefault: false });
    assert.deepEqual(freeWorldNet(new Set([0, 56, 61, 62]), own), { octet: 64, isDefault: false });
    assert.deepEqual(freeWorldNet(new Set(), { octet: 60, isDefault: false }), { octet: 62, isDefault: false });
    const all = new Set([...Array(256).keys()]);
    assert.equal(freeWorldNet(all, own), undefined);
    const but = (x: number): Set<number> => new Set([...all].filter((o) => o !== x && o !== x + 1));
    assert.equal(freeWorldNet(but(58), own), undefined, '127.58 is bench/mta\'s');
    assert.deepEqual(freeWorldNet(but(56), own), { octet: 56, isDefault: false }, '127.56 is free to take (the rollover trees moved into the daemons\' block)');
    all.delete(2); all.delete(3);
    assert.deepEqual(freeWorldNet(all, own), { octet: 2, isDefault: false }, 'wraps around below the default');
  });

  it('reads the second octets of bound 127/8 addresses from /proc/net', async () => {
    const s = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => s.bind(0, '127.203.0.9', resolve));
    try {
      const used = usedLoopbackOctets();
      assert.ok(used.has(203), [...used].join(','));
    } finally {
      s.close();
    }
  });
});
