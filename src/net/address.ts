/**
 * IP addresses as text: parsing (IPv4, IPv6, CIDR), the one canonical text form (RFC 5952), IP-literal
 * checks, and `ADDR[:PORT]` endpoints. Used by the listener (client ACL), the upstream list (resolv.conf,
 * matching answers to their upstream) and the configuration checks alike; nothing here does I/O.
 *
 * IPv4-mapped IPv6 addresses (::ffff:a.b.c.d, as dual-stack sockets report IPv4 clients) are
 * treated as the IPv4 address, both in client addresses and in CIDRs (::ffff:10.0.0.0/104 is
 * 10.0.0.0/8). Other IPv6 networks, even ::/0, never match IPv4 clients.
 */
import { isIP } from 'node:net';

/** Where something listens or is reached: an IP literal (IPv6 without brackets) and a port. */
export interface ListenAddress {
  address: string;
  /** 0 picks a free port where a socket is bound (the actual one is in ServerHandle.addresses). */
  port: number;
}

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

/** RFC 5952 text of an address: lowercase hex, the first longest run of two or more zero groups as "::". */
export function ipToText(a: IpAddress): string {
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

/** Whether `s` is an IP literal, allowing an IPv6 zone suffix (fe80::1%eth0). */
export function isIpLiteral(s: string): boolean {
  const pct = s.indexOf('%');
  if (pct < 0) return isIP(s) !== 0;
  const zone = s.slice(pct + 1);
  return isIP(s.slice(0, pct)) === 6 && /^[A-Za-z0-9_.-]+$/.test(zone);
}

/**
 * Canonical text of an IP literal, so that `::1` and `0:0::1` compare equal: IPv6 in RFC 5952 form
 * (IPv4-mapped ones stay IPv6, in hex: ::ffff:7f00:1), the zone suffix lowercased; anything else as given.
 */
export function canonicalAddress(address: string): string {
  const pct = address.indexOf('%');
  const bare = pct < 0 ? address : address.slice(0, pct);
  if (isIP(bare) !== 6) return address;
  const bytes = parseIPv6(bare);
  if (!bytes) return address;
  const zone = pct < 0 ? '' : address.slice(pct);
  return ipToText({ family: 6, bytes }) + zone.toLowerCase();
}

/** `address:port` text for logs and metrics labels (IPv6 in brackets). */
export function endpointLabel(e: { readonly address: string; readonly port: number }): string {
  return e.address.includes(':') ? `[${e.address}]:${e.port}` : `${e.address}:${e.port}`;
}

/** Why an `ADDR[:PORT]` text was not accepted. */
export type EndpointProblem =
  | { readonly kind: 'empty' }
  | { readonly kind: 'bad-address'; readonly address: string }
  | { readonly kind: 'bad-port'; readonly port: string };

export type EndpointParse =
  | { readonly ok: true; readonly address: string; readonly port: number }
  | { readonly ok: false; readonly input: string; readonly problem: EndpointProblem };

export function describeEndpointProblem(p: EndpointProblem): string {
  switch (p.kind) {
    case 'empty':
      return 'empty address';
    case 'bad-address':
      return `"${p.address}" is not an IPv4 or IPv6 address`;
    case 'bad-port':
      return `"${p.port}" is not a port number (1-65535)`;
  }
}

function parsePort(s: string, min: number): number | undefined {
  if (!/^[0-9]{1,5}$/.test(s)) return undefined;
  const n = Number(s);
  return n >= min && n <= 65535 ? n : undefined;
}

/** The DNS port: what `ADDR` without a port means. */
export const DEFAULT_DNS_PORT = 53;

/**
 * Parse `ADDR[:PORT]`: `192.0.2.1`, `192.0.2.1:5353`, `[2001:db8::1]:53`, `[::1]`, or a bare
 * IPv6 address `::1` (a bare IPv6 address never carries a port: its last group is not one).
 */
export function parseEndpoint(input: string, opts: { defaultPort?: number; allowPortZero?: boolean } = {}): EndpointParse {
  const s = input.trim();
  const fail = (problem: EndpointProblem): EndpointParse => ({ ok: false, input, problem });
  if (s === '') return fail({ kind: 'empty' });
  let address: string;
  let portText: string | undefined;
  if (s.startsWith('[')) {
    const close = s.indexOf(']');
    if (close < 0) return fail({ kind: 'bad-address', address: s });
    address = s.slice(1, close);
    const rest = s.slice(close + 1);
    if (rest !== '') {
      if (!rest.startsWith(':')) return fail({ kind: 'bad-address', address: s });
      portText = rest.slice(1);
    }
    if (isIP(address) === 4) return fail({ kind: 'bad-address', address });
  } else {
    const colons = s.split(':').length - 1;
    if (colons === 1) {
      const at = s.indexOf(':');
      address = s.slice(0, at);
      portText = s.slice(at + 1);
    } else {
      address = s;
    }
  }
  if (address === '' || !isIpLiteral(address)) return fail({ kind: 'bad-address', address });
  let port = opts.defaultPort ?? DEFAULT_DNS_PORT;
  if (portText !== undefined) {
    const p = parsePort(portText, opts.allowPortZero ? 0 : 1);
    if (p === undefined) return fail({ kind: 'bad-port', port: portText });
    port = p;
  }
  return { ok: true, address, port };
}
