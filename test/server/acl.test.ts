import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AccessList, CidrError, normalizeAddress, parseCidr, parseIp } from '../../src/server/index.js';

describe('parseCidr', () => {
  it('parses IPv4 and IPv6 networks into canonical text', () => {
    assert.equal(parseCidr('127.0.0.0/8').text, '127.0.0.0/8');
    assert.equal(parseCidr('10.1.2.3').text, '10.1.2.3/32');
    assert.equal(parseCidr('0.0.0.0/0').text, '0.0.0.0/0');
    assert.equal(parseCidr('::1/128').text, '::1/128');
    assert.equal(parseCidr('2001:DB8:0:0::/32').text, '2001:db8::/32');
    assert.equal(parseCidr('::/0').text, '::/0');
    assert.equal(parseCidr(' fe80::/10 ').text, 'fe80::/10');
    assert.equal(parseCidr('2001:db8:1:2:3:4:5:6').prefix, 128);
  });

  it('turns IPv4-mapped IPv6 networks into IPv4', () => {
    const c = parseCidr('::ffff:10.0.0.0/104');
    assert.equal(c.family, 4);
    assert.equal(c.text, '10.0.0.0/8');
    assert.equal(parseCidr('::ffff:7f00:1/128').text, '127.0.0.1/32');
  });

  const bad: [string, string][] = [
    ['', 'syntax'],
    ['10.0.0.0/33', 'bad-prefix'],
    ['10.0.0.0/-1', 'bad-prefix'],
    ['10.0.0.0/', 'bad-prefix'],
    ['10.0.0.0/8/8', 'bad-prefix'],
    ['10.0.0.0/08', 'bad-prefix'],
    ['::/129', 'bad-prefix'],
    ['256.0.0.0/8', 'bad-address'],
    ['10.0.0/8', 'bad-address'],
    ['010.0.0.0/8', 'bad-address'],
    ['localhost/8', 'bad-address'],
    ['1:2:3:4:5:6:7:8:9/64', 'bad-address'],
    ['1::2::3/64', 'bad-address'],
    ['12345::/16', 'bad-address'],
    ['fe80::1%eth0/128', 'bad-address'],
    ['10.0.0.1/8', 'host-bits'],
    ['2001:db8::1/32', 'host-bits'],
  ];
  for (const [input, reason] of bad) {
    it(`rejects ${JSON.stringify(input)} (${reason})`, () => {
      assert.throws(() => parseCidr(input), (e: unknown) => {
        assert.ok(e instanceof CidrError);
        assert.equal(e.reason, reason);
        assert.equal(e.input, input);
        if (input !== '') assert.ok(e.message.includes(input), e.message);
        return true;
      });
    });
  }

  it('suggests the network for host bits', () => {
    assert.throws(() => parseCidr('192.168.1.7/24'), /did you mean 192\.168\.1\.0\/24/);
    assert.throws(() => parseCidr('2001:db8::1/64'), /did you mean 2001:db8::\/64/);
  });
});

describe('parseIp / normalizeAddress', () => {
  it('parses addresses, mapping ::ffff:a.b.c.d to IPv4 and ignoring zones', () => {
    assert.deepEqual(parseIp('127.0.0.1'), { family: 4, bytes: Uint8Array.from([127, 0, 0, 1]) });
    assert.deepEqual(parseIp('::ffff:127.0.0.1'), { family: 4, bytes: Uint8Array.from([127, 0, 0, 1]) });
    assert.equal(parseIp('fe80::1%lo')?.family, 6);
    assert.equal(parseIp('nonsense'), undefined);
    assert.equal(parseIp('1.2.3'), undefined);
  });
  it('normalizes mapped addresses only', () => {
    assert.equal(normalizeAddress('::ffff:192.0.2.1'), '192.0.2.1');
    assert.equal(normalizeAddress('::FFFF:192.0.2.1'), '192.0.2.1');
    assert.equal(normalizeAddress('::1'), '::1');
    assert.equal(normalizeAddress('192.0.2.1'), '192.0.2.1');
  });
});

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

  it('fails on the first bad entry', () => {
    assert.throws(() => new AccessList(['127.0.0.0/8', 'nope']), CidrError);
  });
});
