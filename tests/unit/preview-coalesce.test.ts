import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PREVIEW_CHUNK_BYTES } from '@keel/contract/preview';
import { coalesceData } from '../../runners/src/preview/stream-window.ts';

const bytes = (n: number, fill: number) => Buffer.alloc(n, fill);

test('adjacent data pieces are joined up to the chunk size, in order, other entries kept in place', () => {
  const third = Math.floor(PREVIEW_CHUNK_BYTES / 3);
  const batch: Array<[string, Buffer | string | undefined]> = [
    ['head', '{"status":200}'],
    ['data', bytes(third, 1)],
    ['data', bytes(third, 2)],
    ['data', bytes(third, 3)],
    ['data', bytes(third, 4)],
    ['end', undefined],
  ];
  const out = coalesceData(batch);
  assert.deepEqual(
    out.map(([t, d]) => [t, typeof d === 'string' ? d : d?.length]),
    [
      ['head', '{"status":200}'],
      ['data', 3 * third],
      ['data', third],
      ['end', undefined],
    ],
  );
  const joined = Buffer.concat(out.filter(([t]) => t === 'data').map(([, d]) => d as Buffer));
  assert.deepEqual(joined, Buffer.concat(batch.filter(([t]) => t === 'data').map(([, d]) => d as Buffer)));
  assert.ok(out.every(([t, d]) => t !== 'data' || (d as Buffer).length <= PREVIEW_CHUNK_BYTES));
});

test('a piece already at the chunk size stands alone; data on either side of another entry is not joined across it', () => {
  const out = coalesceData([
    ['data', bytes(PREVIEW_CHUNK_BYTES, 1)],
    ['data', bytes(10, 2)],
    ['error', '{}'],
    ['data', bytes(10, 3)],
  ]);
  assert.deepEqual(
    out.map(([t, d]) => [t, typeof d === 'string' ? d : d?.length]),
    [
      ['data', PREVIEW_CHUNK_BYTES],
      ['data', 10],
      ['error', '{}'],
      ['data', 10],
    ],
  );
});
