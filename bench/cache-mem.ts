/**
 * bench/cache-mem: heap cost of answer cache entries, and the byte bound under load.
 *
 *   node --expose-gc dist/bench/cache-mem.js [--entries 1000000] [--bound-mib 64] [--out bench/out/cache-mem.json]
 *
 * 1. Per entry: 1,000,000 distinct typical A answers (one A record + one RRSIG by an ECDSA P-256 key,
 *    64-octet signature, each name different: what a signed zone's A answer looks like) inserted into a
 *    cache large enough to keep them all; heap used after gc, before and after, divided by the count. The
 *    same for unsigned A answers and for RSA-2048 signatures (256-octet signature).
 * 2. Bound: the same 1,000,000 inserts into a cache of `--bound-mib` MiB: the bytes charged never exceed
 *    maxBytes, and the heap growth after gc stays under it.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { encodeEntry } from '../src/cache/entry.js';
import { questionKey } from '../src/cache/key.js';
import { AnswerCache, ENTRY_OVERHEAD } from '../src/cache/store.js';
import { systemClock } from '../src/clock.js';
import { defaultConfig } from '../src/config/schema.js';
import type { Outcome } from '../src/cache/outcome.js';
import { Name, RRType, makeRR, type RR, type RRSIGData } from '../src/wire/index.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) {
  console.error('run with node --expose-gc');
  process.exit(2);
}

function heapUsed(): number {
  for (let i = 0; i < 3; i++) gc!();
  return process.memoryUsage().heapUsed;
}

type Kind = 'ecdsa' | 'rsa2048' | 'unsigned';

/** A distinct typical A answer for index i: www.host<i>.example<i%997>.com. A, signed by example<i%997>.com. */
function answer(i: number, kind: Kind): { name: Name; outcome: Outcome } {
  const zone = Name.fromText(`example${i % 997}.com.`);
  const name = Name.fromText(`www.host${i}.example${i % 997}.com.`);
  const rrs: RR[] = [makeRR(name, RRType.A, 3600, { address: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}` })];
  if (kind !== 'unsigned') {
    const signature = new Uint8Array(kind === 'ecdsa' ? 64 : 256);
    for (let j = 0; j < signature.length; j++) signature[j] = (i * 31 + j * 7) & 255;
    const sig: RRSIGData = {
      typeCovered: RRType.A, algorithm: kind === 'ecdsa' ? 13 : 8, labels: 4, originalTtl: 3600,
      expiration: 1_800_000_000, inception: 1_790_000_000, keyTag: i & 0xffff, signer: zone, signature,
    };
    rrs.push(makeRR(name, RRType.RRSIG, 3600, sig));
  }
  return { name, outcome: { kind: 'data', status: 'secure', rcode: 0, answer: rrs, authority: [], additional: [], ede: [], ttlCap: 3600 } };
}

interface PerEntry { kind: Kind; entries: number; heapBytesPerEntry: number; chargedBytesPerEntry: number; blobBytes: number; keyBytes: number }

function perEntry(kind: Kind, n: number): PerEntry {
  const cache = new AnswerCache({ ...defaultConfig().cache, maxBytes: 2 ** 40 }, systemClock);
  // Built before measuring: only what the cache keeps is counted.
  const before = heapUsed();
  let blob = 0;
  let key = 0;
  const now = Date.now();
  for (let i = 0; i < n; i++) {
    const a = answer(i, kind);
    const k = questionKey({ name: a.name, type: RRType.A, class: 1 }, false);
    const e = encodeEntry(a.name, a.outcome, 3600, now);
    blob += e.records.length;
    key += k.length;
    cache.set(k, e);
  }
  const after = heapUsed();
  if (cache.size !== n) throw new Error(`expected ${n} entries, have ${cache.size}`);
  const out = { kind, entries: n, heapBytesPerEntry: (after - before) / n, chargedBytesPerEntry: cache.bytes / n, blobBytes: blob / n, keyBytes: key / n };
  cache.flush();
  return out;
}

interface Bound { maxBytes: number; inserts: number; entriesHeld: number; peakChargedBytes: number; heapGrowthBytes: number; heapBytesPerHeldEntry: number; held: boolean }

function bound(n: number, maxBytes: number): Bound {
  const cache = new AnswerCache({ ...defaultConfig().cache, maxBytes }, systemClock);
  const before = heapUsed();
  let peak = 0;
  const now = Date.now();
  for (let i = 0; i < n; i++) {
    const a = answer(i, 'ecdsa');
    cache.set(questionKey({ name: a.name, type: RRType.A, class: 1 }, false), encodeEntry(a.name, a.outcome, 3600, now));
    if (cache.bytes > peak) peak = cache.bytes;
  }
  const growth = heapUsed() - before;
  return {
    maxBytes, inserts: n, entriesHeld: cache.size, peakChargedBytes: peak, heapGrowthBytes: growth,
    heapBytesPerHeldEntry: growth / cache.size, held: peak <= maxBytes && growth <= maxBytes,
  };
}

function main(): void {
  const { values } = parseArgs({
    options: {
      entries: { type: 'string', default: '1000000' },
      'bound-mib': { type: 'string', default: '64' },
      out: { type: 'string', default: join(ROOT, 'bench', 'out', 'cache-mem.json') },
    },
  });
  const n = Number(values.entries);
  const maxBytes = Number(values['bound-mib']) * 1024 * 1024;
  const t0 = Date.now();
  const per = (['ecdsa', 'unsigned', 'rsa2048'] as const).map((k) => perEntry(k, n));
  const b = bound(n, maxBytes);
  const report = {
    date: new Date().toISOString(),
    machine: `${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}, node ${process.version}`,
    entryOverheadCharged: ENTRY_OVERHEAD,
    perEntry: per,
    bound: b,
    seconds: (Date.now() - t0) / 1000,
  };
  mkdirSync(dirname(values.out!), { recursive: true });
  writeFileSync(values.out!, JSON.stringify(report, null, 2) + '\n');
  for (const p of per) {
    console.log(`${p.kind.padEnd(9)} ${p.entries} entries: heap ${p.heapBytesPerEntry.toFixed(0)} B/entry (charged ${p.chargedBytesPerEntry.toFixed(0)}; blob ${p.blobBytes.toFixed(0)}, key ${p.keyBytes.toFixed(0)})`);
  }
  console.log(`bound: ${b.inserts} inserts into ${b.maxBytes} bytes: held ${b.entriesHeld}, peak charged ${b.peakChargedBytes}, heap growth ${b.heapGrowthBytes} (${b.heapBytesPerHeldEntry.toFixed(0)} B/entry) -> ${b.held ? 'bound holds' : 'BOUND EXCEEDED'}`);
}

main();
