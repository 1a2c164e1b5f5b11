import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { idSchema } from '@keel/contract/ids';
import { newId } from '../../edge/src/ids.ts';

describe('newId', () => {
  test('ids are well formed and never repeat, across many refills of the random pool', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 5_000; i++) {
      const id = newId('aiStream');
      assert.ok(idSchema('aiStream').safeParse(id).success, id);
      seen.add(id);
    }
    assert.equal(seen.size, 5_000);
    // Every base32 character turns up: the bytes are used, not a constant.
    const chars = new Set([...seen].flatMap((id) => [...id.split('_')[1]!]));
    assert.equal(chars.size, 32);
  });
});
