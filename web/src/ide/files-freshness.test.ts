import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createFilesFreshness } from './files-freshness.ts';

describe('when the IDE reads the workspace’s files', () => {
  test('once it first runs; not while it keeps running unchanged', () => {
    const next = createFilesFreshness();
    assert.equal(next(false, 't0'), undefined);
    assert.equal(next(true, 't1'), 'read');
    assert.equal(next(true, 't1'), undefined);
  });

  test('again after a stop and start', () => {
    const next = createFilesFreshness();
    next(true, 't1');
    assert.equal(next(false, 't2'), undefined);
    assert.equal(next(true, 't3'), 'read-again');
  });

  test('again after a restore seen only as running, with a newer time', () => {
    const next = createFilesFreshness();
    next(true, 't1');
    assert.equal(next(true, 't4'), 'read-again');
  });
});
