/**
 * The verified RFC test vectors in shared/vectors/, which lies beside the repository (../shared from the
 * repo root, in a developer's checkout and in CI alike). STUBD_VECTORS overrides the location.
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** dist/test/support -> repo root */
const REPO = resolve(fileURLToPath(new URL('.', import.meta.url)), '..', '..', '..');

export const VECTORS = process.env.STUBD_VECTORS ?? join(REPO, '..', 'shared', 'vectors');

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function loadVector(file: string): any {
  return JSON.parse(readFileSync(join(VECTORS, file), 'utf8'));
}

export const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
export const fromHex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
