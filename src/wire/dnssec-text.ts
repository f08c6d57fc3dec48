/** Presentation-format helpers shared by the DNSSEC RDATA codecs: algorithm mnemonics and signature times. */
import { WireError } from './errors.js';
import { textUint } from './rdata.js';

/** DNSSEC algorithm numbers (IANA "DNS Security Algorithm Numbers"). */
export const DnssecAlgorithm = {
  RSAMD5: 1, DH: 2, DSA: 3, RSASHA1: 5, DSA_NSEC3_SHA1: 6, RSASHA1_NSEC3_SHA1: 7, RSASHA256: 8, RSASHA512: 10,
  ECC_GOST: 12, ECDSAP256SHA256: 13, ECDSAP384SHA384: 14, ED25519: 15, ED448: 16, INDIRECT: 252,
  PRIVATEDNS: 253, PRIVATEOID: 254,
} as const;

/** DS digest types (IANA "Delegation Signer (DS) Resource Record Digest Algorithms"). */
export const DigestType = { SHA1: 1, SHA256: 2, GOST: 3, SHA384: 4 } as const;

/**
 * The digest field's name and length per DS digest type (RFC 4034 SHA-1, RFC 4509 SHA-256, RFC 5933
 * GOST R 34.11-94, RFC 6605 SHA-384, RFC 9558 GOST R 34.11-2012, RFC 9563 SM3); other types are unknown.
 */
export const DS_DIGEST_LENGTHS: Readonly<Record<number, { readonly name: string; readonly bytes: number }>> = Object.freeze({
  1: { name: 'SHA-1', bytes: 20 },
  2: { name: 'SHA-256', bytes: 32 },
  3: { name: 'GOST R 34.11-94', bytes: 32 },
  4: { name: 'SHA-384', bytes: 48 },
  5: { name: 'GOST R 34.11-2012', bytes: 32 },
  6: { name: 'SM3', bytes: 32 },
});

/** Parse an algorithm field: a decimal number or a mnemonic (RFC 4034 §2.2, Appendix A.1). */
export function algorithmFromText(s: string | undefined, what: string): number {
  if (s !== undefined && /^[A-Za-z]/.test(s)) {
    const v = (DnssecAlgorithm as Record<string, number>)[s.toUpperCase().replace(/-/g, '_')];
    if (v === undefined) throw new WireError('bad-text', `${what}: unknown algorithm "${s}"`);
    return v;
  }
  return textUint(s, 255, what);
}

const pad = (n: number, w = 2): string => n.toString().padStart(w, '0');

/** A 32-bit signature time as YYYYMMDDHHmmSS in UTC (RFC 4034 §3.2). */
export function sigTimeToText(t: number): string {
  const d = new Date((t >>> 0) * 1000);
  return `${pad(d.getUTCFullYear(), 4)}${pad(d.getUTCMonth() + 1)}${pad(d.getUTCDate())}${pad(d.getUTCHours())}${pad(d.getUTCMinutes())}${pad(d.getUTCSeconds())}`;
}

/**
 * Parse a signature time: YYYYMMDDHHmmSS (exactly 14 digits) or seconds since the epoch (RFC 4034 §3.2).
 * Dates past 2106 wrap modulo 2^32, as the field does.
 */
export function sigTimeFromText(s: string | undefined, what: string): number {
  if (s !== undefined && /^[0-9]{14}$/.test(s)) {
    const [y, mo, d, h, mi, se] = [s.slice(0, 4), s.slice(4, 6), s.slice(6, 8), s.slice(8, 10), s.slice(10, 12), s.slice(12, 14)].map(Number) as [number, number, number, number, number, number];
    const ms = Date.UTC(y, mo - 1, d, h, mi, se);
    const back = new Date(ms);
    if (y < 1970 || back.getUTCFullYear() !== y || back.getUTCMonth() !== mo - 1 || back.getUTCDate() !== d ||
        back.getUTCHours() !== h || back.getUTCMinutes() !== mi || back.getUTCSeconds() !== se) {
      throw new WireError('bad-text', `${what}: bad date "${s}"`);
    }
    return (ms / 1000) % 0x100000000;
  }
  return textUint(s, 0xffffffff, what);
}
