/**
 * freePort, which every test that starts a server in another process relies on: the port it gives is outside the
 * kernel's ephemeral range (an outgoing connection cannot take it before the server binds) and free for TCP and UDP.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { createSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { freePort, portPool } from './unbound-fixture.js';

describe('freePort', () => {
  it('draws below the ephemeral range the kernel uses for source ports', async () => {
    const [low, end] = portPool();
    const ephemeralLow = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    assert.equal(end, ephemeralLow);
    for (let i = 0; i < 20; i++) {
      const p = await freePort('127.0.0.1');
      assert.ok(p >= low && p < ephemeralLow, `${p} is not in ${low}-${ephemeralLow - 1}`);
    }
  });

  it('gives a port both TCP and UDP can bind', async () => {
    for (let i = 0; i < 20; i++) {
      const p = await freePort('127.0.0.1');
      await new Promise<void>((resolve, reject) => {
        const t = createServer();
        t.once('error', reject);
        t.listen(p, '127.0.0.1', () => t.close(() => resolve()));
      });
      await new Promise<void>((resolve, reject) => {
        const u = createSocket('udp4');
        u.once('error', reject);
        u.bind(p, '127.0.0.1', () => u.close(() => resolve()));
      });
    }
  });
});
