/**
 * Trust anchor files: DS or DNSKEY records in zone-file form, or IANA's root-anchors.xml
 * (RFC 9718: KeyDigest elements with KeyTag, Algorithm, DigestType, Digest, and optionally
 * PublicKey and Flags; validFrom/validUntil honoured against the clock).
 */
import { readFileSync } from 'node:fs';
import type { Clock } from '../clock.js';
import { DS_DIGEST_LENGTHS, Name, RRType, WireError, fromBase64, fromHex, makeRR, parseZoneLines, type DNSKEYData, type DSData, type RR } from '../wire/index.js';
import type { TrustAnchor } from '../validator/types.js';

export class AnchorFileError extends Error {
  constructor(readonly file: string, message: string) {
    super(`${file}: ${message}`);
    this.name = 'AnchorFileError';
  }
}

/** Group DS and DNSKEY records by owner into anchors (other types are an error). */
export function anchorsFromRecords(rrs: readonly RR[], file = '(text)'): TrustAnchor[] {
  const byZone = new Map<string, TrustAnchor>();
  for (const rr of rrs) {
    if (rr.type !== RRType.DS && rr.type !== RRType.DNSKEY) {
      throw new AnchorFileError(file, `${rr.name.toText()}: only DS and DNSKEY records can be trust anchors`);
    }
    let a = byZone.get(rr.name.key);
    if (!a) {
      a = { zone: rr.name, ds: [], dnskeys: [] };
      byZone.set(rr.name.key, a);
    }
    if (rr.type === RRType.DS) a.ds.push(rr as RR<DSData>);
    else a.dnskeys.push(rr as RR<DNSKEYData>);
  }
  if (byZone.size === 0) throw new AnchorFileError(file, 'no DS or DNSKEY record found');
  return [...byZone.values()];
}

/**
 * A digest whose length does not fit its type (src/wire DS_DIGEST_LENGTHS) can never match a key: such an
 * anchor would make every answer BOGUS, so it is refused when the file is read.
 */
function digestProblem(ds: DSData): string | undefined {
  const t = DS_DIGEST_LENGTHS[ds.digestType];
  if (!t || ds.digest.length === t.bytes) return undefined;
  return `DS ${ds.keyTag} ${ds.algorithm} ${ds.digestType} has a ${ds.digest.length}-byte digest; ` +
    `digest type ${ds.digestType} (${t.name}) digests are ${t.bytes} bytes (${t.bytes * 2} hex digits): the record is cut or mistyped`;
}

/** Zone-file text (a missing TTL is allowed: anchors have none). Errors name the file and line. */
export function anchorsFromZoneText(text: string, file = '(text)'): TrustAnchor[] {
  let lines: { rr: RR; line: number }[];
  try {
    lines = parseZoneLines(text, { defaultTtl: 0 });
  } catch (err) {
    throw new AnchorFileError(file, err instanceof WireError ? err.message : String(err));
  }
  for (const { rr, line } of lines) {
    const problem = rr.type === RRType.DS ? digestProblem(rr.data as DSData) : undefined;
    if (problem) throw new AnchorFileError(`${file}:${line}`, problem);
  }
  return anchorsFromRecords(lines.map((l) => l.rr), file);
}

function xmlText(block: string, tag: string): string | undefined {
  const m = new RegExp(`<${tag}>\\s*([^<]*?)\\s*</${tag}>`).exec(block);
  return m?.[1];
}

function xmlAttr(tagText: string, attr: string): string | undefined {
  return new RegExp(`${attr}="([^"]*)"`).exec(tagText)?.[1];
}

/** IANA root-anchors.xml. KeyDigests outside validFrom..validUntil (by `clock`) are left out. */
export function anchorsFromXml(xml: string, clock: Clock, file = '(xml)'): TrustAnchor[] {
  const zoneText = xmlText(xml, 'Zone');
  if (zoneText === undefined) throw new AnchorFileError(file, 'no <Zone> element: not a root-anchors.xml file');
  const zone = Name.fromText(zoneText);
  const rrs: RR[] = [];
  const re = /<KeyDigest\b([^>]*)>([\s\S]*?)<\/KeyDigest>/g;
  for (let m = re.exec(xml); m; m = re.exec(xml)) {
    const attrs = m[1]!;
    const body = m[2]!;
    const id = xmlAttr(attrs, 'id') ?? '?';
    const from = xmlAttr(attrs, 'validFrom');
    const until = xmlAttr(attrs, 'validUntil');
    const now = clock.now();
    if (from && Date.parse(from) > now) continue;
    if (until && Date.parse(until) <= now) continue;
    const num = (tag: string, max: number): number => {
      const v = xmlText(body, tag);
      if (v === undefined || !/^\d+$/.test(v) || Number(v) > max) throw new AnchorFileError(file, `KeyDigest ${id}: bad or missing <${tag}>`);
      return Number(v);
    };
    const digestHex = xmlText(body, 'Digest');
    if (!digestHex) throw new AnchorFileError(file, `KeyDigest ${id}: missing <Digest>`);
    try {
      const ds: DSData = {
        keyTag: num('KeyTag', 65535), algorithm: num('Algorithm', 255), digestType: num('DigestType', 255),
        digest: fromHex(digestHex.replace(/\s+/g, ''), 'Digest'),
      };
      const problem = digestProblem(ds);
      if (problem) throw new AnchorFileError(`${file}:${xml.slice(0, m.index).split('\n').length}`, `KeyDigest ${id}: ${problem}`);
      rrs.push(makeRR<DSData>(zone, RRType.DS, 0, ds));
      const pub = xmlText(body, 'PublicKey');
      if (pub) {
        rrs.push(makeRR<DNSKEYData>(zone, RRType.DNSKEY, 0, {
          flags: num('Flags', 65535), protocol: 3, algorithm: num('Algorithm', 255), publicKey: fromBase64(pub.replace(/\s+/g, ''), 'PublicKey'),
        }));
      }
    } catch (err) {
      if (err instanceof AnchorFileError) throw err;
      throw new AnchorFileError(file, `KeyDigest ${id}: ${(err as Error).message}`);
    }
  }
  if (rrs.length === 0) throw new AnchorFileError(file, 'no KeyDigest is valid now');
  return anchorsFromRecords(rrs, file);
}

/** Read one anchor file; the format is recognised by content. */
export function readAnchorFile(path: string, clock: Clock): TrustAnchor[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new AnchorFileError(path, `cannot read: ${(err as Error).message}`);
  }
  return /^\s*<\?xml|<TrustAnchor\b/.test(text) ? anchorsFromXml(text, clock, path) : anchorsFromZoneText(text, path);
}

/** Merge anchors of several files: one entry per zone. */
export function mergeAnchors(lists: readonly TrustAnchor[][]): TrustAnchor[] {
  const byZone = new Map<string, TrustAnchor>();
  for (const a of lists.flat()) {
    const cur = byZone.get(a.zone.key);
    if (cur) {
      cur.ds.push(...a.ds);
      cur.dnskeys.push(...a.dnskeys);
    } else byZone.set(a.zone.key, { zone: a.zone, ds: [...a.ds], dnskeys: [...a.dnskeys] });
  }
  return [...byZone.values()];
}
