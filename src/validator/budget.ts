/**
 * The per-client-query work budget (KeyTrap, CVE-2023-50387; NSEC3 hash floods, CVE-2023-50868).
 * One Budget is created for each client query and shared by every validation step of it, chain of
 * trust included. Once a spend is refused the budget stays exhausted for that kind of work.
 */
import type { Budget, ValidatorLimits } from './types.js';

/** A class rather than closures: one is made per client query, on the hot path. */
class QueryBudget implements Budget {
  private signatures = 0;
  private hashes = 0;
  private signaturesGone = false;
  private hashesGone = false;

  constructor(private readonly limits: ValidatorLimits) {}

  spendSignature(): boolean {
    if (this.signaturesGone || this.signatures >= this.limits.maxSignaturesPerQuery) {
      this.signaturesGone = true;
      return false;
    }
    this.signatures++;
    return true;
  }

  spendNsec3Hash(n = 1): boolean {
    if (this.hashesGone || this.hashes + n > this.limits.maxNsec3HashesPerQuery) {
      this.hashesGone = true;
      return false;
    }
    this.hashes += n;
    return true;
  }

  get signaturesUsed(): number {
    return this.signatures;
  }

  get nsec3HashesUsed(): number {
    return this.hashes;
  }
}

export function createBudget(limits: ValidatorLimits): Budget {
  return new QueryBudget(limits);
}
