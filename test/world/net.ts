/**
 * The test world's address block (issue 14): every loopback address of the world and of the tests' own listeners
 * comes from here, so that two checkouts can run their tests at once on two blocks.
 *
 *   STUBD_WORLD_NET=127.X   (X even, 2-254, not 58; default 127.54)
 *     127.X.0.0/16      the world: its DNS servers (X.0.1-4, X.1.1-2), the addresses in its zone data (X.100.N) and
 *                       its mail hosts (X.102.N, port 25)
 *     127.(X+1).0.0/16  the daemons, proxies and fixtures that tests start (daemonAddr), the RFC 5011 rollover
 *                       tests' private trees included (127.(X+1).200-202.0/24, test/support/rollover-world.ts)
 *
 * X even keeps any two blocks either equal or apart; 127.0 is left to 127.0.0.1 (tests' daemons on free ports, the
 * host's resolver); 127.58 holds bench/mta's own signed hierarchy at fixed addresses (bench/mta-zones.ts,
 * bench/mta-world.ts): 127.58.0.0/17 the bench's (`node dist/bench/mta.js`), 127.58.128.0/17 its smoke check's, which
 * the test command runs (test/bench/mta-world.world.test.ts). That block does not move with this variable: two
 * checkouts running the test command at once both use 127.58.128.0/17 for that test, one after the other (its lock,
 * /tmp/dnssec-stubd-mta-world-check, is the machine's). Pure functions plus one /proc read (usedLoopbackOctets); no
 * world code, so unit tests may use it.
 */
import { readFileSync } from 'node:fs';

export const WORLD_NET_VAR = 'STUBD_WORLD_NET';
export const DEFAULT_WORLD_OCTET = 54;
/** Second octets that are not the world's to take: bench/mta's (see above). */
const RESERVED = new Set([58]);

export interface WorldNet {
  /** X of 127.X: the world's second octet; the daemons under test use X + 1 */
  readonly octet: number;
  readonly isDefault: boolean;
}

export type WorldNetParse = { readonly ok: true; readonly net: WorldNet } | { readonly ok: false; readonly error: string };

/** The block named by the variable's value; unset or empty means the default. */
export function parseWorldNet(value: string | undefined): WorldNetParse {
  const v = (value ?? '').trim();
  if (v === '') return { ok: true, net: { octet: DEFAULT_WORLD_OCTET, isDefault: true } };
  const m = /^127\.(\d{1,3})$/.exec(v);
  const x = m ? Number(m[1]) : NaN;
  if (!m || x < 2 || x > 254 || x % 2 !== 0 || RESERVED.has(x)) {
    return {
      ok: false,
      error: `${WORLD_NET_VAR}=${JSON.stringify(value)} is not a test world block: give 127.X with X even, 2-254, not 58 ` +
        `(the world takes 127.X.0.0/16, the daemons under test 127.(X+1).0.0/16; 127.58 is bench/mta's), e.g. ${WORLD_NET_VAR}=127.64; unset means 127.${DEFAULT_WORLD_OCTET}`,
    };
  }
  return { ok: true, net: { octet: x, isDefault: x === DEFAULT_WORLD_OCTET } };
}

let cached: WorldNet | undefined;

/** This process's block, from the environment (read once); a bad value throws the error naming the variable. */
export function worldNet(): WorldNet {
  if (cached) return cached;
  const r = parseWorldNet(process.env[WORLD_NET_VAR]);
  if (!r.ok) throw new Error(r.error);
  cached = r.net;
  return cached;
}

/** 127.X.c.d: an address of the world (servers, zone data, mail hosts). */
export function worldAddr(c: number, d: number): string {
  return `127.${worldNet().octet}.${c}.${d}`;
}

/** ::ffff:127.X.c.d, the IPv4-mapped form the world's AAAA records use. */
export function worldAddr6(c: number, d: number): string {
  return `::ffff:${worldAddr(c, d)}`;
}

/** "127.X.c.": the world's 127.X.c.0/24 as a text prefix (for matching any address in it). */
export function worldPrefix(c: number): string {
  return `127.${worldNet().octet}.${c}.`;
}

/** An address as a RegExp source (dots escaped). */
export function reAddr(address: string): string {
  return address.replace(/\./g, '\\.');
}

/** 127.(X+1).c.d: an address for a daemon, proxy or fixture a test starts (outside the world's block). */
export function daemonAddr(c: number, d: number): string {
  return `127.${worldNet().octet + 1}.${c}.${d}`;
}

/** "127.X.0.0/16" and "127.(X+1).0.0/16", for messages. */
export function worldBlock(net: WorldNet = worldNet()): string {
  return `127.${net.octet}.0.0/16`;
}
export function daemonBlock(net: WorldNet = worldNet()): string {
  return `127.${net.octet + 1}.0.0/16`;
}

/** The world directory's default name in a checkout: `.world`, or `.world-127.X` off the default block. */
export function defaultWorldDirName(net: WorldNet = worldNet()): string {
  return net.isDefault ? '.world' : `.world-127.${net.octet}`;
}

/**
 * A block to suggest when this one is taken: the first valid X from 60 up (then from 2 up) such that no socket is
 * bound in 127.X or 127.(X+1) (`used`: second octets of bound 127/8 addresses).
 */
export function freeWorldNet(used: ReadonlySet<number>, own: WorldNet = worldNet()): WorldNet | undefined {
  const order = [...Array(127).keys()].map((i) => 2 + 2 * i); // 2, 4, ..., 254
  const start = order.indexOf(60);
  for (const x of [...order.slice(start), ...order.slice(0, start)]) {
    if (x === own.octet || x === DEFAULT_WORLD_OCTET || RESERVED.has(x) || used.has(x) || used.has(x + 1)) continue;
    return { octet: x, isDefault: false };
  }
  return undefined;
}

/** Second octets of the 127/8 addresses that sockets are bound to now (IPv4 and IPv4-mapped), from /proc/net. */
export function usedLoopbackOctets(): Set<number> {
  const out = new Set<number>();
  for (const f of ['tcp', 'udp', 'tcp6', 'udp6']) {
    let text: string;
    try {
      text = readFileSync(`/proc/net/${f}`, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const local = line.trim().split(/\s+/)[1]?.split(':')[0] ?? '';
      // the address as one little-endian 32-bit word (IPv6: four words; ::ffff:a.b.c.d has FFFF0000 as the third)
      const v4 = local.length === 8 ? local : local.length === 32 && local.slice(0, 24) === '0000000000000000FFFF0000' ? local.slice(24) : '';
      if (v4 !== '' && parseInt(v4.slice(6, 8), 16) === 127) out.add(parseInt(v4.slice(4, 6), 16));
    }
  }
  return out;
}
