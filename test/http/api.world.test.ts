/**
 * The HTTP status API with real HTTP requests against a running daemon in the world: every route, bad
 * input (unknown routes, bad names and types: JSON errors with a message), the token (401) and the
 * client list (403), and a non-loopback listen address without a token refused at start.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { getWorld, stopWorld, type WorldInfo } from '../world/index.js';
import type { TestDaemon } from '../support/daemon.js';
import { get, startApiDaemon } from './support.js';
import { worldPrefix } from '../world/net.js';

let world: WorldInfo;
const TOKEN = 'test-token-0123456789abcdef';

const start = (http: object): Promise<TestDaemon> => startApiDaemon(world, http);

before(async () => {
  world = await getWorld();
});
after(() => stopWorld());

describe('the HTTP status API', () => {
  let d: TestDaemon;
  before(async () => {
    d = await start({});
  });
  after(() => d?.stop());

  it('/healthz and /readyz (ready once the upstream is known DNSSEC-capable)', async () => {
    assert.deepEqual((await get(d, '/healthz')).body, { status: 'ok' });
    let ready = await get(d, '/readyz');
    for (let i = 0; i < 100 && ready.status !== 200; i++) {
      await new Promise((r) => setTimeout(r, 50));
      ready = await get(d, '/readyz');
    }
    assert.equal(ready.status, 200, JSON.stringify(ready.body));
    assert.deepEqual(ready.body, { ready: true, reasons: [] });
  });

  it('/status: version, listeners, upstreams, anchors, cache, counts per status', async () => {
    const s = (await get(d, '/status')).body;
    assert.equal(s['version'], '0.1.0');
    assert.equal((s['listeners'] as unknown[]).length, 2, 'UDP and TCP');
    assert.equal(((s['upstreams'] as { upstreams: unknown[] }[])[0]!.upstreams).length, 1);
    assert.deepEqual((s['anchors'] as { zone: string }[]).map((a) => a.zone), ['.']);
    assert.equal(typeof (s['cache'] as Record<string, unknown>)['entries'], 'number');
    assert.ok('secure' in (s['statuses'] as object));
  });

  it('/resolve: status, rcode, records and the reason trail; bad input is a 400 with a message', async () => {
    const r = (await get(d, '/resolve?name=www.alg13.test&type=A')).body;
    assert.equal(r['status'], 'secure');
    assert.equal(r['rcode'], 'NOERROR');
    assert.ok((r['answer'] as string[]).some((x) => x.includes(`\tA\t${worldPrefix(100)}`) || x.includes(` A ${worldPrefix(100)}`)), JSON.stringify(r['answer']));
    const trail = r['trail'] as { step: string }[];
    assert.ok(trail.some((t) => t.step === 'anchor') && trail.some((t) => t.step === 'rrset'));
    const bogus = (await get(d, '/resolve?name=www.bogus-expired.test.&type=A')).body;
    assert.equal(bogus['status'], 'bogus');
    assert.match(String(bogus['reason']), /expired/);
    assert.deepEqual((bogus['ede'] as { code: number }[]).map((e) => e.code), [7]);
    for (const bad of ['/resolve?name=a..b&type=A', '/resolve?name=www.alg13.test&type=NOPE', '/resolve', '/resolve?name=x&extra=1']) {
      const e = await get(d, bad);
      assert.equal(e.status, 400, bad);
      assert.equal(e.body['error'], 'Bad Request');
      assert.ok(String(e.body['message']).length > 0, bad);
    }
  });

  it('/upstreams, POST /upstreams/probe, /anchors, POST /cache/flush, /openapi.json; unknown routes are JSON 404s', async () => {
    const ups = (await get(d, '/upstreams')).body['routes'] as { health: { state: string }[] }[];
    assert.equal(ups[0]!.health[0]!.state, 'DNSSEC-CAPABLE');
    const probed = await get(d, '/upstreams/probe', { method: 'POST' });
    assert.equal(probed.status, 200);
    const anchors = (await get(d, '/anchors')).body;
    assert.equal((anchors['managed'] as { zone: string }[])[0]!.zone, '.');
    await get(d, '/resolve?name=mail.alg13.test&type=A');
    const flushed = await get(d, '/cache/flush?name=alg13.test', { method: 'POST' });
    assert.equal(flushed.status, 200);
    assert.equal(flushed.body['name'], 'alg13.test');
    const api = (await get(d, '/openapi.json')).body as { paths: Record<string, object> };
    for (const p of ['/healthz', '/readyz', '/status', '/resolve', '/upstreams', '/upstreams/probe', '/anchors', '/cache/flush', '/metrics', '/dane/{domain}']) assert.ok(api.paths[p], p);
    const dane = (api.paths['/dane/{domain}'] as { get: { parameters: Array<{ name: string; in: string }> } }).get;
    assert.deepEqual(dane.parameters.map((x) => `${x.in}:${x.name}`), ['path:domain', 'query:mode', 'query:port', 'query:timeout']);
    const metrics = await get(d, '/metrics');
    assert.equal(metrics.status, 200);
    assert.match(metrics.type, /^text\/plain/);
    assert.match(String(metrics.body['text']), /^dnssec_stubd_resolutions_total\{status="secure"\} [1-9]/m);
    assert.match(String(metrics.body['text']), /^dnssec_stubd_upstream_dnssec_state\{.*state="capable"\} 1$/m);
    const missing = await get(d, '/nope');
    assert.equal(missing.status, 404);
    assert.match(String(missing.body['message']), /no route GET \/nope/);
    assert.equal((await get(d, '/status', { method: 'DELETE' })).status, 404);
  });
});

describe('HTTP API access', () => {
  it('a configured token is needed on every route but /healthz (401 without it or with a wrong one)', async () => {
    const d = await start({ token: TOKEN });
    try {
      assert.equal((await get(d, '/healthz')).status, 200);
      assert.equal((await get(d, '/status')).status, 401);
      assert.equal((await get(d, '/status', { headers: { authorization: 'Bearer wrong-token-0123456789' } })).status, 401);
      assert.equal((await get(d, '/status', { headers: { authorization: `Bearer ${TOKEN}` } })).status, 200);
    } finally {
      await d.stop();
    }
  });

  it('a client outside http.allow gets 403', async () => {
    const d = await start({ allow: ['127.0.0.2/32'] });
    try {
      const r = await get(d, '/status');
      assert.equal(r.status, 403);
      assert.match(String(r.body['message']), /127\.0\.0\.1 is not in http\.allow/);
    } finally {
      await d.stop();
    }
  });

  it('a listen address that is not loopback without a token stops startup, naming the field', async () => {
    await assert.rejects(start({ listen: [{ address: '0.0.0.0', port: 0 }] }), /http\.listen: 0\.0\.0\.0 is not a loopback address: set http\.token/);
  });
});
