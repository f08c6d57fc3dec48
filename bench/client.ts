/** A minimal UDP DNS client for benchmarks (our codec on node:dgram; loopback only). */
import { createSocket } from 'node:dgram';
import { randomInt } from 'node:crypto';
import { Name, makeQuery, parseMessage, serializeMessage, typeFromText, type Message } from '../src/wire/index.js';

export async function ask(host: string, port: number, name: string, type: string, timeoutMs = 10_000): Promise<Message> {
  const q = makeQuery(Name.fromText(name), typeFromText(type)!, {
    id: randomInt(0, 65536),
    edns: { udpSize: 1232, version: 0, dnssecOk: true, z: 0, options: [] },
  });
  const bytes = serializeMessage(q).bytes;
  const sock = createSocket('udp4');
  try {
    return await new Promise<Message>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timeout asking ${name} ${type} at ${host}:${port}`)), timeoutMs);
      sock.on('message', (buf) => {
        try {
          const m = parseMessage(buf);
          if (m.id !== q.id) return;
          clearTimeout(timer);
          resolve(m);
        } catch {
          /* ignore junk */
        }
      });
      sock.send(bytes, port, host);
    });
  } finally {
    sock.close();
  }
}

/** Run `fn` over `items` with at most `limit` in flight. */
export async function inParallel<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const item = items[next++]!;
      await fn(item);
    }
  });
  await Promise.all(workers);
}
