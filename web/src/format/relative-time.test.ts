import assert from 'node:assert/strict';
import { test } from 'node:test';
import { relativeTime } from './relative-time.ts';

test('relativeTime picks the largest whole unit', () => {
  const now = Date.parse('2025-06-01T12:00:00Z');
  assert.equal(relativeTime('2025-06-01T12:00:00Z', now, 'en'), 'now');
  assert.equal(relativeTime('2025-06-01T11:59:30Z', now, 'en'), '30 seconds ago');
  assert.equal(relativeTime('2025-06-01T11:55:00Z', now, 'en'), '5 minutes ago');
  assert.equal(relativeTime('2025-05-31T12:00:00Z', now, 'en'), 'yesterday');
  assert.equal(relativeTime('not a date', now, 'en'), '');
});
