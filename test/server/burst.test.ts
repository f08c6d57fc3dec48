/**
 * Query bursts (issue 14): 1,000 queries arriving while the listener's process cannot read (SIGSTOP, as a GC
 * pause or a busy event loop would) must all wait in the UDP receive buffer and all be answered. With the
 * kernel's default buffer (about 200 KiB) the same burst overflows it, which is what `server.udpReceiveBuffer`
 * (default 4 MiB) is for; asking for more than net.core.rmem_max logs a warning naming that sysctl.
 * Loopback only; the listener runs in a child process (test/server/burst-child.ts).
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import * as dgram from 'node:dgram';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { defaultConfig } from '../../src/config/schema.js';
import { Name, RRType, makeQuery, serializeMessage } from '../../src/wire/index.js';

const CHILD = path.join(path.dirname(fileURLToPath(import.meta.url)), 'burst-child.js');
const BURST = 1000;
/** What the daemon asks for unless configured (`server.udpReceiveBuffer`, 4 MiB). */
const DEFAULT_BUFFER = defaultConfig().server.udpReceiveBuffer;
const rmemMax = Number(readFileSync('/proc/sys/net/core/rmem_max', 'utf8').trim());
const children: ChildProcess[] = [];
after(() => { for (const c of children) c.kill('SIGKILL'); });

interface Listener { child: ChildProcess; port: number; granted: number; output: () => string }

function startListener(bytes: number): Promise<Listener> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CHILD, String(bytes)], { stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    let out = '';
    const onData = (b: Buffer): void => {
      out += b.toString();
      const m = /^READY (\d+) (\d+)$/m.exec(out);
      if (m) resolve({ child, port: Number(m[1]), granted: Number(m[2]), output: () => out });
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`listener exited (${code}):\n${out}`)));
  });
}

/** Stop the listener's process, send `n` queries, resume it; count the distinct answers within 5 s. */
async function burst(l: Listener, n: number): Promise<number> {
  const sock = dgram.createSocket({ type: 'udp4', recvBufferSize: 4 * 1024 * 1024 });
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', r));
  const answered = new Set<number>();
  let done: () => void = () => undefined;
  const all = new Promise<void>((r) => { done = r; });
  sock.on('message', (m) => {
    answered.add(m.readUInt16BE(0));
    if (answered.size === n) done();
  });
  try {
    l.child.kill('SIGSTOP');
    try {
      for (let i = 0; i < n; i++) {
        const q = makeQuery(Name.fromText(`q${i}.burst.example.`), RRType.A, { id: i + 1 });
        await new Promise<void>((r, j) => sock.send(serializeMessage(q).bytes, l.port, '127.0.0.1', (e) => (e ? j(e) : r())));
      }
      await new Promise((r) => setTimeout(r, 200));
    } finally {
      l.child.kill('SIGCONT');
    }
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([all, new Promise((r) => { timer = setTimeout(r, 5_000); })]);
    clearTimeout(timer);
    return answered.size;
  } finally {
    sock.close();
  }
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
