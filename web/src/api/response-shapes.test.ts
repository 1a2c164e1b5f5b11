import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { inField, objectOf } from './response-shapes.ts';

describe('response shapes', () => {
  const file = objectOf({ path: 'string', size: 'number', note: 'string?' });

  test('objectOf keeps the named fields, allows missing optional ones and drops the rest', () => {
    assert.deepEqual(file.safeParse({ path: 'a', size: 1, extra: true }), {
      success: true,
      data: { path: 'a', size: 1 },
    });
    assert.deepEqual(file.safeParse({ path: 'a', size: 1, note: 'n' }).success, true);
  });

  test('objectOf refuses wrong types, missing fields and non-objects', () => {
    assert.equal(file.safeParse({ path: 'a', size: '1' }).success, false);
    assert.equal(file.safeParse({ size: 1 }).success, false);
    assert.equal(file.safeParse([]).success, false);
    assert.equal(file.safeParse(null).success, false);
  });

  test('inField unwraps one field through another schema', () => {
    const wrapped = inField('file', file);
    assert.deepEqual(wrapped.safeParse({ file: { path: 'a', size: 1 } }), {
      success: true,
      data: { file: { path: 'a', size: 1 } },
    });
    assert.equal(wrapped.safeParse({ other: {} }).success, false);
  });
});
