/**
 * A UDP query burst against a listener whose process cannot read (SIGSTOP, as a long GC pause or a busy event
 * loop would): used by test/server/burst.test.ts (1,000 queries, every test run) and bench/burst.ts (sizes and
 * buffers). The listener runs alone in a child process (burst-child.ts: the real `startServer` with
 * `udpReceiveBuffer` = BYTES and a fixed answer). Loopback only.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as dgram from 'node:dgram';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Name, RRType, makeQuery, serializeMessage } from '../../src/wire/index.js';

const CHILD = path.join(path.dirname(fileURLToPath(import.meta.url)), 'burst-child.js');

export interface Listener { child: ChildProcess; port: number; granted: number; output: () => string }

/** Start a listener asking for a `bytes` receive buffer (0: the kernel's default); `granted` is what it got. */
export function startListener(bytes: number): Promise<Listener> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CHILD, String(bytes)], { stdio: ['ignore', 'pipe', 'pipe'] });
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
export async function burst(l: Listener, n: number): Promise<number> {
  // Room for every answer on our side: only the listener's buffer is measured.
  const sock = dgram.createSocket({ type: 'udp4', recvBufferSize: 32 * 1024 * 1024 });
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', r));
  const answered = new Set<number>();
  let done: () => void = () => undefined;
  const all = new Promise<void>((r) => { done = r; });
  sock.on('message', (m) => {
    answered.add(m.readUInt16BE(0));
    if (answered.size === Math.min(n, 65535)) done();
  });
  try {
    l.child.kill('SIGSTOP');
    try {
      for (let i = 0; i < n; i++) {
        const q = makeQuery(Name.fromText(`q${i}.burst.example.`), RRType.A, { id: (i % 65535) + 1 });
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
