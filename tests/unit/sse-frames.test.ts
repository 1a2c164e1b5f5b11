import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { fromBase64, toBase64 } from '../../edge/src/auth/bytes.ts';
import { type SseEvent, sseFrame, sseFrames } from '../../edge/src/http/sse-frames.ts';

/** A small deterministic generator, so a failure names the seed that made it. */
function prng(seed: number) {
  return () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed / 0x7fffffff;
  };
}

const PIECES = ['a', 'xyz', ' ', '\n', '\n\n', '\r', '\r\n', 'é', '€', '😀', 'data: ', ':', 'id: 1'];

function text(rand: () => number, n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) s += PIECES[Math.floor(rand() * PIECES.length)];
  return s;
}

describe('sseFrames', () => {
  test('is byte for byte what the text frames encode to', () => {
    for (let seed = 1; seed <= 300; seed++) {
      const rand = prng(seed);
      const events: SseEvent[] = [];
      const expected: string[] = [];
      for (let i = 0, n = 1 + Math.floor(rand() * 5); i < n; i++) {
        const data = text(rand, Math.floor(rand() * 40));
        const id = `${seed}-${i}`;
        const event = rand() < 0.5 ? 'stdout' : 'stderr';
        events.push({ id, event, data: new TextEncoder().encode(data) });
        expected.push(sseFrame(id, event, data));
      }
      assert.deepEqual(Buffer.from(sseFrames(events)), Buffer.from(expected.join('')), `seed ${seed}`);
    }
  });

  test('frames large output of many lines (the fast path)', () => {
    const data = Array.from({ length: 5000 }, (_, i) => `line ${i}`).join('\n');
    const framed = new TextDecoder().decode(
      sseFrames([{ id: '9-0', event: 'stdout', data: Buffer.from(data) }]),
    );
    assert.equal(framed, sseFrame('9-0', 'stdout', data));
    assert.equal(framed.match(/^data: /gm)?.length, 5000);
  });
});

describe('base64 helpers', () => {
  test('round-trip any bytes, as Buffer encodes them', () => {
    for (const n of [0, 1, 2, 3, 4, 2048, 32768, 32769, 100_000]) {
      const bytes = new Uint8Array(n).map((_, i) => (i * 7919 + n) % 256);
      const encoded = toBase64(bytes);
      assert.equal(encoded, Buffer.from(bytes).toString('base64'));
      assert.deepEqual(fromBase64(encoded), bytes);
    }
  });
});
