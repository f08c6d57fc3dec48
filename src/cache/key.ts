/**
 * Cache keys. One key per (name, type, class, CD): the name in lowercase wire form (ASCII letters only
 * are folded, RFC 4343), then type and class (2 octets each) and the CD bit, as a latin1 string.
 *
 * DO is not part of the key: it only changes the presentation (DNSSEC records and AD), which is applied
 * per client when an entry is served. CD is: a CD=1 question gets the data as received, unvalidated,
 * and never the SERVFAIL of bogus data, so the two are different answers.
 */
import type { Name, Question } from '../wire/index.js';

/** Octets after the name: type (2), class (2), CD (1). */
export const KEY_TAIL = 5;

const scratch = Buffer.allocUnsafe(255 + KEY_TAIL);

/** Node's Buffer#latin1Slice: toString('latin1') without the argument handling (hot path). */
const latin1Slice: (this: Buffer, start: number, end: number) => string =
  (Buffer.prototype as unknown as { latin1Slice?: (this: Buffer, start: number, end: number) => string }).latin1Slice ??
  function (this: Buffer, start: number, end: number): string {
    return this.toString('latin1', start, end);
  };

/**
 * Keys made lately, by a hash of their octets: a query for a name asked before gets the very string made then,
 * instead of a new one (no string to allocate, and the cache's Map finds a string whose hash V8 has already
 * computed). A slot holds the last key that hashed to it; a miss makes the string and takes the slot.
 */
const INTERN_SLOTS = 4096;
const interned: string[] = new Array<string>(INTERN_SLOTS).fill('');

/** FNV-1a, the hash of the interning slots: its start, and one octet more. */
const FNV_START = 0x811c9dc5;
const fnv = (h: number, octet: number): number => Math.imul(h ^ octet, 0x01000193);

/** FNV-1a over scratch[0, len). */
function scratchHash(len: number): number {
  let h = FNV_START;
  for (let i = 0; i < len; i++) h = fnv(h, scratch[i]!);
  return h;
}

/** The hash of the name `scanQuestionName` put into the scratch buffer last (computed as it went). */
let scannedHash = FNV_START;

/** Finish a key whose lowercase name occupies scratch[0, n) and hashes to `h`. */
function finish(n: number, h: number, type: number, klass: number, cd: boolean): string {
  const t0 = type >> 8;
  const t1 = type & 0xff;
  const c0 = klass >> 8;
  const c1 = klass & 0xff;
  const d = cd ? 1 : 0;
  scratch[n] = t0;
  scratch[n + 1] = t1;
  scratch[n + 2] = c0;
  scratch[n + 3] = c1;
  scratch[n + 4] = d;
  const len = n + KEY_TAIL;
  const slot = fnv(fnv(fnv(fnv(fnv(h, t0), t1), c0), c1), d) & (INTERN_SLOTS - 1);
  const known = interned[slot]!;
  if (known.length === len) {
    let i = 0;
    while (i < len && known.charCodeAt(i) === scratch[i]) i++;
    if (i === len) return known;
  }
  const key = latin1Slice.call(scratch, 0, len);
  interned[slot] = key;
  return key;
}

/** The key of a parsed question. */
export function questionKey(q: Question, cd: boolean): string {
  const n = lowerWire(q.name);
  return finish(n, scratchHash(n), q.type, q.class, cd);
}

/** Write the lowercase wire form of `name` into the scratch buffer; returns its length. */
function lowerWire(name: Name): number {
  let o = 0;
  for (const l of name.labels) {
    scratch[o++] = l.length;
    for (let i = 0; i < l.length; i++) {
      const b = l[i]!;
      scratch[o++] = b >= 0x41 && b <= 0x5a ? b | 0x20 : b;
    }
  }
  scratch[o++] = 0;
  return o;
}

/**
 * Scan the question name of a raw query (at offset 12: labels only, no compression pointer) into the
 * key scratch buffer, lowercased. Returns the offset just past the name, or -1 when it is not a plain,
 * well-formed name. Follow with `packetKey` to get the key.
 */
export function scanQuestionName(packet: Uint8Array): number {
  let p = 12;
  let o = 0;
  let h = FNV_START;
  for (;;) {
    if (p >= packet.length) return -1;
    const len = packet[p]!;
    if (len === 0) break;
    if (len > 63 || o + len + 1 > 254 || p + 1 + len > packet.length) return -1;
    scratch[o++] = len;
    h = fnv(h, len);
    for (let i = p + 1, end = p + 1 + len; i < end; i++) {
      const b = packet[i]!;
      const lower = b >= 0x41 && b <= 0x5a ? b | 0x20 : b;
      scratch[o++] = lower;
      h = fnv(h, lower);
    }
    p += 1 + len;
  }
  scratch[o] = 0;
  scannedHash = fnv(h, 0);
  return p + 1;
}

/** The key of a raw query's question right after `scanQuestionName` returned `nameEnd` (name length = nameEnd - 12). */
export function packetKey(nameEnd: number, type: number, klass: number, cd: boolean): string {
  return finish(nameEnd - 12, scannedHash, type, klass, cd);
}

/** The lowercase wire form of a name as a latin1 string (the name part of its keys). */
export function nameKeyPart(name: Name): string {
  const n = lowerWire(name);
  return scratch.toString('latin1', 0, n);
}

/** Whether the key's name is `suffix` (from nameKeyPart) or below it. */
export function keyUnder(key: string, suffix: string): boolean {
  const nameLen = key.length - KEY_TAIL;
  const start = nameLen - suffix.length;
  if (start < 0) return false;
  // Compare the tails first (cheap rejection), then check that `start` is a label boundary.
  for (let i = 0; i < suffix.length; i++) if (key.charCodeAt(start + i) !== suffix.charCodeAt(i)) return false;
  let p = 0;
  while (p < start) p += 1 + key.charCodeAt(p);
  return p === start;
}

/** The name part of a key as presentation text (for logs): lowercase, dots, no escapes beyond \DDD. */
export function keyNameText(key: string): string {
  const labels: string[] = [];
  let p = 0;
  while (p < key.length - KEY_TAIL) {
    const len = key.charCodeAt(p);
    if (len === 0) break;
    let l = '';
    for (let i = p + 1; i <= p + len; i++) {
      const c = key.charCodeAt(i);
      l += c > 0x20 && c < 0x7f && c !== 0x2e && c !== 0x5c ? String.fromCharCode(c) : `\\${String(c).padStart(3, '0')}`;
    }
    labels.push(l);
    p += 1 + len;
  }
  return labels.length === 0 ? '.' : `${labels.join('.')}.`;
}
