/**
 * The auto backend: OpenSSL for every algorithm whose known-answer test passes when the verifier is
 * created (once per algorithm), the pure-JS backend for the rest (e.g. SHA-1 signatures refused by
 * a system crypto policy). If OpenSSL later fails on a signature (an error, not a verdict), that
 * signature is verified in JS; the algorithm moves to JS for good only if its self-test now fails,
 * so crafted input cannot push a whole algorithm onto the slow path.
 */
import { KNOWN_ALGORITHMS, algorithmSpec } from './algorithms.js';
import type { BackendOptions, DetailedVerifier } from './engine.js';
import { createJsVerifier } from './js.js';
import { createOpensslVerifier } from './openssl.js';
import { unsupported, type AutoVerifier, type BackendChoice, type VerifyResult } from './types.js';

export interface AutoOptions extends BackendOptions {
  /**
   * Whether OpenSSL may be used for an algorithm (default: its self-test). A hook for tests and
   * for forcing the JS engine; it is asked once per algorithm, and again after an OpenSSL failure.
   */
  probe?: (algorithm: number) => boolean;
  /** The OpenSSL-side verifier (default: createOpensslVerifier); tests inject a failing one. */
  openssl?: DetailedVerifier;
  /** The fallback verifier (default: createJsVerifier). */
  js?: DetailedVerifier;
}

class Auto implements AutoVerifier {
  readonly name = 'auto' as const;
  private readonly openssl: DetailedVerifier;
  private readonly js: DetailedVerifier;
  private readonly probe: (algorithm: number) => boolean;
  private readonly choice = new Map<number, BackendChoice>();

  constructor(opts: AutoOptions) {
    this.openssl = opts.openssl ?? createOpensslVerifier(opts);
    this.js = opts.js ?? createJsVerifier(opts);
    this.probe = opts.probe ?? ((alg) => this.openssl.supports(alg));
    for (const alg of KNOWN_ALGORITHMS) this.choice.set(alg, this.decide(alg));
  }

  private decide(algorithm: number): BackendChoice {
    if (algorithmSpec(algorithm) === undefined) return 'unsupported';
    let useOpenssl = false;
    try {
      useOpenssl = this.probe(algorithm);
    } catch {
      useOpenssl = false;
    }
    if (useOpenssl) return 'openssl';
    return this.js.supports(algorithm) ? 'js' : 'unsupported';
  }

  private backendFor(algorithm: number): BackendChoice {
    return this.choice.get(algorithm) ?? 'unsupported';
  }

  supports(algorithm: number): boolean {
    return this.backendFor(algorithm) !== 'unsupported';
  }

  verify(algorithm: number, publicKey: Uint8Array, data: Uint8Array, signature: Uint8Array): VerifyResult {
    switch (this.backendFor(algorithm)) {
      case 'unsupported':
        return unsupported(algorithm);
      case 'js':
        return this.js.verify(algorithm, publicKey, data, signature);
      case 'openssl': {
        const r = this.openssl.verifyDetailed(algorithm, publicKey, data, signature);
        if (r.kind !== 'engine-error') return r;
        if (!this.stillWorks(algorithm)) this.choice.set(algorithm, this.js.supports(algorithm) ? 'js' : 'unsupported');
        return this.js.verify(algorithm, publicKey, data, signature);
      }
    }
  }

  private stillWorks(algorithm: number): boolean {
    try {
      return this.probe(algorithm) && this.openssl.selfTest(algorithm);
    } catch {
      return false;
    }
  }

  describe(): Record<number, BackendChoice> {
    const out: Record<number, BackendChoice> = {};
    for (const alg of KNOWN_ALGORITHMS) out[alg] = this.backendFor(alg);
    return out;
  }
}

export function createAutoVerifier(opts: AutoOptions = {}): AutoVerifier {
  return new Auto(opts);
}
