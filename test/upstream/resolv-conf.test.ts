/** The upstream list from resolv.conf. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { isOwnListener, loadResolvConf, parseResolvConf } from '../../src/upstream/resolv-conf.js';

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
