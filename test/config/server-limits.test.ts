/**
 * The config fields of issue 14's hostile-client limits: the fairness bounds (server.maxResolutions,
 * maxResolutionsPerClient) and the REFUSED rate limits (server.refusedRatePerSource, refusedRateTotal): defaults,
 * bounds with their errors naming the field, and what the stack builds from them.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { addressCheckers } from '../../src/config/fields.js';
import { ConfigError, defaultConfig } from '../../src/config/schema.js';
import { validateConfig } from '../../src/config/validate.js';
import { buildStack } from '../../src/daemon/stack.js';
import { SERVER_DEFAULTS } from '../../src/server/index.js';

const validate = (server: Record<string, unknown>) => validateConfig({ server }, addressCheckers);

function rejects(server: Record<string, unknown>, field: string, fragment: RegExp): void {
  assert.throws(() => validate(server), (err: unknown) => err instanceof ConfigError && err.field === field && fragment.test(err.message));
}

describe('server limits in the config', () => {
  it('defaults: 1024 resolutions, 256 per client, 5 REFUSED/s per source, 100 in all', () => {
    const s = defaultConfig().server;
    assert.deepEqual([s.maxResolutions, s.maxResolutionsPerClient, s.refusedRatePerSource, s.refusedRateTotal], [1024, 256, 5, 100]);
  });

  it('the config\'s server defaults are the listener\'s own (src/server cannot read the config: the values are written twice)', () => {
    const s = defaultConfig().server as unknown as Record<string, unknown>;
    const shared = Object.keys(SERVER_DEFAULTS).filter((k) => k in s);
    assert.deepEqual(shared.sort(), ['refusedRatePerSource', 'refusedRateTotal', 'tcpIdleTimeoutMs', 'tcpMaxConnections', 'udpMaxSize', 'udpReceiveBuffer']);
    for (const k of shared) assert.equal(s[k], SERVER_DEFAULTS[k as keyof typeof SERVER_DEFAULTS], k);
  });

  it('takes 0 (no bound) or at least 16 resolutions, any rate from 0', () => {
    const c = validate({ maxResolutions: 0, maxResolutionsPerClient: 16, refusedRatePerSource: 0, refusedRateTotal: 50 });
    assert.deepEqual([c.server.maxResolutions, c.server.maxResolutionsPerClient, c.server.refusedRatePerSource, c.server.refusedRateTotal], [0, 16, 0, 50]);
    rejects({ maxResolutionsPerClient: 8 }, 'server.maxResolutionsPerClient', /0 \(no bound\) or at least 16, got 8/);
    rejects({ maxResolutions: -1 }, 'server.maxResolutions', /integer from 0/);
    rejects({ refusedRatePerSource: 1.5 }, 'server.refusedRatePerSource', /integer/);
    rejects({ refusedRateTotal: 'many' }, 'server.refusedRateTotal', /integer/);
  });

  it('the stack bounds misses as configured; both 0 means no admission at all', () => {
    const stats = (server: Record<string, unknown>) => buildStack(validate(server), [{ address: '127.0.0.1', port: 9, priority: 1 }]).cached.stats().admission;
    assert.deepEqual(stats({ maxResolutions: 100, maxResolutionsPerClient: 20 })?.limits, { maxResolutions: 100, maxPerClient: 20 });
    assert.equal(stats({ maxResolutions: 0, maxResolutionsPerClient: 0 }), undefined);
    assert.equal(stats({ maxResolutions: 0, maxResolutionsPerClient: 20 })?.limits.maxResolutions, Number.MAX_SAFE_INTEGER);
  });
});
