/**
 * bench/verify: RRSIG signature verifications per second, per algorithm, for the OpenSSL and the
 * pure-JS backends. Keys come from node:crypto in DNSKEY form; the data is a fixed 200 octets (a
 * typical RRSIG signed-data size), 16 different messages signed in turn; keys are cached by the
 * backends after the first call (a warm-up round precedes the timing). For OpenSSL, also the cost of
 * importing a key (a DNSKEY seen for the first time): verifications with the key cache bypassed,
 * less the cached verification time.
 *
 *   node dist/bench/verify.js [--iterations 3000] [--json bench/out/verify.json]
 */
import { generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import { createVerifier, type OpensslVerifier, type SignatureVerifier } from '../src/crypto/index.js';

interface Case {
  readonly label: string;
  readonly algorithm: number;
  readonly dnskey: Uint8Array;
  readonly messages: Uint8Array[];
  readonly signatures: Uint8Array[];
}

const b64u = (s: unknown): Buffer => Buffer.from(String(s), 'base64url');
const DATA_SIZE = 200;
const MESSAGES = 16;

function makeCase(label: string, algorithm: number, dnskey: Uint8Array, signOne: (d: Uint8Array) => Uint8Array): Case {
  const messages = Array.from({ length: MESSAGES }, () => new Uint8Array(randomBytes(DATA_SIZE)));
  return { label, algorithm, dnskey, messages, signatures: messages.map(signOne) };
}

function rsaCase(algorithm: number, hash: string, bits: number): Case {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: bits, publicExponent: 65537 });
  const jwk = publicKey.export({ format: 'jwk' });
  const e = b64u(jwk.e);
  const dnskey = new Uint8Array([e.length, ...e, ...b64u(jwk.n)]);
  const name = { 5: 'RSASHA1', 8: 'RSASHA256', 10: 'RSASHA512' }[algorithm as 5 | 8 | 10];
  return makeCase(`${name} ${bits}`, algorithm, dnskey, (d) => new Uint8Array(sign(hash, d, privateKey)));
}

function ecCase(algorithm: 13 | 14): Case {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: algorithm === 13 ? 'P-256' : 'P-384' });
  const jwk = publicKey.export({ format: 'jwk' });
  const dnskey = new Uint8Array([...b64u(jwk.x), ...b64u(jwk.y)]);
  const hash = algorithm === 13 ? 'sha256' : 'sha384';
  return makeCase(algorithm === 13 ? 'ECDSAP256SHA256' : 'ECDSAP384SHA384', algorithm, dnskey,
    (d) => new Uint8Array(sign(hash, d, { key: privateKey, dsaEncoding: 'ieee-p1363' })));
}

function edCase(algorithm: 15 | 16): Case {
  const { privateKey, publicKey } = algorithm === 15 ? generateKeyPairSync('ed25519') : generateKeyPairSync('ed448');
  const dnskey = new Uint8Array(b64u(publicKey.export({ format: 'jwk' }).x));
  return makeCase(algorithm === 15 ? 'ED25519' : 'ED448', algorithm, dnskey, (d) => new Uint8Array(sign(null, d, privateKey)));
}

/** Verifications per second of `c` on `v` over `iterations` calls; every one must be valid. */
function measure(v: SignatureVerifier, c: Case, iterations: number): number {
  const run = (n: number): void => {
    for (let i = 0; i < n; i++) {
      const j = i % MESSAGES;
      const r = v.verify(c.algorithm, c.dnskey, c.messages[j]!, c.signatures[j]!);
      if (r.kind !== 'valid') throw new Error(`${v.name} ${c.label}: ${JSON.stringify(r)}`);
    }
  };
  run(Math.min(MESSAGES * 4, iterations));
  const t0 = process.hrtime.bigint();
  run(iterations);
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  return iterations / seconds;
}

/** Microseconds to import `c`'s key into OpenSSL: uncached verifications less cached ones. */
function importMicros(v: OpensslVerifier, c: Case, iterations: number, cachedPerSecond: number): number {
  const n = Math.max(16, Math.floor(iterations / 4));
  const run = (count: number): void => {
    for (let i = 0; i < count; i++) {
      const j = i % MESSAGES;
      const r = v.verifyDetailed(c.algorithm, c.dnskey, c.messages[j]!, c.signatures[j]!, false);
      if (r.kind !== 'valid') throw new Error(`uncached ${c.label}: ${JSON.stringify(r)}`);
    }
  };
  run(MESSAGES);
  const t0 = process.hrtime.bigint();
  run(n);
  const perCall = Number(process.hrtime.bigint() - t0) / 1e3 / n;
  return Math.max(0, perCall - 1e6 / cachedPerSecond);
}

function main(): void {
  const { values } = parseArgs({ options: { iterations: { type: 'string', default: '3000' }, json: { type: 'string' } } });
  const iterations = Math.max(1, Number(values.iterations));
  const openssl = createVerifier('openssl');
  const js = createVerifier('js');
  const cases = [
    rsaCase(5, 'sha1', 2048), rsaCase(8, 'sha256', 1024), rsaCase(8, 'sha256', 2048), rsaCase(10, 'sha512', 2048),
    ecCase(13), ecCase(14), edCase(15), edCase(16),
  ];
  const rows = cases.map((c) => {
    const o = measure(openssl, c, iterations);
    const j = measure(js, c, iterations);
    const importUs = importMicros(openssl, c, iterations, o);
    return { algorithm: c.algorithm, label: c.label, openssl: Math.round(o), js: Math.round(j), ratio: o / j, opensslKeyImportUs: Math.round(importUs) };
  });
  const head = ['alg', 'algorithm (key bits)', 'openssl verify/s', 'js verify/s', 'openssl/js', 'openssl key import'];
  const body = rows.map((r) => [String(r.algorithm), r.label, r.openssl.toLocaleString('en-US'), r.js.toLocaleString('en-US'), `${r.ratio.toFixed(1)}x`, `${r.opensslKeyImportUs} µs`]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]): string => `| ${cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(' | ')} |`;
  console.log(`node ${process.version}, OpenSSL ${process.versions.openssl}; ${iterations} verifications of ${DATA_SIZE}-octet data per cell, keys cached`);
  console.log(line(head));
  console.log(`|${widths.map((w, i) => (i < 2 ? '-'.repeat(w + 2) : `${'-'.repeat(w + 1)}:`)).join('|')}|`);
  for (const b of body) console.log(line(b));
  if (values.json) {
    mkdirSync(dirname(values.json), { recursive: true });
    writeFileSync(values.json, JSON.stringify({ node: process.version, openssl: process.versions.openssl, iterations, dataSize: DATA_SIZE, rows }, null, 2));
  }
}

main();
