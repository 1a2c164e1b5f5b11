import assert from 'node:assert/strict';
import { test } from 'node:test';
import { wholeBody } from '../../edge/src/preview/relay.ts';

const entry = (t: string, d?: string) => ({ id: '1-0', t, d: d === undefined ? undefined : Buffer.from(d) });

test('an answer whose body came whole with its head is one buffer; anything else streams', () => {
  assert.equal(
    Buffer.from(wholeBody([entry('data', 'hel'), entry('data', 'lo'), entry('end')])!).toString(),
    'hello',
  );
  assert.equal(wholeBody([entry('end')])!.length, 0);
  assert.equal(wholeBody([entry('data', 'part')]), undefined, 'no end yet: the rest streams');
  assert.equal(wholeBody([entry('data', 'x'), entry('error', '{}'), entry('end')]), undefined);
  assert.equal(wholeBody([]), undefined);
});
