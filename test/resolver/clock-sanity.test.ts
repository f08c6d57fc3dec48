/**
 * ClockSanity with an injected clock: the verdicts of a resolver whose clock is a year ahead, or back in 1970,
 * against a control where one zone's signatures really expired. Signature windows are those of a zone signed
 * on SIGNED for 30 days (inception an hour earlier).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ManualClock } from '../../src/clock.js';
import type { Logger } from '../../src/log.js';
import { ClockSanity, roughDuration } from '../../src/resolver/clock-sanity.js';
import type { TrailStep, Verdict } from '../../src/validator/types.js';
import { Name, RRType, makeRR, type Message, type RR, type RRSIGData } from '../../src/wire/index.js';

const DAY = 86_400_000;
const SIGNED = Date.UTC(2026, 11, 2, 12, 0, 0);
const INCEPTION = SIGNED / 1000 - 3600;
const EXPIRATION = SIGNED / 1000 + 30 * 86_400;

interface Line { level: string; obj: object; msg: string }

function recorder(): { logger: Logger; lines: Line[] } {
  const lines: Line[] = [];
  const at = (level: string) => (obj: object, msg?: string): void => {
    lines.push({ level, obj, msg: msg ?? '' });
  };
  return { logger: { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') }, lines };
}

function sanity(clock: ManualClock, anchors = ['.']): { s: ClockSanity; lines: Line[] } {
  const { logger, lines } = recorder();
  return { s: new ClockSanity({ clock, logger, anchors: () => anchors }), lines };
}

function rrsig(owner: string, signer: string, inception = INCEPTION, expiration = EXPIRATION): RR {
  const data: RRSIGData = {
    typeCovered: RRType.A, algorithm: 13, labels: Name.fromText(owner).labelCount, originalTtl: 300, expiration, inception,
    keyTag: 4242, signer: Name.fromText(signer), signature: new Uint8Array(64),
  };
  return makeRR(Name.fromText(owner), RRType.RRSIG, 300, data);
}

function message(answer: RR[]): Message {
  return {
    id: 1, opcode: 0, rcode: 0, question: [], answer, authority: [], additional: [],
    flags: { qr: true, aa: false, tc: false, rd: true, ra: true, z: false, ad: false, cd: true },
  };
}

/** BOGUS because a signature of `signer` is outside its validity, the way the validator says it. */
function timeBogus(signer: string, kind: 'signature-expired' | 'signature-not-yet-valid' = 'signature-expired', inception = INCEPTION, expiration = EXPIRATION): Verdict {
  return { security: 'bogus', kind: 'positive', trail: [], reason: { kind, name: signer, type: 'DNSKEY', keyTag: 20326, inception, expiration, signer } };
}

function secure(...zones: string[]): Verdict {
  const trail: TrailStep[] = zones.map((zone) => ({ step: 'keys', zone, security: 'secure', keyTags: [1], via: 'ds' }));
  return { security: 'secure', kind: 'positive', trail, ttlCap: undefined };
}

/** A query under a wrong clock: the chain fails at the root, and the answer's own RRSIG is by `zone`. */
function wrongClockQuery(s: ClockSanity, zone: string, kind: 'signature-expired' | 'signature-not-yet-valid' = 'signature-expired'): Verdict {
  const v = timeBogus('.', kind);
  s.observe(v, message([rrsig(`www.${zone}`, zone)]));
  return v;
}

describe('ClockSanity: a clock a year ahead', () => {
  it('is suspected once the root and two unrelated zones look expired, with the offset the windows allow', () => {
    const clock = new ManualClock(SIGNED + 365 * DAY);
    const { s, lines } = sanity(clock);
    wrongClockQuery(s, 'alg8.test.');
    assert.equal(s.status().suspect, false, 'two zones are not a pattern yet');
    assert.equal(lines.length, 0);
    const v = wrongClockQuery(s, 'alg13.test.');
    const st = s.status();
    assert.equal(st.suspect, true);
    assert.equal(st.direction, 'ahead');
    assert.deepEqual(st.evidence.zones.map((z) => z.zone), ['.', 'alg13.test.', 'alg8.test.'], 'the anchor first, then by name');
    assert.equal(st.evidence.zones[0]!.expiration, new Date(EXPIRATION * 1000).toISOString().replace('.000Z', 'Z'));
    // The true time is within [inception, expiration]: 335 days (now - expiration) to 365 days + 1 hour ahead.
    assert.deepEqual(st.evidence.offsetSeconds, { min: (365 - 30) * 86_400, max: 365 * 86_400 + 3600 });
    const errors = lines.filter((l) => l.level === 'error');
    assert.equal(errors.length, 1);
    assert.match(errors[0]!.msg, /^system clock looks wrong: it says 2027-12-02T12:00:00Z, and the signatures of 3 unrelated zones \(.*\) all look expired .*between 335 days and 365 days ahead/);
    assert.match(errors[0]!.msg, /check NTP/);
    const note = s.edeNote(v);
    assert.match(note ?? '', /^system clock looks wrong: it says 2027-12-02T12:00:00Z, between 335 days and 365 days ahead \(the signatures of 3 zones, the root's included, look expired\)$/);
  });

  it('repeats its error line at most every 5 minutes while it lasts, and says when the clock is right again', () => {
    const clock = new ManualClock(SIGNED + 365 * DAY);
    const { s, lines } = sanity(clock);
    for (const z of ['a.test.', 'b.test.', 'c.test.']) wrongClockQuery(s, z);
    for (let i = 0; i < 50; i++) {
      clock.advance(10_000);
      wrongClockQuery(s, `z${i}.test.`);
    }
    // 500 s: the first line, and one more at 300 s.
    assert.equal(lines.filter((l) => l.level === 'error').length, 2);
    s.status();
    assert.equal(lines.filter((l) => l.level === 'error').length, 2);
    // NTP steps the clock back: what was seen "in the future" is forgotten, and the root validates again.
    clock.set(SIGNED + DAY);
    s.observe(secure('.', 'test.', 'alg8.test.'));
    assert.equal(s.status().suspect, false);
    const info = lines.filter((l) => l.level === 'info');
    assert.equal(info.length, 1);
    assert.match(info[0]!.msg, /^system clock looks right again/);
    assert.equal(s.edeNote(timeBogus('.')), undefined);
  });

  it('gives no note for answers BOGUS for other reasons', () => {
    const clock = new ManualClock(SIGNED + 365 * DAY);
    const { s } = sanity(clock);
    for (const z of ['a.test.', 'b.test.', 'c.test.']) wrongClockQuery(s, z);
    assert.equal(s.status().suspect, true);
    const other: Verdict = { security: 'bogus', kind: 'positive', trail: [], reason: { kind: 'signature-invalid', name: 'x.', type: 'A', keyTag: 1 } };
    assert.equal(s.edeNote(other), undefined);
    assert.ok(s.edeNote(timeBogus('.')));
  });
});

describe('ClockSanity: a clock back in 1970', () => {
  it('sees every signature not yet valid: behind, by about the time since 1970', () => {
    const clock = new ManualClock(Date.UTC(1970, 0, 15));
    const { s, lines } = sanity(clock);
    for (const z of ['alg8.test.', 'alg13.test.', 'nsec3-salt.test.']) wrongClockQuery(s, z, 'signature-not-yet-valid');
    const st = s.status();
    assert.equal(st.suspect, true);
    assert.equal(st.direction, 'behind');
    assert.equal(st.evidence.zones.length, 4);
    const off = st.evidence.offsetSeconds!;
    assert.equal(off.min, INCEPTION - Date.UTC(1970, 0, 15) / 1000);
    assert.equal(off.max, EXPIRATION - Date.UTC(1970, 0, 15) / 1000);
    assert.match(lines.find((l) => l.level === 'error')!.msg, /it says 1970-01-15T00:00:00Z, .* all look not yet valid .* behind/);
  });
});

describe('ClockSanity: not a clock', () => {
  it('one zone whose signatures expired, among zones that validate, is a bogus zone (the control)', () => {
    const clock = new ManualClock(SIGNED + DAY);
    const { s, lines } = sanity(clock);
    const expiredZone = (): void => s.observe(
      timeBogus('bogus-expired.test.', 'signature-expired', INCEPTION - 60 * 86_400, INCEPTION - 30 * 86_400),
      message([rrsig('www.bogus-expired.test.', 'bogus-expired.test.', INCEPTION - 60 * 86_400, INCEPTION - 30 * 86_400)]),
    );
    for (let i = 0; i < 20; i++) {
      expiredZone();
      s.observe(secure('.', 'test.', `alg${i}.test.`));
    }
    const st = s.status();
    assert.equal(st.suspect, false);
    assert.deepEqual(st.evidence.zones.map((z) => z.zone), ['bogus-expired.test.']);
    assert.deepEqual(lines, []);
  });

  it('many expired zones without the trust anchor\'s is not the clock either', () => {
    const clock = new ManualClock(SIGNED + 365 * DAY);
    const { s } = sanity(clock);
    for (const z of ['a.test.', 'b.test.', 'c.test.', 'd.test.']) s.observe(timeBogus(z), message([rrsig(`www.${z}`, z)]));
    assert.equal(s.status().suspect, false);
  });

  it('an expired root while the other zones\' signatures are within their validity is not the clock', () => {
    const clock = new ManualClock(SIGNED + DAY);
    const { s } = sanity(clock);
    const rootExpired = (): Verdict => timeBogus('.', 'signature-expired', INCEPTION - 60 * 86_400, INCEPTION - 30 * 86_400);
    for (const z of ['a.test.', 'b.test.', 'c.test.', 'd.test.']) s.observe(rootExpired(), message([rrsig(`www.${z}`, z)]));
    const st = s.status();
    assert.equal(st.suspect, false);
    assert.equal(st.evidence.zones.length, 1);
    assert.equal(st.evidence.zonesWithin, 4);
  });

  it('with another trust anchor, that anchor\'s zone is the one that must be among them', () => {
    const clock = new ManualClock(SIGNED + 365 * DAY);
    const { s } = sanity(clock, ['corp.example.']);
    for (const z of ['a.test.', 'b.test.', 'c.test.']) wrongClockQuery(s, z);
    assert.equal(s.status().suspect, false, 'the root is no anchor here');
    s.observe(timeBogus('corp.example.'));
    assert.equal(s.status().suspect, true);
  });
});

describe('roughDuration', () => {
  it('says seconds, minutes, hours or days', () => {
    assert.deepEqual([30, 600, 5 * 3600, 3 * 86_400, 57 * 365.25 * 86_400].map(roughDuration), ['30 seconds', '10 minutes', '5 hours', '3 days', '57.0 years']);
  });
});
