/** The `prefetch` section (the MTA-aware prefetch): defaults, values, and errors naming the field. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { defaultConfig } from '../../src/config/schema.js';
import { validateConfig } from '../../src/config/validate.js';
import { addressCheckers } from '../../src/config/fields.js';
import { expectField as expectFieldOf } from './expect-field.js';

const expectField = (doc: unknown, field: string, fragment?: RegExp): void => expectFieldOf(() => validateConfig(doc, addressCheckers), field, fragment);

test('prefetch: on by default (4 hosts, 32 in flight); each key set on its own', () => {
  assert.deepEqual(defaultConfig().prefetch, { mail: true, mailHosts: 4, maxInFlight: 32 });
  assert.deepEqual(validateConfig({ prefetch: { mail: false } }, addressCheckers).prefetch, { mail: false, mailHosts: 4, maxInFlight: 32 });
  assert.deepEqual(validateConfig({ prefetch: { mailHosts: 2, maxInFlight: 8 } }, addressCheckers).prefetch, { mail: true, mailHosts: 2, maxInFlight: 8 });
  // The TTL refresh stays cache.prefetch.
  assert.equal(validateConfig({ prefetch: { mail: false } }, addressCheckers).cache.prefetch, true);
});

test('prefetch: errors name the field', () => {
  expectField({ prefetch: true }, 'prefetch', /expected a mapping/);
  expectField({ prefetch: { mail: 'yes' } }, 'prefetch.mail', /true or false/);
  expectField({ prefetch: { mailHosts: 0 } }, 'prefetch.mailHosts', /from 1 to 32/);
  expectField({ prefetch: { mailHosts: 2.5 } }, 'prefetch.mailHosts');
  expectField({ prefetch: { maxInFlight: 0 } }, 'prefetch.maxInFlight', /from 1 to 1024/);
  expectField({ prefetch: { hosts: 3 } }, 'prefetch.hosts', /unknown key/);
});
