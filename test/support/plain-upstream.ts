/**
 * A plain, non-DNSSEC resolver on loopback (UDP) for the daemon's lifecycle tests: it answers every A question
 * with 192.0.2.1 (after `delayMs` for names starting with "slow"), other types with NODATA, and the probe's
 * ". DNSKEY" with NXDOMAIN, as the reachable-but-not-DNSSEC-capable resolver of a new user's resolv.conf did
 * (issue 14). It drops DO and sends no RRSIG: the daemon finds it NOT-DNSSEC-CAPABLE, and answers INSECURE
 * from it only with insecure fallback. It counts the questions it got, by name.
 */
import * as dgram from 'node:dgram';
import { Name, RRType, Rcode, emptyFlags, parseMessage, parseRR, serializeMessage, type Message } from '../../src/wire/index.js';

export class PlainUpstream {
  /** Questions received, by lowercase name (with the trailing dot). */
  readonly asked = new Map<string, number>();

  private constructor(private readonly sock: dgram.Socket, readonly address: string, readonly port: number, private readonly delayMs: number) {}

  static async start(opts: { address?: string; delayMs?: number } = {}): Promise<PlainUpstream> {
    const address = opts.address ?? '127.0.0.1';
    if (!address.startsWith('127.')) throw new Error(`test servers use loopback only, not ${address}`);
    const sock = dgram.createSocket('udp4');
    await new Promise<void>((resolve, reject) => {
      sock.once('error', reject);
      sock.bind(0, address, () => resolve());
    });
    const up = new PlainUpstream(sock, address, sock.address().port, opts.delayMs ?? 0);
    sock.on('message', (packet, rinfo) => up.answer(packet, rinfo));
    return up;
  }

  get label(): string {
    return `${this.address}:${this.port}`;
  }

  count(name: string): number {
    return this.asked.get(name.toLowerCase()) ?? 0;
  }

  private answer(packet: Buffer, rinfo: dgram.RemoteInfo): void {
    let q: Message;
    try {
      q = parseMessage(packet);
    } catch {
      return;
    }
    const question = q.question[0];
    if (!question || q.flags.qr) return;
    const name = question.name.toText().toLowerCase();
    this.asked.set(name, (this.asked.get(name) ?? 0) + 1);
    const reply: Message = {
      id: q.id, opcode: 0, flags: { ...emptyFlags(), qr: true, rd: q.flags.rd, ra: true }, rcode: Rcode.NOERROR,
      question: [question], answer: [], authority: [], additional: [],
      edns: q.edns ? { udpSize: 1232, version: 0, dnssecOk: false, z: 0, options: [] } : undefined,
    };
    if (question.name.equals(Name.root) && question.type === RRType.DNSKEY) reply.rcode = Rcode.NXDOMAIN;
    else if (question.type === RRType.A) reply.answer.push(parseRR(`${name} 300 IN A 192.0.2.1`));
    const send = (): void => this.sock.send(serializeMessage(reply).bytes, rinfo.port, rinfo.address);
    if (this.delayMs > 0 && name.startsWith('slow')) setTimeout(send, this.delayMs);
    else send();
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.sock.close(() => resolve()));
  }
}
