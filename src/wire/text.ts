/**
 * Tokenizer for master-file text (RFC 1035 §5.1): `;` comments, parentheses joining lines, quoted
 * strings. Escapes (\X, \DDD) are kept in the token text for the name and RDATA parsers to decode;
 * quote characters are removed. A quoted part may follow "key=" inside a token (RFC 9460 key="a b"
 * is one token); any other quote inside a token is an ordinary character.
 */
import { WireError } from './errors.js';

export interface Token {
  /** The token text with its escapes as written and its quote characters removed. */
  readonly text: string;
  /** Whether any part of the token was quoted (a quoted "\#" or "@" is not special). */
  readonly quoted: boolean;
}

/** One logical entry: a record or a directive, possibly spread over several lines by parentheses. */
export interface Entry {
  readonly tokens: Token[];
  /** 1-based line where the entry starts. */
  readonly line: number;
  /** The entry's first line starts with blank space: the owner is omitted (RFC 1035 §5.1). */
  readonly blankStart: boolean;
}

const isBlank = (c: string): boolean => c === ' ' || c === '\t' || c === '\r';

export function tokenize(text: string): Entry[] {
  const entries: Entry[] = [];
  let tokens: Token[] = [];
  let cur = '';
  let inToken = false;
  let quotedTok = false;
  let inQuote = false;
  let depth = 0;
  let line = 1;
  let entryLine = 1;
  let blankStart = false;
  let atLineStart = true;
  const err = (why: string): WireError => new WireError('bad-text', `line ${line}: ${why}`);

  const endToken = (): void => {
    if (inToken) tokens.push({ text: cur, quoted: quotedTok });
    cur = '';
    inToken = false;
    quotedTok = false;
  };
  const endEntry = (): void => {
    endToken();
    if (tokens.length > 0) entries.push({ tokens, line: entryLine, blankStart });
    tokens = [];
  };

  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (atLineStart) {
      atLineStart = false;
      if (depth === 0 && tokens.length === 0 && !inToken) {
        entryLine = line;
        blankStart = isBlank(c);
      }
    }
    if (inQuote) {
      if (c === '\n') throw err('newline inside a quoted string');
      if (c === '"') { inQuote = false; continue; }
      if (c === '\\') {
        if (i + 1 >= text.length) throw err('escape at end of text');
        if (text[i + 1] === '\n') throw err('newline inside a quoted string');
        cur += c + text[++i]!;
        continue;
      }
      cur += c;
      continue;
    }
    switch (c) {
      case '\n':
        line++;
        atLineStart = true;
        if (depth === 0) endEntry();
        else endToken();
        break;
      case ';':
        while (i + 1 < text.length && text[i + 1] !== '\n') i++;
        endToken();
        break;
      case '(':
        if (depth > 0) throw err('nested parenthesis');
        endToken();
        depth++;
        break;
      case ')':
        if (depth === 0) throw err('unbalanced ")"');
        endToken();
        depth--;
        break;
      case '"':
        // A quote opens a quoted part at the start of a token or right after "key=" (RFC 9460
        // key="value"); elsewhere inside a token it is an ordinary character, as in BIND.
        if (inToken && !cur.endsWith('=')) {
          cur += c;
          break;
        }
        inQuote = true;
        inToken = true;
        quotedTok = true;
        break;
      case '\\':
        if (i + 1 >= text.length || text[i + 1] === '\n') throw err('escape at end of line');
        cur += c + text[++i]!;
        inToken = true;
        break;
      default:
        if (isBlank(c)) endToken();
        else {
          cur += c;
          inToken = true;
        }
    }
  }
  if (inQuote) throw err('unterminated quoted string');
  if (depth > 0) throw err('unbalanced "(" at end of text');
  endEntry();
  return entries;
}

/** TTL: decimal seconds, or BIND-style units (1w2d3h4m5s), up to 2^32-1. */
export function ttlFromText(s: string): number {
  let v: number;
  if (/^[0-9]+$/.test(s)) v = Number(s);
  else {
    const m = /^(?:[0-9]+[wdhms])+$/i.test(s) ? s.match(/[0-9]+[wdhms]/gi)! : null;
    if (!m) throw new WireError('bad-text', `bad TTL "${s}"`);
    const unit: Record<string, number> = { w: 604800, d: 86400, h: 3600, m: 60, s: 1 };
    v = m.reduce((acc, part) => acc + Number(part.slice(0, -1)) * unit[part.slice(-1).toLowerCase()]!, 0);
  }
  if (v > 0xffffffff) throw new WireError('bad-text', `TTL "${s}" exceeds 2^32-1`);
  return v;
}

export function looksLikeTtl(s: string): boolean {
  return /^[0-9]/.test(s);
}
