import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManualClock } from '../../src/clock.js';
import { applyRefresh, initialState, recordFailure, trustedKeys, type ZoneState } from '../../src/anchors/rfc5011.js';
import {
  LOCK_FILE, StateLockError, StateParseError, StateWriteError, listStateZones, lockStateDir, parse, readStateFile,
  serialize, stateFileName, writeStateFile, zoneOfFileName,
} from '../../src/anchors/state-file.js';
import { Name } from '../../src/wire/index.js';
import { DAY, REVOKED_KSK, observe, withFlags, zoneKey } from './rfc5011-support.js';

const T0 = Date.parse('2027-01-11T00:00:00Z');
const clock = new ManualClock(T0 + 7 * DAY);
const dirs: string[] = [];
const tempDir = (): string => {
  const d = mkdtempSync(join(tmpdir(), 'stubd-state-'));
  dirs.push(d);
  return d;
};
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const zone = Name.fromText('Example.COM.');
const [A, B, C, D, E] = [zoneKey(zone, 13), zoneKey(zone, 13), zoneKey(zone, 15), zoneKey(zone, 13), zoneKey(zone, 8)];

/** A state holding every kind of key status, built by the state machine itself. */
function richState(z = zone): ZoneState {
  const [a, b, c, d, e] = [A, B, C, D, E].map((k) => ({ ...k, rr: { ...k.rr, name: z } }));
  const rA = withFlags(a!, REVOKED_KSK);
  let s = initialState(z, [a!.rr, b!.rr, d!.rr], T0 - 400 * DAY);
  s = applyRefresh(s, observe([a!, b!, e!], [a!]), T0 - 399 * DAY).state; // D Missing, E AddPend
  s = applyRefresh(s, observe([a!, b!], [a!]), T0 - 398 * DAY).state; // E Start
  s = applyRefresh(s, observe([rA, b!, c!], [rA, b!]), T0).state; // A Revoked, C AddPend, D removed (keep-missing)
  return recordFailure(s, T0 + DAY, 'timeout\nfrom 192.0.2.1');
}

const sha = (t: string): string => createHash('sha256').update(t, 'utf8').digest('hex');
const states = (s: ZoneState): string[] => s.keys.map((k) => `${k.keyTag}:${k.status.state}`);

describe('state file format', () => {
  it('round-trips every key status, the refresh record and the time base', () => {
    const s = richState();
    assert.deepEqual(s.keys.map((k) => k.status.state).sort(), ['AddPend', 'Removed', 'Revoked', 'Start', 'Valid']);
    const text = serialize(s);
    const back = parse(text);
    assert.equal(serialize(back), text);
    assert.ok(back.zone.equals(zone));
    assert.deepEqual(states(back), states(s));
    assert.deepEqual(back.keys.map((k) => [k.status, k.firstSeen, k.lastSeen, k.lastChange, k.keyTagUnrevoked]),
      s.keys.map((k) => [k.status, k.firstSeen, k.lastSeen, k.lastChange, k.keyTagUnrevoked]));
    assert.deepEqual(back.lastRefresh, { at: T0 + DAY, result: { kind: 'failed', reason: 'timeout from 192.0.2.1' } });
    assert.equal(back.highWater, T0);
    assert.deepEqual(trustedKeys(back).map((k) => k.rdata), trustedKeys(s).map((k) => k.rdata));
    assert.match(text, /\t257 3 13 \S+ ;state=Valid ;tag=\d+ ;tag-unrevoked=\d+ ;first=\S+ ;last=\S+ ;change=\S+\n/);
    assert.match(text, /\t385 3 13 \S+ ;state=Revoked .* ;remove-holddown=2027-02-10T00:00:00\.000Z\n/);
    assert.match(text, /;state=AddPend .* ;holddown=2027-02-10T00:00:00\.000Z ;count=0\n/);
    assert.match(text, /\n; sha256 [0-9a-f]{64}\n$/);
  });

  it('parse errors are typed and name the line', () => {
    const text = serialize(richState());
    const lines = text.split('\n');
    const keyAt = lines.findIndex((l) => l.includes(';state=Valid'));
    const cases: [string, string, RegExp, number][] = [
      ['empty', '', /empty/, 1],
      ['truncated', text.slice(0, text.length - 30), /truncated/, lines.length - 1],
      ['edited', text.replace(';state=Valid', ';state=Missing'), /checksum/, lines.length - 1],
    ];
    for (const [what, bad, re, line] of cases) {
      assert.throws(() => parse(bad), (e: unknown) => e instanceof StateParseError && re.test(e.message) && e.line === line, what);
    }
    // A well-formed checksum over a bad line: the parser itself names the line.
    const body = lines.slice(0, -2);
    body[keyAt] = body[keyAt]!.replace(/;tag=\d+/, ';tag=1');
    const resummed = `${body.join('\n')}\n`;
    assert.throws(() => parse(`${resummed}; sha256 ${sha(resummed)}\n`), (e: unknown) => e instanceof StateParseError && e.line === keyAt + 1 && /key tag/.test(e.message));
  });

  it('one file per zone: root.anchor, else the lowercase name', () => {
    assert.equal(stateFileName(Name.root), 'root.anchor');
    assert.equal(stateFileName(zone), 'example.com.anchor');
    assert.equal(stateFileName(Name.fromText('root.')), '%72oot.anchor', 'a zone named "root" does not take the root\'s file');
    assert.equal(stateFileName(Name.fromText('a\\/b.example.')), 'a%2fb.example.anchor', 'no path separator from a label');
    for (const z of [Name.root, zone, Name.fromText('root.'), Name.fromText('a\\/b.example.'), Name.fromText('x%y.')]) {
      assert.ok(zoneOfFileName(stateFileName(z))!.equals(z), z.toText());
    }
  });
});

describe('state file on disk', () => {
  it('writes atomically into a 0700 directory it creates, and reads back', async () => {
    const dir = join(tempDir(), 'state', 'dir');
    const path = await writeStateFile(dir, richState());
    assert.equal(path, join(dir, 'example.com.anchor'));
    assert.equal(statSync(dir).mode & 0o777, 0o700);
    assert.deepEqual(readdirSync(dir), ['example.com.anchor'], 'no temporary file left');
    const r = await readStateFile(dir, zone, clock);
    assert.equal(r.kind, 'ok');
    assert.deepEqual(r.kind === 'ok' && states(r.state), states(richState()));
    assert.equal((await readStateFile(dir, Name.root, clock)).kind, 'absent');
    await writeStateFile(dir, initialState(Name.root, [], T0));
    assert.deepEqual(listStateZones(dir).map((z) => z.toText()), ['example.com.', '.']);
  });

  it('sets a 0-byte, truncated, altered or foreign file aside and reports it', async () => {
    const good = serialize(richState());
    const cases: [string, string, RegExp][] = [
      ['0-byte', '', /empty/],
      ['truncated', good.slice(0, Math.floor(good.length / 2)), /truncated/],
      ['bad checksum', good.replace(';state=Start', ';state=Valid'), /checksum/],
      ['another zone', serialize(richState(Name.fromText('example.net.'))), /holds zone example\.net\./],
    ];
    for (const [what, text, re] of cases) {
      const dir = tempDir();
      const path = join(dir, 'example.com.anchor');
      writeFileSync(path, text);
      const peek = await readStateFile(dir, zone, clock, { setAside: false });
      assert.deepEqual(peek.kind === 'corrupt' && [peek.setAsideTo, existsSync(path)], [undefined, true], `${what}: left in place when asked`);
      const r = await readStateFile(dir, zone, clock);
      assert.equal(r.kind, 'corrupt', what);
      if (r.kind !== 'corrupt') continue;
      assert.match(r.reason, re, what);
      assert.equal(r.path, path);
      assert.equal(r.setAsideTo, `${path}.corrupt-20270118T000000Z`, what);
      assert.equal(existsSync(path), false, `${what}: moved away`);
      assert.equal(readFileSync(r.setAsideTo!, 'utf8'), text, `${what}: kept, never deleted`);
      assert.equal((await readStateFile(dir, zone, clock)).kind, 'absent', `${what}: the configured anchors take over`);
    }
  });
});

/** A small tmpfs (root only, where mounting is allowed): undefined when this host cannot mount one. */
function smallTmpfs(): string | undefined {
  const dir = tempDir();
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=16k', 'tmpfs', dir]);
  return r.status === 0 ? dir : undefined;
}

/** Write `state` from a child process whose file size limit is 1 KiB (bash `ulimit -f 1`): EFBIG. */
function writeUnderFileSizeLimit(dir: string, state: ZoneState): { name: string; code: string; message: string } {
  const module = new URL('../../src/anchors/state-file.js', import.meta.url).href;
  const src = join(tempDir(), 'state.txt');
  writeFileSync(src, serialize(state));
  const script = `import { readFileSync } from 'node:fs';
    const m = await import(${JSON.stringify(module)});
    try { await m.writeStateFile(process.argv[1], m.parse(readFileSync(process.argv[2], 'utf8'))); console.log(JSON.stringify({ name: 'none' })); }
    catch (e) { console.log(JSON.stringify({ name: e.name, code: e.code, message: e.message })); }`;
  const r = spawnSync('bash', ['-c', 'ulimit -f 1 && exec "$@"', 'bash', process.execPath, '--input-type=module', '-e', script, dir, src], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as { name: string; code: string; message: string };
}

describe('a failed write keeps the previous file', () => {
  const small = initialState(zone, [A.rr], T0);
  const big = richState();

  const expectOldFile = (dir: string): void => {
    const r = parse(readFileSync(join(dir, 'example.com.anchor'), 'utf8'));
    assert.deepEqual(states(r), states(small));
    assert.deepEqual(readdirSync(dir).filter((f) => f.includes('.tmp-')), [], 'the temporary file is removed');
  };

  it('on a full file system (ENOSPC on a 16 KiB tmpfs; EFBIG under a file size limit where no tmpfs can be mounted)', async (t) => {
    const fs = smallTmpfs();
    t.diagnostic(fs ? 'ENOSPC on a 16 KiB tmpfs' : 'no tmpfs can be mounted here: EFBIG under ulimit -f instead');
    if (!fs) {
      const dir = tempDir();
      await writeStateFile(dir, small);
      const r = writeUnderFileSizeLimit(dir, big);
      assert.deepEqual([r.name, r.code], ['StateWriteError', 'EFBIG'], r.message);
      expectOldFile(dir);
      return;
    }
    try {
      await writeStateFile(fs, small);
      try {
        writeFileSync(join(fs, 'filler'), Buffer.alloc(64 * 1024));
      } catch (err) {
        assert.equal((err as NodeJS.ErrnoException).code, 'ENOSPC');
      }
      await assert.rejects(writeStateFile(fs, big), (e: unknown) => e instanceof StateWriteError && e.code === 'ENOSPC'
        && e.path === join(fs, 'example.com.anchor') && /previous file is unchanged/.test(e.message));
      expectOldFile(fs);
    } finally {
      spawnSync('umount', [fs]);
    }
  });

  it('when a write runs into the file size limit (EFBIG)', async () => {
    const dir = tempDir();
    await writeStateFile(dir, small);
    const r = writeUnderFileSizeLimit(dir, big);
    assert.deepEqual([r.name, r.code], ['StateWriteError', 'EFBIG'], r.message);
    expectOldFile(dir);
  });
});

describe('state directory lock', () => {
  it('refuses while the holder lives, naming the lock and the pid; takes over once it is dead', async () => {
    const dir = tempDir();
    const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    try {
      writeFileSync(join(dir, LOCK_FILE), `${child.pid}\n`);
      assert.throws(() => lockStateDir(dir), (e: unknown) => e instanceof StateLockError && e.pid === child.pid
        && e.lockPath === join(dir, LOCK_FILE) && e.message.includes(join(dir, LOCK_FILE)) && e.message.includes(String(child.pid)));
    } finally {
      child.kill('SIGKILL');
      await exited;
    }
    const lock = lockStateDir(dir);
    assert.equal(readFileSync(lock.path, 'utf8'), `${process.pid}\n`);
    lock.unlock();
    assert.equal(existsSync(lock.path), false);
  });

  it('creates a missing directory 0700; holding the lock, removes what crashed writers left, nothing else', () => {
    const fresh = join(tempDir(), 'a', 'b');
    lockStateDir(fresh).unlock();
    assert.equal(statSync(fresh).mode & 0o777, 0o700);
    const dir = tempDir();
    const kept = ['example.com.anchor', 'example.com.anchor.corrupt-20270118T000000Z'];
    for (const f of [...kept, '.example.com.anchor.tmp-123-0a1b2c3d', '.lock-123-0a1b2c3d']) writeFileSync(join(dir, f), 'x');
    const lock = lockStateDir(dir);
    assert.deepEqual(readdirSync(dir).sort(), [LOCK_FILE, ...kept]);
    lock.unlock();
  });

  it('takes over a stale lock (dead pid, garbage, our own pid from an earlier life); refuses a second lock', () => {
    const dir = tempDir();
    const first = lockStateDir(dir);
    assert.throws(() => lockStateDir(dir), StateLockError, 'a second lock in the same process');
    first.unlock();
    const dead = spawnSync(process.execPath, ['-e', '']).pid;
    for (const content of [`${dead}\n`, '', 'garbage', `${process.pid}\n`]) {
      writeFileSync(join(dir, LOCK_FILE), content);
      const lock = lockStateDir(dir);
      assert.equal(readFileSync(lock.path, 'utf8'), `${process.pid}\n`, JSON.stringify(content));
      lock.unlock();
    }
    assert.deepEqual(readdirSync(dir), [], 'no lock or temporary file left');
  });
});
