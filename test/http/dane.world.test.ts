/**
 * `GET /dane/:domain` on the HTTP API of a running daemon in the mail world: the decision per mode as JSON with
 * the steps and the text lines, bad input (400 with a message), the token (401), and that the check's lookups go
 * through the daemon's answer cache (a second check is answered from it).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { getWorld, stopWorld, type WorldInfo } from '../world/index.js';
import type { TestDaemon } from '../support/daemon.js';
import { get, startApiDaemon } from './support.js';

let world: WorldInfo;
const TOKEN = 'dane-test-token-0123456789';

const start = (http: object): Promise<TestDaemon> => startApiDaemon(world, http);

before(async () => {
  world = await getWorld();
});
after(() => stopWorld());

describe('GET /dane/:domain', () => {
  let d: TestDaemon;
  before(async () => {
    d = await start({});
  });
  after(() => d?.stop());

  it('the decision per mode, with the steps and the text', async () => {
    const cases: [string, string, string][] = [
      ['ok.dmx.test', 'mandatory', 'success'], ['ok.umx.test', 'mandatory', 'fail'], ['ok.umx.test', 'opportunistic', 'fallback'],
      ['ok.umx.test', 'rfc7672', 'success'], ['notlsa.dmx.test', 'opportunistic', 'fallback'], ['badcert.dmx.test', 'rfc7672', 'fail'],
      ['unusable.dmx.test', 'rfc7672', 'fallback'], ['unusable.dmx.test', 'mandatory', 'fail'], ['ok.bmx.test', 'opportunistic', 'fail'],
    ];
    for (const [domain, mode, action] of cases) {
      const r = await get(d, `/dane/${domain}?mode=${mode}`);
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.equal(r.body['action'], action, `${domain} ${mode}: ${(r.body['text'] as string[]).join('\n')}`);
      assert.equal(r.body['domain'], `${domain}.`);
      assert.equal(r.body['mode'], mode);
      assert.equal(r.body['port'], 25);
      assert.equal((r.body['decision'] as { action: string }).action, action);
      assert.ok((r.body['steps'] as unknown[]).length > 0);
      const text = r.body['text'] as string[];
      assert.equal(text.includes(`DANE ${action === 'success' ? 'SUCCESS' : 'FAILED'} for ${domain}.`), true, text.join('\n'));
    }
  });

  it('the default mode is rfc7672; the port names the TLSA records (_2525._tcp: none, opportunistic TLS)', async () => {
    const r = await get(d, '/dane/ok.dmx.test?port=2525&timeout=1');
    assert.equal(r.body['mode'], 'rfc7672');
    assert.equal(r.body['port'], 2525);
    assert.equal(r.body['action'], 'fallback');
    const text = r.body['text'] as string[];
    assert.ok(text.some((l) => l.includes('at _2525._tcp.ok.dhost.test. (NXDOMAIN, SECURE)')), text.join('\n'));
  });

  it('resolved through the daemon\'s answer cache: the same check again is all cache hits', { timeout: 60_000 }, async () => {
    // The first check fills the cache. Under a loaded test run one of its lookups can time out (SERVFAIL, cached
    // for seconds at most, so the next check would miss for a reason this test is not about): until it succeeds.
    let first = await get(d, '/dane/v312.dmx.test?mode=mandatory');
    for (let i = 0; i < 3 && first.body['action'] !== 'success'; i++) {
      await new Promise((r) => setTimeout(r, (d.daemon.config.cache.failureTtl + 1) * 1000)); // the failure's cache time
      first = await get(d, '/dane/v312.dmx.test?mode=mandatory');
    }
    assert.equal(first.body['action'], 'success', (first.body['text'] as string[]).join('\n'));
    const before = d.daemon.stack.cached.stats();
    const r = await get(d, '/dane/v312.dmx.test?mode=mandatory');
    const after = d.daemon.stack.cached.stats();
    assert.equal(r.body['action'], 'success');
    assert.equal(after.misses - before.misses, 0, 'no miss');
    assert.equal(after.hits - before.hits, 4, 'MX, A, AAAA and TLSA from the cache');
  });

  it('bad input: 400 with a message', async () => {
    for (const path of ['/dane/ok.dmx.test?mode=strict', '/dane/ok.dmx.test?port=0', '/dane/ok.dmx.test?port=x', '/dane/ok.dmx.test?what=1', '/dane/bad..name', '/dane/.']) {
      const r = await get(d, path);
      assert.equal(r.status, 400, `${path}: ${JSON.stringify(r.body)}`);
      assert.equal(typeof r.body['message'], 'string');
    }
  });
});

describe('GET /dane/:domain with a token', () => {
  let d: TestDaemon;
  before(async () => {
    d = await start({ token: TOKEN });
  });
  after(() => d?.stop());

  it('401 without it, 200 with it', async () => {
    assert.equal((await get(d, '/dane/ok.dmx.test')).status, 401);
    const r = await get(d, '/dane/ok.dmx.test', { headers: { authorization: `Bearer ${TOKEN}` } });
    assert.equal(r.status, 200);
    assert.equal(r.body['action'], 'success');
  });
});
