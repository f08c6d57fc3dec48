/**
 * `dnssec-stubd anchors [--state-dir DIR] [--json]`: the RFC 5011 state of every managed anchor zone, read
 * from the state directory without touching it (usable while the daemon runs): each key with its tag,
 * algorithm, state, first and last seen, the end of its hold-down, and the zone's last refresh.
 * Exit 0 when every zone has a trusted key, 1 otherwise (and when there is no state at all).
 */
import { systemClock } from '../clock.js';
import { addressCheckers } from '../config/fields.js';
import { loadConfig, type CliOverrides } from '../config/load.js';
import { describeAnchorStates, type AnchorZoneReport } from '../daemon/index.js';

const iso = (ms: number | undefined): string => (ms === undefined ? '-' : new Date(ms).toISOString().replace('.000Z', 'Z'));

export function formatAnchors(stateDir: string, zones: readonly AnchorZoneReport[]): string {
  const out: string[] = [`state directory: ${stateDir}`];
  if (zones.length === 0) out.push('no managed anchor zone (no state file)');
  for (const z of zones) {
    out.push('');
    out.push(`zone ${z.zone}: ${z.problem ?? `${z.trusted} trusted key${z.trusted === 1 ? '' : 's'}`}${z.path ? ` (${z.path})` : ''}`);
    if (z.lastRefresh) out.push(`  last refresh ${iso(z.lastRefresh.at)}: ${z.lastRefresh.result}`);
    if (z.keys.length) out.push('  key tag  alg  state    first seen            last seen             hold-down ends');
    for (const k of z.keys) {
      const tag = k.keyTag === k.keyTagUnrevoked ? `${k.keyTag}` : `${k.keyTag} (was ${k.keyTagUnrevoked})`;
      out.push(`  ${tag.padEnd(8)} ${String(k.algorithm).padEnd(4)} ${k.state.padEnd(8)} ${iso(k.firstSeen).padEnd(21)} ${iso(k.lastSeen).padEnd(21)} ${iso(k.holdDownEnd)}`);
    }
  }
  return out.join('\n') + '\n';
}

export async function anchors(cli: CliOverrides & { json?: boolean }): Promise<number> {
  const cfg = loadConfig(cli, addressCheckers);
  const zones = await describeAnchorStates(cfg, systemClock);
  if (cli.json) process.stdout.write(JSON.stringify({ stateDir: cfg.stateDir, zones }, null, 2) + '\n');
  else process.stdout.write(formatAnchors(cfg.stateDir, zones));
  return zones.length > 0 && zones.every((z) => z.trusted > 0) ? 0 : 1;
}
