/**
 * Negative trust anchors (RFC 7646): domains whose answers are INSECURE (reason negative-trust-anchor)
 * without validation, for zones the public chain of trust calls bogus (internal or broken zones).
 * An NTA covers its name and every name below it.
 */
import { Name } from '../wire/index.js';

export class NegativeTrustAnchors {
  private names: Name[];

  constructor(names: readonly (Name | string)[]) {
    this.names = NegativeTrustAnchors.parse(names);
  }

  private static parse(names: readonly (Name | string)[]): Name[] {
    return names.map((n) => (typeof n === 'string' ? Name.fromText(n.endsWith('.') ? n : `${n}.`) : n));
  }

  /** Replace the list (a configuration reload); everyone holding this object sees the new one at once. */
  replace(names: readonly (Name | string)[]): void {
    this.names = NegativeTrustAnchors.parse(names);
  }

  get size(): number {
    return this.names.length;
  }

  /** The deepest NTA at or above `name`, if any. */
  covering(name: Name): Name | undefined {
    let best: Name | undefined;
    for (const n of this.names) if (name.isSubdomainOf(n) && (!best || n.labelCount > best.labelCount)) best = n;
    return best;
  }

  list(): string[] {
    return this.names.map((n) => n.toText());
  }
}
