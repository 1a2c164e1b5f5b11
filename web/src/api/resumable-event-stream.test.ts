import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { compareStreamIds } from '@keel/contract/stream-ids';
import { eventStream } from '../testing/fake-streams.ts';
import { followResumableStream, type ServerSentEvent } from './resumable-event-stream.ts';

/** The events one connection (a fake response sending `chunks`, then closing) delivers, in order. */
async function parse(...chunks: (string | Uint8Array)[]): Promise<ServerSentEvent[]> {
  const events: ServerSentEvent[] = [];
  const respond = eventStream(chunks);
  const follower = followResumableStream(
    {
      open: async (_lastEventId, signal) =>
        respond({
          method: 'GET',
          path: '/',
          headers: new Headers(),
          body: undefined,
          credentials: undefined,
          signal,
        }),
      isLast: () => false,
      // One connection only: the close after the chunks is then a give-up, not a reconnect.
      maxAttempts: 0,
    },
    { onEvent: (event) => events.push(event), onFailure: () => {} },
  );
  await follower.done;
  return events;
}

describe('followResumableStream reading one connection (fake fetch)', () => {
  test('joins data lines with newlines and keeps event type and id', async () => {
    assert.deepEqual(await parse('event: stdout\ndata: red\ndata: \nid: 1-0\n\n'), [
      { id: '1-0', type: 'stdout', data: 'red\n' },
    ]);
  });

  test('any chunking gives the same events, CRLF and CR line ends included', async () => {
    const text = 'event: a\r\ndata: one\r\nid: 1-0\r\n\r\nevent: b\rdata: two\rid: 2-0\r\n\n';
    const whole = await parse(text);
    for (let cut = 1; cut < text.length; cut += 1) {
      assert.deepEqual(await parse(text.slice(0, cut), text.slice(cut)), whole, `cut at ${cut}`);
    }
    assert.deepEqual(
      whole.map((event) => event.data),
      ['one', 'two'],
    );
  });

  test('a character split between two chunks arrives whole', async () => {
    const bytes = new TextEncoder().encode('data: ✓ done\n\n');
    assert.deepEqual(await parse(bytes.slice(0, 7), bytes.slice(7)), [
      { id: undefined, type: 'message', data: '✓ done' },
    ]);
  });

  test('comments (keep-alives) and events without data dispatch nothing', async () => {
    assert.deepEqual(await parse(': keep-alive\n\nevent: x\n\n'), []);
  });

  test('no event type means "message"; a field without a colon is a field with an empty value', async () => {
    assert.deepEqual(await parse('data\n\ndata:x\n\n'), [
      { id: undefined, type: 'message', data: '' },
      { id: undefined, type: 'message', data: 'x' },
    ]);
  });

  test('an event is only dispatched at its blank line', async () => {
    assert.deepEqual(await parse('data: unfinished\n'), []);
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
