/**
 * `dnssec-stubd check-config [--config FILE] [flags]`: everything `serve` reads before it binds, checked without
 * starting anything or touching the state directory: the file and the flags over it, the upstreams (or the
 * resolv.conf nameservers), the trust anchor files, the HTTP token; then what a daemon would use. Exit 0, or 2
 * with the message naming the field. Install and restart paths run it first, so a typo never stops a working
 * daemon.
 */
import { statSync } from 'node:fs';
import { pino } from 'pino';
import { systemClock } from '../clock.js';
import { addressCheckers } from '../config/fields.js';
import { loadConfig, readHttpToken, type CliOverrides } from '../config/load.js';
import { ConfigError, type Config, type ListenAddress } from '../config/schema.js';
import { loadTrustAnchors, resolveUpstreams } from '../daemon/index.js';

const at = (l: ListenAddress): string => (l.address.includes(':') ? `[${l.address}]:${l.port}` : `${l.address}:${l.port}`);

/** The lines `check-config` prints for a good configuration. */
function describeConfig(cfg: Config, upstreams: readonly { address: string; port: number; priority: number }[], anchors: readonly { zone: string; ds: number; dnskeys: number }[]): string[] {
  const out = [
    `listen:       ${cfg.listen.map((l) => `${at(l)} (UDP, TCP)`).join(', ')}`,
    `upstreams:    ${upstreams.map((u) => `${at(u)} priority ${u.priority}`).join(', ')}${cfg.upstreams.length ? '' : ' (from /etc/resolv.conf)'}`,
  ];
  for (const z of cfg.forwardZones) out.push(`forward zone: ${z.suffix} -> ${z.upstreams.map(at).join(', ')}`);
  out.push(
    `allow:        ${cfg.allow.join(', ')}`,
    `trust anchors: ${anchors.map((a) => `${a.zone} (${a.ds} DS, ${a.dnskeys} DNSKEY)`).join(', ')}${cfg.anchorManagement.rfc5011 ? `, RFC 5011 state in ${cfg.stateDir}` : ' (static)'}`,
    `HTTP API:     ${cfg.http.listen.length ? cfg.http.listen.map(at).join(', ') : 'off'}`,
    // install.sh reads this line to raise net.core.rmem_max to it (scripts/raise-rmem.sh).
    `UDP receive buffer: ${cfg.server.udpReceiveBuffer} bytes (server.udpReceiveBuffer${cfg.server.udpReceiveBuffer === 0 ? ': the kernel\'s default' : ''})`,
  );
  if (cfg.negativeTrustAnchors.length) out.push(`negative trust anchors: ${cfg.negativeTrustAnchors.join(', ')}`);
  if (cfg.upstream.insecureFallback.enabled) out.push('insecure fallback: on (no DNSSEC-capable upstream: answers INSECURE, no AD)');
  out.push(`log level:    ${cfg.logLevel}`);
  for (const n of cfg.notices ?? []) out.push(`note: ${n}`);
  return out;
}

export async function checkConfig(cli: CliOverrides): Promise<number> {
  const what = cli.config ?? '(no config file: defaults and flags)';
  try {
    const cfg = loadConfig(cli, addressCheckers);
    const upstreams = await resolveUpstreams(cfg, pino({ level: 'silent' }));
    const anchors = loadTrustAnchors(cfg, systemClock);
    readHttpToken(cfg.http);
    const exposed = cfg.http.listen.find((l) => !/^(127\.|::1$)/.test(l.address));
    if (exposed && cfg.http.token === undefined && cfg.http.tokenFile === undefined) {
      throw new ConfigError('http.listen', `${exposed.address} is not a loopback address: set http.token or http.tokenFile (every route but /healthz then needs it)`);
    }
    try {
      if (!statSync(cfg.stateDir).isDirectory()) throw new ConfigError('stateDir', `${cfg.stateDir} exists and is not a directory`);
    } catch (err) {
      if (err instanceof ConfigError) throw err;
      // Absent: the daemon creates it (mode 0700).
    }
    process.stdout.write(`configuration OK: ${what}\n`);
    for (const line of describeConfig(cfg, upstreams, anchors.map((a) => ({ zone: a.zone.toText(), ds: a.ds.length, dnskeys: a.dnskeys.length })))) {
      process.stdout.write(`  ${line}\n`);
    }
    return 0;
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`dnssec-stubd check-config: ${what}: ${err.message}\n`);
    return 2;
  }
}
