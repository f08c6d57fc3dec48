import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  CidrError, canonicalAddress, endpointLabel, normalizeAddress, parseCidr, parseEndpoint, parseIp,
} from '../../src/net/address.js';

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

describe('parseEndpoint', () => {
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
      assert.deepEqual(parseEndpoint(input), { ok: true, address, port });
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
      const r = parseEndpoint(input);
      assert.equal(r.ok, false);
      if (!r.ok) assert.equal(r.problem.kind, kind);
    });
  }
});

describe('address helpers', () => {
  it('canonicalizes IPv6 and labels endpoints', () => {
    assert.equal(canonicalAddress('2001:DB8:0:0::1'), '2001:db8::1');
    assert.equal(canonicalAddress('192.0.2.1'), '192.0.2.1');
    assert.equal(canonicalAddress('0:0::1'), '::1');
    assert.equal(canonicalAddress('::FFFF:127.0.0.1'), '::ffff:7f00:1');
    assert.equal(canonicalAddress('FE80::1%ETH0'), 'fe80::1%eth0');
    assert.equal(endpointLabel({ address: '::1', port: 53 }), '[::1]:53');
    assert.equal(endpointLabel({ address: '192.0.2.1', port: 5353 }), '192.0.2.1:5353');
  });

  it('writes IPv6 as the WHATWG URL parser does (RFC 5952), which the upstream code used before', () => {
    const samples = [
      '::', '::1', '1::', '1:0:0:1::', '1:0:0:2:0:0:0:3', '0:0:1:0:0:2:0:0', '2001:db8:0:0:1:0:0:1', '2001:DB8::AB:0:0:0',
      'fe80:0000:0000:0000:0204:61ff:fe9d:f156', '::ffff:192.0.2.1', '::192.0.2.1', '64:ff9b::198.51.100.7', '1:2:3:4:5:6:7:8',
      '0:0:0:0:0:0:0:0', '1:0:2:0:3:0:4:0', '::ffff:0:0',
    ];
    for (const a of samples) assert.equal(canonicalAddress(a), new URL(`http://[${a}]/`).hostname.slice(1, -1), a);
  });
});
