/**
 * Keys and signatures as the signed worlds make them: the test world (generate.ts) and bench/mta's hierarchy
 * (bench/mta-world.ts) run BIND's dnssec-keygen and dnssec-signzone the same way, with the same signature validity,
 * and walk their zones leaves first. What a zone holds and how it is signed (algorithm, key sizes, denial, validity,
 * extra signer flags) stays the caller's.
 *
 * Both worlds' signing caches hash this file (generate.ts definitionsHash, bench/mta-world.ts definitionsHash), so a
 * change here signs again.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { pool, runOk } from './proc.js';
import { dnskeyWire, keyTag } from './rr.js';

export const DAY = 86_400;
/** Good signatures are valid for this long ... */
export const VALIDITY_DAYS = 60;
/** ... and the zones are signed again when fewer than this many days remain. */
export const RESIGN_MARGIN_DAYS = 7;
/** The TTL of the DNSKEY records made (dnssec-keygen -L, and the record text). */
const KEY_TTL = 3600;

/** dnssec-keygen's -a names by DNSSEC algorithm number. */
const ALG_NAMES: Record<number, string> = {
  5: 'RSASHA1', 7: 'NSEC3RSASHA1', 8: 'RSASHA256', 10: 'RSASHA512',
  13: 'ECDSAP256SHA256', 14: 'ECDSAP384SHA384', 15: 'ED25519', 16: 'ED448',
};
/** The RSA algorithms: their keys take a size (dnssec-keygen -b), and their public key starts with the exponent. */
export const RSA_ALGS: ReadonlySet<number> = new Set([5, 7, 8, 10]);

/** Unix seconds as dnssec-signzone's and ldns-signzone's times: YYYYMMDDHHMMSS, UTC. */
export function ts(unix: number): string {
  return new Date(unix * 1000).toISOString().replace(/[-:T]/g, '').slice(0, 14);
}

/** A zone's name as a file or directory name: "root" for the root, else the name without its trailing dot. */
export function zoneId(name: string): string {
  return name === '.' ? 'root' : name.replace(/\.$/, '');
}

/** Whether `name` is `zone` or below it (case-insensitive; everything is below the root). */
export function isBelow(name: string, zone: string): boolean {
  const n = name.toLowerCase();
  const z = zone.toLowerCase();
  return z === '.' || n === z || n.endsWith(`.${z}`);
}

/** The window of good signatures made at `now` (Unix seconds): from an hour before (a clock a little behind) for VALIDITY_DAYS. */
export function goodSignatures(now: number): { inception: number; expiration: number } {
  return { inception: now - 3600, expiration: now + VALIDITY_DAYS * DAY };
}

export interface GeneratedKey {
  /** dnssec-keygen's file base name in the key directory (K<zone>+<alg>+<tag>). */
  base: string;
  /** The DNSKEY RDATA in tokens (flags, protocol, algorithm, the key in base64 chunks). */
  rdata: string[];
  /** The DNSKEY record in zone-file form. */
  dnskey: string;
  /** RFC 4034 Appendix B key tag. */
  tag: number;
}

/** The DNSKEY RDATA tokens of a dnssec-keygen .key file (its first line that is not a comment). */
export function keyFileRdata(text: string): string[] {
  const line = text.split('\n').find((l) => l.trim() !== '' && !l.startsWith(';'));
  if (line === undefined) throw new Error('no DNSKEY record in the key file');
  const t = line.trim().split(/\s+/);
  return t.slice(t.indexOf('DNSKEY') + 1);
}

/** A new key for `zone` in `keyDir` (dnssec-keygen, run there): a KSK (flags 257) or a ZSK; `bits` for RSA. */
export async function dnssecKeygen(keyDir: string, zone: string, algorithm: number, opts: { ksk: boolean; bits?: number }): Promise<GeneratedKey> {
  const alg = ALG_NAMES[algorithm];
  if (alg === undefined) throw new Error(`${zone}: no dnssec-keygen name for algorithm ${algorithm}`);
  const args = ['-q', '-K', keyDir, '-a', alg, '-n', 'ZONE', '-L', String(KEY_TTL)];
  if (opts.bits !== undefined) args.push('-b', String(opts.bits));
  if (opts.ksk) args.push('-f', 'KSK');
  args.push(zone);
  const base = (await runOk('dnssec-keygen', args, { cwd: keyDir })).stdout.trim();
  const rdata = keyFileRdata(readFileSync(path.join(keyDir, `${base}.key`), 'utf8'));
  return { base, rdata, dnskey: `${zone}\t${KEY_TTL}\tIN\tDNSKEY\t${rdata.join(' ')}`, tag: keyTag(dnskeyWire(rdata)) };
}

export interface Nsec3Params { salt: string; iterations: number; optOut?: boolean }

export interface SignzoneOptions {
  /** Where the zone's keys are (dnssec-keygen's directory); the signer runs there. */
  keyDir: string;
  zone: string;
  /** The zone file to sign, its keys' DNSKEY records included. */
  unsigned: string;
  /** The signed zone file written (-O full: one record per line, every field). */
  out: string;
  /** The signatures' inception and expiration, Unix seconds. */
  inception: number;
  expiration: number;
  /** NSEC3 instead of NSEC. */
  nsec3?: Nsec3Params;
  /** More dnssec-signzone flags, before the zone file (e.g. -P, -x). */
  flags?: readonly string[];
}

/** Sign a zone with dnssec-signzone (the serial kept as written). */
export async function dnssecSignzone(o: SignzoneOptions): Promise<void> {
  const args = ['-q', '-K', o.keyDir, '-d', o.keyDir, '-o', o.zone, '-f', o.out, '-O', 'full', '-N', 'keep',
    '-s', ts(o.inception), '-e', ts(o.expiration)];
  if (o.nsec3) {
    args.push('-3', o.nsec3.salt === '' ? '-' : o.nsec3.salt, '-H', String(o.nsec3.iterations));
    if (o.nsec3.optOut) args.push('-A');
  }
  args.push(...(o.flags ?? []), o.unsigned);
  await runOk('dnssec-signzone', args, { cwd: o.keyDir, timeoutMs: 120_000 });
}

const depth = (name: string): number => (name === '.' ? 0 : name.split('.').length - 1);

/**
 * `build` every zone, the deepest first (a parent publishes its children's DS, so they are done before it), up to
 * `concurrency` zones of one depth at a time, in their order in `zones`.
 */
export async function buildLeavesFirst<T extends { name: string }>(zones: readonly T[], concurrency: number, build: (z: T) => Promise<void>): Promise<void> {
  for (const lvl of [...new Set(zones.map((z) => depth(z.name)))].sort((a, b) => b - a)) {
    await pool(zones.filter((z) => depth(z.name) === lvl), concurrency, (z) => build(z));
  }
}
