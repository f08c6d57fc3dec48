/**
 * Minimal presentation-format resource record helpers for the test world
 * generator (deliberately independent of src/ so the world can be built
 * while the daemon's own wire codec is under development).
 */
import { createHash } from 'node:crypto';

export interface RR {
  owner: string;   // absolute, as written by the signer
  ttl: number;
  cls: string;
  type: string;
  rdata: string[]; // tokens (quoted strings keep their quotes)
}

/** Split a zone file line into tokens, honouring "quoted strings" and ; comments. */
export function tokenize(line: string): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < line.length) {
    const c = line[i]!;
    if (c === ' ' || c === '\t' || c === '\r' || c === '\n') { i++; continue; }
    if (c === ';') break;
    if (c === '(' || c === ')') { i++; continue; }
    if (c === '"') {
      let j = i + 1;
      while (j < line.length && line[j] !== '"') j += line[j] === '\\' ? 2 : 1;
      out.push(line.slice(i, j + 1));
      i = j + 1;
      continue;
    }
    let j = i;
    while (j < line.length && !' \t\r\n;'.includes(line[j]!)) j++;
    out.push(line.slice(i, j));
    i = j;
  }
  return out;
}

/**
 * Parse signer output: one record per line, absolute owner, explicit TTL and
 * class (both dnssec-signzone -O full and ldns-signzone write this form).
 */
export function parseSignedZone(text: string): RR[] {
  const rrs: RR[] = [];
  for (const line of text.split('\n')) {
    if (line.startsWith('$')) continue;
    const t = tokenize(line);
    if (t.length === 0) continue;
    if (t.length < 5 || !/^\d+$/.test(t[1]!) || t[2]!.toUpperCase() !== 'IN') {
      throw new Error(`unexpected signer output line: ${line}`);
    }
    rrs.push({ owner: t[0]!, ttl: Number(t[1]), cls: 'IN', type: t[3]!.toUpperCase(), rdata: t.slice(4) });
  }
  return rrs;
}

export function formatRR(rr: RR): string {
  return `${rr.owner}\t${rr.ttl}\t${rr.cls}\t${rr.type}\t${rr.rdata.join(' ')}`;
}

export function sameName(a: string, b: string): boolean {
  return a.toLowerCase().replace(/\.$/, '') === b.toLowerCase().replace(/\.$/, '');
}

/** Uncompressed, lower-cased (canonical) wire format of an absolute name. */
export function nameToWire(name: string): Buffer {
  const n = name === '.' ? '' : name.replace(/\.$/, '');
  const parts: Buffer[] = [];
  if (n !== '') {
    for (const label of n.split('.')) {
      const b = Buffer.from(label.toLowerCase(), 'ascii');
      if (b.length === 0 || b.length > 63) throw new Error(`bad label in ${name}`);
      parts.push(Buffer.from([b.length]), b);
    }
  }
  parts.push(Buffer.from([0]));
  return Buffer.concat(parts);
}

/** DNSKEY RDATA tokens [flags, proto, alg, ...base64] to wire. */
export function dnskeyWire(rdata: string[]): Buffer {
  const [flags, proto, alg, ...b64] = rdata;
  const head = Buffer.alloc(4);
  head.writeUInt16BE(Number(flags), 0);
  head.writeUInt8(Number(proto), 2);
  head.writeUInt8(Number(alg), 3);
  return Buffer.concat([head, Buffer.from(b64.join(''), 'base64')]);
}

/** RFC 4034 Appendix B key tag (algorithm 1 is not used here). */
export function keyTag(rdataWire: Buffer): number {
  let ac = 0;
  for (let i = 0; i < rdataWire.length; i++) ac += i & 1 ? rdataWire[i]! : rdataWire[i]! << 8;
  ac += (ac >> 16) & 0xffff;
  return ac & 0xffff;
}

export interface DsData { keyTag: number; algorithm: number; digestType: number; digest: string }

/** DS for a DNSKEY; digestType other than 1/2/4 is labelled as such but computed with SHA-256. */
export function dsFromDnskey(owner: string, rdata: string[], digestType: number): DsData {
  const wire = dnskeyWire(rdata);
  const hashName = digestType === 1 ? 'sha1' : digestType === 4 ? 'sha384' : 'sha256';
  const digest = createHash(hashName).update(Buffer.concat([nameToWire(owner), wire])).digest('hex').toUpperCase();
  return { keyTag: keyTag(wire), algorithm: wire[3]!, digestType, digest };
}

export function dsText(owner: string, ds: DsData, ttl = 3600): string {
  return `${owner}\t${ttl}\tIN\tDS\t${ds.keyTag} ${ds.algorithm} ${ds.digestType} ${ds.digest}`;
}

/** Split a long base64 string for readability (zone file syntax allows spaces). */
export function splitB64(b64: string, width = 56): string {
  const parts: string[] = [];
  for (let i = 0; i < b64.length; i += width) parts.push(b64.slice(i, i + width));
  return parts.join(' ');
}
