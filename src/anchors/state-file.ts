/**
 * The RFC 5011 state on disk: one human-readable file per anchor zone in the state directory (modelled on
 * Unbound's autotrust file), written atomically, checked by a checksum line when read, and a lock so that
 * two daemons never share a state directory.
 *
 * Crash safety: a write goes to a temporary file in the same directory, is fsynced, renamed over the old
 * file, and the directory is fsynced, so after a crash the file is the old or the new version, whole. A
 * file that is empty, truncated or altered anyway (bad disk, an editor) fails its checksum and is set
 * aside under a new name, never deleted: the operator can inspect it.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, linkSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { mkdir, open, readFile, rename, rm, type FileHandle } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Clock } from '../clock.js';
import { Name, RRType, WireError, keyTag, parseRR, rrToText, type DNSKEYData, type RR } from '../wire/index.js';
import { keyId, tagWithoutRevoke, type KeyEntry, type KeyStatus, type RefreshResult, type ZoneState } from './rfc5011.js';

const FORMAT = 1;
const CHECKSUM = /^; sha256 ([0-9a-f]{64})$/;
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
export const LOCK_FILE = 'dnssec-stubd.lock';

export class StateParseError extends Error {
  constructor(readonly line: number, readonly reason: string) {
    super(`line ${line}: ${reason}`);
    this.name = 'StateParseError';
  }
}

export class StateWriteError extends Error {
  constructor(readonly path: string, readonly code: string | undefined, message: string) {
    super(`${path}: ${message}`);
    this.name = 'StateWriteError';
  }
}

export class StateLockError extends Error {
  constructor(readonly lockPath: string, readonly pid: number | undefined, message: string) {
    super(message);
    this.name = 'StateLockError';
  }
}

const errCode = (err: unknown): string | undefined => (err as NodeJS.ErrnoException | undefined)?.code;
const errText = (err: unknown): string => (err instanceof Error ? err.message : String(err));
const sha256 = (text: string): string => createHash('sha256').update(text, 'utf8').digest('hex');
const iso = (ms: number | undefined): string => (ms === undefined ? '-' : new Date(ms).toISOString());

/** The state file of a zone: `root.anchor`, else the lowercase name without its final dot + `.anchor`. */
export function stateFileName(zone: Name): string {
  if (zone.isRoot()) return 'root.anchor';
  // Escaped so that no name can reach outside the directory or collide: "/" or "\" in a label, the zone
  // "root." (which would be the root's file), "%" itself.
  let base = zone.key.slice(0, -1).replace(/[^a-z0-9._-]/g, (c) => `%${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
  if (base === 'root') base = '%72oot';
  return `${base}.anchor`;
}

/** The zone a state file name stands for (undefined for other files). */
export function zoneOfFileName(file: string): Name | undefined {
  if (!file.endsWith('.anchor') || file.startsWith('.')) return undefined;
  const base = file.slice(0, -'.anchor'.length);
  if (base === 'root') return Name.root;
  try {
    return Name.fromText(`${base.replace(/%([0-9a-f]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16)))}.`);
  } catch {
    return undefined;
  }
}

function statusFields(s: KeyStatus): string {
  switch (s.state) {
    case 'AddPend':
      return ` ;holddown=${iso(s.holdDownEnd)} ;count=${s.pendingCount}`;
    case 'Revoked':
      return ` ;remove-holddown=${iso(s.removeHoldDownEnd)}`;
    case 'Removed':
      return ` ;was-revoked=${s.wasRevoked ? 'yes' : 'no'}`;
    default:
      return '';
  }
}

const oneLine = (s: string): string => s.replace(/[\x00-\x1f\x7f]+/g, ' ');

function refreshText(r: ZoneState['lastRefresh']): string {
  if (!r) return '-';
  return `${iso(r.at)} ${r.result.kind === 'ok' ? 'ok' : `failed ${oneLine(r.result.reason)}`}`;
}

/** The file's text: comment header, zone lines, one DNSKEY per line with its state, checksum last. */
export function serialize(state: ZoneState): string {
  const zone = state.zone.toText();
  const lines = [
    `; dnssec-stubd RFC 5011 trust anchor state for ${zone}`,
    '; One DNSKEY per line with its state and times (UTC). Valid and Missing keys are trusted;',
    '; tag= is computed with the flags shown (REVOKE bit included), tag-unrevoked= without the REVOKE bit.',
    '; Do not edit: the last line is a checksum, and a file that does not match it is set aside at start',
    '; (renamed to *.corrupt-<time>) and the configured anchors are used instead.',
    `;;format ${FORMAT}`,
    `;;zone ${zone}`,
    `;;high-water ${iso(state.highWater)}`,
    `;;last-refresh ${refreshText(state.lastRefresh)}`,
    ...state.keys.map((e) => `${rrToText(e.dnskey)} ;state=${e.status.state} ;tag=${e.keyTag} ;tag-unrevoked=${e.keyTagUnrevoked}`
      + ` ;first=${iso(e.firstSeen)} ;last=${iso(e.lastSeen)} ;change=${iso(e.lastChange)}${statusFields(e.status)}`),
  ];
  const body = `${lines.join('\n')}\n`;
  return `${body}; sha256 ${sha256(body)}\n`;
}

function time(v: string | undefined, what: string, line: number, optional = false): number | undefined {
  if (v === undefined) throw new StateParseError(line, `missing ${what}`);
  if (v === '-' && optional) return undefined;
  const ms = Date.parse(v);
  if (!ISO.test(v) || Number.isNaN(ms) || new Date(ms).toISOString() !== v) throw new StateParseError(line, `${what}: bad time "${v}"`);
  return ms;
}

const need = (v: number | undefined, what: string, line: number): number => {
  if (v === undefined) throw new StateParseError(line, `missing ${what}`);
  return v;
};

function statusOf(f: Map<string, string>, line: number): KeyStatus {
  const state = f.get('state');
  const allowed: Record<string, string[]> = { AddPend: ['holddown', 'count'], Revoked: ['remove-holddown'], Removed: ['was-revoked'] };
  for (const k of f.keys()) {
    if (!['state', 'tag', 'tag-unrevoked', 'first', 'last', 'change', ...(allowed[state ?? ''] ?? [])].includes(k)) {
      throw new StateParseError(line, `unknown field "${k}" for state ${state}`);
    }
  }
  switch (state) {
    case 'Start':
    case 'Valid':
    case 'Missing':
      return { state };
    case 'AddPend': {
      const count = f.get('count');
      if (count === undefined || !/^\d{1,9}$/.test(count)) throw new StateParseError(line, 'AddPend without a count');
      return { state, holdDownEnd: need(time(f.get('holddown'), 'holddown', line), 'holddown', line), pendingCount: Number(count) };
    }
    case 'Revoked':
      return { state, removeHoldDownEnd: need(time(f.get('remove-holddown'), 'remove-holddown', line), 'remove-holddown', line) };
    case 'Removed': {
      const w = f.get('was-revoked');
      if (w !== 'yes' && w !== 'no') throw new StateParseError(line, 'Removed without was-revoked=yes|no');
      return { state, wasRevoked: w === 'yes' };
    }
    default:
      throw new StateParseError(line, `unknown state "${state}"`);
  }
}

function keyLine(text: string, zone: Name, line: number): KeyEntry {
  const semi = text.indexOf(';');
  if (semi < 0) throw new StateParseError(line, 'DNSKEY line without state fields');
  let rr: RR;
  try {
    rr = parseRR(text.slice(0, semi));
  } catch (err) {
    throw new StateParseError(line, err instanceof WireError ? err.message : errText(err));
  }
  if (rr.type !== RRType.DNSKEY || !rr.name.equals(zone)) throw new StateParseError(line, `not a DNSKEY of ${zone.toText()}`);
  const dnskey = rr as RR<DNSKEYData>;
  const fields = new Map<string, string>();
  for (const part of text.slice(semi + 1).split(';')) {
    const m = /^\s*([a-z-]+)=(\S+)\s*$/.exec(part);
    if (!m || fields.has(m[1]!)) throw new StateParseError(line, `bad field "${part.trim()}"`);
    fields.set(m[1]!, m[2]!);
  }
  // The tags are derived from the record; a mismatch means the line was altered.
  if (fields.get('tag') !== String(keyTag(dnskey.rdata)) || fields.get('tag-unrevoked') !== String(tagWithoutRevoke(dnskey.rdata))) {
    throw new StateParseError(line, 'key tag does not match the DNSKEY');
  }
  return {
    id: keyId(dnskey.data), dnskey, keyTag: keyTag(dnskey.rdata), keyTagUnrevoked: tagWithoutRevoke(dnskey.rdata),
    status: statusOf(fields, line),
    firstSeen: time(fields.get('first'), 'first', line, true), lastSeen: time(fields.get('last'), 'last', line, true),
    lastChange: need(time(fields.get('change'), 'change', line), 'change', line),
  };
}

function refreshOf(v: string, line: number): ZoneState['lastRefresh'] {
  if (v === '-') return undefined;
  const m = /^(\S+) (ok|failed(?: (.*))?)$/.exec(v);
  if (!m) throw new StateParseError(line, `bad last-refresh "${v}"`);
  const result: RefreshResult = m[2] === 'ok' ? { kind: 'ok' } : { kind: 'failed', reason: m[3] ?? '' };
  return { at: need(time(m[1], 'last-refresh', line), 'last-refresh', line), result };
}

/** Parse a state file's text (the checksum line included); throws StateParseError naming the line. */
export function parse(text: string): ZoneState {
  if (text.length === 0) throw new StateParseError(1, 'empty file');
  const lines = text.split('\n');
  const last = lines.length - 1; // lines[last] is '' when the file ends with a newline, so `last` is the checksum's line
  const sum = lines[last] === '' ? CHECKSUM.exec(lines[last - 1]!) : null;
  if (!sum) throw new StateParseError(lines[last] === '' ? last : last + 1, 'no complete checksum line at the end: truncated or edited');
  const body = text.slice(0, text.length - lines[last - 1]!.length - 1);
  if (sha256(body) !== sum[1]) throw new StateParseError(last, 'checksum mismatch: the file was altered or damaged');

  const headers = new Map<string, string>();
  let zone: Name | undefined;
  const keys: KeyEntry[] = [];
  for (let i = 0; i < last - 1; i++) {
    const line = lines[i]!;
    const n = i + 1;
    if (line.startsWith(';;')) {
      const m = /^;;([a-z-]+) (.+)$/.exec(line);
      if (!m || headers.has(m[1]!)) throw new StateParseError(n, `bad header "${line}"`);
      headers.set(m[1]!, m[2]!);
      if (m[1] === 'format' && m[2] !== String(FORMAT)) throw new StateParseError(n, `unknown format ${m[2]}`);
      if (m[1] === 'zone') {
        try {
          zone = Name.fromText(m[2]!);
        } catch (err) {
          throw new StateParseError(n, errText(err));
        }
      }
    } else if (line.startsWith(';') || line.trim() === '') {
      continue;
    } else {
      if (!zone || !headers.has('format')) throw new StateParseError(n, 'DNSKEY before the format and zone lines');
      const e = keyLine(line, zone, n);
      if (keys.some((k) => k.id === e.id)) throw new StateParseError(n, `key ${e.keyTag} is listed twice`);
      keys.push(e);
    }
  }
  if (!zone || !headers.has('format')) throw new StateParseError(last, 'no format or zone line');
  return {
    zone, keys,
    highWater: time(headers.get('high-water') ?? '-', 'high-water', last, true),
    lastRefresh: refreshOf(headers.get('last-refresh') ?? '-', last),
  };
}

/** Create the state directory (mode 0700: only the daemon's user reads its trust decisions) if missing. */
export function ensureStateDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
}

/**
 * Write a zone's state atomically: temporary file in the same directory, fsync, rename over the old one,
 * fsync the directory. On failure (ENOSPC, EIO, ...) the temporary file is removed, the previous file is
 * left as it was, and a StateWriteError says why. Returns the file's path.
 */
export async function writeStateFile(dir: string, state: ZoneState): Promise<string> {
  const name = stateFileName(state.zone);
  const path = join(dir, name);
  const tmp = join(dir, `.${name}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
  const text = serialize(state);
  let fh: FileHandle | undefined;
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    fh = await open(tmp, 'wx', 0o644);
    await fh.writeFile(text, 'utf8');
    await fh.sync();
    await fh.close();
    fh = undefined;
    await rename(tmp, path);
  } catch (err) {
    await fh?.close().catch(() => undefined);
    await rm(tmp, { force: true }).catch(() => undefined);
    throw new StateWriteError(path, errCode(err), `state not written (the previous file is unchanged): ${errText(err)}`);
  }
  // Without this the rename itself may not survive a power loss (the directory entry is not yet on disk).
  let dh: FileHandle | undefined;
  try {
    dh = await open(dir, 'r');
    await dh.sync();
  } catch (err) {
    throw new StateWriteError(path, errCode(err), `written, but the directory could not be synced: ${errText(err)}`);
  } finally {
    await dh?.close().catch(() => undefined);
  }
  return path;
}

export type StateRead =
  | { kind: 'absent'; path: string }
  | { kind: 'ok'; path: string; state: ZoneState }
  /** Empty, truncated, bad checksum or unparsable: renamed to `setAsideTo` (undefined when not asked to). */
  | { kind: 'corrupt'; path: string; reason: string; line: number | undefined; setAsideTo: string | undefined }
  /** The file exists but could not be read (EACCES, EIO): not set aside, it may be fine. */
  | { kind: 'unreadable'; path: string; reason: string };

const stamp = (ms: number): string => new Date(ms).toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');

/**
 * Read a zone's state file. A corrupt one is renamed `<file>.corrupt-<UTC time>` (never deleted) unless
 * `setAside` is false (the `anchors` command reads while the daemon runs and must not move its files).
 */
export async function readStateFile(dir: string, zone: Name, clock: Clock, opts: { setAside?: boolean } = {}): Promise<StateRead> {
  const path = join(dir, stateFileName(zone));
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if (errCode(err) === 'ENOENT') return { kind: 'absent', path };
    return { kind: 'unreadable', path, reason: errText(err) };
  }
  let reason: string;
  let line: number | undefined;
  try {
    const state = parse(text);
    if (state.zone.equals(zone)) return { kind: 'ok', path, state };
    reason = `holds zone ${state.zone.toText()}, not ${zone.toText()}`;
  } catch (err) {
    if (!(err instanceof StateParseError)) throw err;
    reason = err.message;
    line = err.line;
  }
  if (opts.setAside === false) return { kind: 'corrupt', path, reason, line, setAsideTo: undefined };
  let to = `${path}.corrupt-${stamp(clock.now())}`;
  for (let i = 2; existsSync(to); i++) to = `${path}.corrupt-${stamp(clock.now())}-${i}`;
  try {
    await rename(path, to);
  } catch (err) {
    return { kind: 'corrupt', path, reason: `${reason} (could not be set aside: ${errText(err)})`, line, setAsideTo: undefined };
  }
  return { kind: 'corrupt', path, reason, line, setAsideTo: to };
}

/** The zones that have a state file in `dir`. */
export function listStateZones(dir: string): Name[] {
  let files: string[];
  try {
    files = readdirSync(dir);
  } catch (err) {
    if (errCode(err) === 'ENOENT') return [];
    throw err;
  }
  return files.sort().map(zoneOfFileName).filter((z): z is Name => z !== undefined);
}

export interface StateDirLock {
  readonly path: string;
  unlock(): void;
}

/** Locks this process holds (a second lock of the same directory in one process is refused too). */
const held = new Set<string>();

function lockHolder(path: string): number | undefined {
  try {
    const m = /^(\d+)\n?$/.exec(readFileSync(path, 'utf8'));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return errCode(err) === 'EPERM'; // exists, owned by another user
  }
}

/** Create the lock file holding our pid, complete, or fail with EEXIST. */
function createLock(dir: string, path: string): void {
  // Written aside and hard-linked into place, so that the lock file never exists without its pid: a
  // reader never mistakes a lock being created for a stale, empty one. O_EXCL where links do not work.
  const tmp = join(dir, `.lock-${process.pid}-${randomBytes(4).toString('hex')}`);
  writeFileSync(tmp, `${process.pid}\n`, { flag: 'wx', mode: 0o644 });
  try {
    linkSync(tmp, path);
  } catch (err) {
    if (!['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS'].includes(errCode(err) ?? '')) throw err;
    writeFileSync(path, `${process.pid}\n`, { flag: 'wx', mode: 0o644 });
  } finally {
    rmSync(tmp, { force: true });
  }
}

/** Temporary files of writes and lock attempts that a crash (SIGKILL) interrupted. */
const LEFTOVER = /^\.(?:.+\.anchor\.tmp|lock)-\d+-[0-9a-f]{8}$/;

/**
 * Lock the state directory for this process (creating the directory if missing). A lock whose pid is
 * alive refuses with a StateLockError naming the lock file and the pid. A stale lock (dead pid, unreadable,
 * or our own pid left by an earlier life, as pid 1 in a container) is taken over. Holding the lock, it
 * removes the temporary files crashed writers left (nobody else writes here).
 */
export function lockStateDir(dir: string): StateDirLock {
  const path = resolve(dir, LOCK_FILE);
  try {
    ensureStateDir(dir);
  } catch (err) {
    throw new StateLockError(path, undefined, `cannot create the state directory ${dir}: ${errText(err)}`);
  }
  if (held.has(path)) throw new StateLockError(path, process.pid, `${path}: this process already holds the lock`);
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      createLock(dir, path);
      held.add(path);
      for (const f of readdirSync(dir)) if (LEFTOVER.test(f)) rmSync(join(dir, f), { force: true });
      return {
        path,
        unlock() {
          if (!held.delete(path)) return;
          if (lockHolder(path) === process.pid) rmSync(path, { force: true });
        },
      };
    } catch (err) {
      if (errCode(err) !== 'EEXIST') throw new StateLockError(path, undefined, `cannot create the lock ${path}: ${errText(err)}`);
    }
    const pid = lockHolder(path);
    if (pid !== undefined && pid !== process.pid && alive(pid)) {
      throw new StateLockError(path, pid, `state directory ${dir} is locked by process ${pid} (lock file ${path}): another dnssec-stubd uses it`);
    }
    // Stale. Removed only if it still names the same holder, so a lock just taken by a racing start survives.
    if (lockHolder(path) === pid) rmSync(path, { force: true });
  }
  throw new StateLockError(path, lockHolder(path), `${path}: could not take the lock`);
}
