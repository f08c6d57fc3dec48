/** Upstream lists from --upstream arguments and from resolv.conf. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  UpstreamConfigError, canonicalAddress, isOwnListener, loadResolvConf, parseResolvConf, parseUpstreamSpec, upstreamLabel,
  upstreamsFromCli,
} from '../../src/upstream/config.js';

describe('parseUpstreamSpec', () => {
  const ok: [string, string, number][] = [
    ['192.0.2.1', '192.0.2.1', 53],
    ['192.0.2.1:5353', '192.0.2.1', 5353],
    ['[2001:db8::1]:53', '2001:db8::1', 53],
    ['[::1]:10053', '::1', 10053],
    ['[::1]', '::1', 53],
    ['::1', '::1', 53],
    ['2001:db8::53', '2001:db8::53', 53],
    ['fe80::1%eth0', 'fe80::1%eth0', 53],
    [' 127.0.0.1 ', '127.0.0.1', 53],
  ];
  for (const [input, address, port] of ok) {
    it(`accepts ${JSON.stringify(input)}`, () => {
      assert.deepEqual(parseUpstreamSpec(input), { ok: true, address, port });
    });
  }
  const bad: [string, string][] = [
    ['', 'empty'],
    ['example.org', 'bad-address'],
    ['192.0.2.1:0', 'bad-port'],
    ['192.0.2.1:65536', 'bad-port'],
    ['192.0.2.1:dns', 'bad-port'],
    ['[::1]:', 'bad-port'],
    ['[::1', 'bad-address'],
    ['[192.0.2.1]:53', 'bad-address'],
    ['300.0.0.1', 'bad-address'],
    ['[::1]x', 'bad-address'],
  ];
  for (const [input, kind] of bad) {
    it(`rejects ${JSON.stringify(input)} as ${kind}`, () => {
      const r = parseUpstreamSpec(input);
      assert.equal(r.ok, false);
      if (!r.ok) assert.equal(r.problem.kind, kind);
    });
  }
});

describe('upstreamsFromCli', () => {
  it('numbers priorities in the order given', () => {
    assert.deepEqual(upstreamsFromCli(['192.0.2.1', '[::1]:5353', '198.51.100.7:53']), [
      { address: '192.0.2.1', port: 53, priority: 1 },
      { address: '::1', port: 5353, priority: 2 },
      { address: '198.51.100.7', port: 53, priority: 3 },
    ]);
  });
  it('throws a typed error naming the bad value', () => {
    assert.throws(() => upstreamsFromCli(['192.0.2.1', 'localhost']), (e: unknown) =>
      e instanceof UpstreamConfigError && e.input === 'localhost' && e.problem.kind === 'bad-address');
  });
});

describe('resolv.conf', () => {
  const text = [
    '# generated',
    'search example.org',
    'nameserver 127.0.0.1',
    'nameserver 192.0.2.53 # office',
    ';nameserver 192.0.2.99',
    'nameserver   2001:db8::53',
    'nameserver not-an-ip',
    'nameserver 192.0.2.53',
    'options edns0 trust-ad',
    'nameserver 0:0::1',
  ].join('\n');

  it('reads nameservers in order and skips our own listen addresses', () => {
    const r = parseResolvConf(text, [{ address: '127.0.0.1', port: 53 }, { address: '::1', port: 53 }], new Set());
    assert.deepEqual(r.upstreams, [
      { address: '192.0.2.53', port: 53, priority: 1 },
      { address: '2001:db8::53', port: 53, priority: 2 },
    ]);
    assert.deepEqual(r.skipped.map((s) => [s.kind, s.line]), [
      ['own-listener', 3], ['bad-address', 7], ['duplicate', 8], ['own-listener', 10],
    ]);
  });

  it('keeps a loopback nameserver when we listen on another port', () => {
    const r = parseResolvConf('nameserver 127.0.0.1\n', [{ address: '127.0.0.1', port: 5353 }], new Set());
    assert.equal(r.upstreams.length, 1);
  });

  it('treats a wildcard listener on port 53 as covering loopback and local addresses', () => {
    const local = new Set(['10.1.2.3']);
    assert.equal(isOwnListener('127.0.0.53', 53, [{ address: '0.0.0.0', port: 53 }], local), true);
    assert.equal(isOwnListener('10.1.2.3', 53, [{ address: '::', port: 53 }], local), true);
    assert.equal(isOwnListener('192.0.2.1', 53, [{ address: '0.0.0.0', port: 53 }], local), false);
  });

  it('loads from an injected path, and reports an unreadable one', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'stubd-resolv-'));
    try {
      const path = join(dir, 'resolv.conf');
      writeFileSync(path, text);
      const r = await loadResolvConf({ path, listen: [{ address: '127.0.0.1', port: 53 }] });
      assert.equal(r.kind, 'ok');
      if (r.kind === 'ok') assert.equal(r.upstreams[0]!.address, '192.0.2.53');
      const missing = await loadResolvConf({ path: join(dir, 'nope') });
      assert.equal(missing.kind, 'unreadable');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('address helpers', () => {
  it('canonicalizes IPv6 and labels endpoints', () => {
    assert.equal(canonicalAddress('2001:DB8:0:0::1'), '2001:db8::1');
    assert.equal(canonicalAddress('192.0.2.1'), '192.0.2.1');
    assert.equal(upstreamLabel({ address: '::1', port: 53 }), '[::1]:53');
    assert.equal(upstreamLabel({ address: '192.0.2.1', port: 5353 }), '192.0.2.1:5353');
  });
});
