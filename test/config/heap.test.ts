/**
 * The V8 heap limits derived from the configuration (src/config/heap.ts) and the launcher's decision to apply
 * them (src/cli/relaunch.ts): which flags, and when it leaves the process as it is.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultConfig } from '../../src/config/schema.js';
import { LISTENER_IN_FLIGHT, heapFlags, heapPlan } from '../../src/config/heap.js';
import { SERVER_DEFAULTS } from '../../src/server/index.js';
import { CHILD_ENV, HEAP_ENV, launchDecision } from '../../src/cli/relaunch.js';

const MiB = 1024 * 1024;

function cfgWith(cache: Partial<ReturnType<typeof defaultConfig>['cache']>, server: Partial<ReturnType<typeof defaultConfig>['server']> = {}): ReturnType<typeof defaultConfig> {
  const c = defaultConfig();
  Object.assign(c.cache, cache);
  Object.assign(c.server, server);
  return c;
}

describe('heap limits follow the configured cache', () => {
  it('counts the listener\'s own in-flight caps (written twice: src/config may not import src/server)', () => {
    assert.deepEqual(LISTENER_IN_FLIGHT, { udp: SERVER_DEFAULTS.maxUdpQueriesInFlight, tcpPerConnection: SERVER_DEFAULTS.maxTcpQueriesInFlight });
  });

  it('the default 64 MiB cache: old space 2 x (64 + 8) + 96 = 240 MiB, 4 MiB semi-space, RSS bound 332 MiB', () => {
    const plan = heapPlan(defaultConfig());
    assert.deepEqual(plan, { oldSpaceMiB: 240, semiSpaceMiB: 4, storesMiB: 72, rssBoundMiB: 332 });
    assert.deepEqual(heapFlags(plan), ['--max-old-space-size=240', '--max-semi-space-size=4']);
  });

  it('scales with cache.maxBytes', () => {
    assert.equal(heapPlan(cfgWith({ maxBytes: 16 * MiB })).oldSpaceMiB, 132);
    assert.equal(heapPlan(cfgWith({ maxBytes: 256 * MiB })).oldSpaceMiB, 672);
    assert.equal(heapPlan(cfgWith({ maxBytes: 256 * MiB })).rssBoundMiB, 764);
    assert.equal(heapPlan(cfgWith({ maxBytes: 1 })).oldSpaceMiB, 97);
  });

  it('counts the RFC 8198 store only when it is on', () => {
    assert.equal(heapPlan(cfgWith({ aggressiveNsec: false })).oldSpaceMiB, 224);
  });

  it('adds 16 KiB per resolution allowed in flight past the default 1024, up to what the listeners hold', () => {
    assert.equal(heapPlan(cfgWith({}, { maxResolutions: 4096 })).oldSpaceMiB, 240 + 48);
    assert.equal(heapPlan(cfgWith({}, { maxResolutions: 256 })).oldSpaceMiB, 240);
    // No admission bound: the listeners' own caps (2048 UDP, 32 per TCP connection) bound the client queries.
    assert.equal(heapPlan(cfgWith({}, { maxResolutions: 0 })).oldSpaceMiB, 240 + (2048 + 32 * 256 - 1024) / 64);
  });
});

describe('the launcher applies them to serve', () => {
  const dir = mkdtempSync(join(tmpdir(), 'stubd-heap-'));
  const file = join(dir, 'config.yaml');
  writeFileSync(file, 'cache: { maxBytes: 16777216 }\n');

  it('relaunches serve with the flags of its config file', () => {
    assert.deepEqual(launchDecision(['serve', '--config', file, '--pid-file', '/tmp/x.pid'], {}, []),
      { kind: 'relaunch', flags: ['--max-old-space-size=132', '--max-semi-space-size=4'] });
    assert.deepEqual(launchDecision(['serve'], {}, []), { kind: 'relaunch', flags: ['--max-old-space-size=240', '--max-semi-space-size=4'] });
  });

  it('keeps a semi-space size the operator set', () => {
    assert.deepEqual(launchDecision(['serve', '--config', file], { NODE_OPTIONS: '--max-semi-space-size=8' }, []),
      { kind: 'relaunch', flags: ['--max-old-space-size=132'] });
  });

  it('leaves the process alone: other commands, the relaunched child, DNSSEC_STUBD_HEAP=off, an old-space limit the operator set, a bad config', () => {
    assert.deepEqual(launchDecision(['query', 'example.org'], {}, []), { kind: 'here', reason: 'not-serve' });
    assert.deepEqual(launchDecision(['serve'], { [CHILD_ENV]: '123' }, []), { kind: 'here', reason: 'relaunched' });
    assert.deepEqual(launchDecision(['serve'], { [HEAP_ENV]: 'off' }, []), { kind: 'here', reason: 'off' });
    assert.deepEqual(launchDecision(['serve'], { NODE_OPTIONS: '--max-semi-space-size=4 --max-old-space-size=512' }, []), { kind: 'here', reason: 'operator-limit' });
    assert.deepEqual(launchDecision(['serve'], {}, ['--max_old_space_size=512']), { kind: 'here', reason: 'operator-limit' });
    assert.deepEqual(launchDecision(['serve', '--config', join(dir, 'missing.yaml')], {}, []), { kind: 'here', reason: 'unreadable-config' });
    assert.deepEqual(launchDecision(['serve', '--no-such-flag'], {}, []), { kind: 'here', reason: 'unreadable-config' });
  });
});
