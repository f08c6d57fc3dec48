import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CidrError } from '../../src/net/address.js';
import { AccessList } from '../../src/server/index.js';

describe('AccessList', () => {
  it('defaults to loopback only', () => {
    const acl = new AccessList();
    assert.ok(acl.allows('127.0.0.1'));
    assert.ok(acl.allows('127.255.0.9'));
    assert.ok(acl.allows('::1'));
    assert.ok(acl.allows('::ffff:127.0.0.1'), 'IPv4-mapped loopback from a dual-stack socket');
    assert.ok(!acl.allows('128.0.0.1'));
    assert.ok(!acl.allows('::2'));
    assert.ok(!acl.allows('::ffff:10.0.0.1'));
    assert.ok(!acl.allows('garbage'));
  });

  it('matches prefixes that are not octet-aligned', () => {
    const acl = new AccessList(['192.0.2.64/26', '2001:db8:8000::/33']);
    assert.ok(acl.allows('192.0.2.64'));
    assert.ok(acl.allows('192.0.2.127'));
    assert.ok(!acl.allows('192.0.2.128'));
    assert.ok(!acl.allows('192.0.2.63'));
    assert.ok(acl.allows('2001:db8:8000::1'));
    assert.ok(acl.allows('2001:db8:ffff:ffff::1'));
    assert.ok(!acl.allows('2001:db8:7fff::1'));
  });

  it('keeps families apart except for mapped addresses', () => {
    const all6 = new AccessList(['::/0']);
    assert.ok(all6.allows('2001:db8::1'));
    assert.ok(!all6.allows('192.0.2.1'));
    assert.ok(!all6.allows('::ffff:192.0.2.1'));
    const all4 = new AccessList(['0.0.0.0/0']);
    assert.ok(all4.allows('::ffff:192.0.2.1'));
    assert.ok(!all4.allows('2001:db8::1'));
    const mapped = new AccessList(['::ffff:192.0.2.0/120']);
    assert.ok(mapped.allows('192.0.2.77'));
    assert.ok(mapped.allows('::ffff:192.0.2.77'));
  });

  it('an empty address (a socket without one) is never allowed, before or after the list is replaced', () => {
    const acl = new AccessList(['0.0.0.0/0']);
    assert.equal(acl.allows(''), false);
    assert.ok(acl.allows('192.0.2.1'));
    acl.replace(['0.0.0.0/0', '::/0']);
    assert.equal(acl.allows(''), false, 'not the answer remembered for the last address');
    assert.ok(acl.allows('2001:db8::1'));
  });

  it('fails on the first bad entry', () => {
    assert.throws(() => new AccessList(['127.0.0.0/8', 'nope']), CidrError);
  });
});
