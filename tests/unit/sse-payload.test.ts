import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { SsePayloadCounter } from '../../bench/sse-payload.ts';
import { type SseEvent, sseFrames } from '../../edge/src/http/sse-frames.ts';

/** Output as commands print it: lines of text, LF-separated, empty lines and multi-byte text included. */
const output = fc.array(fc.oneof(fc.string({ unit: 'grapheme', maxLength: 30 }), fc.constant('\n')), {
  maxLength: 12,
});

describe('the benchmark’s SSE payload counter', () => {
  test('counts the data bytes of the edge’s own frames, however the stream is cut', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.constantFrom('stdout', 'stderr'), output), { minLength: 1, maxLength: 8 }),
        fc.array(fc.integer({ min: 1, max: 64 }), { minLength: 1, maxLength: 16 }),
        (outputs, cuts) => {
          const encoder = new TextEncoder();
          const events: SseEvent[] = outputs.map(([event, parts], i) => ({
            id: `1-${i}`,
            event,
            data: encoder.encode(parts.join('')),
          }));
          const exit = { id: '2-0', event: 'exit', data: encoder.encode('{"exitCode":0}') };
          const bytes = Buffer.concat([Buffer.from(': keep-alive\n\n'), sseFrames([...events, exit])]);
          const counter = new SsePayloadCounter();
          for (let at = 0, i = 0; at < bytes.length; i++) {
            const next = Math.min(bytes.length, at + cuts[i % cuts.length]!);
            counter.push(bytes.subarray(at, next));
            at = next;
          }
          const raw = (type: string) =>
            events.filter((e) => e.event === type).reduce((n, e) => n + e.data.length, 0);
          assert.equal(counter.bytes.get('stdout') ?? 0, raw('stdout'));
          assert.equal(counter.bytes.get('stderr') ?? 0, raw('stderr'));
          assert.equal(counter.last.get('exit'), '{"exitCode":0}');
        },
      ),
      { seed: 14, numRuns: 300 },
    );
  });
});
