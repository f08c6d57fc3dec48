/**
 * Known-answer tests, one per primitive, run before trusting OpenSSL with an algorithm (a system
 * crypto policy may refuse SHA-1 signatures, by error or by a silent "false").
 *  - RSA: a 2048-bit key (e = 65537) made for this file, signing MESSAGE with SHA-1, SHA-256, SHA-512.
 *  - P-256, P-384: the RFC 6605 §6.1 and §6.2 examples (signed data per RFC 4034 §3.1.8.1).
 *  - Ed25519, Ed448: the RFC 8080 §6.1 and §6.2 first examples, re-signed with Labels = 2 (the
 *    printed RRSIGs carry Labels = 3; see shared/vectors/rfc8080.json).
 */
import type { Primitive } from './algorithms.js';

export interface KnownAnswer {
  /** DNSKEY public key field. */
  readonly key: Uint8Array;
  readonly data: Uint8Array;
  readonly signature: Uint8Array;
}

const b64 = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'base64'));

const RSA_KEY =
  'AwEAAcsu8HQ6vMDLpygWREq7Yu6dELgx6a8mWB2Z0prjfC66saeZ7ojn6qd2YQ7ZLEmgtY/Ji9IyeU1u+RQ+pkuBHlWCTaRU'
  + '8sBjMswbvGQHBByEQSEkNn9/VTcUluiEg5GTcRSpZMfAeilcvjAX1FTvd1d17pugtIYFbNinFS1AkGaJA7P+iJeaoW5Kaqa5'
  + 'aanqvZmRWJ4Cqk9tn91TND7a8+Ft7xHDGyTduRqbyaJWcSLl3sHVXVG+wAnuJUoL4ByKxNqJT0PnqJge46X8scMkngr/dIyt'
  + 'dpjI51DLnjFRck+c/UzL3b5lhedo0tOFzmfRieMBkU/f9Mnc04z8dx7v3FU=';

const MESSAGE = new TextEncoder().encode('dnssec-stubd crypto self-test: RSA PKCS#1 v1.5');

const RAW: Readonly<Record<Primitive, { key: string | Uint8Array; data: string | Uint8Array; sig: string }>> = {
  'rsa-sha1': {
    key: RSA_KEY, data: MESSAGE,
    sig: 'gFurNknQLfb85EjxIe3r1JZ+E+t1cZp0A+2BAD3JFl697MucNgc0hYiSEdKBjoOvaBs48JKsxAmcc2rvxTyANSED2DaSsC8J'
    + 'GvXW+b5efqasmGK5uAI597QZNUbXYoW6zDolSxfGNxoRrCkBMlrmTjq6gtbZQPiYiNdq9bFtY+yD5wqepMEgJwahjDERERJM'
    + 'jwd+jC6ktr1cyy7U01JrkPiymT5VTHL9U9ZFrYw2aT8oT8pFNgGopw9SEapSjioHNyyVVkC7OUw9iOPv1y4diuoNN0W1S9HS'
    + 'NGFq+2B4u36ZIE8AB9C05VF0u88Lh6RCrKv0wfwYmqUGirOwoN3ZEg==',
  },
  'rsa-sha256': {
    key: RSA_KEY, data: MESSAGE,
    sig: 'EgSMAK8Rvzi9sCxf3KwXU5sjFLmKC6mBsQHw4ekSKavySax05JNngxwksgz7tbkKFodLV/iVGi0jxo65DPyxfKUlPQE9K8Dn'
    + 'f6tGAZWAsD7PDiL8YY9RXe8/aQD8k8MxcjeAjx/DDbw5U9tzAgcvhNBa9ac2YvooAGxDRKlJZE00P4a6to1mZihIQa6AIQnE'
    + 'IIjymyzhALMatsZiq2cxy93ZxCGplcFjz3Id7FiFTzGoXkwJGXCqQwOxAR6ZDSlaEMTtsKJfr2vo9D2kpttAJXtbzN/XkYiX'
    + 'yZe5q1+mBMdzo4UBW3griQkLboFU95CJNx/xyKh2wKTY2dQC94rJqA==',
  },
  'rsa-sha512': {
    key: RSA_KEY, data: MESSAGE,
    sig: 'Fpmyi+mSQZ08t9TZD1VrPGtNa8uBiKr8EgE7YaW5cRpemuvHvfNA213wf8FqmxhzbUKYl9IzLd5dWxnN9A53oN3dAITElVHM'
    + 'hg2bljUi9/FBD73VbEWejY972s9iYfIeKaSnQzO7OsZ8OAF5WUQEVvfxN4DexWxJXT+xWjJGrWGeUoxHBn4/xHldH1A8IYio'
    + 'qjYaRkL4Fly1luwrNBAtHYsmUWq4h8AHQTS7WTpO9FJg6eEY+BVi/4pjTvbEDpgvET93+nch+8f0OT0L5Qi3maIVlk8/5dna'
    + 'lNzhebE/NSXFJTl/+OmXS8K9bv2MtlrIO2QUhpE75aVJMDvjXDjtPQ==',
  },
  p256: {
    key: 'GojIhhXUN/u4v54ZQqGSnyhWJwaubCvTmeexv7bR6edbkrSqQpF64cYbcB7wNcP+e+MAnLr+Wi9xMWyQLc8NAA==',
    data: 'AAENAwAADhBMiLE3TGPHN9lgB2V4YW1wbGUDbmV0AAN3d3cHZXhhbXBsZQNuZXQAAAEAAQAADhAABMAAAgE=',
    sig: 'qx6wLYqmh+l9oCKTN6qIc+bw6ya+KJ8oMz0YP107epXAyGmt+3SNruPFKG7tZoLBLlUzGGus7ZwmwWep666VCw==',
  },
  p384: {
    key: 'xKYaNhWdGOfJ+nPrL8/arkwf2EY3MDJ+SErKivBVSum1w/egsXvSADtNJhyem5RCOpgQ6K8X1DRSEkrbYQ+OB+v8/uX45NBw'
    + 'Y8rp65F6Glur8I/mlVNgF6W/qTI37m40',
    data: 'AAEOAwAADhBMiLTpTGPK6SoTB2V4YW1wbGUDbmV0AAN3d3cHZXhhbXBsZQNuZXQAAAEAAQAADhAABMAAAgE=',
    sig: '/L5hDKIvGDyI1fcARX3z65qrmPsVz73QD1Mr5CEqOiLP95hxQouuroGCeZOvzFaxsT8Glr74hbavRKayJNuydCuzWTSSPdz7'
    + 'wnqXL5bdcJzusdnI0RSMROxxwGipWcJm',
  },
  ed25519: {
    key: 'l02Woi0iS8Aa25FQkUd9RMzZHJpBoRQwAQEX1SxZJA4=',
    data: 'AA8PAgAADhBV1PxgVblM4A4dB2V4YW1wbGUDY29tAAdleGFtcGxlA2NvbQAADwABAAAOEAAUAAoEbWFpbAdleGFtcGxlA2Nv'
    + 'bQA=',
    sig: 'oL9krJun7xfBOIWcGHi7mag5/hdZrKWw15jPGrHpjQeRAvTdszaPD+QLs3fx8A4M3e23mRZ9VrbpMngwcrqNAg==',
  },
  ed448: {
    key: '3kgROaDjrh0H2iuixWBrc8g2EpBBLCdGzHmn+G2MpTPhpj/OiBVHHSfPodx1FYYUcJKm1MDpJtIA',
    data: 'AA8QAgAADhBV1PxgVblM4CXxB2V4YW1wbGUDY29tAAdleGFtcGxlA2NvbQAADwABAAAOEAAUAAoEbWFpbAdleGFtcGxlA2Nv'
    + 'bQA=',
    sig: '3cPAHkmlnxcDHMyg7vFC34l0blBhuG1qpwLmjInI8w1CMB29FkEAIJUA0amxWndkmnBZ6SKiwZSAxGILn/NBtOXft0+Gj7FS'
    + 'vOKxE/07+4RQvE581N3Aj/JtIyaiYVdnYtyMWbSNyGEY2213WKsJlwEA',
  },
};

const cache = new Map<Primitive, KnownAnswer>();

/** The known-good signature for a primitive. Shared arrays: callers must not modify them. */
export function knownAnswer(p: Primitive): KnownAnswer {
  let v = cache.get(p);
  if (v === undefined) {
    const r = RAW[p];
    v = {
      key: typeof r.key === 'string' ? b64(r.key) : r.key,
      data: typeof r.data === 'string' ? b64(r.data) : r.data,
      signature: b64(r.sig),
    };
    cache.set(p, v);
  }
  return v;
}
