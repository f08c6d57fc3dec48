/**
 * RFC 5011 in the running daemon, against the world's root: the state file is written at start and the
 * root's key is confirmed by the first refresh; `dnssec-stubd anchors` reads it; a state whose only key is
 * revoked fails closed (SERVFAIL, EDE 9 "the trust anchor is gone", never insecure), and the operator's
 * recovery (the zone's file moved away) brings SECURE back.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { initialState } from '../../src/anchors/rfc5011.js';
import { readAnchorFile } from '../../src/anchors/load.js';
import { writeStateFile } from '../../src/anchors/state-file.js';
import { systemClock } from '../../src/clock.js';
import { DnskeyFlag, Name, makeRR, type DNSKEYData, type RR } from '../../src/wire/index.js';
import { dig } from '../support/dig.js';
import { startTestDaemon, worldFlags, type TestDaemon } from '../support/daemon.js';
import { anchorsJson } from '../support/daemon-process.js';
import { tempStateDir } from '../support/state-dir.js';
import { getWorld, stopWorld, type WorldInfo } from '../world/index.js';

let world: WorldInfo;

before(async () => {
  world = await getWorld();
});
after(() => stopWorld());

const start = (stateDir: string): Promise<TestDaemon> => startTestDaemon({ cli: { ...worldFlags(world), stateDir } });

/** `dnssec-stubd anchors --json` on a state directory: exit code and zones. */
const anchorsCli = (stateDir: string): ReturnType<typeof anchorsJson> => anchorsJson(['--state-dir', stateDir, '--trust-anchor', world.rootAnchorFile]);

describe('RFC 5011 in the daemon', () => {
  it('writes the state at start, confirms the root key at the first refresh, and the anchors command reads it', async () => {
    const dir = tempStateDir();
    const d = await start(dir);
    try {
      await d.refreshed();
      const z = d.daemon.stats().managedAnchors![0]!;
      assert.equal(z.zone, '.');
      assert.equal(z.lastRefresh!.result, 'ok');
      assert.ok(z.keys.some((k) => k.state === 'Valid' && k.lastSeen !== undefined), 'the root KSK seen in a validated RRset');
      assert.match(readFileSync(join(dir, 'root.anchor'), 'utf8'), /;state=Valid/);
      const r = await dig(d.port, ['www.alg13.test.', 'A', '+dnssec']);
      assert.ok(r.flags.has('ad'), r.text);
      const cli = await anchorsCli(dir);
      assert.equal(cli.code, 0);
      assert.equal(cli.zones[0]!.trusted, 1);
    } finally {
      await d.stop();
    }
  });

  it('a state whose only root key is revoked fails closed (EDE 9), the anchors command says so; moving the file away recovers', async () => {
    const dir = tempStateDir();
    const [anchor] = readAnchorFile(world.rootAnchorFile, systemClock);
    const key = anchor!.dnskeys[0] as RR<DNSKEYData>;
    const revoked = makeRR<DNSKEYData>(key.name, key.type, key.ttl, { ...key.data, flags: key.data.flags | DnskeyFlag.REVOKE });
    await writeStateFile(dir, initialState(Name.root, [revoked], Date.now()));

    let d = await start(dir);
    try {
      assert.deepEqual(d.daemon.stats().anchors, [{ zone: '.', ds: 0, dnskeys: 0 }], 'the state wins over the anchor file');
      const r = await dig(d.port, ['www.alg13.test.', 'A', '+dnssec']);
      assert.equal(r.status, 'SERVFAIL', r.text);
      assert.ok(r.ede.some((l) => /\b9\b/.test(l) && /trust anchor is gone/.test(l)), r.text);
      const unsigned = await dig(d.port, ['www.unsigned.test.', 'A', '+dnssec']);
      assert.equal(unsigned.status, 'SERVFAIL', 'never insecure: an unsigned zone under it cannot be proven unsigned either');
    } finally {
      await d.stop();
    }
    const cli = await anchorsCli(dir);
    assert.equal(cli.code, 1);
    assert.deepEqual(cli.zones[0]!.keys.map((k) => k.state), ['Revoked']);

    // The operator's recovery: the zone's file moved away, the anchor file's key taken as at first start.
    renameSync(join(dir, 'root.anchor'), join(dir, 'root.anchor.lost'));
    d = await start(dir);
    try {
      const r = await dig(d.port, ['www.alg13.test.', 'A', '+dnssec']);
      assert.ok(r.flags.has('ad'), r.text);
      assert.ok(existsSync(join(dir, 'root.anchor')));
    } finally {
      await d.stop();
    }
  });

  it('a second daemon on the same state directory stops at start, naming the lock', async () => {
    const dir = tempStateDir();
    const d = await start(dir);
    try {
      await assert.rejects(start(dir), /stateDir: .*dnssec-stubd\.lock/);
    } finally {
      await d.stop();
    }
  });
});
