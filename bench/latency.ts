/**
 * bench/latency: a UDP client sending DNS queries at a fixed rate, evenly spaced, and measuring each
 * answer's latency (send to receipt, performance.now()), for p50/p99/p99.9. dnsperf 2.10 has no
 * percentiles and its -v per-query times carry a ~3 ms tail of its own on this 2-vCPU machine (its
 * sender and receiver threads share the pinned core), even against Unbound at 2,000 qps.
 *
 *   taskset -c 0 node dist/bench/latency.js --port 5353 --file queries.txt --rate 40000 --seconds 10 [--do] [--json]
 *
 * One event loop: a setImmediate loop sends the queries due so far (rate x elapsed time), so sends are
 * spread over the second instead of bursts, and answers are read between iterations. The latency
 * includes this client's own event-loop delay, so it is an upper bound of the server's. Loopback only.
 */
import { createSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { Name, makeQuery, serializeMessage, typeFromText } from '../src/wire/index.js';

export interface LatencyReport {
  rate: number;
  seconds: number;
  sent: number;
  answered: number;
  lost: number;
  achievedQps: number;
  p50Ms: number;
  p99Ms: number;
  p999Ms: number;
  maxMs: number;
}

function percentile(sorted: Float64Array, p: number): number {
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]! : NaN;
}

export async function measure(host: string, port: number, lines: string[], rate: number, seconds: number, dnssecOk: boolean): Promise<LatencyReport> {
  if (!/^127\./.test(host)) throw new Error('loopback only');
  const templates = lines.map((l) => {
    const [name, type] = l.trim().split(/\s+/);
    const q = makeQuery(Name.fromText(name!), typeFromText(type!)!, { id: 0, edns: { udpSize: 1232, version: 0, dnssecOk, z: 0, options: [] } });
    return Buffer.from(serializeMessage(q).bytes);
  });
  const total = Math.round(rate * seconds);
  const sentAt = new Float64Array(65536).fill(-1);
  const latencies = new Float64Array(total);
  let answered = 0;
  let sent = 0;
  const sock = createSocket('udp4');
  sock.on('message', (msg) => {
    const now = performance.now();
    const id = (msg[0]! << 8) | msg[1]!;
    const t = sentAt[id]!;
    if (t < 0) return;
    sentAt[id] = -1;
    latencies[answered++] = now - t;
  });
  await new Promise<void>((resolve) => sock.connect(port, host, resolve));
  const start = performance.now();
  await new Promise<void>((resolve) => {
    const tick = (): void => {
      const due = Math.min(total, Math.floor(((performance.now() - start) / 1000) * rate));
      while (sent < due) {
        const id = sent & 0xffff;
        const b = Buffer.from(templates[sent % templates.length]!);
        b[0] = id >> 8;
        b[1] = id & 0xff;
        sentAt[id] = performance.now();
        sock.send(b);
        sent++;
      }
      if (sent < total) setImmediate(tick);
      else resolve();
    };
    setImmediate(tick);
  });
  const elapsed = (performance.now() - start) / 1000;
  await new Promise((r) => setTimeout(r, 1000));
  sock.close();
  const sorted = latencies.slice(0, answered).sort();
  return {
    rate, seconds, sent, answered, lost: sent - answered, achievedQps: sent / elapsed,
    p50Ms: percentile(sorted, 0.5), p99Ms: percentile(sorted, 0.99), p999Ms: percentile(sorted, 0.999), maxMs: sorted[sorted.length - 1] ?? NaN,
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      host: { type: 'string', default: '127.0.0.1' },
      port: { type: 'string' },
      file: { type: 'string' },
      rate: { type: 'string', default: '10000' },
      seconds: { type: 'string', default: '10' },
      do: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
    },
  });
  if (!values.port || !values.file) throw new Error('--port and --file are required');
  const lines = readFileSync(values.file, 'utf8').split('\n').filter((l) => l.trim());
  const r = await measure(values.host!, Number(values.port), lines, Number(values.rate), Number(values.seconds), values.do!);
  if (values.json) console.log(JSON.stringify(r));
  else console.log(`${r.achievedQps.toFixed(0)} qps sent, ${r.answered} answered, ${r.lost} lost: p50 ${r.p50Ms.toFixed(3)} ms  p99 ${r.p99Ms.toFixed(3)} ms  p99.9 ${r.p999Ms.toFixed(3)} ms  max ${r.maxMs.toFixed(3)} ms`);
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop()!)) await main();
