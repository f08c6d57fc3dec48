/** ClockStepWatch: a step of the injected clock against the monotonic one, with both injected. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ManualClock } from '../../src/clock.js';
import { ClockStepWatch } from '../../src/daemon/clock-step.js';

function setup(): { clock: ManualClock; mono: { t: number }; steps: number[]; watch: ClockStepWatch } {
  const clock = new ManualClock(Date.UTC(2027, 11, 2));
  const mono = { t: 1000 };
  const steps: number[] = [];
  const watch = new ClockStepWatch({ clock: { now: () => clock.now(), monotonic: () => mono.t }, onStep: (s) => steps.push(s) });
  return { clock, mono, steps, watch };
}

describe('ClockStepWatch', () => {
  it('finds a step back (NTP correcting a clock a year ahead) and a step forward (a clock from 1970 set)', () => {
    const { clock, mono, steps, watch } = setup();
    mono.t += 1000;
    clock.advance(1000);
    assert.equal(watch.check(), 0);
    clock.advance(-365 * 86_400_000);
    assert.equal(watch.check(), -365 * 86_400_000);
    assert.equal(watch.check(), 0, 'told once');
    clock.advance(20_000 * 86_400_000);
    assert.equal(watch.check(), 20_000 * 86_400_000);
    assert.deepEqual(steps, [-365 * 86_400_000, 20_000 * 86_400_000]);
  });

  it('an event-loop stall moves both clocks: no step', () => {
    const { clock, mono, steps, watch } = setup();
    mono.t += 120_000;
    clock.advance(120_000);
    assert.equal(watch.check(), 0);
    assert.deepEqual(steps, []);
  });

  it('drift is followed and never adds up to a step; 30 s at once is the threshold', () => {
    const { clock, mono, steps, watch } = setup();
    for (let i = 0; i < 100; i++) {
      mono.t += 1000;
      clock.advance(1000 + 500); // 50% fast: far more than any NTP slew
      watch.check();
    }
    assert.deepEqual(steps, []);
    clock.advance(30_000);
    assert.equal(watch.check(), 0);
    clock.advance(30_001);
    assert.equal(watch.check(), 30_001);
  });
});
