/** A fresh RFC 5011 state directory for a test daemon (each daemon locks its own; /var/lib is the operator's). */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export function tempStateDir(): string {
  return mkdtempSync(join(tmpdir(), 'stubd-state-'));
}
