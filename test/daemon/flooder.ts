/**
 * A UDP flooder for the fairness test, run as its own process (so that it does not share the daemon's event
 * loop): random names under one zone, open loop (a fixed rate, whatever comes back), from one loopback address.
 *
 *   node dist/test/daemon/flooder.js PORT FROM_ADDRESS ZONE QPS SECONDS
 *
 * Prints one line of JSON at the end: sent, replies, by rcode, and the SERVFAILs carrying EDE 0 (refused by
 * the admission bounds).
 */
import * as dgram from 'node:dgram';
import { randomBytes } from 'node:crypto';
import { EdnsOptionCode, Name, RRType, makeQuery, serializeMessage } from '../../src/wire/index.js';

const [port, from, zone, qps, seconds] = process.argv.slice(2);
if (!port || !from || !zone || !qps || !seconds) {
  console.error('usage: flooder.js PORT FROM_ADDRESS ZONE QPS SECONDS');
  process.exit(2);
}

const sock = dgram.createSocket({ type: 'udp4', recvBufferSize: 8 << 20 });
const byRcode: Record<number, number> = {};
let sent = 0;
let replies = 0;
let refusedByBound = 0;

/** Whether a reply carries EDE 0 (the admission refusal), looking at the OPT record's options. */
function hasEde0(b: Buffer): boolean {
  // The OPT is the last record; its EDE option is `00 0f LEN 00 00 ...`: a byte search is enough here.
  for (let i = 12; i + 6 <= b.length; i++) {
    if (b[i] === 0 && b[i + 1] === EdnsOptionCode.EDE && b[i + 4] === 0 && b[i + 5] === 0) return true;
  }
  return false;
}

sock.on('message', (b) => {
  replies++;
  const rcode = b[3]! & 0x0f;
  byRcode[rcode] = (byRcode[rcode] ?? 0) + 1;
  if (rcode === 2 && hasEde0(b)) refusedByBound++;
});

sock.bind(0, from, () => {
  const rate = Number(qps);
  const end = Date.now() + Number(seconds) * 1000;
  const start = Date.now();
  const tick = (): void => {
    const now = Date.now();
    if (now >= end) {
      setTimeout(() => {
        console.log(JSON.stringify({ sent, replies, byRcode, refusedByBound }));
        sock.close();
      }, 2000);
      return;
    }
    const due = Math.floor(((now - start) / 1000) * rate);
    for (; sent < due; ) {
      const name = Name.fromText(`fl-${randomBytes(6).toString('hex')}.${zone}`);
      const q = makeQuery(name, RRType.A, { id: sent & 0xffff, edns: { udpSize: 1232, version: 0, dnssecOk: true, z: 0, options: [] } });
      sock.send(serializeMessage(q).bytes, Number(port), '127.0.0.1');
      sent++;
    }
    setTimeout(tick, 2);
  };
  tick();
});
