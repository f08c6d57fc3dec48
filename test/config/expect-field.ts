/** The config tests' check that a ConfigError names its field (and says what, when `fragment` is given). */
import assert from 'node:assert/strict';
import { ConfigError } from '../../src/config/schema.js';

export function expectField(fn: () => unknown, field: string, fragment?: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof ConfigError, `expected ConfigError, got ${String(err)}`);
    assert.equal(err.field, field);
    assert.ok(err.message.startsWith(`${field}: `), err.message);
    if (fragment) assert.match(err.message, fragment);
    return true;
  });
}
