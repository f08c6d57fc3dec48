/**
 * The daemon forwarding through the signed test world: every query case of every zone, asked with CD=1
 * through dnssec-stubd and straight at the world's Unbound upstream, must give the same RCODE and records,
 * over UDP and TCP, with and without DO. Plus dns2 as an independent Node client.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import dns2 from 'dns2';
import { useWorldDaemon } from '../support/world-daemon.js';
import { dig, type DigResult } from '../support/dig.js';
import { ZONES } from '../world/index.js';
import { worldAddr } from '../world/net.js';

const env = useWorldDaemon();

/** Records without TTLs (the upstream's cache counts them down), sorted. */
function records(lines: string[]): string[] {
  return lines.map((l) => l.split(/\s+/).filter((_, i) => i !== 1).join(' ').toLowerCase()).sort();
}

function same(ours: DigResult, theirs: DigResult, what: string): void {
  assert.equal(ours.status, theirs.status, `${what}: rcode`);
  assert.deepEqual(records(ours.answers), records(theirs.answers), `${what}: answer section`);
  assert.deepEqual(records(ours.authority), records(theirs.authority), `${what}: authority section`);
}

const cases = Object.values(ZONES).flatMap((z) => z.queries.map((q) => ({ zone: z, q })));

describe('forwarding through the world matches the upstream', () => {
  it('covers every zone of the world', () => {
    assert.ok(cases.length > 50, `only ${cases.length} query cases`);
  });

  for (const transport of ['udp', 'tcp'] as const) {
    it(`every query case over ${transport}, with DO+CD, gives the upstream's records`, async () => {
      const extra = transport === 'tcp' ? ['+tcp'] : [];
      for (const { q } of cases) {
        const what = `${q.name} ${q.type} (${transport})`;
        const ours = await dig(env.port, [q.name, q.type, '+dnssec', '+cd', ...extra]);
        const theirs = await dig(env.world.upstream.port, [q.name, q.type, '+dnssec', '+cd', ...extra], env.world.upstream.host);
        same(ours, theirs, what);
        assert.equal(ours.status, q.rcode, `${what}: rcode expected by the world`);
        for (const s of q.expectAnswer ?? []) assert.ok(ours.answers.some((l) => l.replace(/\s+/g, ' ').includes(s)), `${what}: answer contains ${s}`);
        // CD=1: the data as received, never claimed as validated.
        assert.ok(!ours.flags.has('ad'), `${what}: AD must not be set with CD`);
        assert.ok(ours.flags.has('ra') && ours.flags.has('rd'), `${what}: RA and RD`);
      }
    });
  }

  it('without DO, RRSIG/NSEC/NSEC3 are left out, and the rest is the upstream answer', async () => {
    let signedSeen = 0;
    for (const { zone, q } of cases) {
      if (q.type === 'RRSIG' || q.type === 'NSEC' || q.type === 'NSEC3') continue;
      const what = `${q.name} ${q.type} (no DO)`;
      const withDo = await dig(env.port, [q.name, q.type, '+dnssec', '+cd']);
      const ours = await dig(env.port, [q.name, q.type, '+cd']);
      const dnssecTypes = /\s(RRSIG|NSEC|NSEC3)\s/;
      assert.ok(!ours.answers.some((l) => dnssecTypes.test(l)), `${what}: DNSSEC records in the answer`);
      assert.ok(!ours.authority.some((l) => dnssecTypes.test(l)), `${what}: DNSSEC records in the authority`);
      assert.deepEqual(records(ours.answers), records(withDo.answers.filter((l) => !dnssecTypes.test(l))), what);
      if (zone.signer !== 'none' && withDo.answers.some((l) => dnssecTypes.test(l))) signedSeen++;
    }
    assert.ok(signedSeen > 20, `DO answers carried RRSIGs for only ${signedSeen} cases`);
  });

  it('echoes the client ID and the question in its case', async () => {
    const mixed = 'WwW.AlG8.TeSt.';
    const r = await dig(env.port, [mixed, 'A', '+qr']);
    assert.ok(r.question.some((l) => l.startsWith(`;${mixed}`)), r.question.join('\n'));
    assert.equal(r.status, 'NOERROR');
  });
});

describe('dns2 as an independent client', () => {
  it('resolves A and MX over UDP and TCP through the daemon', async () => {
    const udp = dns2.UDPClient({ dns: '127.0.0.1', port: env.port });
    const a = await udp('www.alg13.test', 'A');
    assert.deepEqual(a.answers.filter((x) => x.type === 1).map((x) => x.address), [worldAddr(100, 1)]);
    const tcp = dns2.TCPClient({ dns: '127.0.0.1', port: env.port });
    const mx = await tcp('alg13.test', 'MX');
    const exchanges = mx.answers.filter((x) => x.type === 15).map((x) => (x as { exchange?: string }).exchange);
    assert.deepEqual(exchanges, ['mail.alg13.test']);
  });
});
