/** Pure parts of the pool: hold-down arithmetic, try order, failure summaries, TCP framing. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Rcode } from '../../src/wire/index.js';
import { DEFAULT_HOLD_DOWN, UpstreamState, holdDownMs, tryOrder } from '../../src/upstream/state.js';
import { failureReason, type Attempt, type AttemptOutcome } from '../../src/upstream/result.js';
import { FrameDecoder, frame } from '../../src/wire/framing.js';

describe('hold-down', () => {
  it('grows exponentially and is capped', () => {
    const p = { initialMs: 1000, factor: 2, maxMs: 10_000 };
    assert.deepEqual([1, 2, 3, 4, 5, 6].map((n) => holdDownMs(p, n)), [1000, 2000, 4000, 8000, 10_000, 10_000]);
  });

  it('counts a burst of failures from exchanges already under way as one', () => {
    const s = new UpstreamState({ address: '192.0.2.1', port: 53, priority: 1 }, 0, DEFAULT_HOLD_DOWN);
    assert.deepEqual(s.recordFailure(1000, 900, { kind: 'timeout' }), { kind: 'marked-down', until: 6000, consecutiveFailures: 1 });
    assert.deepEqual(s.recordFailure(1001, 950, { kind: 'timeout' }), { kind: 'already-counted' });
    assert.equal(s.isHeldDown(5999), true);
    assert.equal(s.isHeldDown(6000), false);
    // A retry after the hold-down that fails again doubles it.
    assert.deepEqual(s.recordFailure(6100, 6000, { kind: 'timeout' }), { kind: 'marked-down', until: 16_100, consecutiveFailures: 2 });
    s.recordAnswer(20_000, 12);
    assert.equal(s.health.kind, 'up');
    assert.equal(s.downUntil(), null);
    assert.deepEqual(s.recordFailure(21_000, 20_500, { kind: 'timeout' }), { kind: 'marked-down', until: 26_000, consecutiveFailures: 1 });
  });

  it('orders available upstreams by priority, then held-down ones', () => {
    const mk = (address: string, priority: number, i: number): UpstreamState =>
      new UpstreamState({ address, port: 53, priority }, i, DEFAULT_HOLD_DOWN);
    const a = mk('192.0.2.1', 1, 0);
    const b = mk('192.0.2.2', 2, 1);
    const c = mk('192.0.2.3', 2, 2);
    const d = mk('192.0.2.4', 3, 3);
    a.recordFailure(0, 0, { kind: 'timeout' });
    d.recordFailure(0, 0, { kind: 'timeout' });
    assert.deepEqual(tryOrder([d, c, b, a], 100).map((s) => s.config.address), ['192.0.2.2', '192.0.2.3', '192.0.2.1', '192.0.2.4']);
    assert.deepEqual(tryOrder([d, c, b, a], 10_000).map((s) => s.config.address), ['192.0.2.1', '192.0.2.2', '192.0.2.3', '192.0.2.4']);
  });

  it('exposes a frozen snapshot', () => {
    const s = new UpstreamState({ address: '192.0.2.1', port: 53, priority: 1 }, 0, DEFAULT_HOLD_DOWN);
    const snap = s.snapshot();
    assert.ok(Object.isFrozen(snap) && Object.isFrozen(snap.counters));
    assert.deepEqual(snap.dnssec, { kind: 'unprobed' });
    assert.equal(snap.health.kind, 'unknown');
  });
});

describe('failureReason', () => {
  const at = (outcome: AttemptOutcome): Attempt => ({
    upstream: 'x', priority: 1, transport: 'udp', tcpFallback: false, wasHeldDown: false, round: 0, timeoutMs: 1,
    startedAt: 0, elapsedMs: 1, outcome, ignoredPackets: 0,
  });
  const neterr: AttemptOutcome = { kind: 'network-error', error: { phase: 'receive', code: 'ECONNREFUSED', message: '' } };
  it('summarizes', () => {
    assert.equal(failureReason([]), 'no-upstreams');
    assert.equal(failureReason([at({ kind: 'timeout' }), at({ kind: 'timeout' })]), 'timeout');
    assert.equal(failureReason([at(neterr)]), 'network-error');
    assert.equal(failureReason([at(neterr), at({ kind: 'timeout' })]), 'unreachable');
    assert.equal(failureReason([at({ kind: 'rcode-failure', rcode: Rcode.SERVFAIL }), at({ kind: 'timeout' })]), 'all-servfail');
    assert.equal(failureReason([at({ kind: 'rcode-failure', rcode: Rcode.REFUSED })]), 'all-refused');
    assert.equal(failureReason([at({ kind: 'rcode-failure', rcode: Rcode.REFUSED }), at({ kind: 'rcode-failure', rcode: Rcode.SERVFAIL })]), 'error-rcodes');
  });
});

describe('TCP framing', () => {
  const msgs = [new Uint8Array([1, 2, 3]), new Uint8Array(0), new Uint8Array(300).fill(7), new Uint8Array([9])];
  const stream = new Uint8Array(msgs.reduce((n, m) => n + m.length + 2, 0));
  let o = 0;
  for (const m of msgs) {
    stream.set(frame(m), o);
    o += m.length + 2;
  }

  for (const size of [1, 2, 3, 5, 64, 1000]) {
    it(`reassembles messages from ${size}-octet chunks`, () => {
      const d = new FrameDecoder();
      const out: Uint8Array[] = [];
      for (let i = 0; i < stream.length; i += size) out.push(...d.pushAll(Buffer.from(stream.subarray(i, i + size))));
      assert.deepEqual(out.map((m) => Array.from(m)), msgs.map((m) => Array.from(m)));
      assert.equal(d.buffered, 0);
    });
  }

  it('keeps an incomplete message pending', () => {
    const d = new FrameDecoder();
    assert.deepEqual(d.pushAll(Buffer.from([0, 5, 1, 2])), []);
    assert.equal(d.buffered, 4);
  });

  it('refuses to frame an oversized message', () => {
    assert.throws(() => frame(new Uint8Array(70_000)), RangeError);
  });
});
