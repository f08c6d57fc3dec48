/**
 * Is the system clock wrong? A clock far off (a year ahead, or back in 1970 after a dead RTC battery) makes
 * every signature look expired or not yet valid, and every DNSSEC answer SERVFAIL: mail gateways have lost all
 * their DANE mail this way, with logs that only say "signature expired" for zone after zone.
 *
 * The validator stays pure (a clock in, verdicts with reasons out); this watches the verdicts the resolver gets:
 *
 *  - a SECURE verdict: the zones whose keys it validated had signatures within their validity ("within");
 *  - a BOGUS verdict for a signature time (`signature-expired`, `signature-not-yet-valid`): the signer zone and
 *    the signature's validity, and the validity of every RRSIG of the upstream's answer (by signer), placed
 *    against the clock: "ahead" (now is after the expiration: the clock may be ahead) or "behind".
 *
 * The latest placement of each zone seen in the last `windowMs` (an hour) counts. The clock looks wrong in one direction
 * when at least `minZones` zones (3), a trust anchor's among them (the root's, for the shipped anchors), are
 * placed that way and they are at least twice as many as the zones within their validity. One zone whose
 * signatures expired is a bogus zone, not a clock (it never names the anchor), and a genuinely expired root
 * alone is one zone while every other zone's signatures stay within. The windows also bound the clock's error:
 * if the clock is ahead, the true time lies inside each zone's validity, so the error lies between now minus
 * the expiration and now minus the inception, for every zone at once.
 *
 * What this says is a diagnosis, never trust: expired data stays BOGUS. It is an error log line naming the clock
 * (repeated at most every `repeatMs` while it lasts, and an info line when it ends), a note the resolver adds to
 * the EDE text of such SERVFAIL answers, and `status()` for the status API.
 */
import type { Clock } from '../clock.js';
import type { Logger } from '../log.js';
import { serialDiff } from '../validator/rrsig.js';
import { DEFAULT_SKEW, type SkewPolicy, type Verdict } from '../validator/types.js';
import { RRType, type Message, type RR, type RRSIGData } from '../wire/index.js';

/** Which way the clock looks wrong: ahead (signatures look expired) or behind (not yet valid). */
export type ClockDirection = 'ahead' | 'behind';

type Placement = ClockDirection | 'within';

/** One zone placed outside its signatures' validity. Times are ISO 8601. */
export interface ClockZoneEvidence {
  readonly zone: string;
  readonly inception: string;
  readonly expiration: string;
  /** When it was last seen so (by the clock in question). */
  readonly seenAt: string;
}

export interface ClockEvidence {
  /** What the system clock said when this was assessed. */
  readonly systemTime: string;
  /** Zones whose signatures were outside their validity in `direction` (the dominant one when not suspect). */
  readonly zones: readonly ClockZoneEvidence[];
  /** Zones whose signatures were within their validity in the same period. */
  readonly zonesWithin: number;
  /** How far off the clock is, as the zones' validity periods bound it (seconds); null when they do not agree. */
  readonly offsetSeconds: { readonly min: number; readonly max: number } | null;
}

export type ClockStatus =
  | { readonly suspect: false; readonly direction: null; readonly evidence: ClockEvidence }
  | { readonly suspect: true; readonly direction: ClockDirection; readonly evidence: ClockEvidence; readonly message: string };

export interface ClockSanityOptions {
  readonly clock: Clock;
  readonly logger?: Logger;
  /** The trust anchors' zones, as text ("." for the root): one must be among the zones outside. */
  readonly anchors: () => readonly string[];
  /** Observations older than this are forgotten (default 1 hour); the latest of each zone counts until then. */
  readonly windowMs?: number;
  /** Zones outside their validity in one direction needed, an anchor's included (default 3). */
  readonly minZones?: number;
  /** The error line repeats at most this often while the clock looks wrong (default 5 minutes). */
  readonly repeatMs?: number;
  /** Zones remembered, the least recently seen dropped first (default 512). */
  readonly maxZones?: number;
  /** A raw RRSIG is placed outside only beyond the validator's skew allowance (default: the validator's default). */
  readonly skew?: SkewPolicy;
}

interface Observation {
  readonly placement: Placement;
  readonly inception: number;
  readonly expiration: number;
  readonly at: number;
}

const DAY = 86_400;

/** "about 3 hours", "12 days": a duration in seconds for a log line. */
export function roughDuration(seconds: number): string {
  const s = Math.abs(seconds);
  if (s >= 730 * DAY) return `${(s / (365.25 * DAY)).toFixed(1)} years`;
  if (s >= 2 * DAY) return `${Math.round(s / DAY)} days`;
  if (s >= 7200) return `${Math.round(s / 3600)} hours`;
  if (s >= 120) return `${Math.round(s / 60)} minutes`;
  return `${Math.round(s)} seconds`;
}

const iso = (ms: number): string => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
const sigIso = (t: number): string => iso((t >>> 0) * 1000);

/**
 * One assessment: the zones placed each way within the window and the decision, without any text (the hot part:
 * it runs for every BOGUS verdict for a signature time). The evidence and the message are built from it only
 * when they are read: status(), a log line, an EDE note.
 */
interface Assessment {
  readonly nowMs: number;
  readonly direction: ClockDirection;
  readonly outside: [string, Observation][];
  readonly within: number;
  readonly anchors: ReadonlySet<string>;
  readonly suspect: boolean;
  /** An anchor's zone is among the zones within their validity. */
  readonly anchorWithin: boolean;
}

export class ClockSanity {
  private readonly zones = new Map<string, Observation>();
  private readonly windowMs: number;
  private readonly minZones: number;
  private readonly repeatMs: number;
  private readonly maxZones: number;
  private readonly skew: SkewPolicy;
  private suspectSince: number | undefined;
  private lastLogAt = -Infinity;
  private current: Assessment | undefined;

  constructor(private readonly opts: ClockSanityOptions) {
    this.windowMs = opts.windowMs ?? 3_600_000;
    this.minZones = Math.max(2, opts.minZones ?? 3);
    this.repeatMs = opts.repeatMs ?? 300_000;
    this.maxZones = opts.maxZones ?? 512;
    this.skew = opts.skew ?? DEFAULT_SKEW;
  }

  /** One verdict the resolver got, with the upstream's answer it judged. */
  observe(v: Verdict, message?: Message): void {
    if (v.security === 'secure') {
      let any = false;
      for (const step of v.trail) {
        if (step.step === 'keys' && step.security === 'secure') any = this.note(step.zone, 'within', 0, 0) || any;
      }
      // Only a change can end a suspicion: a zone that was outside is within now.
      if (any && this.suspectSince !== undefined) this.assess();
      return;
    }
    if (v.security !== 'bogus') return;
    const r = v.reason;
    if (r.kind !== 'signature-expired' && r.kind !== 'signature-not-yet-valid') return;
    this.note(r.signer, r.kind === 'signature-expired' ? 'ahead' : 'behind', r.inception, r.expiration);
    if (message) this.noteSignatures([...message.answer, ...message.authority]);
    this.assess();
  }

  /** The clock's state now, for the status API (assessed on every call). */
  status(): ClockStatus {
    return statusOf(this.assess());
  }

  /** The note for the EDE text of an answer BOGUS for a signature time while the clock looks wrong; undefined otherwise. */
  edeNote(v: Verdict): string | undefined {
    if (v.security !== 'bogus' || (v.reason.kind !== 'signature-expired' && v.reason.kind !== 'signature-not-yet-valid')) return undefined;
    const c = this.current;
    if (!c?.suspect) return undefined;
    const how = c.direction === 'ahead' ? 'expired' : 'not yet valid';
    return `system clock looks wrong: it says ${iso(c.nowMs)}, ${offsetText(offsetOf(c))} ${c.direction}` +
      ` (the signatures of ${c.outside.length} zones, the root's included, look ${how})`;
  }

  /** Place every RRSIG's validity against the clock, one placement per signer (outside wins over within). */
  private noteSignatures(rrs: readonly RR[]): void {
    const now = Math.floor(this.opts.clock.now() / 1000);
    const seen = new Map<string, Observation>();
    for (const rr of rrs) {
      if (rr.type !== RRType.RRSIG) continue;
      const d = rr.data as RRSIGData;
      const period = Math.max(0, serialDiff(d.expiration, d.inception));
      const skew = Math.min(this.skew.maxSeconds, Math.max(this.skew.minSeconds, period * this.skew.fraction));
      const placement: Placement = serialDiff(now, d.expiration) > skew ? 'ahead' : serialDiff(d.inception, now) > skew ? 'behind' : 'within';
      const zone = d.signer.toText();
      const before = seen.get(zone);
      if (!before || before.placement === 'within') seen.set(zone, { placement, inception: d.inception, expiration: d.expiration, at: 0 });
    }
    for (const [zone, o] of seen) this.note(zone, o.placement, o.inception, o.expiration);
  }

  /** Record a zone's latest placement; returns whether it changed. */
  private note(zone: string, placement: Placement, inception: number, expiration: number): boolean {
    const key = zone.toLowerCase();
    const before = this.zones.get(key);
    this.zones.delete(key);
    this.zones.set(key, { placement, inception, expiration, at: this.opts.clock.now() });
    if (this.zones.size > this.maxZones) this.zones.delete(this.zones.keys().next().value!);
    return before?.placement !== placement;
  }

  private assess(): Assessment {
    const nowMs = this.opts.clock.now();
    const byPlacement: Record<Placement, [string, Observation][]> = { ahead: [], behind: [], within: [] };
    for (const [zone, o] of this.zones) {
      const age = nowMs - o.at;
      // Forgotten when old, or when the clock went back past it (it was seen by a clock that was wrong).
      if (age > this.windowMs || age < -60_000) {
        this.zones.delete(zone);
        continue;
      }
      byPlacement[o.placement].push([zone, o]);
    }
    const direction: ClockDirection = byPlacement.ahead.length >= byPlacement.behind.length ? 'ahead' : 'behind';
    const outside = byPlacement[direction];
    const within = byPlacement.within.length;
    const anchors = new Set(this.opts.anchors().map((a) => a.toLowerCase()));
    const suspect = outside.length >= this.minZones && outside.length >= 2 * within && outside.some(([zone]) => anchors.has(zone));
    const a: Assessment = { nowMs, direction, outside, within, anchors, suspect, anchorWithin: byPlacement.within.some(([zone]) => anchors.has(zone)) };
    this.report(a);
    this.current = a;
    return a;
  }

  private report(a: Assessment): void {
    const log = this.opts.logger;
    const nowMs = a.nowMs;
    if (a.suspect) {
      if (this.suspectSince === undefined) this.suspectSince = nowMs;
      if (nowMs - this.lastLogAt >= this.repeatMs || nowMs < this.lastLogAt) {
        this.lastLogAt = nowMs;
        const status = statusOf(a);
        if (!status.suspect) return;
        log?.error({
          clock: { direction: status.direction, systemTime: status.evidence.systemTime, offsetSeconds: status.evidence.offsetSeconds },
          zones: status.evidence.zones.map((z) => z.zone), zonesWithin: status.evidence.zonesWithin,
        }, status.message);
      }
      return;
    }
    if (this.suspectSince !== undefined) {
      this.suspectSince = undefined;
      this.lastLogAt = -Infinity;
      if (a.anchorWithin) log?.info({ zonesWithin: a.within }, 'system clock looks right again: signatures validate within their validity');
      else log?.info({}, 'system clock: no current evidence that it is wrong any more');
    }
  }
}

/** The clock's error bounds of an assessment (see offsetBounds). */
function offsetOf(a: Assessment): ClockEvidence['offsetSeconds'] {
  return offsetBounds(a.outside.map(([, o]) => o), Math.floor(a.nowMs / 1000), a.direction);
}

/** The status (evidence and message) of an assessment: the anchors' zones first, then by name. */
function statusOf(a: Assessment): ClockStatus {
  const { anchors } = a;
  const evidence: ClockEvidence = {
    systemTime: iso(a.nowMs),
    zones: [...a.outside]
      .sort(([x], [y]) => Number(anchors.has(y)) - Number(anchors.has(x)) || (x < y ? -1 : x > y ? 1 : 0))
      .map(([zone, o]) => ({ zone, inception: sigIso(o.inception), expiration: sigIso(o.expiration), seenAt: iso(o.at) })),
    zonesWithin: a.within,
    offsetSeconds: offsetOf(a),
  };
  return a.suspect
    ? { suspect: true, direction: a.direction, evidence, message: clockMessage(a.direction, evidence) }
    : { suspect: false, direction: null, evidence };
}

/**
 * The clock's error as every zone's validity bounds it, in seconds (ahead: now minus the expiration to now minus
 * the inception; behind: the inception minus now to the expiration minus now); null when they do not overlap.
 */
function offsetBounds(obs: readonly Observation[], now: number, direction: ClockDirection): { min: number; max: number } | null {
  if (obs.length === 0) return null;
  let min = -Infinity;
  let max = Infinity;
  for (const o of obs) {
    const lo = direction === 'ahead' ? serialDiff(now, o.expiration) : serialDiff(o.inception, now);
    const hi = direction === 'ahead' ? serialDiff(now, o.inception) : serialDiff(o.expiration, now);
    min = Math.max(min, lo);
    max = Math.min(max, hi);
  }
  return min <= max && min > 0 ? { min, max } : null;
}

/** "about 3 hours", "between 300 days and 367 days", "far" (the zones' windows disagree). */
function offsetText(off: ClockEvidence['offsetSeconds']): string {
  if (!off) return 'far';
  return off.max - off.min <= 3600 ? `about ${roughDuration(off.min)}` : `between ${roughDuration(off.min)} and ${roughDuration(off.max)}`;
}

function clockMessage(direction: ClockDirection, e: ClockEvidence): string {
  const by = offsetText(e.offsetSeconds);
  const names = e.zones.map((z) => z.zone);
  const shown = names.length > 6 ? `${names.slice(0, 6).join(', ')}, ...` : names.join(', ');
  const how = direction === 'ahead' ? 'expired' : 'not yet valid';
  return `system clock looks wrong: it says ${e.systemTime}, and the signatures of ${names.length} unrelated zones (${shown}) all look ${how}` +
    ` (${e.zonesWithin} within their validity): the clock seems ${by} ${direction}. Every DNSSEC answer is SERVFAIL until the clock is` +
    ' corrected (check NTP: timedatectl, chronyc tracking); expired data is never trusted';
}
