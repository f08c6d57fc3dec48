/** Client access control: the networks allowed to query (CIDR parsing and matching: src/net/address.ts). */
import { cidrContains, parseCidr, parseIp, type Cidr } from '../net/address.js';

export const DEFAULT_ALLOW: readonly string[] = ['127.0.0.0/8', '::1/128'];

/** Decisions remembered per address text (cleared when the list is replaced); cleared when it grows past this. */
const ACL_MEMO_MAX = 4096;

/** A list of allowed networks. */
export class AccessList {
  private list: readonly Cidr[];
  private readonly memo = new Map<string, boolean>();
  /** The last address asked about and the answer: a busy client asks again and again (no Map lookup then). */
  private lastAddress = '';
  private lastAllowed = false;

  /** Throws CidrError on the first bad entry. */
  constructor(entries: readonly (string | Cidr)[] = DEFAULT_ALLOW) {
    this.list = entries.map((e) => (typeof e === 'string' ? parseCidr(e) : e));
  }

  get cidrs(): readonly Cidr[] {
    return this.list;
  }

  /** A new list in place of this one (a configuration reload); throws CidrError on a bad entry, keeping the old list. */
  replace(entries: readonly (string | Cidr)[]): void {
    this.list = entries.map((e) => (typeof e === 'string' ? parseCidr(e) : e));
    this.memo.clear();
    this.lastAddress = '';
    this.lastAllowed = false;
  }

  /** Whether a client address (text as reported by node sockets) is allowed. Unparseable addresses are not. */
  allows(address: string): boolean {
    if (address === this.lastAddress) return this.lastAllowed;
    let ok = this.memo.get(address);
    if (ok === undefined) {
      const a = parseIp(address);
      ok = a !== undefined && this.cidrs.some((c) => cidrContains(c, a));
      if (this.memo.size >= ACL_MEMO_MAX) this.memo.clear();
      this.memo.set(address, ok);
    }
    // '' stands for "none yet", with lastAllowed false: the answer for '' itself (a socket without an address).
    this.lastAddress = address;
    this.lastAllowed = ok;
    return ok;
  }
}
