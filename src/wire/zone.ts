/** Master-file (zone) text to records: RFC 1035 §5.1 with $ORIGIN, $TTL (RFC 2308) and RFC 3597 generic RDATA. */
import { RRClass, classFromText, typeFromText, typeToText } from './constants.js';
import { WireError } from './errors.js';
import { Name } from './name.js';
import { rdataCodec, unknownFromText } from './rdata.js';
import { makeRR, rrFromRData, type RR } from './record.js';
import { looksLikeTtl, tokenize, ttlFromText, type Entry } from './text.js';

export interface ZoneOptions {
  /** Origin for relative names and "@" (default: the root). $ORIGIN changes it. */
  origin?: Name | string;
  /** TTL for records that give none, as if "$TTL" had been set. Without it, the last explicit TTL is used. */
  defaultTtl?: number;
  /** Class for records that give none before any record gave one (default IN). */
  defaultClass?: number;
}

interface State {
  origin: Name;
  dollarTtl: number | undefined;
  lastTtl: number | undefined;
  lastClass: number;
  lastOwner: Name | undefined;
}

function initialState(opts: ZoneOptions): State {
  const origin = typeof opts.origin === 'string' ? Name.fromText(opts.origin) : (opts.origin ?? Name.root);
  return { origin, dollarTtl: opts.defaultTtl, lastTtl: undefined, lastClass: opts.defaultClass ?? RRClass.IN, lastOwner: undefined };
}

function withLine(e: unknown, line: number): unknown {
  if (e instanceof WireError && !/^line \d+:/.test(e.message)) return new WireError(e.code, `line ${line}: ${e.message}`);
  return e;
}

/** Build one record from the RDATA tokens of a known owner/type/class/TTL. */
export function rrFromTextParts(owner: Name, type: number, klass: number, ttl: number, rdata: string[], origin: Name, genericOk = true): RR {
  if (genericOk && rdata[0] === '\\#') return rrFromRData(owner, type, klass, ttl, unknownFromText(rdata));
  const codec = rdataCodec(type);
  if (!codec) throw new WireError('bad-text', `no presentation format known for ${typeToText(type)}: use \\# generic RDATA`);
  return makeRR(owner, type, ttl, codec.fromText(rdata, origin), klass);
}

function parseRecord(e: Entry, st: State, ownerFromFirst: boolean): RR {
  const toks = e.tokens;
  let i = 0;
  let owner: Name;
  if (e.blankStart && !ownerFromFirst) {
    if (!st.lastOwner) throw new WireError('bad-text', 'record without owner and no previous owner');
    owner = st.lastOwner;
  } else {
    const t = toks[i++]!;
    owner = t.quoted ? Name.fromText(t.text === '@' ? '\\@' : t.text, st.origin) : Name.fromText(t.text, st.origin);
  }
  let ttl: number | undefined;
  let klass: number | undefined;
  for (let k = 0; k < 2 && i < toks.length; k++) {
    const t = toks[i]!.text;
    if (ttl === undefined && looksLikeTtl(t)) {
      ttl = ttlFromText(t);
      i++;
    } else if (klass === undefined && classFromText(t) !== undefined &&
        // "ANY" is a class and a type: it is the class when a type follows.
        (typeFromText(t) === undefined || (i + 1 < toks.length && typeFromText(toks[i + 1]!.text) !== undefined))) {
      klass = classFromText(t)!;
      i++;
    } else break;
  }
  const typeTok = toks[i++];
  if (!typeTok) throw new WireError('bad-text', 'record without a type');
  const type = typeFromText(typeTok.text);
  if (type === undefined) throw new WireError('bad-text', `unknown type "${typeTok.text}"`);
  if (ttl !== undefined) st.lastTtl = ttl;
  else ttl = st.dollarTtl ?? st.lastTtl;
  if (ttl === undefined) throw new WireError('bad-text', 'record without TTL and no $TTL or previous TTL');
  if (klass !== undefined) st.lastClass = klass;
  else klass = st.lastClass;
  st.lastOwner = owner;
  const rest = toks.slice(i);
  const genericOk = rest.length > 0 && !rest[0]!.quoted;
  return rrFromTextParts(owner, type, klass, ttl, rest.map((t) => t.text), st.origin, genericOk);
}

function directive(e: Entry, st: State): void {
  const [d, ...args] = e.tokens;
  const name = d!.text.toUpperCase();
  if (name === '$ORIGIN') {
    if (args.length !== 1) throw new WireError('bad-text', '$ORIGIN takes one name');
    st.origin = Name.fromText(args[0]!.text, st.origin);
  } else if (name === '$TTL') {
    if (args.length !== 1) throw new WireError('bad-text', '$TTL takes one TTL');
    st.dollarTtl = ttlFromText(args[0]!.text);
  } else {
    throw new WireError('bad-text', `unsupported directive ${d!.text}`);
  }
}

const isDirective = (e: Entry): boolean => !e.blankStart && !e.tokens[0]!.quoted && e.tokens[0]!.text.startsWith('$');

/** Parse master-file text into records, in order. Throws WireError naming the line on any error. */
export function parseZoneText(text: string, opts: ZoneOptions = {}): RR[] {
  return parseZoneLines(text, opts).map((r) => r.rr);
}

/** As parseZoneText, with the line each record starts on (for messages that name it). */
export function parseZoneLines(text: string, opts: ZoneOptions = {}): { rr: RR; line: number }[] {
  const st = initialState(opts);
  const out: { rr: RR; line: number }[] = [];
  for (const e of tokenize(text)) {
    try {
      if (isDirective(e)) directive(e, st);
      else out.push({ rr: parseRecord(e, st, false), line: e.line });
    } catch (err) {
      throw withLine(err, e.line);
    }
  }
  return out;
}

/**
 * Parse one record ("owner [TTL] [class] type rdata", parentheses allowed). Relative names use
 * `origin`; a missing TTL is `defaultTtl`, else 0 (convenient for trust anchors like ". IN DS ...").
 */
export function parseRR(text: string, opts: ZoneOptions = {}): RR {
  const entries = tokenize(text);
  if (entries.length !== 1) throw new WireError('bad-text', `expected one record, found ${entries.length} entries`);
  const e = entries[0]!;
  if (isDirective({ ...e, blankStart: false })) throw new WireError('bad-text', 'expected a record, found a directive');
  return parseRecord(e, initialState({ ...opts, defaultTtl: opts.defaultTtl ?? 0 }), true);
}
