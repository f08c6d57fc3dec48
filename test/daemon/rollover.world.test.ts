/**
 * The root KSK rolls over under a running daemon (issue 11, RFC 5011), with real software: a private root on
 * NSD whose zone is re-signed by dnssec-signzone and reloaded between the stages of the roll (KSK1 only; KSK2
 * published and signing too; KSK1 revoked and self-signed; KSK1 removed), a child `example.` on named, and a
 * recursive Unbound as the daemon's upstream (test/support/rollover-world.ts, rolloverAddr(1, *)).
 *
 * A: one daemon with hold-downs of 2 s (config file) follows the whole roll and answers SECURE at every stage:
 *    KSK2 Start -> AddPend -> Valid (hold-down passed and two further sightings), KSK1 Valid -> Revoked -> Removed,
 *    the chain of trust ending with KSK2 alone.
 * B: a daemon started after the roll from A's state file trusts KSK2 alone (the stale anchor file does not undo
 *    the roll); one with no state and an anchor file holding only the removed KSK1 fails closed (SERVFAIL, EDE 9,
 *    never INSECURE) and recovers with a KSK2 anchor file and a fresh state directory.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { ManagedKeyView } from '../../src/anchors/manager.js';
import { Name, keyTag } from '../../src/wire/index.js';
import { dig } from '../support/dig.js';
import { startRolloverWorld, type RolloverWorld } from '../support/rollover-world.js';
import { startTestDaemon, type LogRecord, type TestDaemon } from '../support/daemon.js';
import { anchorsJson } from '../support/daemon-process.js';
import { tempStateDir } from '../support/state-dir.js';
import { daemonAddr } from '../world/net.js';

const HOLD_DOWN_S = 2;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

let w: RolloverWorld;
/** The state directory of the daemon that followed the roll (describe A), for the daemons started after it. */
let stateDirA: string | undefined;
before(async () => {
  w = await startRolloverWorld(1);
});
/** State directories made here (test/support/state-dir.ts), removed at the end. */
const stateDirs: string[] = [];
const newStateDir = (): string => {
  const d = tempStateDir();
  stateDirs.push(d);
  return d;
};

/** A daemon of this file, with its state directory. */
interface Stubd extends TestDaemon {
  stateDir: string;
}

const open = new Set<Stubd>();
// Daemons still open (a failed test) first, then the servers and the files.
after(async () => {
  for (const s of open) await s.stop();
  w?.stop();
  for (const d of stateDirs) rmSync(d, { recursive: true, force: true });
});

/** A daemon in this process: the rollover world's upstream, a JSON config file, logs kept for the assertions. */
async function stubd(stateDir: string, config: object, trustAnchor?: string[]): Promise<Stubd> {
  const s = { ...await startTestDaemon({
    config: { server: { warmupQueries: 0 }, ...config }, logs: 'info',
    cli: { stateDir, upstream: [`${w.upstream.host}:${w.upstream.port}`], ...(trustAnchor ? { trustAnchor } : {}) },
  }), stateDir };
  open.add(s);
  return s;
}

const refresh = (s: Stubd): Promise<void> => s.daemon.anchorManager!.refresh(Name.root);
const rootView = (s: Stubd) => s.daemon.stats().managedAnchors!.find((z) => z.zone === '.')!;
/** The managed key whose tag without the REVOKE bit is `tag`. */
function key(s: Stubd, tag: number): ManagedKeyView | undefined {
  return rootView(s).keys.find((k) => k.keyTagUnrevoked === tag);
}
/** The key tags the chain of trust holds as root anchors now. */
const trustedTags = (s: Stubd): number[] => s.daemon.stack.chain.trustAnchors().filter((a) => a.zone.isRoot())
  .flatMap((a) => a.dnskeys.map((k) => keyTag(k.rdata))).sort((a, b) => a - b);
const stateFile = (s: Stubd): string => readFileSync(join(s.stateDir, 'root.anchor'), 'utf8');
/** The state file's line of the key whose tag without the REVOKE bit is `tag`. */
const stateLine = (s: Stubd, tag: number): string => stateFile(s).split('\n').find((l) => l.includes(` ;tag-unrevoked=${tag} `)) ?? '';
const logged = (s: Stubd, re: RegExp): LogRecord[] => s.logs.filter((l) => re.test(l.msg));

/** www.example. A is SECURE (AD) and www.unsigned. A INSECURE, as the cache has them and after a flush (the chain from the root DNSKEY RRset served now). */
async function assertAnswers(s: Stubd, when: string): Promise<void> {
  for (const flushed of [false, true]) {
    if (flushed) s.daemon.flush();
    const label = `${when}${flushed ? ', after a flush' : ''}`;
    const r = await dig(s.port, ['www.example.', 'A', '+dnssec']);
    assert.equal(r.status, 'NOERROR', `${label}: ${r.text}`);
    assert.ok(r.flags.has('ad'), `${label}: www.example. A must be SECURE\n${r.text}`);
    assert.ok(r.answers.some((l) => l.endsWith(`\tA\t${daemonAddr(200, 1)}`)), r.text);
    const u = await dig(s.port, ['www.unsigned.', 'A', '+dnssec']);
    assert.equal(u.status, 'NOERROR', `${label}: ${u.text}`);
    assert.ok(!u.flags.has('ad'), `${label}: www.unsigned. A is INSECURE\n${u.text}`);
    assert.ok(u.answers.some((l) => l.endsWith(`\tA\t${daemonAddr(200, 2)}`)), u.text);
  }
}

/**
 * The RFC 8145 §5 key-tag signal (`_ta-XXXX[-YYYY].` IN NULL, the trusted tags in hex, sorted) reached the root through
 * the upstream: its answer is in the upstream's cache.
 */
async function signalled(tags: number[]): Promise<void> {
  const label = `_ta-${[...tags].sort((x, y) => x - y).map((t) => t.toString(16).padStart(4, '0')).join('-')}`;
  let cache = '';
  for (let i = 0; i < 40; i++) {
    cache = await w.upstreamCache();
    if (cache.split('\n').some((l) => l.startsWith(`msg ${label}. IN NULL `))) return;
    await sleep(50);
  }
  assert.fail(`no ${label}. NULL query in the upstream's cache:\n${cache.split('\n').filter((l) => l.startsWith('msg ')).join('\n')}`);
}

/** `dnssec-stubd anchors --json` (a separate process, read only) on a state directory. */
const anchorsCli = (stateDir: string, anchorFile: string): ReturnType<typeof anchorsJson> => anchorsJson(['--state-dir', stateDir, '--trust-anchor', anchorFile]);

describe('RFC 5011: the root KSK rolls under one daemon (hold-downs 2 s)', () => {
  let a: Stubd;

  it('stage 1 (KSK1 only): the configured KSK1 is trusted, confirmed by the first refresh; SECURE', async () => {
    assert.deepEqual(await w.upstreamRootKeys(), { keys: [w.ksk1.tag, w.zsk.tag].sort((x, y) => x - y), sigs: [w.ksk1.tag] });
    stateDirA = newStateDir();
    a = await stubd(stateDirA, { trustAnchors: { files: [w.anchorFiles.ksk1], addHoldDown: HOLD_DOWN_S, removeHoldDown: HOLD_DOWN_S } });
    await a.refreshed();
    assert.equal(rootView(a).lastRefresh!.result, 'ok');
    assert.equal(key(a, w.ksk1.tag)?.state, 'Valid');
    assert.ok(key(a, w.ksk1.tag)?.lastSeen !== undefined, 'KSK1 seen in a validated DNSKEY RRset');
    assert.equal(rootView(a).keys.length, 1, 'the ZSK is no anchor');
    assert.deepEqual(trustedTags(a), [w.ksk1.tag]);
    assert.match(stateLine(a, w.ksk1.tag), /;state=Valid/);
    await signalled([w.ksk1.tag]);
    await assertAnswers(a, 'stage 1');
    // RFC 5011 §2.3: the next refresh is max(1 h, min(15 d, TTL/2, expiry/2)): the 1 h floor with TTL 5 s; tick() waits for it.
    const z = rootView(a);
    assert.equal(z.nextRefresh - z.lastRefresh!.at, 3_600_000);
    await a.daemon.anchorManager!.tick();
    assert.equal(rootView(a).lastRefresh!.at, z.lastRefresh!.at, 'tick() refreshes only zones that are due');
  });

  it('stage 2 (KSK2 published, both sign): KSK2 AddPend, trusted only after the hold-down and two further sightings', async () => {
    await w.setStage(2);
    assert.deepEqual(await w.upstreamRootKeys(), { keys: [w.ksk1.tag, w.ksk2.tag, w.zsk.tag].sort((x, y) => x - y), sigs: [w.ksk1.tag, w.ksk2.tag].sort((x, y) => x - y) });
    await assertAnswers(a, 'stage 2, before the refresh');

    await refresh(a);
    let k2 = key(a, w.ksk2.tag);
    assert.equal(k2?.state, 'AddPend', 'a new SEP key in a validated RRset');
    const seenAt = rootView(a).lastRefresh!.at;
    assert.equal(k2!.holdDownEnd, seenAt + HOLD_DOWN_S * 1000);
    assert.match(stateLine(a, w.ksk2.tag), /;state=AddPend .*;count=0$/);
    assert.deepEqual(trustedTags(a), [w.ksk1.tag], 'a pending key is no anchor');
    assert.equal(logged(a, new RegExp(`^\\. key ${w.ksk2.tag} alg 8: Start -> AddPend \\(new-key\\)$`)).length, 1);
    assert.ok(logged(a, new RegExp(`^\\. key ${w.ksk2.tag} alg 8: pending .*trusted from `)).some((l) => l.level === 40), 'a warning while pending');
    await assertAnswers(a, 'stage 2, KSK2 pending');

    // The hold-down passes, but the key has been seen in one refresh since it was found: not yet (Unbound's MIN_PENDINGCOUNT 2).
    await sleep(k2!.holdDownEnd! - Date.now() + 100);
    await refresh(a);
    assert.equal(key(a, w.ksk2.tag)?.state, 'AddPend');
    assert.match(stateLine(a, w.ksk2.tag), /;count=1$/);
    assert.deepEqual(trustedTags(a), [w.ksk1.tag]);

    await refresh(a);
    k2 = key(a, w.ksk2.tag);
    assert.equal(k2?.state, 'Valid');
    assert.deepEqual(trustedTags(a), [w.ksk1.tag, w.ksk2.tag].sort((x, y) => x - y), 'the running chain of trust got KSK2 without a restart');
    assert.deepEqual(a.daemon.stats().anchors, [{ zone: '.', ds: 0, dnskeys: 2 }]);
    assert.equal(logged(a, new RegExp(`^\\. key ${w.ksk2.tag} alg 8: AddPend -> Valid \\(add-hold-down-passed\\)$`)).length, 1);
    assert.ok(logged(a, /^trust anchors changed \(RFC 5011\)$/).length >= 1);
    assert.match(stateLine(a, w.ksk2.tag), /;state=Valid/);
    await signalled([w.ksk1.tag, w.ksk2.tag]);
    await assertAnswers(a, 'stage 2, KSK2 valid');
  });

  it('stage 3 (KSK1 revoked, signing the RRset itself): KSK1 Revoked and never trusted again; SECURE through KSK2', async () => {
    await w.setStage(3);
    assert.deepEqual(await w.upstreamRootKeys(), {
      keys: [w.ksk1Revoked.tag, w.ksk2.tag, w.zsk.tag].sort((x, y) => x - y), sigs: [w.ksk1Revoked.tag, w.ksk2.tag].sort((x, y) => x - y),
    });
    assert.equal(w.ksk1Revoked.tag, (w.ksk1.tag + 128) & 0xffff, 'the key tag is computed with the REVOKE bit set');
    await assertAnswers(a, 'stage 3, before the refresh');

    await refresh(a);
    const k1 = key(a, w.ksk1.tag);
    assert.equal(k1?.state, 'Revoked');
    assert.equal(k1!.keyTag, w.ksk1Revoked.tag, 'the state keeps the revoked form');
    assert.deepEqual(trustedTags(a), [w.ksk2.tag]);
    assert.deepEqual(a.daemon.stats().anchors, [{ zone: '.', ds: 0, dnskeys: 1 }]);
    assert.equal(logged(a, new RegExp(`^\\. key ${w.ksk1Revoked.tag} \\(${w.ksk1.tag} before revocation\\) alg 8: Valid -> Revoked \\(revoked\\)$`)).length, 1);
    assert.match(stateLine(a, w.ksk1.tag), new RegExp(`DNSKEY\\s+385 3 8 .*;state=Revoked ;tag=${w.ksk1Revoked.tag} `));
    await signalled([w.ksk2.tag]);
    await assertAnswers(a, 'stage 3, KSK1 revoked');

    // RemTime counts from when the revoked key is gone: while it is published it stays Revoked, whatever the time.
    await sleep(HOLD_DOWN_S * 1000 + 200);
    await refresh(a);
    assert.equal(key(a, w.ksk1.tag)?.state, 'Revoked');
    assert.deepEqual(trustedTags(a), [w.ksk2.tag]);
  });

  it('stage 4 (KSK1 removed): KSK1 Removed after the remove hold-down and stays out; the chain trusts KSK2 alone', async () => {
    await w.setStage(4);
    assert.deepEqual(await w.upstreamRootKeys(), { keys: [w.ksk2.tag, w.zsk.tag].sort((x, y) => x - y), sigs: [w.ksk2.tag] });
    await assertAnswers(a, 'stage 4, before the refresh');

    await refresh(a);
    let k1 = key(a, w.ksk1.tag)!;
    if (rootView(a).lastRefresh!.at < k1.holdDownEnd!) assert.equal(k1.state, 'Revoked', 'gone for less than the remove hold-down');
    await sleep(Math.max(0, k1.holdDownEnd! - Date.now()) + 100);
    await refresh(a);
    k1 = key(a, w.ksk1.tag)!;
    assert.equal(k1.state, 'Removed');
    assert.equal(logged(a, /: Revoked -> Removed \(remove-hold-down-passed\)$/).length, 1);
    assert.match(stateLine(a, w.ksk1.tag), /;state=Removed .*;was-revoked=yes$/);
    assert.equal(key(a, w.ksk2.tag)?.state, 'Valid');
    assert.deepEqual(trustedTags(a), [w.ksk2.tag]);
    assert.deepEqual(a.daemon.stats().anchors, [{ zone: '.', ds: 0, dnskeys: 1 }]);
    assert.equal(rootView(a).trusted, 1);
    await assertAnswers(a, 'stage 4');

    // Another refresh: nothing changes (a removed revoked key is never trusted again).
    await refresh(a);
    assert.equal(key(a, w.ksk1.tag)?.state, 'Removed');
    assert.deepEqual(trustedTags(a), [w.ksk2.tag]);
    assert.equal(logged(a, /no trusted key/).length, 0, 'the zone always had a trusted key');

    // The anchors command reads the state while the daemon runs.
    const cli = await anchorsCli(a.stateDir, w.anchorFiles.ksk1);
    assert.equal(cli.code, 0);
    assert.deepEqual(cli.zones.map((z) => [z.zone, z.trusted]), [['.', 1]]);
    assert.deepEqual(cli.zones[0]!.keys.map((k) => [k.keyTagUnrevoked, k.state]).sort(), [[w.ksk1.tag, 'Removed'], [w.ksk2.tag, 'Valid']].sort());
    await a.stop();
  });
});

describe('RFC 5011: daemons started after the roll', () => {
  it("a daemon started from the first daemon's state validates with KSK2 alone (the stale anchor file listing KSK1 does not undo the roll)", async () => {
    assert.equal(w.stage, 4, 'runs after the roll above');
    assert.ok(stateDirA);
    const b = await stubd(stateDirA, {}, [w.anchorFiles.ksk1]);
    try {
      assert.deepEqual(trustedTags(b), [w.ksk2.tag], 'from the state at start, before any refresh');
      // The note names the key by its tag in the anchor file, and by the revoked form's tag the state holds it under.
      assert.equal(logged(b, new RegExp(`^configured key ${w.ksk1.tag} is Removed in the state file \\(as ${w.ksk1Revoked.tag}, revoked\\): the state wins$`)).length, 1);
      await b.refreshed();
      await refresh(b);
      assert.equal(rootView(b).lastRefresh!.result, 'ok');
      assert.equal(key(b, w.ksk2.tag)?.state, 'Valid');
      assert.equal(key(b, w.ksk1.tag)?.state, 'Removed');
      assert.deepEqual(trustedTags(b), [w.ksk2.tag]);
      await assertAnswers(b, 'restarted after the roll');
    } finally {
      await b.stop();
    }
  });

  it('a daemon with no state and only the removed KSK1 as anchor fails closed: SERVFAIL naming the trust anchor, never INSECURE', async () => {
    const b = await stubd(newStateDir(), {}, [w.anchorFiles.ksk1]);
    try {
      await b.refreshed();
      assert.match(rootView(b).lastRefresh!.result, /trust anchor is gone/);
      for (const [name, type] of [['www.example.', 'A'], ['www.unsigned.', 'A'], ['example.', 'SOA'], ['.', 'SOA']] as const) {
        const r = await dig(b.port, [name, type, '+dnssec']);
        assert.equal(r.status, 'SERVFAIL', `${name} ${type}: ${r.text}`);
        assert.ok(!r.flags.has('ad'), r.text);
        assert.equal(r.answers.length, 0, r.text);
        assert.ok(r.ede.some((l) => /^; EDE: (6|9) /.test(l) && /trust anchor/i.test(l)), `${name} ${type}: an EDE naming the trust anchor\n${r.text}`);
      }
      // Without DO too: no client is told the data is unsigned.
      const plain = await dig(b.port, ['www.unsigned.', 'A']);
      assert.equal(plain.status, 'SERVFAIL', plain.text);
      assert.equal(b.daemon.stats().resolver.statuses.insecure, 0, 'nothing was answered INSECURE');
      assert.equal(b.daemon.stats().resolver.statuses.secure, 0, 'nothing was answered SECURE');
    } finally {
      await b.stop();
    }
  });

  // Issue 11: "the state lost and the file stale": EDE 9 with a text saying the trust anchor is gone, an error logged
  // at every refresh, and `anchors` exiting 1.
  it('the stale-anchor case: EDE 9 "trust anchor is gone", an error at every refresh, anchors exit 1', async () => {
    const b = await stubd(newStateDir(), {}, [w.anchorFiles.ksk1]);
    try {
      await b.refreshed();
      const r = await dig(b.port, ['www.example.', 'A', '+dnssec']);
      assert.equal(r.status, 'SERVFAIL', r.text);
      assert.ok(r.ede.some((l) => /^; EDE: 9 /.test(l) && /trust anchor is gone/.test(l)), r.text);
      assert.ok(b.logs.some((l) => l.level === 50 && /trust anchor is gone/.test(l.msg)), 'an error logged at the refresh');
      await b.stop();
      assert.equal((await anchorsCli(b.stateDir, w.anchorFiles.ksk1)).code, 1);
    } finally {
      await b.stop();
    }
  });

  it('given a KSK2 anchor file and a fresh state directory, a daemon validates again', async () => {
    const b = await stubd(newStateDir(), {}, [w.anchorFiles.ksk2]);
    try {
      await b.refreshed();
      assert.equal(rootView(b).lastRefresh!.result, 'ok');
      assert.equal(key(b, w.ksk2.tag)?.state, 'Valid');
      assert.equal(key(b, w.ksk1.tag), undefined, 'KSK1 is not published any more: the new state never knew it');
      assert.deepEqual(trustedTags(b), [w.ksk2.tag]);
      await assertAnswers(b, 'recovered');
      assert.ok(existsSync(join(b.stateDir, 'root.anchor')));
    } finally {
      await b.stop();
    }
  });
});
