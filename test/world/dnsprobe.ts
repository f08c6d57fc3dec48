/** A tiny UDP DNS client for readiness/liveness probes (no dependency on src/ or dig). */
import { createSocket } from 'node:dgram';
import { randomInt } from 'node:crypto';
import { nameToWire } from './rr.js';

const TYPES: Record<string, number> = { A: 1, NS: 2, SOA: 6, MX: 15, TXT: 16, AAAA: 28, DS: 43, DNSKEY: 48 };

export interface ProbeResult { rcode: number; aa: boolean; ra: boolean; ancount: number; ms: number }

export function probe(host: string, port: number, qname: string, qtype: string, opts: { rd?: boolean; timeoutMs?: number } = {}): Promise<ProbeResult | null> {
  const id = randomInt(0, 0x10000);
  const header = Buffer.alloc(12);
  header.writeUInt16BE(id, 0);
  header.writeUInt16BE(opts.rd ? 0x0100 : 0, 2);
  header.writeUInt16BE(1, 4);
  const tail = Buffer.alloc(4);
  tail.writeUInt16BE(TYPES[qtype.toUpperCase()] ?? 1, 0);
  tail.writeUInt16BE(1, 2);
  const msg = Buffer.concat([header, nameToWire(qname), tail]);
  const t0 = Date.now();
  return new Promise((resolve) => {
    const sock = createSocket('udp4');
    let done = false;
    const finish = (r: ProbeResult | null) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      try { sock.close(); } catch { /* already closed */ }
      resolve(r);
    };
    const timer = setTimeout(() => finish(null), opts.timeoutMs ?? 1000);
    sock.on('error', () => finish(null));
    sock.on('message', (m) => {
      if (m.length < 12 || m.readUInt16BE(0) !== id) return;
      const flags = m.readUInt16BE(2);
      finish({ rcode: flags & 0xf, aa: (flags & 0x0400) !== 0, ra: (flags & 0x0080) !== 0, ancount: m.readUInt16BE(6), ms: Date.now() - t0 });
    });
    sock.send(msg, port, host, (err) => { if (err) finish(null); });
  });
}
