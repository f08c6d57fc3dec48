/**
 * Client access control: CIDR parsing and matching for IPv4 and IPv6.
 *
 * IPv4-mapped IPv6 addresses (::ffff:a.b.c.d, as dual-stack sockets report IPv4 clients) are
 * treated as the IPv4 address, both in client addresses and in CIDRs (::ffff:10.0.0.0/104 is
 * 10.0.0.0/8). Other IPv6 networks, even ::/0, never match IPv4 clients.
 */

export type IpFamily = 4 | 6;

export interface IpAddress {
  readonly family: IpFamily;
  /** 4 or 16 octets, network order. */
  readonly bytes: Uint8Array;
}

export interface Cidr extends IpAddress {
  /** Prefix length: 0..32 for IPv4, 0..128 for IPv6. */
  readonly prefix: number;
  /** Canonical text, e.g. 127.0.0.0/8. */
  readonly text: string;
}

export type CidrErrorReason = 'syntax' | 'bad-address' | 'bad-prefix' | 'host-bits';

export class CidrError extends Error {
  readonly reason: CidrErrorReason;
  readonly input: string;
  constructor(reason: CidrErrorReason, input: string, message: string) {
    super(message);
    this.name = 'CidrError';
    this.reason = reason;
    this.input = input;
  }
}

export const DEFAULT_ALLOW: readonly string[] = ['127.0.0.0/8', '::1/128'];

function parseIPv4(s: string): Uint8Array | undefined {
  const parts = s.split('.');
  if (parts.length !== 4) return undefined;
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const p = parts[i]!;
    // Decimal only, no leading zeros (010 would be octal to some parsers).
    if (!/^(0|[1-9][0-9]{0,2})$/.test(p) || Number(p) > 255) return undefined;
    out[i] = Number(p);
  }
  return out;
}

function parseIPv6(s: string): Uint8Array | undefined {
  let text = s;
  const lastColon = text.lastIndexOf(':');
  if (lastColon >= 0 && text.includes('.', lastColon)) {
    // Embedded IPv4 tail (::ffff:1.2.3.4): rewrite it as two hex groups.
    const v4 = parseIPv4(text.slice(lastColon + 1));
    if (!v4) return undefined;
    const hi = ((v4[0]! << 8) | v4[1]!).toString(16);
    const lo = ((v4[2]! << 8) | v4[3]!).toString(16);
    text = `${text.slice(0, lastColon + 1)}${hi}:${lo}`;
  }
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const group = (g: string): number | undefined => (/^[0-9a-fA-F]{1,4}$/.test(g) ? parseInt(g, 16) : undefined);
  const side = (h: string): number[] | undefined => {
    if (h === '') return [];
    const out: number[] = [];
    for (const g of h.split(':')) {
      const v = group(g);
      if (v === undefined) return undefined;
      out.push(v);
    }
    return out;
  };
  const head = side(halves[0]!);
  const rest = halves.length === 2 ? side(halves[1]!) : [];
  if (!head || !rest) return undefined;
  const known = head.length + rest.length;
  let groups: number[];
  if (halves.length === 2) {
    if (known > 7) return undefined; // "::" stands for at least one zero group
    groups = [...head, ...new Array<number>(8 - known).fill(0), ...rest];
  } else {
    if (known !== 8) return undefined;
    groups = head;
  }
  const out = new Uint8Array(16);
  groups.forEach((g, i) => {
    out[2 * i] = g >> 8;
    out[2 * i + 1] = g & 0xff;
  });
  return out;
}

function isV4Mapped(b: Uint8Array): boolean {
  if (b.length !== 16) return false;
  for (let i = 0; i < 10; i++) if (b[i] !== 0) return false;
  return b[10] === 0xff && b[11] === 0xff;
}

/** Parse an IP address (an IPv6 zone such as %eth0 is ignored). IPv4-mapped IPv6 becomes IPv4. */
export function parseIp(text: string): IpAddress | undefined {
  const s = text.trim();
  if (s.includes(':')) {
    const pct = s.indexOf('%');
    const b = parseIPv6(pct >= 0 ? s.slice(0, pct) : s);
    if (!b) return undefined;
    return isV4Mapped(b) ? { family: 4, bytes: b.slice(12) } : { family: 6, bytes: b };
  }
  const b = parseIPv4(s);
  return b ? { family: 4, bytes: b } : undefined;
}

/** The address in text with IPv4-mapped IPv6 shown as IPv4 (for logs and ClientInfo). */
export function normalizeAddress(text: string): string {
  const lower = text.toLowerCase();
  if (lower.startsWith('::ffff:') && lower.includes('.')) {
    const v4 = lower.slice(7);
    if (parseIPv4(v4)) return v4;
  }
  return text;
}

function ipToText(a: IpAddress): string {
  if (a.family === 4) return Array.from(a.bytes).join('.');
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((a.bytes[i]! << 8) | a.bytes[i + 1]!);
  let best = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i >= 2 && j - i > bestLen) { best = i; bestLen = j - i; }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (best < 0) return hex.join(':');
  return `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLen).join(':')}`;
}

function prefixMatches(net: Uint8Array, addr: Uint8Array, prefix: number): boolean {
  const full = prefix >> 3;
  for (let i = 0; i < full; i++) if (net[i] !== addr[i]) return false;
  const bits = prefix & 7;
  if (bits === 0) return true;
  const mask = (0xff << (8 - bits)) & 0xff;
  return (net[full]! & mask) === (addr[full]! & mask);
}

/**
 * Parse "address/prefix" (or a bare address, meaning /32 or /128). Host bits must be zero.
 * Throws CidrError with a message that quotes the input.
 */
export function parseCidr(input: string): Cidr {
  const s = input.trim();
  if (s === '') throw new CidrError('syntax', input, 'empty CIDR');
  const slash = s.indexOf('/');
  const addrText = slash >= 0 ? s.slice(0, slash) : s;
  const prefixText = slash >= 0 ? s.slice(slash + 1) : undefined;
  if (addrText.includes('%')) throw new CidrError('bad-address', input, `"${input}": zone indices are not allowed in a CIDR`);
  const v6 = addrText.includes(':');
  let bytes = v6 ? parseIPv6(addrText) : parseIPv4(addrText);
  if (!bytes) {
    throw new CidrError('bad-address', input, `"${input}": "${addrText}" is not a valid IPv${v6 ? 6 : 4} address`);
  }
  const max = v6 ? 128 : 32;
  let prefix = max;
  if (prefixText !== undefined) {
    if (!/^(0|[1-9][0-9]{0,2})$/.test(prefixText) || Number(prefixText) > max) {
      throw new CidrError('bad-prefix', input, `"${input}": prefix length must be an integer from 0 to ${max}`);
    }
    prefix = Number(prefixText);
  }
  // Host bits set: reject rather than silently widen or narrow what the operator meant.
  const masked = bytes.slice();
  for (let i = 0; i < masked.length; i++) {
    const keep = Math.max(0, Math.min(8, prefix - 8 * i));
    masked[i]! &= (0xff << (8 - keep)) & 0xff;
  }
  if (!masked.every((b, i) => b === bytes![i])) {
    const fam: IpFamily = v6 ? 6 : 4;
    const suggestion = `${ipToText({ family: fam, bytes: masked })}/${prefix}`;
    throw new CidrError('host-bits', input, `"${input}": address has bits set beyond the /${prefix} prefix (did you mean ${suggestion}?)`);
  }
  let family: IpFamily = v6 ? 6 : 4;
  if (v6 && prefix >= 96 && isV4Mapped(bytes)) {
    bytes = bytes.slice(12);
    prefix -= 96;
    family = 4;
  }
  const cidr = { family, bytes, prefix };
  return { ...cidr, text: `${ipToText(cidr)}/${prefix}` };
}

export function cidrContains(c: Cidr, addr: IpAddress): boolean {
  return c.family === addr.family && prefixMatches(c.bytes, addr.bytes, c.prefix);
}

/** Decisions remembered per address text (the list never changes); cleared when it grows past this. */
const ACL_MEMO_MAX = 4096;

/** A list of allowed networks. */
export class AccessList {
  readonly cidrs: readonly Cidr[];
  private readonly memo = new Map<string, boolean>();

  /** Throws CidrError on the first bad entry. */
  constructor(entries: readonly (string | Cidr)[] = DEFAULT_ALLOW) {
    this.cidrs = entries.map((e) => (typeof e === 'string' ? parseCidr(e) : e));
  }

  /** Whether a client address (text as reported by node sockets) is allowed. Unparseable addresses are not. */
  allows(address: string): boolean {
    const known = this.memo.get(address);
    if (known !== undefined) return known;
    const a = parseIp(address);
    const ok = a !== undefined && this.cidrs.some((c) => cidrContains(c, a));
    if (this.memo.size >= ACL_MEMO_MAX) this.memo.clear();
    this.memo.set(address, ok);
    return ok;
  }
}
