/**
 * The start-up self-test (src/selftest): the tree it signs is valid for BIND's delv too (an independent
 * validator checks our signer, NSEC and NSEC3 chains and wildcard answers), every zone of it comes out
 * secure through our own stack on both crypto backends, a zone with bad signatures is reported, and
 * the daemon logs the outcome before its listeners open. Loopback only.
 */
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ManualClock, systemClock } from '../../src/clock.js';
import { runSelfTest } from '../../src/daemon/index.js';
import { defaultConfig } from '../../src/config/schema.js';
import { SelfTestTree } from '../../src/selftest/tree.js';
import { askProbes, questions, serveTree } from '../../src/selftest/checks.js';
import { Name, RRType } from '../../src/wire/index.js';
import { run } from '../world/proc.js';
import { parseDelv } from '../world/tools.js';
import { startTestDaemon } from '../support/daemon.js';

describe('the self-test tree, checked by delv', () => {
  const tree = new SelfTestTree(Date.now());
  let server: Awaited<ReturnType<typeof serveTree>>;
  let dir: string;
  let anchors: string;
  before(async () => {
    server = await serveTree(tree);
    dir = mkdtempSync(join(tmpdir(), 'stubd-selftest-'));
    anchors = join(dir, 'anchors.conf');
    const k = tree.anchor.data;
    writeFileSync(anchors, `trust-anchors {\n\t${tree.anchorZone.toText()} static-key ${k.flags} ${k.protocol} ${k.algorithm} "${Buffer.from(k.publicKey).toString('base64')}";\n};\n`);
  });
  after(() => {
    server?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const delv = async (name: string, type: string): Promise<ReturnType<typeof parseDelv>> => {
    const r = await run('delv', [`@127.0.0.1`, '-p', String(server.port), '-a', anchors, name, type], { timeoutMs: 30_000 });
    return parseDelv(r.stdout + r.stderr);
  };

  it('the zones above the children (a private root, invalid., warmup.invalid.) are signed and delegate securely', async () => {
    for (const [name, type, negative] of [
      ['www.', 'A', false], ['invalid.', 'DS', false], ['www.invalid.', 'A', false], ['nx.invalid.', 'A', true],
      ['warmup.invalid.', 'DS', false], ['www.warmup.invalid.', 'A', false], ['a13.warmup.invalid.', 'DS', false],
    ] as const) {
      const v = await delv(name, type);
      assert.equal(v.status, 'secure', `${name} ${type}:\n${v.output}`);
      assert.equal(v.negative, negative, `${name} ${type} negative:\n${v.output}`);
    }
  });

  it('the insecure delegations (DS denied by NSEC, by NSEC3) and the CNAMEs validate as they should', async () => {
    const [u1, u3] = tree.insecure.map((z) => z.toText());
    for (const [name, type, status, negative] of [
      [`www.${u1}`, 'A', 'insecure', false], [`nx.${u1}`, 'A', 'insecure', true], [`h.wild.${u1}`, 'A', 'insecure', false],
      [`www.${u3}`, 'A', 'insecure', false], [`nx.${u3}`, 'A', 'insecure', true],
      [u1, 'DS', 'secure', true], [u3, 'DS', 'secure', true],
      [tree.aliases.secure.toText(), 'A', 'secure', false],
    ] as const) {
      const v = await delv(name, type);
      assert.equal(v.status, status, `${name} ${type}:\n${v.output}`);
      assert.equal(v.negative, negative, `${name} ${type} negative:\n${v.output}`);
    }
    // delv prints a status per link: the signed CNAME, then the unsigned target (insecure as a whole).
    const v = await delv(tree.aliases.insecure.toText(), 'A');
    assert.match(v.output, /; fully validated\n\S+ +\d+\s+IN\s+CNAME\s+www\.u1\.warmup\.invalid\.[\s\S]*; unsigned answer\nwww\.u1\.warmup\.invalid\.\s+\d+\s+IN\s+A\s/, v.output);
  });

  for (const zone of tree.children.map((c) => c.toText())) {
    it(`${zone}: host, wildcard expansion, NXDOMAIN, NODATA and wildcard NODATA are fully validated`, async () => {
      for (const [name, type, negative] of [
        [`www.${zone}`, 'A', false], [`x1.wild.${zone}`, 'A', false], [`nx.${zone}`, 'A', true],
        [`www.${zone}`, 'MX', true], [`x2.wild.${zone}`, 'TXT', true], [`wild.${zone}`, 'A', true],
      ] as const) {
        const v = await delv(name, type);
        assert.equal(v.status, 'secure', `${name} ${type}:\n${v.output}`);
        assert.equal(v.negative, negative, `${name} ${type} negative:\n${v.output}`);
      }
    });
  }
});

describe('runSelfTest', () => {
  it('every zone of a fresh tree validates through the full stack (openssl backend)', async () => {
    const r = await runSelfTest(defaultConfig(), systemClock, 300);
    assert.deepEqual(r.failures, []);
    assert.deepEqual(r.failed, []);
    assert.deepEqual(r.passed, ['a8', 'a13', 'a14', 'a15', 'a16', 'n3', 'insecure', 'cname']);
    assert.ok(r.queries >= 300, `${r.queries} queries`);
  });

  it('and with the pure-JS crypto backend, and with aggressive NSEC off', async () => {
    const cfg = defaultConfig();
    cfg.crypto = 'js';
    cfg.cache.aggressiveNsec = false;
    const r = await runSelfTest(cfg, systemClock, 100);
    assert.deepEqual(r.failures, []);
    assert.equal(r.passed.length, 8);
  });

  it('reports a zone whose signatures do not verify, and only that zone', async () => {
    const tree = new SelfTestTree(Date.now(), undefined, 'a15');
    const r = await runSelfTest(defaultConfig(), systemClock, 100, { tree });
    assert.deepEqual(r.failed, ['a15']);
    assert.deepEqual(r.passed, ['a8', 'a13', 'a14', 'a16', 'n3', 'insecure', 'cname']);
    assert.ok(r.failures.length > 0 && r.failures.every((f) => f.includes('.a15.warmup.invalid.')), r.failures.join('\n'));
  });

  it('the tree answers like an upstream: wildcard expansions carry their proof, NSEC3 answers only the records needed', () => {
    const tree = new SelfTestTree(Date.now());
    const a13 = tree.children.find((c) => c.toText().startsWith('a13'))!;
    const n3 = tree.children.find((c) => c.toText().startsWith('n3'))!;
    const q = (name: string, zone: Name, type: number = RRType.A): ReturnType<SelfTestTree['answer']> => tree.answer({ name: Name.fromText(name, zone), type, class: 1 });
    const wild = q('h1.wild', a13);
    assert.equal(wild.rcode, 0);
    assert.deepEqual(wild.answer.map((r) => r.type).sort(), [RRType.A, RRType.RRSIG]);
    assert.ok(wild.authority.some((r) => r.type === RRType.NSEC));
    const nx = q('nx', n3);
    assert.equal(nx.rcode, 3);
    assert.ok(nx.authority.filter((r) => r.type === RRType.NSEC3).length <= 3);
  });
});

describe('the daemon runs the self-test before it listens', () => {
  it('logs the outcome, and server.warmupQueries 0 skips it', async () => {
    for (const warmupQueries of [200, 0]) {
      // No upstream needed: the self-test has its own. Port 9 on loopback: nothing listens there.
      const d = await startTestDaemon({
        config: { server: { warmupQueries } }, cli: { upstream: ['127.0.0.1:9'], logLevel: 'info' }, logs: 'info', clock: new ManualClock(Date.now()),
      });
      await d.stop();
      const lines = d.logs.map((l) => JSON.stringify(l));
      const passed = lines.filter((l) => l.includes('self-test passed'));
      if (warmupQueries > 0) {
        assert.equal(passed.length, 1, lines.join('\n'));
        const order = lines.findIndex((l) => l.includes('self-test passed')) < lines.findIndex((l) => l.includes('dnssec-stubd started'));
        assert.ok(order, 'the self-test ends before the daemon says it started');
      } else assert.equal(lines.filter((l) => l.includes('self-test')).length, 0);
    }
  });
});

describe('the self-test never holds the start for long', () => {
  const probes = questions(new SelfTestTree(Date.now()), 20, 'x');

  it('gives up once a window of questions in a row got no answer (a listener that never answers)', async () => {
    const mute = createSocket('udp4');
    await new Promise<void>((r) => mute.bind(0, '127.0.0.1', () => r()));
    try {
      const t0 = Date.now();
      const failures = await askProbes(mute.address().port, probes, 4, Date.now() + 60_000);
      assert.ok(Date.now() - t0 < 8_000, `${Date.now() - t0} ms`);
      assert.match(failures[0]!, /^gave up: 4 questions in a row got no answer/);
      assert.ok(failures.length <= 1 + 8, `${failures.length} failures: it stopped asking`);
    } finally {
      mute.close();
    }
  });

  it('and once its deadline has passed', async () => {
    const failures = await askProbes(9, probes, 4, Date.now() - 1);
    assert.deepEqual(failures, ['gave up: the self-test ran out of time']);
  });
});
