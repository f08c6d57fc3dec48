/**
 * Checkers for the fields of a config document (each throws ConfigError naming the field path), and
 * `addressCheckers`: the IP and CIDR checks the listener and the upstream pool apply themselves.
 */
import { endpointLabel, isIpLiteral, parseCidr } from '../net/address.js';
import { ConfigError, DEFAULT_LISTEN_PORT, type AddressCheckers } from './schema.js';

/** The daemon's address checks (src/net/address.ts); tests may inject others. */
export const addressCheckers: AddressCheckers = {
  isIp: isIpLiteral,
  checkCidr(s: string): void {
    parseCidr(s);
  },
};

export type Obj = Record<string, unknown>;

export function describe(v: unknown): string {
  return v === undefined ? 'nothing' : JSON.stringify(v);
}

export function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function obj(v: unknown, path: string, allowed: readonly string[]): Obj {
  if (!isObj(v)) throw new ConfigError(path, `expected a mapping, got ${describe(v)}`);
  checkKeys(v, allowed, path);
  return v;
}

export function checkKeys(o: Obj, allowed: readonly string[], path: string): void {
  for (const k of Object.keys(o)) {
    if (!allowed.includes(k)) {
      throw new ConfigError(path ? `${path}.${k}` : k, `unknown key (allowed here: ${allowed.join(', ')})`);
    }
  }
}

export function int(v: unknown, path: string, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw new ConfigError(path, `expected an integer from ${min} to ${max}, got ${describe(v)}`);
  }
  return v;
}

export function num(v: unknown, path: string, min: number, max: number): number {
  if (typeof v !== 'number' || !(v >= min && v <= max)) throw new ConfigError(path, `expected a number from ${min} to ${max}, got ${describe(v)}`);
  return v;
}

export function bool(v: unknown, path: string): boolean {
  if (typeof v !== 'boolean') throw new ConfigError(path, `expected true or false, got ${describe(v)}`);
  return v;
}

export function str(v: unknown, path: string): string {
  if (typeof v !== 'string' || v.length === 0) throw new ConfigError(path, `expected a non-empty string, got ${describe(v)}`);
  return v;
}

export function arr(v: unknown, path: string): unknown[] {
  if (!Array.isArray(v)) throw new ConfigError(path, `expected a list, got ${describe(v)}`);
  return v;
}

export function oneOf<T extends string>(v: unknown, path: string, choices: readonly T[]): T {
  if (!choices.includes(v as T)) throw new ConfigError(path, `expected one of ${choices.join(', ')}, got ${describe(v)}`);
  return v as T;
}

export function ip(v: unknown, path: string, c: AddressCheckers): string {
  const s = str(v, path);
  if (!c.isIp(s)) throw new ConfigError(path, `expected an IPv4 or IPv6 address, got ${describe(v)}`);
  return s;
}

/** A domain name in presentation form, made absolute (trailing dot); checked by `isName`. */
export function domain(v: unknown, path: string, isName: (s: string) => boolean): string {
  const s = str(v, path);
  const abs = s.endsWith('.') ? s : `${s}.`;
  if (!isName(abs)) throw new ConfigError(path, `expected a domain name, got ${describe(v)}`);
  return abs.toLowerCase();
}

/** What is said when a listen address comes without a port (it takes DEFAULT_LISTEN_PORT). */
export function listenPortNotice(what: string, address: string): string {
  const at = (port: number): string => endpointLabel({ address, port });
  return `${what} has no port: listening on ${at(DEFAULT_LISTEN_PORT)}, the default port; clients of /etc/resolv.conf ask port 53 only (write ${at(53)} for that)`;
}
