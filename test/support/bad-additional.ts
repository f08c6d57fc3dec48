/**
 * Answers with one malformed record in the additional section (test scaffolding, byte level: the codec
 * cannot write malformed records). The record goes after the answer's own additional records and
 * before its OPT, where a server's glue would be; the OPT stays last, as servers send it.
 */
import { RRType, WireWriter, parseMessage, serializeMessage, type Edns, type Message } from '../../src/wire/index.js';

export type BadAdditional =
  /** An A record with 5 octets of RDATA: the typed RDATA is wrong, the framing (RDLENGTH) is intact. */
  | 'rdata'
  /** An owner name that is a compression pointer past the end of the message: framing intact. */
  | 'owner-pointer'
  /** An owner name starting with the reserved label type 0x40: where the record ends is unknowable. */
  | 'framing'
  /** An RDLENGTH that runs past the end of the message: framing lost as well. */
  | 'rdlength'
  /** No extra record: the OPT itself is malformed (an EDNS option overrunning its RDATA). */
  | 'opt';

export const BAD_ADDITIONAL: readonly BadAdditional[] = ['rdata', 'owner-pointer', 'framing', 'rdlength', 'opt'];

/** Kinds whose framing still leads to the OPT after the bad record (a salvaging parse keeps EDNS). */
export const OPT_REACHABLE: ReadonlySet<BadAdditional> = new Set(['rdata', 'owner-pointer']);

function badRecord(kind: BadAdditional): Uint8Array {
  const w = new WireWriter(32);
  switch (kind) {
    case 'rdata':
      w.u8(0);
      w.u16(RRType.A); w.u16(1); w.u32(60); w.u16(5);
      w.bytes(new Uint8Array([192, 0, 2, 1, 9]));
      break;
    case 'owner-pointer':
      w.u8(0xff); w.u8(0xff);
      w.u16(RRType.A); w.u16(1); w.u32(60); w.u16(4);
      w.bytes(new Uint8Array([192, 0, 2, 1]));
      break;
    case 'framing':
      w.u8(0x41); w.bytes(new Uint8Array([0x61]));
      w.u8(0);
      w.u16(RRType.A); w.u16(1); w.u32(60); w.u16(4);
      w.bytes(new Uint8Array([192, 0, 2, 1]));
      break;
    case 'rdlength':
      w.u8(0);
      w.u16(RRType.A); w.u16(1); w.u32(60); w.u16(4000);
      w.bytes(new Uint8Array([192, 0, 2, 1]));
      break;
    case 'opt':
      break;
  }
  return w.finish();
}

/** The OPT record of `m` as bytes; `overrun`: its one option claims more octets than the RDATA holds. */
function optRecord(m: Message, e: Edns, overrun: boolean): Uint8Array {
  const opts = new WireWriter(32);
  for (const o of e.options) {
    opts.u16(o.code);
    opts.u16(o.data.length);
    opts.bytes(o.data);
  }
  if (overrun) {
    opts.u16(15); // EDE
    opts.u16(40);
    opts.u16(0);
  }
  const rdata = opts.finish();
  const w = new WireWriter(32);
  w.u8(0);
  w.u16(RRType.OPT);
  w.u16(e.udpSize);
  w.u32(((((m.rcode >> 4) & 0xff) << 24) | ((e.version & 0xff) << 16) | (e.dnssecOk ? 0x8000 : 0) | (e.z & 0x7fff)) >>> 0);
  w.u16(rdata.length);
  w.bytes(rdata);
  return w.finish();
}

/** `m` on the wire with one malformed additional record of `kind` (and its OPT, if it has one, last). */
export function messageWithBadAdditional(m: Message, kind: BadAdditional): Uint8Array {
  const base = serializeMessage({ ...m, rcode: m.rcode & 0xf, edns: undefined }).bytes;
  const bad = badRecord(kind);
  const opt = m.edns ? optRecord(m, m.edns, kind === 'opt') : new Uint8Array(0);
  const out = new Uint8Array(base.length + bad.length + opt.length);
  out.set(base, 0);
  out.set(bad, base.length);
  out.set(opt, base.length + bad.length);
  const arcount = ((base[10]! << 8) | base[11]!) + (bad.length > 0 ? 1 : 0) + (m.edns ? 1 : 0);
  out[10] = arcount >> 8;
  out[11] = arcount & 0xff;
  return out;
}

/** A received answer with one malformed additional record of `kind`. */
export function withBadAdditional(answer: Uint8Array, kind: BadAdditional): Uint8Array {
  return messageWithBadAdditional(parseMessage(answer), kind);
}
