/**
 * The per-client-query work budget (KeyTrap, CVE-2023-50387; NSEC3 hash floods, CVE-2023-50868).
 * One Budget is created for each client query and shared by every validation step of it, chain of
 * trust included. Once a spend is refused the budget stays exhausted for that kind of work.
 */
import type { Budget, ValidatorLimits } from './types.js';

export function createBudget(limits: ValidatorLimits): Budget {
  let signatures = 0;
  let hashes = 0;
  let signaturesGone = false;
  let hashesGone = false;
  return {
    spendSignature(): boolean {
      if (signaturesGone || signatures >= limits.maxSignaturesPerQuery) {
        signaturesGone = true;
        return false;
      }
      signatures++;
      return true;
    },
    spendNsec3Hash(n = 1): boolean {
      if (hashesGone || hashes + n > limits.maxNsec3HashesPerQuery) {
        hashesGone = true;
        return false;
      }
      hashes += n;
      return true;
    },
    get signaturesUsed(): number {
      return signatures;
    },
    get nsec3HashesUsed(): number {
      return hashes;
    },
  };
}
