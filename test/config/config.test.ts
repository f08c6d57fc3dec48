import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isIP } from 'node:net';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultConfig, type AddressCheckers } from '../../src/config/schema.js';
import { validateConfig } from '../../src/config/validate.js';
import { UpstreamConfigError, loadConfig, parseHostPort, upstreamsFromCli } from '../../src/config/load.js';
import { expectField } from './expect-field.js';

const checkers: AddressCheckers = {
  isIp: (s) => isIP(s) !== 0,
  checkCidr(s) {
    const m = /^(.+)\/(\d+)$/.exec(s);
    if (!m || !isIP(m[1]!)) throw new Error(`bad CIDR ${JSON.stringify(s)}`);
  },
};

test('defaults: loopback listener on 5353, loopback-only clients, resolv.conf upstreams', () => {
  const c = validateConfig(undefined, checkers);
  assert.deepEqual(c.listen, [{ address: '127.0.0.1', port: 5353 }]);
  assert.deepEqual(c.allow, ['127.0.0.0/8', '::1/128']);
  assert.deepEqual(c.upstreams, []);
});

test('a full document is applied over the defaults', () => {
  const c = validateConfig(
    {
      listen: [{ address: '::1', port: 53 }],
      upstreams: [{ address: '127.0.0.1', priority: 10 }, { address: '127.0.0.2', port: 5300, priority: 5 }],
      allow: ['10.0.0.0/8'],
      logLevel: 'debug',
      server: { udpMaxSize: 4096 },
    },
    checkers,
  );
  assert.deepEqual(c.upstreams, [
    { address: '127.0.0.1', port: 53, priority: 10 },
    { address: '127.0.0.2', port: 5300, priority: 5 },
  ]);
  assert.equal(c.server.udpMaxSize, 4096);
  assert.equal(c.server.tcpMaxConnections, defaultConfig().server.tcpMaxConnections);
});

test('unknown keys are named, at any depth', () => {
  expectField(() => validateConfig({ listne: [] }, checkers), 'listne', /unknown key/);
  expectField(() => validateConfig({ server: { udpMaxSise: 1 } }, checkers), 'server.udpMaxSise', /unknown key/);
  expectField(() => validateConfig({ upstreams: [{ address: '127.0.0.1', prio: 1 }] }, checkers), 'upstreams[0].prio');
});

test('bad values are named with what was expected', () => {
  expectField(() => validateConfig({ upstreams: [{ address: '127.0.0.1' }, { address: '127.0.0.2', priority: 'x' }] }, checkers), 'upstreams[1].priority', /integer/);
  expectField(() => validateConfig({ upstreams: [{ address: 'resolver.example' }] }, checkers), 'upstreams[0].address', /IPv4 or IPv6/);
  expectField(() => validateConfig({ listen: [{ address: '127.0.0.1', port: 70000 }] }, checkers), 'listen[0].port');
  expectField(() => validateConfig({ listen: [] }, checkers), 'listen');
  expectField(() => validateConfig({ allow: ['10.0.0.0'] }, checkers), 'allow[0]', /CIDR/);
  expectField(() => validateConfig({ logLevel: 'loud' }, checkers), 'logLevel', /debug/);
  expectField(() => validateConfig({ server: { udpMaxSize: 100 } }, checkers), 'server.udpMaxSize', /512/);
  expectField(() => validateConfig({ upstream: { timeoutMs: 3000, deadlineMs: 1000 } }, checkers), 'upstream.deadlineMs');
  expectField(() => validateConfig(['a'], checkers), '(top level)');
});

test('host:port parsing for IPv4, bracketed and bare IPv6', () => {
  assert.deepEqual(parseHostPort('127.0.0.1', 53, 'f'), { address: '127.0.0.1', port: 53 });
  assert.deepEqual(parseHostPort('127.0.0.1:5300', 53, 'f'), { address: '127.0.0.1', port: 5300 });
  assert.deepEqual(parseHostPort('[::1]:5300', 53, 'f'), { address: '::1', port: 5300 });
  assert.deepEqual(parseHostPort('::1', 53, 'f'), { address: '::1', port: 53 });
  expectField(() => parseHostPort('localhost:53', 53, '--upstream'), '--upstream');
  expectField(() => parseHostPort('127.0.0.1:99999', 53, '--listen'), '--listen', /range/);
});

test('files: YAML and JSON load, syntax errors and duplicate keys name the file; flags override the file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'stubd-cfg-'));
  const yml = join(dir, 'c.yaml');
  writeFileSync(yml, 'upstreams:\n  - { address: 127.0.0.9, priority: 2 }\nlogLevel: warn\n');
  const fromFile = loadConfig({ config: yml }, checkers);
  assert.equal(fromFile.upstreams[0]!.address, '127.0.0.9');
  assert.equal(fromFile.logLevel, 'warn');
  const overridden = loadConfig({ config: yml, upstream: ['127.0.0.7:5301', '127.0.0.8'], logLevel: 'debug' }, checkers);
  assert.deepEqual(overridden.upstreams, [
    { address: '127.0.0.7', port: 5301, priority: 1 },
    { address: '127.0.0.8', port: 53, priority: 2 },
  ]);
  assert.equal(overridden.logLevel, 'debug');

  const json = join(dir, 'c.json');
  writeFileSync(json, '{"listen": [{"address": "127.0.0.1", "port": 5400}]}');
  assert.equal(loadConfig({ config: json }, checkers).listen[0]!.port, 5400);

  writeFileSync(json, '{"listen": [');
  expectField(() => loadConfig({ config: json }, checkers), '--config', /not valid JSON/);
  writeFileSync(yml, 'logLevel: info\nlogLevel: debug\n');
  expectField(() => loadConfig({ config: yml }, checkers), '--config', /not valid YAML/);
  expectField(() => loadConfig({ config: join(dir, 'missing.yaml') }, checkers), '--config', /cannot read/);
  expectField(() => loadConfig({ logLevel: 'chatty' }, checkers), '--log-level');
});

test('issue 4 settings: cache, fallback, forward zones, negative trust anchors', () => {
  const c = validateConfig(
    {
      cache: { maxBytes: 1_000_000, bogusTtl: 30, prefetch: false },
      upstream: { probeIntervalMs: 60_000, bogusConfirmations: 3, insecureFallback: { enabled: false, domains: ['Partner.Example'] } },
      forwardZones: [{ suffix: 'corp.example', upstreams: [{ address: '127.0.0.5', port: 5300 }] }],
      negativeTrustAnchors: ['broken.example.'],
    },
    checkers,
  );
  assert.equal(c.cache.maxBytes, 1_000_000);
  assert.equal(c.cache.bogusTtl, 30);
  assert.equal(c.cache.prefetch, false);
  assert.equal(c.cache.staleWindow, 86_400);
  assert.deepEqual(c.upstream.insecureFallback, { enabled: false, domains: ['partner.example.'] });
  assert.deepEqual(c.forwardZones, [{ suffix: 'corp.example.', upstreams: [{ address: '127.0.0.5', port: 5300, priority: 1 }] }]);
  assert.deepEqual(c.negativeTrustAnchors, ['broken.example.']);
  expectField(() => validateConfig({ cache: { failureTtl: 600 } }, checkers), 'cache.failureTtl', /0 to 30/);
  expectField(() => validateConfig({ cache: { minTtl: 100, maxTtl: 10 } }, checkers), 'cache.minTtl');
  expectField(() => validateConfig({ cache: { prefetch: 'yes' } }, checkers), 'cache.prefetch', /true or false/);
  expectField(() => validateConfig({ forwardZones: [{ suffix: 'a..b', upstreams: [{ address: '127.0.0.1' }] }] }, checkers), 'forwardZones[0].suffix');
  expectField(() => validateConfig({ forwardZones: [{ suffix: 'a.example', upstreams: [] }] }, checkers), 'forwardZones[0].upstreams');
  expectField(() => validateConfig({ upstream: { insecureFallback: { enabled: 1 } } }, checkers), 'upstream.insecureFallback.enabled');
  expectField(() => validateConfig({ negativeTrustAnchors: [''] }, checkers), 'negativeTrustAnchors[0]');
});

test('--upstream-for groups by suffix; --negative-trust-anchor and --insecure-fallback', () => {
  const c = loadConfig({ upstreamFor: ['corp.example=127.0.0.5', 'corp.example.=127.0.0.6:5300', 'lab.example=[::1]:53'], negativeTrustAnchor: ['Broken.Example'], insecureFallback: true }, checkers);
  assert.deepEqual(c.forwardZones, [
    { suffix: 'corp.example.', upstreams: [{ address: '127.0.0.5', port: 53, priority: 1 }, { address: '127.0.0.6', port: 5300, priority: 2 }] },
    { suffix: 'lab.example.', upstreams: [{ address: '::1', port: 53, priority: 1 }] },
  ]);
  assert.deepEqual(c.negativeTrustAnchors, ['broken.example.']);
  assert.equal(c.upstream.insecureFallback.enabled, true);
  expectField(() => loadConfig({ upstreamFor: ['127.0.0.5'] }, checkers), '--upstream-for', /SUFFIX=ADDR/);
  expectField(() => loadConfig({ upstreamFor: ['corp.example=host.example'] }, checkers), '--upstream-for');
});

test('examples/config.yaml (what install.sh installs) is a valid configuration', () => {
  const file = new URL('../../../examples/config.yaml', import.meta.url).pathname;
  const c = loadConfig({ config: file }, checkers);
  assert.deepEqual(c.listen, [{ address: '127.0.0.1', port: 5353 }]);
  assert.equal(c.cache.staleTtl, 30);
});

test('upstreamsFromCli numbers priorities in the order given', () => {
  assert.deepEqual(upstreamsFromCli(['192.0.2.1', '[::1]:5353', '198.51.100.7:53']), [
    { address: '192.0.2.1', port: 53, priority: 1 },
    { address: '::1', port: 5353, priority: 2 },
    { address: '198.51.100.7', port: 53, priority: 3 },
  ]);
});

test('upstreamsFromCli throws a typed error naming the bad value', () => {
  assert.throws(() => upstreamsFromCli(['192.0.2.1', 'localhost']), (e: unknown) =>
    e instanceof UpstreamConfigError && e.input === 'localhost' && e.problem.kind === 'bad-address');
});

test('RFC 5011: trustAnchors as a list of files or an object with the management settings; durations; stateDir', () => {
  const d = validateConfig(undefined, checkers);
  assert.deepEqual(d.anchorManagement, { rfc5011: true, addHoldDown: 30 * 86_400, removeHoldDown: 30 * 86_400, keepMissing: 366 * 86_400, signal: true });
  assert.equal(d.stateDir, '/var/lib/dnssec-stubd');
  assert.deepEqual(validateConfig({ trustAnchors: ['/a.zone'] }, checkers).trustAnchors, ['/a.zone']);
  const c = validateConfig({ trustAnchors: { files: ['/b.zone'], rfc5011: false, addHoldDown: '2h', removeHoldDown: 90, keepMissing: '1w', signal: false }, stateDir: '/srv/state' }, checkers);
  assert.deepEqual(c.trustAnchors, ['/b.zone']);
  assert.deepEqual(c.anchorManagement, { rfc5011: false, addHoldDown: 7200, removeHoldDown: 90, keepMissing: 604_800, signal: false });
  assert.equal(c.stateDir, '/srv/state');
  expectField(() => validateConfig({ trustAnchors: { addHoldDown: '30 days' } }, checkers), 'trustAnchors.addHoldDown', /duration like "30d"/);
  expectField(() => validateConfig({ trustAnchors: { addHoldDown: 0 } }, checkers), 'trustAnchors.addHoldDown');
  expectField(() => validateConfig({ trustAnchors: { rfc5011: 'yes' } }, checkers), 'trustAnchors.rfc5011');
  expectField(() => validateConfig({ trustAnchors: { holdDown: 1 } }, checkers), 'trustAnchors.holdDown');
  expectField(() => validateConfig({ trustAnchors: { files: [1] } }, checkers), 'trustAnchors.files[0]');
  expectField(() => validateConfig({ stateDir: '' }, checkers), 'stateDir');
  expectField(() => loadConfig({ stateDir: '' }, checkers), '--state-dir');
});

test('http: listen addresses or "off", a token of 16 characters at least, allow CIDRs; --http', () => {
  const d = validateConfig(undefined, checkers);
  assert.deepEqual(d.http, { listen: [{ address: '127.0.0.1', port: 8053 }], token: undefined, tokenFile: undefined, allow: ['127.0.0.0/8', '::1/128'] });
  assert.deepEqual(validateConfig({ http: { listen: 'off' } }, checkers).http.listen, []);
  const c = validateConfig({ http: { listen: [{ address: '::1' }], token: 'x'.repeat(16), allow: ['192.0.2.0/24'] } }, checkers);
  assert.deepEqual(c.http.listen, [{ address: '::1', port: 8053 }]);
  assert.deepEqual(c.http.allow, ['192.0.2.0/24']);
  expectField(() => validateConfig({ http: { token: 'short' } }, checkers), 'http.token', /16 characters/);
  expectField(() => validateConfig({ http: { listen: [{ address: 'example.org' }] } }, checkers), 'http.listen[0].address');
  expectField(() => validateConfig({ http: { allow: ['nope'] } }, checkers), 'http.allow[0]');
  expectField(() => validateConfig({ http: { port: 1 } }, checkers), 'http.port');
  assert.deepEqual(loadConfig({ http: ['off'] }, checkers).http.listen, []);
  assert.deepEqual(loadConfig({ http: ['127.0.0.2:9000', '[::1]:9001'] }, checkers).http.listen, [{ address: '127.0.0.2', port: 9000 }, { address: '::1', port: 9001 }]);
  expectField(() => loadConfig({ http: ['nowhere'] }, checkers), '--http');
});
