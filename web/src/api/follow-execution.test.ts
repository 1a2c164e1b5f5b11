import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { SSE_RECONNECT_HINT } from '../../../edge/src/http/graceful-stop.ts';
import { apiError, createFakeFetch, networkFailure, type Responder } from '../testing/fake-fetch.ts';
import { eventStream, sse } from '../testing/fake-streams.ts';
import { createFakeTimers } from '../testing/fake-timers.ts';
import { createApiClient } from './client.ts';
import { createExecutionsApi } from './executions-api.ts';
import { type FollowState, followExecution } from './follow-execution.ts';

const WS = 'ws_abcdefghijklmnopqrst';
const EXE = 'exe_abcdefghijklmnopqrst';

/** Follows one execution through the real client and API module over a scripted fetch. */
function follow(...script: Responder[]) {
  const { fetch, calls } = createFakeFetch(...script);
  const client = createApiClient({ fetch, readCookie: () => undefined, timers: createFakeTimers().timers });
  const api = createExecutionsApi(client);
  const output: string[] = [];
  const states: FollowState[] = [];
  const exits: unknown[] = [];
  const failures: unknown[] = [];
  const follower = followExecution(
    {
      open: (lastEventId, signal) => api.openEvents(WS, EXE, lastEventId, signal),
      retryDelaysMs: [1],
      maxAttempts: 3,
    },
    {
      onOutput: (stream, text) => output.push(`${stream}:${text}`),
      onExit: (exit) => exits.push(exit),
      onStateChange: (state) => states.push(state),
      onFailure: (error) => failures.push(error),
    },
  );
  return { follower, calls, output, states, exits, failures };
}

describe('followExecution (fake fetch)', () => {
  test('delivers stdout and stderr in order, then the exit, and stops reading', async () => {
    const { follower, calls, output, exits, failures } = follow(
      eventStream([
        sse('1-0', 'stdout', 'hello\n'),
        sse('2-0', 'stderr', 'oops\n'),
        sse('3-0', 'exit', '{"exitCode":2}'),
        sse('4-0', 'stdout', 'never shown'),
      ]),
    );

    await follower.done;

    assert.deepEqual(output, ['stdout:hello\n', 'stderr:oops\n']);
    assert.deepEqual(exits, [{ exitCode: 2 }]);
    assert.deepEqual(failures, []);
    assert.equal(follower.lastEventId(), '3-0');
    assert.equal(calls[0]?.path, `/api/workspaces/${WS}/executions/${EXE}/events`);
    assert.equal(calls[0]?.headers.get('last-event-id'), null);
  });

  test('after a dropped connection it resumes with Last-Event-ID: nothing lost, nothing doubled', async () => {
    const { follower, calls, output, exits, states } = follow(
      // The event for 2-0 is cut in half by the drop: it must come from the second connection only.
      eventStream([sse('1-0', 'stdout', 'one\n'), 'event: stdout\ndata: tw'], 'error'),
      // This server replays 1-0 as well; the client drops what it already has.
      eventStream([
        sse('1-0', 'stdout', 'one\n'),
        sse('2-0', 'stdout', 'two\n'),
        sse('3-0', 'exit', '{"exitCode":0}'),
      ]),
    );

    await follower.done;

    assert.deepEqual(output, ['stdout:one\n', 'stdout:two\n']);
    assert.deepEqual(exits, [{ exitCode: 0 }]);
    assert.equal(calls[1]?.headers.get('last-event-id'), '1-0');
    assert.deepEqual(states, ['connecting', 'streaming', 'reconnecting', 'streaming']);
  });

  test('a stream the server closes without an exit is reopened too', async () => {
    const { follower, calls, output } = follow(
      eventStream([sse('1-0', 'stdout', 'a')]),
      networkFailure(),
      eventStream([sse('2-0', 'stdout', 'b'), sse('3-0', 'exit', '{"exitCode":0}')]),
    );

    await follower.done;

    assert.deepEqual(output, ['stdout:a', 'stdout:b']);
    assert.equal(calls[1]?.headers.get('last-event-id'), '1-0');
    assert.equal(calls[2]?.headers.get('last-event-id'), '1-0');
  });

  test('a 404 (unknown or expired execution) fails at once without retrying', async () => {
    const { follower, calls, failures } = follow(apiError(404, 'not_found'));

    await follower.done;

    assert.equal(calls.length, 1);
    assert.equal(failures.length, 1);
  });

  test('gives up after maxAttempts reconnects in a row that bring nothing', async () => {
    const { follower, calls, failures } = follow(
      networkFailure(),
      networkFailure(),
      networkFailure(),
      networkFailure(),
    );

    await follower.done;

    assert.equal(calls.length, 4);
    assert.match(String(failures[0]), /gave up/);
  });

  test('streams a stopping edge closes with its reconnect hint are resumed, not counted as failures', async () => {
    const hinted = (...events: string[]) => eventStream([...events, SSE_RECONNECT_HINT]);
    const { follower, calls, output, exits, failures } = follow(
      hinted(sse('1-0', 'stdout', 'a')),
      hinted(),
      hinted(),
      hinted(),
      hinted(),
      eventStream([sse('2-0', 'stdout', 'b'), sse('3-0', 'exit', '{"exitCode":0}')]),
    );

    await follower.done;

    assert.deepEqual(failures, [], 'five hinted closes in a row are more than maxAttempts failures');
    assert.deepEqual(output, ['stdout:a', 'stdout:b']);
    assert.deepEqual(exits, [{ exitCode: 0 }]);
    assert.equal(calls.length, 6);
    assert.equal(calls[5]?.headers.get('last-event-id'), '1-0');
  });

  test('an unreadable exit event still ends the command', async () => {
    const { follower, exits } = follow(eventStream([sse('1-0', 'exit', 'not json')]));

    await follower.done;

    assert.deepEqual(exits, [{ exitCode: null, error: 'The server sent an unreadable exit status' }]);
  });

  test('stop() ends following and reports nothing more', async () => {
    let release: () => void = () => {};
    const { follower, output, failures, exits } = follow(
      () =>
        new Promise<Response>((resolve) => {
          release = () => resolve(new Response(sse('1-0', 'stdout', 'late')));
        }),
    );

    follower.stop();
    release();
    await follower.done;

    assert.deepEqual([output, failures, exits], [[], [], []]);
  });
});
