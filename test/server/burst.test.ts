/**
 * Query bursts (issue 14): 1,000 queries arriving while the listener's process cannot read (SIGSTOP, as a GC
 * pause or a busy event loop would) must all wait in the UDP receive buffer and all be answered. With the
 * kernel's default buffer (about 200 KiB) the same burst overflows it, which is what `server.udpReceiveBuffer`
 * (default 4 MiB) is for; asking for more than net.core.rmem_max logs a warning naming that sysctl.
 * Loopback only; the listener runs in a child process (test/server/burst-child.ts).
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { after, describe, it } from 'node:test';
import { defaultConfig } from '../../src/config/schema.js';
import { burst, startListener as start, type Listener } from './burst-support.js';

const BURST = 1000;
/** What the daemon asks for unless configured (`server.udpReceiveBuffer`, 4 MiB). */
const DEFAULT_BUFFER = defaultConfig().server.udpReceiveBuffer;
const rmemMax = Number(readFileSync('/proc/sys/net/core/rmem_max', 'utf8').trim());
const children: ChildProcess[] = [];
after(() => { for (const c of children) c.kill('SIGKILL'); });

/** A listener, killed after the tests whatever happens. */
async function startListener(bytes: number): Promise<Listener> {
  const l = await start(bytes);
  children.push(l.child);
  return l;
}

describe('UDP receive buffer and query bursts', () => {
  it(`answers every query of a ${BURST}-query burst that arrives while the process is stopped (default buffer)`, async () => {
    assert.ok(rmemMax >= DEFAULT_BUFFER,
      `net.core.rmem_max is ${rmemMax}: the kernel caps the default ${DEFAULT_BUFFER}-byte buffer (scripts/install-test-deps.sh raises it; ` +
      `as root: sysctl -w net.core.rmem_max=${DEFAULT_BUFFER})`);
    const l = await startListener(DEFAULT_BUFFER);
    assert.equal(l.granted, DEFAULT_BUFFER);
    assert.equal(await burst(l, BURST), BURST, l.output());
    assert.doesNotMatch(l.output(), /capped/);
  });

  it('loses part of the same burst with the kernel default buffer (what the setting prevents)', async () => {
    const l = await startListener(0);
    const got = await burst(l, BURST);
    assert.ok(got < BURST, `all ${BURST} answered with the kernel default of ${l.granted} bytes`);
    assert.ok(got > 0, 'nothing answered at all');
  });

  it('warns with the sysctl to raise when the kernel caps the buffer', async () => {
    const asked = rmemMax * 4;
    const l = await startListener(asked);
    assert.equal(l.granted, rmemMax);
    const warn = l.output().split('\n').find((s) => s.includes('capped'));
    assert.ok(warn, l.output());
    const w = JSON.parse(warn) as { msg: string; granted: number; udpReceiveBuffer: number };
    assert.equal(w.granted, rmemMax);
    assert.equal(w.udpReceiveBuffer, asked);
    assert.match(w.msg, new RegExp(`sysctl -w net\\.core\\.rmem_max=${asked}`));
  });
});
