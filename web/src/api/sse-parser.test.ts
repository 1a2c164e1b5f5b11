import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { compareStreamIds } from '@keel/contract/stream-ids';
import { createSseParser, type ServerSentEvent } from './sse-parser.ts';

function parse(...chunks: string[]): ServerSentEvent[] {
  const events: ServerSentEvent[] = [];
  const parser = createSseParser((event) => events.push(event));
  for (const chunk of chunks) parser.push(chunk);
  return events;
}

describe('createSseParser', () => {
  test('joins data lines with newlines and keeps event type and id', () => {
    assert.deepEqual(parse('event: stdout\ndata: red\ndata: \nid: 1-0\n\n'), [
      { id: '1-0', type: 'stdout', data: 'red\n' },
    ]);
  });

  test('any chunking gives the same events, CRLF and CR line ends included', () => {
    const text = 'event: a\r\ndata: one\r\nid: 1-0\r\n\r\nevent: b\rdata: two\rid: 2-0\r\n\n';
    const whole = parse(text);
    for (let cut = 1; cut < text.length; cut += 1) {
      assert.deepEqual(parse(text.slice(0, cut), text.slice(cut)), whole, `cut at ${cut}`);
    }
    assert.deepEqual(
      whole.map((event) => event.data),
      ['one', 'two'],
    );
  });

  test('comments (keep-alives) and events without data dispatch nothing', () => {
    assert.deepEqual(parse(': keep-alive\n\nevent: x\n\n'), []);
  });

  test('no event type means "message"; a field without a colon is a field with an empty value', () => {
    assert.deepEqual(parse('data\n\ndata:x\n\n'), [
      { id: undefined, type: 'message', data: '' },
      { id: undefined, type: 'message', data: 'x' },
    ]);
  });

  test('an event is only dispatched at its blank line', () => {
    assert.deepEqual(parse('data: unfinished\n'), []);
  });
});

describe('compareStreamIds', () => {
  test('orders numerically by time, then sequence, not as text', () => {
    assert.ok(compareStreamIds('9-0', '10-0') < 0);
    assert.ok(compareStreamIds('10-1', '10-0') > 0);
    assert.equal(compareStreamIds('1795318511001-0', '1795318511001-0'), 0);
    assert.ok(compareStreamIds('17953185110010000000-0', '9-0') > 0);
    assert.ok(compareStreamIds('7', '12') < 0);
  });
});
