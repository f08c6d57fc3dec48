/**
 * Turns the declarative zone list (zones.ts) into keys and (mostly) signed
 * zone files, cached under <worldDir>/signed/ and keyed by a hash of the
 * definitions. Signing runs again only when the definitions or this
 * generator change (signing.ts, the dnssec-keygen and dnssec-signzone runs it
 * shares with bench/mta's hierarchy, included), or when the good signatures
 * would expire within 7 days.
 */
import { createHash, X509Certificate } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateMailCerts, type MailCerts } from './mail-certs.js';
import { runOk } from './proc.js';
import { dnskeyWire, dsFromDnskey, dsText, formatRR, keyTag, nameToWire, parseSignedZone, sameName, splitB64, type RR } from './rr.js';
import { buildLeavesFirst, DAY, dnssecKeygen, dnssecSignzone, goodSignatures, isBelow, RESIGN_MARGIN_DAYS, RSA_ALGS, ts, zoneId, type GeneratedKey } from './signing.js';
import { DATA, SERVERS, ZONES, zonesLeavesFirst, type ServerId, type ZoneCase } from './zones.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));

export interface SignedZone {
  name: string;
  server: ServerId;
  /** final zone file served by the authoritative server */
  file: string;
  /** DS records (text) that the parent publishes */
  ds: string[];
  /** DNSKEY records (text) at the apex, after mutations */
  dnskey: string[];
  /** key tags of the generated keys (before any algorithm rewrite) */
  keyTags: number[];
  /** RRSIG inception/expiration actually used */
  inception?: string;
  expiration?: string;
}

export interface SignedState {
  version: 1;
  hash: string;
  signedAt: string;
  /** earliest expiration (unix seconds) over the zones with 'normal' validity */
  expiresAt: number;
  dir: string;
  zones: Record<string, SignedZone>;
  rootAnchor: { dnskey: string[]; ds: string[] };
  rootAnchorFile: string;
  delvAnchorFile: string;
  rootHintsFile: string;
  dane: { certFile: string; keyFile: string; spkiSha256: string; host: string; port: number; tlsaOwner: string };
  /** the mail world's certificates and TLSA digests (mail-certs.ts) */
  mail: MailCerts;
  tools: Record<string, string>;
}

export function signedDir(worldDir: string): string {
  return path.join(worldDir, 'signed');
}

/** Hash of everything that determines the signed output. */
export function definitionsHash(): string {
  const h = createHash('sha256');
  h.update(JSON.stringify(ZONES));
  h.update(JSON.stringify(SERVERS));
  for (const f of ['zones.js', 'generate.js', 'signing.js', 'rr.js', 'mail.js', 'mail-zones.js', 'mail-certs.js']) {
    const p = path.join(HERE, f);
    h.update(existsSync(p) ? readFileSync(p) : f);
  }
  return h.digest('hex').slice(0, 32);
}

function absName(rel: string, origin: string): string {
  if (rel === '@') return origin;
  if (rel.endsWith('.')) return rel;
  return origin === '.' ? `${rel}.` : `${rel}.${origin}`;
}

export interface EnsureResult { state: SignedState; resigned: boolean; reason: string; ms: number }

/** Return the cached signed state if still valid, otherwise (re)generate it. */
export async function ensureSigned(worldDir: string, opts: { force?: boolean; log?: (s: string) => void } = {}): Promise<EnsureResult> {
  const t0 = Date.now();
  const dir = signedDir(worldDir);
  const manifest = path.join(dir, 'manifest.json');
  const hash = definitionsHash();
  let reason = 'forced';
  if (!opts.force) {
    reason = 'no cached signed zones';
    if (existsSync(manifest)) {
      try {
        const st = JSON.parse(readFileSync(manifest, 'utf8')) as SignedState;
        const now = Math.floor(Date.now() / 1000);
        if (st.hash !== hash) reason = 'zone definitions changed';
        else if (st.dir !== dir) reason = 'world directory moved';
        else if (st.expiresAt - now < RESIGN_MARGIN_DAYS * DAY) reason = 'signatures expire within 7 days';
        else if (!Object.values(st.zones).every((z) => existsSync(z.file))) reason = 'zone files missing';
        else return { state: st, resigned: false, reason: 'cache valid', ms: Date.now() - t0 };
      } catch {
        reason = 'unreadable manifest';
      }
    }
  }
  opts.log?.(`signing zones: ${reason}`);
  const tmp = `${dir}.new`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  const state = await buildAll(tmp, dir, hash);
  writeFileSync(path.join(tmp, 'manifest.json'), JSON.stringify(state, null, 2));
  rmSync(dir, { recursive: true, force: true });
  renameSync(tmp, dir);
  return { state, resigned: true, reason, ms: Date.now() - t0 };
}

async function toolVersions(): Promise<Record<string, string>> {
  const v: Record<string, string> = {};
  const first = (s: string) => s.split('\n').find((l) => l.trim() !== '')?.trim() ?? '';
  v['dnssec-signzone'] = first((await runOk('named', ['-v'])).stdout);
  v['ldns-signzone'] = first((await runOk('ldns-signzone', ['-v'])).stdout);
  return v;
}

async function buildAll(tmp: string, finalDir: string, hash: string): Promise<SignedState> {
  const now = Math.floor(Date.now() / 1000);
  const fin = (p: string) => path.join(finalDir, path.relative(tmp, p));
  for (const d of ['keys', 'work', 'zones', 'dane', 'mail']) mkdirSync(path.join(tmp, d), { recursive: true });

  // DANE test certificate (its SPKI hash goes into the TLSA records)
  const certFile = path.join(tmp, 'dane', 'mail.dane.test.crt');
  const keyFile = path.join(tmp, 'dane', 'mail.dane.test.key');
  await runOk('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
    '-keyout', keyFile, '-out', certFile, '-days', '3650', '-subj', '/CN=mail.dane.test',
    '-addext', 'subjectAltName=DNS:mail.dane.test']);
  const spki = new X509Certificate(readFileSync(certFile)).publicKey.export({ type: 'spki', format: 'der' });
  const spkiSha256 = createHash('sha256').update(spki).digest('hex').toUpperCase();

  // the mail world's certificates: their digests go into the TLSA records of the mail zones
  const mail = await generateMailCerts(path.join(tmp, 'mail'), path.join(finalDir, 'mail'));

  const ctx: BuildCtx = { tmp, now, serial: now, spkiSha256, mailDigests: mail.digests, done: new Map() };
  await buildLeavesFirst(zonesLeavesFirst(), 4, (z) => buildZone(ctx, z));

  const root = ctx.done.get('.')!;
  const rootKsk = root.dnskey.filter((r) => /\sDNSKEY\s+257\s/.test(r));
  const rootAnchorFile = path.join(tmp, 'root-anchor.zone');
  writeFileSync(rootAnchorFile, [
    '; trust anchor of the dnssec-stubd test world (fake root)',
    ...rootKsk, ...root.ds, '',
  ].join('\n'));
  const delvAnchorFile = path.join(tmp, 'delv-anchors.conf');
  writeFileSync(delvAnchorFile, [
    '# trust anchor of the dnssec-stubd test world (fake root), for delv -a / named',
    'trust-anchors {',
    ...rootKsk.map((r) => {
      const t = r.split(/\s+/);
      const i = t.indexOf('DNSKEY');
      return `\t. static-key ${t[i + 1]} ${t[i + 2]} ${t[i + 3]} "${t.slice(i + 4).join('')}";`;
    }),
    '};', '',
  ].join('\n'));
  const rootHintsFile = path.join(tmp, 'root.hints');
  writeFileSync(rootHintsFile, [
    '; root hints of the dnssec-stubd test world: only the fake root on loopback',
    `.\t3600000\tIN\tNS\t${SERVERS['nsd-root'].nsName}`,
    `${SERVERS['nsd-root'].nsName}\t3600000\tIN\tA\t${SERVERS['nsd-root'].host}`, '',
  ].join('\n'));

  const zones: Record<string, SignedZone> = {};
  let expiresAt = Infinity;
  for (const [name, z] of ctx.done) {
    zones[name] = { ...z, file: fin(z.file) };
    if (ZONES[name]!.validity === 'normal' && z.expiration) {
      expiresAt = Math.min(expiresAt, Date.parse(z.expiration.replace(/^(\d{4})(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)$/, '$1-$2-$3T$4:$5:$6Z')) / 1000);
    }
  }
  return {
    version: 1,
    hash,
    signedAt: new Date(now * 1000).toISOString(),
    expiresAt,
    dir: finalDir,
    zones,
    rootAnchor: { dnskey: rootKsk, ds: root.ds },
    rootAnchorFile: fin(rootAnchorFile),
    delvAnchorFile: fin(delvAnchorFile),
    rootHintsFile: fin(rootHintsFile),
    dane: {
      certFile: fin(certFile), keyFile: fin(keyFile), spkiSha256,
      host: 'mail.dane.test.', port: 25, tlsaOwner: '_25._tcp.mail.dane.test.',
    },
    mail,
    tools: await toolVersions(),
  };
}

interface BuildCtx {
  tmp: string;
  now: number;
  serial: number;
  spkiSha256: string;
  mailDigests: Record<string, string>;
  done: Map<string, SignedZone>;
}

/** A key of the zone's (or `alg`'s) algorithm; RSA keys of the zone's sizes (kskBits for the KSK, else keyBits, else 1024). */
function keygen(keyDir: string, z: ZoneCase, ksk: boolean, alg = z.algorithm!): Promise<GeneratedKey> {
  const bits = RSA_ALGS.has(alg) ? (ksk ? z.kskBits : undefined) ?? z.keyBits ?? 1024 : undefined;
  return dnssecKeygen(keyDir, z.name, alg, { ksk, ...(bits === undefined ? {} : { bits }) });
}

function glueFor(nsName: string, zoneName: string, cuts: string[]): string[] {
  // glue is needed for NS host names below a delegation point of this zone
  if (!cuts.some((c) => isBelow(nsName, c))) return [];
  const srv = Object.values(SERVERS).find((s) => sameName(s.nsName, nsName));
  if (!srv) throw new Error(`no address for NS ${nsName} in ${zoneName}`);
  return [`${nsName}\t3600\tIN\tA\t${srv.host}`];
}

async function buildZone(ctx: BuildCtx, z: ZoneCase): Promise<void> {
  const id = zoneId(z.name);
  const ns = SERVERS[z.server].nsName;
  const children = Object.values(ZONES).filter((c) => c.parent === z.name);
  const cuts = children.map((c) => c.name);

  const lines: string[] = [
    `; ${z.name} - ${z.description}`,
    `$ORIGIN ${z.name}`,
    '$TTL 3600',
    `@\tIN\tSOA\t${ns} hostmaster.test. ${ctx.serial} 3600 900 604800 300`,
    `@\tIN\tNS\t${ns}`,
    ...glueFor(ns, z.name, cuts),
    ...z.records.map((r) => r.split(DATA.tlsaPlaceholder).join(ctx.spkiSha256).replace(/\{\{MAIL:([a-z0-9-]+)\}\}/g, (_m, k: string) => {
      const v = ctx.mailDigests[k];
      if (v === undefined) throw new Error(`${z.name}: unknown mail placeholder ${k}`);
      return v;
    })),
  ];
  for (const c of children) {
    const done = ctx.done.get(c.name);
    if (!done) throw new Error(`child ${c.name} of ${z.name} not built yet`);
    const cns = SERVERS[c.server].nsName;
    lines.push(`${c.name}\t3600\tIN\tNS\t${cns}`, ...glueFor(cns, z.name, cuts), ...done.ds);
  }

  const keyDir = path.join(ctx.tmp, 'keys', id);
  mkdirSync(keyDir, { recursive: true });
  const unsignedFile = path.join(ctx.tmp, 'work', `${id}.unsigned`);
  const finalFile = path.join(ctx.tmp, 'zones', `${id}.zone`);
  const result: SignedZone = { name: z.name, server: z.server, file: finalFile, ds: [], dnskey: [], keyTags: [] };

  if (z.signer === 'none') {
    writeFileSync(unsignedFile, lines.join('\n') + '\n');
    writeFileSync(finalFile, lines.join('\n') + '\n');
  } else {
    const ksk = await keygen(keyDir, z, true);
    const zsk = await keygen(keyDir, z, false);
    result.keyTags = [ksk.tag, zsk.tag];
    // KeyTrap: garbage keys with the ZSK's tag, in the zone before signing (signed over by the KSK)
    const fakes = z.fakeKeys ? collidingKeys(zsk.rdata, z.fakeKeys) : [];
    if (fakes.length > 0 && ksk.tag === zsk.tag) throw new Error(`${z.name}: KSK and ZSK share key tag ${ksk.tag}, generate again`);
    lines.push(...fakes.map((rd) => `${z.name}\t3600\tIN\tDNSKEY\t${rd.join(' ')}`));
    const { inception: start, expiration: end } =
      z.validity === 'expired' ? { inception: ctx.now - 60 * DAY, expiration: ctx.now - 30 * DAY }
      : z.validity === 'future' ? { inception: ctx.now + 365 * DAY, expiration: ctx.now + 425 * DAY }
      : goodSignatures(ctx.now);
    result.inception = ts(start);
    result.expiration = ts(end);
    const rawFile = path.join(ctx.tmp, 'work', `${id}.signed`);

    if (z.signer === 'dnssec-signzone') {
      writeFileSync(unsignedFile, [...lines, ksk.dnskey, zsk.dnskey].join('\n') + '\n');
      const flags: string[] = [];
      // post-signing verification checks signature times too: skip it for deliberately bad times
      if (z.validity !== 'normal') flags.push('-P');
      // KeyTrap keys: the DNSKEY RRset is signed by the (unique-tag) KSK only, so a DNSKEY answer has no
      // RRSIG with the colliding ZSK tag (whose position among the RRSIGs would follow the random key tags)
      if (z.fakeKeys) flags.push('-x');
      await dnssecSignzone({ keyDir, zone: z.name, unsigned: unsignedFile, out: rawFile, inception: start, expiration: end,
        ...(z.denial === 'nsec3' ? { nsec3: z.nsec3! } : {}), flags });
    } else {
      writeFileSync(unsignedFile, lines.join('\n') + '\n');
      const args = ['-o', z.name, '-f', rawFile, '-i', ts(start), '-e', ts(end)];
      if (z.denial === 'nsec3') {
        const p = z.nsec3!;
        args.push('-n', '-t', String(p.iterations));
        if (p.salt !== '') args.push('-s', p.salt);
        if (p.optOut) args.push('-p');
      }
      args.push(unsignedFile, ksk.base, zsk.base);
      await runOk('ldns-signzone', args, { cwd: keyDir, timeoutMs: 120_000 });
    }

    let rrs = parseSignedZone(readFileSync(rawFile, 'utf8'));
    if (fakes.length > 0) rrs = fakesFirst(rrs, z.name, zsk.rdata, fakes);
    for (const m of z.mutations) rrs = applyMutation(rrs, m, z.name);
    writeFileSync(finalFile, [
      `; ${z.name} - ${z.description}`,
      `; signer: ${z.signer}, algorithm ${z.algorithm}, denial ${z.denial}` +
        (z.nsec3 ? ` (salt '${z.nsec3.salt}', iterations ${z.nsec3.iterations}, opt-out ${z.nsec3.optOut})` : '') +
        `, validity ${z.validity}, mutations ${JSON.stringify(z.mutations)}`,
      ...rrs.map(formatRR), '',
    ].join('\n'));
    result.dnskey = rrs.filter((r) => r.type === 'DNSKEY' && sameName(r.owner, z.name)).map(formatRR);
  }

  // DS records for the parent (for the root: the DS form of the trust anchor)
  {
    const ksks = result.dnskey
      .map((t) => t.split(/\s+/))
      .map((t) => t.slice(t.indexOf('DNSKEY') + 1))
      .filter((rd) => (Number(rd[0]) & 1) === 1);
    switch (z.ds) {
      case 'none':
        break;
      case 'normal':
        result.ds = ksks.map((rd) => dsText(z.name, dsFromDnskey(z.name, rd, 2)));
        break;
      case 'unknown-digest':
        result.ds = ksks.map((rd) => dsText(z.name, dsFromDnskey(z.name, rd, 200)));
        break;
      case 'foreign-key': {
        const fdir = path.join(keyDir, 'foreign');
        mkdirSync(fdir, { recursive: true });
        const fk = await keygen(fdir, { ...z, algorithm: z.algorithm ?? 13 }, true);
        rmSync(path.join(fdir, `${fk.base}.private`));
        result.ds = [dsText(z.name, dsFromDnskey(z.name, fk.rdata, 2))];
        break;
      }
    }
  }
  ctx.done.set(z.name, result);
}

/**
 * `count` DNSKEY RDATAs (token form) with the flags, protocol, algorithm and RFC 4034 Appendix B key tag
 * of `rdata` but a different public key: each swaps two key bytes two positions apart (same parity,
 * so the 16-bit word sum and hence the tag is unchanged), a different pair per key. For RSA the
 * exponent, the leading modulus bytes and the last (odd) byte stay, so every fake is a well-formed
 * public key that simply never verifies; for EC keys the result is (almost surely) not a curve point.
 * Every fake is smaller than the real key in canonical RDATA order (RFC 4034 6.3), so a validator
 * that sorts the RRset (BIND does) also meets all fakes first.
 */
export function collidingKeys(rdata: string[], count: number): string[][] {
  const key = Buffer.from(rdata.slice(3).join(''), 'base64');
  const alg = Number(rdata[2]);
  const start = RSA_ALGS.has(alg) ? (key[0] === 0 ? 3 + key.readUInt16BE(1) : 1 + key[0]!) + 8 : 8;
  const tag = keyTag(dnskeyWire(rdata));
  const seen = new Set<string>([key.toString('base64')]);
  const out: string[][] = [];
  for (let p = start; out.length < count && p + 3 < key.length; p++) {
    // only swaps that make byte p smaller: every fake sorts before the real key in canonical order
    if (key[p]! <= key[p + 2]!) continue;
    const f = Buffer.from(key);
    f[p] = key[p + 2]!;
    f[p + 2] = key[p]!;
    const b64 = f.toString('base64');
    const rd = [rdata[0]!, rdata[1]!, rdata[2]!, ...splitB64(b64).split(' ')];
    if (keyTag(dnskeyWire(rd)) !== tag || seen.has(b64)) throw new Error('colliding key construction failed');
    seen.add(b64);
    out.push(rd);
  }
  if (out.length < count) throw new Error(`only ${out.length} of ${count} colliding keys could be made`);
  return out;
}

/**
 * Order the apex DNSKEY RRset: the fake keys first, then the real ZSK, then the rest (KSK). Records
 * are matched by their public key; the order of an RRset does not affect its signatures.
 */
function fakesFirst(rrs: RR[], origin: string, zsk: string[], fakes: string[][]): RR[] {
  const pub = (rd: string[]) => rd.slice(3).join('');
  const isKey = (r: RR) => r.type === 'DNSKEY' && sameName(r.owner, origin);
  const keys = rrs.filter(isKey);
  const pick = (rd: string[]): RR => {
    const found = keys.filter((k) => pub(k.rdata) === pub(rd));
    if (found.length !== 1) throw new Error(`${origin}: DNSKEY ${pub(rd).slice(0, 20)}... found ${found.length} times after signing`);
    return found[0]!;
  };
  const ordered = [...fakes.map(pick), pick(zsk)];
  ordered.push(...keys.filter((k) => !ordered.includes(k)));
  const first = rrs.findIndex(isKey);
  const rest = rrs.filter((r) => !isKey(r));
  return [...rest.slice(0, first), ...ordered, ...rest.slice(first)];
}

/** Flip bit `k & 7` of signature byte (len/2 + 8 + k/8): copy k of a KeyTrap RRSIG differs from the real one and every other copy. */
function flipSigBit(tokens: string[], k: number): string[] {
  const sig = Buffer.from(tokens.join(''), 'base64');
  const idx = (sig.length >> 1) + 8 + (k >> 3);
  if (idx >= sig.length) throw new Error(`signature too short for ${k + 1} distinct bad copies`);
  sig[idx] = sig[idx]! ^ (1 << (k & 7));
  return splitB64(sig.toString('base64')).split(' ');
}

function corruptB64(tokens: string[]): string[] {
  const sig = Buffer.from(tokens.join(''), 'base64');
  const mid = sig.length >> 1;
  for (let i = mid; i < Math.min(sig.length, mid + 4); i++) sig[i] = sig[i]! ^ 0x5a;
  return splitB64(sig.toString('base64')).split(' ');
}

export function applyMutation(rrs: RR[], m: ZoneCase['mutations'][number], origin: string): RR[] {
  switch (m.op) {
    case 'modify-rdata': {
      const owner = absName(m.owner, origin);
      let n = 0;
      const out = rrs.map((r) => {
        if (sameName(r.owner, owner) && r.type === m.type) { n++; return { ...r, rdata: m.rdata.split(/\s+/) }; }
        return r;
      });
      if (n !== 1) throw new Error(`modify-rdata ${owner} ${m.type}: expected exactly one record, found ${n}`);
      return out;
    }
    case 'strip-rrsig': {
      const owner = absName(m.owner, origin);
      const out = rrs.filter((r) => !(r.type === 'RRSIG' && sameName(r.owner, owner) && r.rdata[0]!.toUpperCase() === m.type));
      if (out.length === rrs.length) throw new Error(`strip-rrsig ${owner} ${m.type}: nothing stripped`);
      return out;
    }
    case 'corrupt-rrsig': {
      const owner = m.owner === undefined ? undefined : absName(m.owner, origin);
      let n = 0;
      const out = rrs.map((r) => {
        if (r.type !== 'RRSIG' || r.rdata[0]!.toUpperCase() !== m.type) return r;
        if (owner !== undefined && !sameName(r.owner, owner)) return r;
        n++;
        return { ...r, rdata: [...r.rdata.slice(0, 8), ...corruptB64(r.rdata.slice(8))] };
      });
      if (n === 0) throw new Error(`corrupt-rrsig ${m.type}: no RRSIG found`);
      return out;
    }
    case 'add-bad-rrsigs': {
      const owner = absName(m.owner, origin);
      const out: RR[] = [];
      let n = 0;
      for (const r of rrs) {
        if (r.type === 'RRSIG' && sameName(r.owner, owner) && r.rdata[0]!.toUpperCase() === m.type) {
          n++;
          for (let k = 0; k < m.count; k++) out.push({ ...r, rdata: [...r.rdata.slice(0, 8), ...flipSigBit(r.rdata.slice(8), k)] });
        }
        out.push(r);
      }
      if (n === 0) throw new Error(`add-bad-rrsigs ${owner} ${m.type}: no RRSIG found`);
      return out;
    }
    case 'rewrite-algorithm': {
      const tagMap = new Map<number, number>();
      const out = rrs.map((r) => {
        if (r.type !== 'DNSKEY') return r;
        const oldTag = keyTag(dnskeyWire(r.rdata));
        let key = Buffer.from(r.rdata.slice(3).join(''), 'base64');
        // PRIVATEDNS keys start with the wire-format name of the algorithm (RFC 4034 A.1.1)
        if (m.algorithm === 253) key = Buffer.concat([nameToWire('unknown-algorithm.example.'), key]);
        const rdata = [r.rdata[0]!, r.rdata[1]!, String(m.algorithm), ...splitB64(key.toString('base64')).split(' ')];
        tagMap.set(oldTag, keyTag(dnskeyWire(rdata)));
        return { ...r, rdata };
      });
      return out.map((r) => {
        if (r.type !== 'RRSIG') return r;
        const newTag = tagMap.get(Number(r.rdata[6]));
        if (newTag === undefined) throw new Error(`RRSIG by unknown key tag ${r.rdata[6]}`);
        const rd = [...r.rdata];
        rd[1] = String(m.algorithm);
        rd[6] = String(newTag);
        return { ...r, rdata: rd };
      });
    }
  }
}

/** For diagnostics: list the files of the cached signed world. */
export function listSignedZones(worldDir: string): string[] {
  const d = path.join(signedDir(worldDir), 'zones');
  return existsSync(d) ? readdirSync(d) : [];
}
