/**
 * bench/burst — how large a UDP query burst the listener absorbs while its process cannot read (SIGSTOP, as a
 * long GC pause or a busy event loop would), per receive buffer size (issue 14).
 *
 *   node dist/bench/burst.js [--bursts 256,1000,3000,10000,20000] [--buffers 0,1048576,4194304] [--reps 3]
 *
 * Each listener runs alone in a child process (test/server/burst-support.ts, burst-child.ts: the real `startServer` with
 * `udpReceiveBuffer` = BYTES and a fixed answer). The burst is sent while the child is stopped, the child is
 * resumed, and the distinct answers are counted. Buffer 0 is the kernel's default (net.core.rmem_default).
 * Prints one line per buffer and burst (the median of the reps) and writes bench/out/burst.json.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { burst, startListener } from '../test/server/burst-support.js';

const here = path.dirname(fileURLToPath(import.meta.url));

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : dflt;
}
const list = (s: string): number[] => s.split(',').map(Number);
const bursts = list(arg('bursts', '256,1000,3000,10000,20000'));
const buffers = list(arg('buffers', '0,1048576,4194304'));
const reps = Number(arg('reps', '3'));

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const rmem = (f: string): number => Number(readFileSync(`/proc/sys/net/core/${f}`, 'utf8').trim());

const rows: Array<{ asked: number; granted: number; burst: number; answered: number[]; median: number }> = [];
console.log(`net.core.rmem_default ${rmem('rmem_default')}, rmem_max ${rmem('rmem_max')}, load ${readFileSync('/proc/loadavg', 'utf8').trim()}`);
for (const bytes of buffers) {
  for (const n of bursts) {
    if (n > 65535) throw new Error('bursts above 65,535 would reuse query IDs');
    const got: number[] = [];
    let granted = 0;
    for (let r = 0; r < reps; r++) {
      const l = await startListener(bytes);
      granted = l.granted;
      try {
        got.push(await burst(l, n));
      } finally {
        l.child.kill('SIGKILL');
      }
    }
    const m = median(got);
    rows.push({ asked: bytes, granted, burst: n, answered: got, median: m });
    console.log(`buffer ${bytes === 0 ? 'kernel default' : `${bytes} asked`}, ${granted} granted: burst ${n} -> ${m} answered (${(100 * m / n).toFixed(1)}%; runs ${got.join(', ')})`);
  }
}
const out = path.join(here, '..', '..', 'bench', 'out', 'burst.json');
mkdirSync(path.dirname(out), { recursive: true });
writeFileSync(out, JSON.stringify({
  date: new Date().toISOString(), machine: `${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}, node ${process.version}`,
  load: readFileSync('/proc/loadavg', 'utf8').trim(), rmemDefault: rmem('rmem_default'), rmemMax: rmem('rmem_max'), rows,
}, null, 2) + '\n');
