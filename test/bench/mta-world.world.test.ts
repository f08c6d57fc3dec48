/**
 * bench/mta's own hierarchy (127.58.128.0/17, the `check` instance; not the shared test world) is signed with
 * BIND's tools, served by NSD under an iterating Unbound, and a Postfix-like client gets exactly the
 * hierarchy's answers through the 2 ms relay from a fresh dnssec-stubd (MTA prefetch on when the build has it)
 * and a fresh validating Unbound: MX and host addresses with AD where signed, none where not, TLSA with AD
 * or a secure NXDOMAIN. Signing is cached in bench/out/mta-world/check/ (a cold run signs 16 zones).
 *
 * A world test (NSD, Unbound and BIND's tools, port 53 of fixed addresses), though not on the test world's block:
 * STUBD_WORLD_NET does not move it, so the test runs of two checkouts take turns on it (bench/mta-world.ts's lock, waited for up to 120 s).
 * The expectation check it relies on is tested without servers in mta-client.test.ts.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkMta } from '../../bench/mta-check.js';

describe('bench/mta hierarchy', () => {
  it('the client sees exactly the hierarchy through dnssec-stubd and Unbound', { timeout: 240_000 }, async () => {
    const r = await checkMta();
    assert.deepEqual(r.problems, [], r.lines.join('\n'));
    assert.equal(r.lines.length, 2, r.lines.join('\n'));
  });
});
