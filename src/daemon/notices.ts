/**
 * What a new user must hear once, after the first probes: that no configured upstream can serve DNSSEC
 * validation (each with its state and evidence), what that does to every answer, and what to do about it.
 */
import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import type { RouteSnapshot } from '../upstream/router.js';

export interface ValidationNotice {
  /** null: the global upstreams; else the forward zone. */
  readonly suffix: string | null;
  readonly upstreams: readonly { upstream: string; state: string; evidence: string }[];
  readonly message: string;
}

/** The routes none of whose upstreams is DNSSEC-capable, each with the words for it (empty: all is well). */
export function validationNotices(routes: readonly RouteSnapshot[], cfg: Config): ValidationNotice[] {
  const out: ValidationNotice[] = [];
  for (const r of routes) {
    if (r.health.length === 0 || r.health.some((h) => h.state === 'DNSSEC-CAPABLE')) continue;
    const upstreams = r.health.map((h) => ({ upstream: h.upstream, state: h.state, evidence: h.summary }));
    const list = upstreams.map((u) => `${u.upstream} is ${u.state} (${u.evidence})`).join('; ');
    const fallback = cfg.upstream.insecureFallback;
    let message: string;
    if (r.suffix === null) {
      const effect = fallback.enabled
        ? 'every answer will be INSECURE (no AD bit, so an MTA does no DANE) until one can'
        : 'every answer will be SERVFAIL (EDE 22, "no DNSSEC-capable upstream reachable") until one can';
      const todo = fallback.enabled
        ? 'name a DNSSEC-capable resolver (`upstreams:` in the config file, or --upstream ADDR[:PORT]; e.g. a local Unbound or BIND)'
        : 'name a DNSSEC-capable resolver (`upstreams:` in the config file, or --upstream ADDR[:PORT]; e.g. a local Unbound or BIND), ' +
          'or accept answers without validation with --insecure-fallback (`upstream.insecureFallback.enabled: true`; no AD bit, so no DANE)';
      message = `NO CONFIGURED UPSTREAM CAN SERVE DNSSEC VALIDATION: ${list}. ${cap(effect)}. To fix it: ${todo}; ` +
        'the probes run again every upstream.probeIntervalMs, and `dnssec-stubd` says when an upstream becomes DNSSEC-capable';
    } else {
      message = `forward zone ${r.suffix}: none of its upstreams can serve DNSSEC validation: ${list}. Names under ${r.suffix} will be ` +
        `SERVFAIL until one can (unless a negative trust anchor or upstream.insecureFallback.domains covers them): name a DNSSEC-capable ` +
        `resolver for it in forwardZones (--upstream-for ${r.suffix}=ADDR)`;
    }
    out.push({ suffix: r.suffix, upstreams, message });
  }
  return out;
}

const cap = (s: string): string => s.charAt(0).toUpperCase() + s.slice(1);

/** Log the notices (error level), and write them to a terminal's stderr too; returns how many there were. */
export function reportValidationCapability(routes: readonly RouteSnapshot[], cfg: Config, log: Logger): number {
  const notices = validationNotices(routes, cfg);
  for (const n of notices) {
    log.error({ forwardZone: n.suffix ?? undefined, upstreams: n.upstreams, insecureFallback: cfg.upstream.insecureFallback.enabled }, n.message);
    if (process.stderr.isTTY) process.stderr.write(`\ndnssec-stubd: ${n.message}\n\n`);
  }
  return notices.length;
}
