/** Shared vocabulary of the denial-of-existence proofs (NSEC in nsec.ts, NSEC3 in nsec3.ts). */
import { RRType, typeToText, type Name, type RR } from '../wire/index.js';
import type { BogusReason, InsecureReason, ProofKind, TrailStep } from './types.js';

export type DenialResult =
  | {
      security: 'secure';
      step: TrailStep;
      /** The closest encloser the proof established (NXDOMAIN, wildcard NODATA). */
      closestEncloser?: Name;
      /** NSEC3 proofs: the records the proof rests on (an answer built from a larger set sends only these). */
      used?: RR[];
      /**
       * proveNoDs only: the name is proven not to be a delegation at all (no NS at it, an empty
       * non-terminal, or it does not exist) — there is no zone cut there, the parent's keys go on.
       */
      notDelegation?: true;
    }
  | { security: 'insecure'; reason: InsecureReason; step: TrailStep }
  | { security: 'bogus'; reason: BogusReason; step: TrailStep };

export type Using = 'nsec' | 'nsec3';

/** Builds the results of one proof (one qname/qtype/proof kind). */
export class ProofOutcome {
  constructor(
    readonly using: Using,
    readonly proof: ProofKind,
    readonly name: Name,
    readonly qtype: number,
  ) {}

  secure(detail: string, extra: { closestEncloser?: Name; notDelegation?: true; used?: RR[] } = {}): DenialResult {
    return { security: 'secure', step: this.step('secure', detail), ...extra };
  }

  insecure(reason: InsecureReason, detail: string): DenialResult {
    return { security: 'insecure', reason, step: this.step('insecure', detail) };
  }

  /** No record that the proof needs (EDE 12). */
  missing(detail: string): DenialResult {
    const reason: BogusReason = { kind: 'nsec-missing', name: this.name.toText(), type: typeToText(this.qtype), proof: this.proof };
    return { security: 'bogus', reason, step: this.step('bogus', detail) };
  }

  /** The records contradict the claim (EDE 6). */
  invalid(detail: string): DenialResult {
    const reason: BogusReason = { kind: 'proof-invalid', name: this.name.toText(), type: typeToText(this.qtype), proof: this.proof, detail };
    return { security: 'bogus', reason, step: this.step('bogus', detail) };
  }

  bogus(reason: BogusReason, detail: string): DenialResult {
    return { security: 'bogus', reason, step: this.step('bogus', detail) };
  }

  private step(security: 'secure' | 'insecure' | 'bogus', detail: string): TrailStep {
    return { step: 'proof', proof: this.proof, using: this.using, security, detail };
  }
}

/**
 * Why a type bit map at the query name (or at the wildcard) fails to prove NODATA for `qtype`, or
 * undefined when it proves it (RFC 4035 §5.4, RFC 5155 §8.5-8.7, RFC 6840 §4.3 and §4.4).
 */
export function nodataBitmapProblem(types: readonly number[], qtype: number, qname: Name): string | undefined {
  const has = (t: number): boolean => types.includes(t);
  if (has(qtype)) return `the type bit map lists ${typeToText(qtype)}`;
  if (has(RRType.CNAME)) return 'the type bit map lists CNAME';
  if (qtype === RRType.DS) {
    if (has(RRType.SOA) && !qname.isRoot()) return 'the record is from the child zone apex (SOA set), it cannot deny a DS';
  } else if (has(RRType.NS) && !has(RRType.SOA)) {
    return `the record is from a delegation point (NS without SOA), it cannot deny ${typeToText(qtype)}`;
  }
  return undefined;
}

/** The wildcard name "*.<name>". */
export function wildcardAt(name: Name): Name {
  return name.prepend(Uint8Array.of(0x2a));
}
