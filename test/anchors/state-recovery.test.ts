/**
 * Issue 11's "handled as above", at the level of the RFC 5011 manager (state-file.test.ts checks the file
 * functions themselves; state-crash.test.ts the SIGKILL loop):
 * - a 0-byte, truncated or corrupt state file found at start is logged with its path, set aside (renamed,
 *   never deleted) and the configured anchors are used; with no usable anchor file either, the start stops
 *   with a message naming both paths;
 * - a write that fails on a full file system (a 16 KiB tmpfs) leaves the previous file in place and is
 *   logged, the manager keeps running with the state in memory and writes it at the next change.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AnchorManager, AnchorSetupError, type DnskeyFetch } from '../../src/anchors/manager.js';
import { initialState } from '../../src/anchors/rfc5011.js';
import { StateWriteError, parse, serialize } from '../../src/anchors/state-file.js';
import { ManualClock } from '../../src/clock.js';
import { createVerifier } from '../../src/crypto/index.js';
import type { Logger } from '../../src/log.js';
import { createBudget } from '../../src/validator/budget.js';
import { DEFAULT_LIMITS, DEFAULT_SKEW, type TrustAnchor, type ValidationContext } from '../../src/validator/types.js';
import { Name, RRType, emptyFlags, keyTag, makeRrsig, type Message, type RR } from '../../src/wire/index.js';
import { tempStateDir } from '../support/state-dir.js';
import { DAY, REVOKED_KSK, withFlags, zoneKey, type ZoneKey } from './rfc5011-support.js';

const ZONE = Name.fromText('example.');
const T0 = Date.UTC(2025, 0, 10);
const TIMERS = { addHoldDown: 30 * DAY, removeHoldDown: 30 * DAY, keepMissing: 366 * DAY };
const ANCHOR_FILE = '/etc/dnssec-stubd/example.anchor-file';

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
const stateDir = (): string => {
  const d = tempStateDir();
  dirs.push(d);
  return d;
};

interface Logged {
  level: 'debug' | 'info' | 'warn' | 'error';
  obj: Record<string, unknown>;
  msg: string | undefined;
}

function recorder(): { logger: Logger; logged: Logged[] } {
  const logged: Logged[] = [];
  const at = (level: Logged['level']) => (obj: object, msg?: string) => {
    logged.push({ level, obj: obj as Record<string, unknown>, msg });
  };
  return { logger: { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') }, logged };
}

/** The zone's DNSKEY RRset as the upstream answers it: `published`, signed by `signers`. */
function answer(published: readonly ZoneKey[], signers: readonly ZoneKey[]): Message {
  const rrset = published.map((k) => k.rr);
  const sigs = signers.map((s) => makeRrsig(rrset, {
    algorithm: s.rr.data.algorithm, keyTag: keyTag(s.rr.rdata), signer: ZONE, inception: 1_700_000_000, expiration: 1_800_000_000,
  }, (d) => s.key.sign(d)));
  return {
    id: 1, opcode: 0, flags: { ...emptyFlags(), qr: true }, rcode: 0, question: [{ name: ZONE, type: RRType.DNSKEY, class: 1 }],
    answer: [...rrset, ...sigs] as RR[], authority: [], additional: [],
  };
}

function manager(dir: string, logger: Logger, clock: ManualClock, serve: () => DnskeyFetch) {
  const crypto = createVerifier('openssl');
  const context = (): ValidationContext => ({ clock, crypto, limits: DEFAULT_LIMITS, skew: DEFAULT_SKEW, budget: createBudget(DEFAULT_LIMITS) });
  return (configured: TrustAnchor[]) => AnchorManager.open(configured, {
    stateDir: dir, timers: TIMERS, clock, context, tickMs: 0, logger, fetchDnskeys: async () => serve(), onChange: () => undefined,
  }, [ANCHOR_FILE]);
}

const tags = (a: readonly TrustAnchor[]): number[] => a.flatMap((x) => x.dnskeys.map((k) => keyTag(k.rdata))).sort((x, y) => x - y);
const fileStates = (path: string): string[] => parse(readFileSync(path, 'utf8')).keys.map((k) => `${k.keyTag}:${k.status.state}`);

describe('a damaged state file at start', () => {
  const configuredKey = zoneKey(ZONE, 13);
  const stateKey = zoneKey(ZONE, 13); // the key the damaged state trusted: not the configured one
  const good = serialize(initialState(ZONE, [stateKey.rr], T0 - 100 * DAY));

  for (const [what, text, reason] of [
    ['0-byte', '', /empty/],
    ['truncated', good.slice(0, Math.floor(good.length * 0.6)), /truncated/],
    ['corrupt (a byte changed)', good.replace(';state=Valid', ';state=Missing'), /checksum/],
  ] as const) {
    it(`${what}: logged with the path, set aside, the configured anchors used`, async () => {
      const dir = stateDir();
      const path = join(dir, 'example.anchor');
      writeFileSync(path, text);
      const { logger, logged } = recorder();
      const clock = new ManualClock(T0);
      const m = await manager(dir, logger, clock, () => ({ kind: 'failure', detail: 'offline' }))([{ zone: ZONE, ds: [], dnskeys: [configuredKey.rr] }]);
      try {
        assert.deepEqual(tags(m.anchors()), [keyTag(configuredKey.rr.rdata)], 'the configured anchor, not the damaged state\'s');
        const errors = logged.filter((l) => l.level === 'error');
        assert.equal(errors.length, 1, JSON.stringify(logged));
        const e = errors[0]!;
        assert.equal(e.obj.path, path);
        assert.match(String(e.obj.reason), reason);
        assert.match(e.msg ?? '', /corrupt.*set aside.*configured anchors/);
        const aside = String(e.obj.setAsideTo);
        assert.match(aside, /example\.anchor\.corrupt-20250110T000000Z$/);
        assert.equal(readFileSync(aside, 'utf8'), text, 'kept as it was, never deleted');
        assert.deepEqual(fileStates(path), [`${keyTag(configuredKey.rr.rdata)}:Valid`], 'a new state file from the configured anchors');
      } finally {
        await m.close();
      }
    });
  }

  it('with no usable anchor file either, the start stops naming the state file and the anchor file', async () => {
    const dir = stateDir();
    const path = join(dir, 'example.anchor');
    writeFileSync(path, '');
    const { logger } = recorder();
    const revokedOnly = withFlags(configuredKey, REVOKED_KSK);
    await assert.rejects(manager(dir, logger, new ManualClock(T0), () => ({ kind: 'failure', detail: 'offline' }))([{ zone: ZONE, ds: [], dnskeys: [revokedOnly.rr] }]),
      (e: unknown) => e instanceof AnchorSetupError && e.message.includes(path) && e.message.includes(ANCHOR_FILE));
    assert.ok(readdirSync(dir).some((f) => f.startsWith('example.anchor.corrupt-')), 'the damaged file is still set aside');
  });
});

/** A 16 KiB tmpfs (root, where mounting is allowed), or undefined. */
function smallTmpfs(): string | undefined {
  const dir = stateDir();
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=16k,mode=0700', 'tmpfs', dir]);
  return r.status === 0 ? dir : undefined;
}

describe('a full file system while the manager runs', () => {
  it('the write fails and is logged, the old file stays, the state lives on in memory and is written once there is room', async (t) => {
    const dir = smallTmpfs();
    if (!dir) {
      t.skip('cannot mount a tmpfs here (not root?): state-file.test.ts covers the write itself under a file size limit');
      return;
    }
    try {
      const old = zoneKey(ZONE, 13);
      const next = zoneKey(ZONE, 13);
      const { logger, logged } = recorder();
      const clock = new ManualClock(T0);
      let served = answer([old, next], [old]);
      const m = await manager(dir, logger, clock, () => ({ kind: 'answer', message: served }))([{ zone: ZONE, ds: [], dnskeys: [old.rr] }]);
      const path = join(dir, 'example.anchor');
      const oldTag = keyTag(old.rr.rdata);
      const nextTag = keyTag(next.rr.rdata);
      try {
        assert.deepEqual(fileStates(path), [`${oldTag}:Valid`]);
        const before = readFileSync(path, 'utf8');
        try {
          writeFileSync(join(dir, 'filler'), Buffer.alloc(64 * 1024));
        } catch (err) {
          assert.equal((err as NodeJS.ErrnoException).code, 'ENOSPC');
        }

        await m.refresh(ZONE); // the new key: AddPend, to be written
        assert.deepEqual(m.snapshot()[0]!.keys.map((k) => k.state), ['Valid', 'AddPend'], 'the state in memory moved on');
        const failed = logged.filter((l) => l.level === 'error' && l.obj.err instanceof StateWriteError);
        assert.equal(failed.length, 1, JSON.stringify(logged.map((l) => [l.level, l.msg])));
        assert.equal((failed[0]!.obj.err as StateWriteError).code, 'ENOSPC');
        assert.equal((failed[0]!.obj.err as StateWriteError).path, path);
        assert.match(failed[0]!.msg ?? '', /keeping the state in memory/);
        assert.equal(readFileSync(path, 'utf8'), before, 'the previous file, unchanged');
        assert.deepEqual(readdirSync(dir).filter((f) => f.includes('.tmp-')), [], 'no temporary file left');

        // Still running: the next refresh works on the state in memory, and its write goes through once there is room.
        rmSync(join(dir, 'filler'));
        clock.set(T0 + DAY);
        served = answer([old, next], [old]);
        await m.refresh(ZONE);
        assert.deepEqual(fileStates(path), [`${oldTag}:Valid`, `${nextTag}:AddPend`]);
        const pend = parse(readFileSync(path, 'utf8')).keys[1]!;
        assert.equal(pend.firstSeen, T0, 'the pending key\'s first sighting came from the state kept in memory');
      } finally {
        await m.close();
      }
    } finally {
      spawnSync('umount', [dir]);
    }
  });
});
