/**
 * When the test world's addresses (its block, 127.54.0.0/16 unless STUBD_WORLD_NET says otherwise; port 53)
 * already answer DNS at start: who holds them, and what to do. Usually another checkout's world (its processes run
 * with `-c <world dir>/run/<name>/...`), which can be run beside on another block (STUBD_WORLD_NET, a free one
 * suggested), shared (STUBD_WORLD_DIR) or stopped.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { portOwnerPid } from '../../src/daemon/preflight.js';
import { daemonBlock, defaultWorldDirName, freeWorldNet, usedLoopbackOctets, WORLD_NET_VAR, worldBlock, worldNet, type WorldNet } from './net.js';

export interface Holder {
  /** `host:port` that answered. */
  readonly endpoint: string;
  readonly pid: number | undefined;
  /** Program name and, when it is a test world's server, that world's directory. */
  readonly command: string | undefined;
  readonly worldDir: string | undefined;
}

/** The world directory a server of some test world runs from: the `X` of `-c X/run/<name>/<file>`. */
export function worldDirOf(argv: readonly string[]): string | undefined {
  for (const a of argv) {
    const m = /^(\/.*)\/run\/[^/]+\/[^/]+\.(conf|json)$/.exec(a);
    if (m) return m[1];
  }
  return undefined;
}

/** Who holds each busy endpoint (UDP, then TCP), from /proc. */
export function findHolders(busy: readonly string[]): Holder[] {
  return busy.map((endpoint) => {
    const i = endpoint.lastIndexOf(':');
    const host = endpoint.slice(0, i);
    const port = Number(endpoint.slice(i + 1));
    const pid = portOwnerPid(host, port, 'udp') ?? portOwnerPid(host, port, 'tcp');
    let argv: string[] = [];
    if (pid !== undefined) {
      try {
        argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
      } catch {
        // exited meanwhile
      }
    }
    return { endpoint, pid, command: argv[0] ? path.basename(argv[0]) : undefined, worldDir: worldDirOf(argv) };
  });
}

/**
 * The error for a world that cannot start because its addresses answer already. `net`: this world's block; `free`:
 * a block with nothing bound in it to suggest (null: none found).
 */
export function worldClashMessage(busy: readonly string[], ownDir: string, holders: readonly Holder[],
  net: WorldNet = worldNet(), free: WorldNet | null = freeWorldNet(usedLoopbackOctets(), net) ?? null): string {
  const lines = [`the test world cannot start: its addresses already answer DNS (${busy.join(', ')}).`];
  const worlds = [...new Set(holders.map((h) => h.worldDir).filter((d): d is string => d !== undefined && d !== ownDir))];
  const who = holders.map((h) => (h.pid === undefined ? `${h.endpoint}: holder unknown (not visible to this user?)` : `${h.endpoint}: ${h.command ?? '?'} pid ${h.pid}`));
  const block = `${worldBlock(net)} (${WORLD_NET_VAR}=127.${net.octet}${net.isDefault ? ', the default' : ''})`;
  const beside = free === null
    ? `Run beside it on another block: no free one found (every even X has a socket bound in 127.X or 127.(X+1)); free one, then ${WORLD_NET_VAR}=127.X npm test.`
    : `Run beside it on another block: ${WORLD_NET_VAR}=127.${free.octet} npm test (or ${WORLD_NET_VAR}=127.${free.octet} node scripts/run-tests.mjs ...): ` +
      `that world takes ${worldBlock(free)}, the daemons under test ${daemonBlock(free)}, and its own directory (${defaultWorldDirName(free)} in the checkout).`;
  if (worlds.length > 0) {
    const other = worlds[0]!;
    lines.push(
      `They belong to another test world, in ${other} (${who.join('; ')}): both use the block ${block}.`,
      beside,
      `Or share it: STUBD_WORLD_DIR=${other} npm test (or STUBD_WORLD_DIR=${other} node scripts/run-tests.mjs ...); the same code's world is reused as it is,`,
      `  a world from other code is restarted for yours (and the other checkout's tests then restart it again).`,
      `Or stop it: STUBD_WORLD_DIR=${other} node dist/test/world/cli.js stop (it stops whoever uses it).`,
    );
  } else {
    const o = net.octet;
    lines.push(
      `No test world of another checkout was found among their holders (${who.join('; ')}): another DNS server listens there.`,
      `Stop it (the world needs 127.${o}.0.1-4:53 and 127.${o}.1.1-2:53 of its block ${block}), or move this world.`,
      beside,
    );
  }
  return lines.join('\n');
}
