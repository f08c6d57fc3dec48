/**
 * Checks the test world itself against reference tools: every zone case is
 * queried through the non-validating upstream (dig), validated by delv
 * through the upstream with the fake root anchor, and by the validating
 * Unbound. Expected verdicts come from test/world/zones.ts; disagreements of
 * a reference validator must be recorded there as `deviation`.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { getWorld, stopWorld, ZONES, type QueryCase, type WorldInfo, type ZoneCase } from './world/index.js';
import { delv, dig, rrTypes, upstreamStats, validatorVerdict, type DelvResult, type DigResult } from './world/tools.js';
import { pidAlive } from './world/proc.js';
import { reAddr, worldAddr } from './world/net.js';

let world: WorldInfo;

before(async () => {
  world = await getWorld();
}, { timeout: 300_000 });

after(async () => {
  await stopWorld();
});

// at most this many external tool processes at once
const MAX_PARALLEL = 6;
let active = 0;
const waiting: Array<() => void> = [];
async function limited<T>(fn: () => Promise<T>): Promise<T> {
  if (active >= MAX_PARALLEL) await new Promise<void>((r) => waiting.push(r));
  active++;
  try {
    return await fn();
  } finally {
    active--;
    waiting.shift()?.();
  }
}

const squash = (s: string) => s.replace(/\s+/g, '').toLowerCase();

function show(label: string, d: DigResult | DelvResult): string {
  const raw = 'raw' in d ? d.raw : d.output;
  return `--- ${label} ---\n${raw.trim()}\n`;
}

function isSigned(z: ZoneCase): boolean {
  return z.signer !== 'none';
}

describe('world infrastructure', () => {
  it('all processes are alive and world.json describes them', () => {
    assert.equal(world.processes.length, 6);
    for (const p of world.processes) assert.ok(pidAlive(p.pid), `${p.name} (pid ${p.pid}) is not running`);
    assert.ok(existsSync(`${world.dir}/world.json`));
  });

  it('anchor files are usable: zone-file DNSKEY+DS and a delv trust-anchors clause', () => {
    const zoneAnchor = readFileSync(world.rootAnchorFile, 'utf8');
    assert.match(zoneAnchor, /^\.\s+\d+\s+IN\s+DNSKEY\s+257 3 8 /m);
    assert.match(zoneAnchor, /^\.\s+\d+\s+IN\s+DS\s+\d+ 8 2 [0-9A-F]{64}$/m);
    assert.match(readFileSync(world.delvAnchorFile, 'utf8'), /trust-anchors \{\n\t\. static-key 257 3 8 "[A-Za-z0-9+/=]+";\n\};/);
    assert.match(readFileSync(world.rootHintsFile, 'utf8'), new RegExp(`a\\.root-servers\\.test\\.\\s+\\d+\\s+IN\\s+A\\s+${reAddr(worldAddr(0, 1))}`));
  });

  it('every authoritative server answers authoritatively (AA) for each of its zones', async () => {
    await Promise.all(world.authServers.flatMap((a) => a.zones.map((zone) => limited(async () => {
      const d = await dig(a, zone, 'SOA', { rd: false, dnssec: true });
      assert.equal(d.status, 'NOERROR', `${a.id} ${zone}\n${d.raw}`);
      assert.ok(d.flags.includes('aa'), `${a.id} is not authoritative for ${zone}\n${d.raw}`);
      const signed = isSigned(ZONES[zone]!);
      assert.equal(rrTypes(d.answer).includes('RRSIG'), signed, `${zone} SOA RRSIG presence\n${d.raw}`);
    }))));
  });

  it('the root server refers test. to the TLD server with glue', async () => {
    const d = await dig(world.authServers.find((a) => a.id === 'nsd-root')!, 'www.alg8.test.', 'A', { rd: false, dnssec: true });
    assert.equal(d.status, 'NOERROR', d.raw);
    assert.ok(d.authority.some((l) => /^test\. \d+ IN NS ns1\.nic\.test\.$/.test(l)), d.raw);
    assert.ok(d.authority.some((l) => / IN DS /.test(l)), `DS for test. in referral\n${d.raw}`);
    assert.ok(d.additional.some((l) => new RegExp(`^ns1\\.nic\\.test\\. \\d+ IN A ${reAddr(worldAddr(0, 2))}$`).test(l)), d.raw);
  });

  it('the upstream recurses and passes DNSSEC records through when DO=1', async () => {
    const withDo = await dig(world.upstream, 'www.alg13.test.', 'A', { dnssec: true });
    assert.equal(withDo.status, 'NOERROR', withDo.raw);
    assert.ok(withDo.flags.includes('ra'), withDo.raw);
    assert.ok(!withDo.ad, `upstream must not validate (no AD)\n${withDo.raw}`);
    assert.deepEqual(rrTypes(withDo.answer).sort(), ['A', 'RRSIG'], withDo.raw);
    const noDo = await dig(world.upstream, 'www.alg13.test.', 'A');
    assert.deepEqual(rrTypes(noDo.answer), ['A'], `no RRSIG without DO\n${noDo.raw}`);
    const cd = await dig(world.upstream, 'www.alg13.test.', 'A', { dnssec: true, cd: true });
    assert.equal(cd.status, 'NOERROR', cd.raw);
    assert.ok(cd.flags.includes('cd'), cd.raw);
    assert.deepEqual(rrTypes(cd.answer).sort(), ['A', 'RRSIG'], cd.raw);
  });

  it('the upstream returns NSEC/NSEC3 proofs with RRSIGs for negative answers', async () => {
    const nsec = await dig(world.upstream, 'nx.alg13.test.', 'A', { dnssec: true, cd: true });
    assert.equal(nsec.status, 'NXDOMAIN', nsec.raw);
    assert.ok(rrTypes(nsec.authority).includes('NSEC'), nsec.raw);
    assert.ok(rrTypes(nsec.authority).includes('RRSIG'), nsec.raw);
    const nsec3 = await dig(world.upstream, 'nx.nsec3-salt.test.', 'A', { dnssec: true, cd: true });
    assert.equal(nsec3.status, 'NXDOMAIN', nsec3.raw);
    assert.ok(rrTypes(nsec3.authority).includes('NSEC3'), nsec3.raw);
    assert.ok(rrTypes(nsec3.authority).includes('RRSIG'), nsec3.raw);
  });

  it('the upstream answers bogus data without SERVFAIL (it does not validate)', async () => {
    const d = await dig(world.upstream, 'www.bogus-expired.test.', 'A', { dnssec: true });
    assert.equal(d.status, 'NOERROR', d.raw);
    assert.ok(!d.ad);
    assert.ok(d.answer.some((l) => l.includes(worldAddr(100, 1))), d.raw);
  });

  it('the upstream answers over TCP', async () => {
    const d = await dig(world.upstream, 'alg16.test.', 'DNSKEY', { dnssec: true, tcp: true });
    assert.equal(d.status, 'NOERROR', d.raw);
    assert.ok(rrTypes(d.answer).includes('DNSKEY'), d.raw);
  });

  it('the validating Unbound sets AD for secure data and SERVFAILs bogus data', async () => {
    const good = await dig(world.validatingUnbound, 'www.alg8.test.', 'A', { dnssec: true });
    assert.equal(good.status, 'NOERROR', good.raw);
    assert.ok(good.ad, good.raw);
    const bad = await dig(world.validatingUnbound, 'www.bogus-expired.test.', 'A', { dnssec: true });
    assert.equal(bad.status, 'SERVFAIL', bad.raw);
    const cd = await dig(world.validatingUnbound, 'www.bogus-expired.test.', 'A', { dnssec: true, cd: true });
    assert.equal(cd.status, 'NOERROR', `CD=1 disables validation\n${cd.raw}`);
  });

  it('unbound-control stats on the upstream count queries', async () => {
    const before = await upstreamStats(world);
    assert.ok('total.num.queries' in before, Object.keys(before).slice(0, 20).join(','));
    assert.ok('num.query.type.A' in before || 'total.num.cachemiss' in before);
    await dig(world.upstream, 'stats-probe.alg8.test.', 'A');
    const afterStats = await upstreamStats(world);
    assert.ok(afterStats['total.num.queries']! > before['total.num.queries']!, 'query counter did not increase');
  });

  it('DANE: the secure TLSA 3 1 1 matches the SPKI of the generated certificate', async () => {
    assert.ok(existsSync(world.dane.certFile) && existsSync(world.dane.keyFile));
    const d = await dig(world.validatingUnbound, world.dane.tlsaOwner, 'TLSA', { dnssec: true });
    assert.equal(d.status, 'NOERROR', d.raw);
    assert.ok(d.ad, d.raw);
    const tlsa = d.answer.find((l) => / IN TLSA /.test(l));
    assert.ok(tlsa, d.raw);
    assert.equal(squash(tlsa!.split(' IN TLSA ')[1]!), squash(`3 1 1 ${world.dane.spkiSha256}`));
  });

  it('signed zones are cached: signatures valid for more than 7 days', () => {
    assert.ok(Date.parse(world.signaturesExpireAt) - Date.now() > 7 * 86400_000, world.signaturesExpireAt);
  });
});

// ---------------------------------------------------------------------------
// every query of every zone case
// ---------------------------------------------------------------------------

/** one retry for transport trouble (a timeout is never a verdict) */
async function retried<T extends DigResult | DelvResult>(fn: () => Promise<T>): Promise<T> {
  const first = await limited(fn);
  const transient = 'raw' in first ? first.status === 'TIMEOUT' : first.status === 'error';
  return transient ? limited(fn) : first;
}

async function checkQuery(z: ZoneCase, q: QueryCase): Promise<void> {
  const [up, dv, val] = await Promise.all([
    retried(() => dig(world.upstream, q.name, q.type, { dnssec: true, cd: true })),
    retried(() => delv(world, q.name, q.type)),
    retried(() => dig(world.validatingUnbound, q.name, q.type, { dnssec: true })),
  ]);
  const ctx = `${q.name} ${q.type} (zone ${z.name}, expected ${q.status}${q.note ? `: ${q.note}` : ''})\n` +
    show('upstream dig +dnssec +cd', up) + show('delv', dv) + show('validating unbound', val);

  // 1. the non-validating upstream returns the data (even when bogus) with DNSSEC records
  assert.equal(up.status, q.rcode, `upstream rcode\n${ctx}`);
  const answerTypes = rrTypes(up.answer);
  if (q.nodata) assert.ok(!answerTypes.includes(q.type), `expected NODATA\n${ctx}`);
  else if (q.rcode === 'NOERROR') assert.ok(answerTypes.length > 0, `expected an answer\n${ctx}`);
  for (const s of q.expectAnswer ?? []) {
    assert.ok(squash(up.answer.join('\n')).includes(squash(s)), `answer should contain ${s}\n${ctx}`);
  }
  const zone = z;
  const stripped = zone.mutations.some((m) => m.op === 'strip-rrsig');
  if (isSigned(zone) && !(stripped && q.status === 'bogus')) {
    const section = q.rcode === 'NXDOMAIN' || q.nodata ? up.authority : up.answer;
    assert.ok(rrTypes(section).includes('RRSIG'), `RRSIGs must be passed through by the upstream\n${ctx}`);
    if (q.rcode === 'NXDOMAIN' || q.nodata) {
      const t = rrTypes(up.authority);
      assert.ok(t.includes('NSEC') || t.includes('NSEC3'), `denial proof must be passed through\n${ctx}`);
    }
  }

  // 2. delv through the upstream with the fake trust anchor
  const delvExpected = q.deviation?.delv ?? q.status;
  assert.equal(dv.status, delvExpected, `delv verdict (${dv.reason})\n${ctx}`);

  // 3. validating Unbound: AD for secure, plain answer for insecure, SERVFAIL for bogus
  const valExpected = q.deviation?.validatingUnbound ?? q.status;
  assert.equal(validatorVerdict(val), valExpected, `validating Unbound verdict\n${ctx}`);
  if (valExpected !== 'bogus') assert.equal(val.status, q.rcode, `validating Unbound rcode\n${ctx}`);
}

describe('zone cases', { concurrency: 4 }, () => {
  for (const z of Object.values(ZONES)) {
    describe(`${z.name} [${z.kind}, expected ${z.expected}] ${z.description}`, { concurrency: 4 }, () => {
      for (const q of z.queries) {
        it(`${q.name} ${q.type} -> ${q.rcode}${q.nodata ? '/NODATA' : ''} ${q.status}` +
          `${q.deviation ? ` (deviation: ${JSON.stringify({ ...q.deviation, reason: undefined })})` : ''}`,
        { timeout: 120_000 }, () => checkQuery(z, q));
      }
    });
  }
});
