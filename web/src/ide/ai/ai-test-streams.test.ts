import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { AiDone } from '@keel/contract/ai';
import { aiEvent, done, meta } from './ai-test-streams.ts';

describe('AI stream fixtures', () => {
  test('are framed as the edge frames them, with bodies the contract accepts', () => {
    assert.match(meta('1-0'), /^id: 1-0\nevent: meta\ndata: \{"streamId":"ais_[a-z2-7]{20}","kind":"chat"/);
    assert.match(done('2-0'), /^id: 2-0\nevent: done\ndata: \{"outcome":"success"\}\n\n$/);
  });

  test('a body the contract would refuse, or that has fields it lacks, fails where it is made', () => {
    assert.throws(() => aiEvent('1-0', 'done', { outcome: 'finished' } as unknown as AiDone), /"done" event/);
    assert.throws(
      () => aiEvent('1-0', 'done', { outcome: 'success', stale: 1 } as AiDone),
      /fields the contract/,
    );
    assert.throws(
      () => aiEvent('1-0', 'meta', { streamId: 'not-a-stream-id', kind: 'chat', model: 'm' }),
      /"meta" event/,
    );
  });
});
