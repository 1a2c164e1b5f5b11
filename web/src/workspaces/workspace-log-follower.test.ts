import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createApiClient } from '../api/client.ts';
import { createWorkspacesApi } from '../api/workspaces-api.ts';
import { createFakeFetch, json, type Responder } from '../testing/fake-fetch.ts';
import { eventStream, sse } from '../testing/fake-streams.ts';
import { createFakeTimers } from '../testing/fake-timers.ts';
import { createWorkspaceLogFollower } from './workspace-log-follower.ts';

const WS = 'ws_abcdefghijklmnopqrst';
const line = (ms: number, stream: 'system' | 'stdout' | 'stderr', text: string) => ({
  id: `${ms}-0`,
  at: new Date(ms).toISOString(),
  stream,
  text,
});

function rig(...script: Responder[]) {
  const { fetch, calls } = createFakeFetch(...script);
  const fake = createFakeTimers();
  const client = createApiClient({ fetch, readCookie: () => undefined, timers: fake.timers });
  const logs = createWorkspaceLogFollower(createWorkspacesApi(client), WS, { timers: fake.timers });
  /** Waits until the stream ended and a reconnect is scheduled (the fake timers hold it). */
  async function untilReconnecting(): Promise<void> {
    for (let i = 0; i < 200 && fake.delays().length === 0; i += 1) await new Promise((r) => setTimeout(r, 0));
    assert.ok(fake.delays().length > 0, 'the follower never came back to reconnect');
  }
  return { logs, calls, untilReconnecting };
}

describe('workspace log follower (fake fetch)', () => {
  test('follows the live stream after the list, resuming after its last line: nothing doubled', async () => {
    const { logs, calls, untilReconnecting } = rig(
      json(200, { lines: [line(1000, 'system', 'cloning'), line(2000, 'stderr', 'Receiving objects')] }),
      // The server replays one line the list already held, then a new one.
      eventStream([sse('2000-0', 'stderr', 'Receiving objects'), sse('3000-0', 'system', 'started')]),
    );
    await logs.refresh();
    logs.follow();
    await untilReconnecting();
    logs.stop();

    assert.deepEqual(
      logs.lines()?.map((l) => `${l.stream}:${l.text}`),
      ['system:cloning', 'stderr:Receiving objects', 'system:started'],
    );
    assert.equal(logs.lines()?.[2]?.at, new Date(3000).toISOString());
    assert.equal(calls[1]?.path, `/api/workspaces/${WS}/logs/events`);
    assert.equal(calls[1]?.headers.get('last-event-id'), '2000-0');
    assert.equal(logs.error(), undefined);
  });

  test('followed from nothing, the stream alone fills the log; lines of an unknown origin are left out', async () => {
    const { logs, calls, untilReconnecting } = rig(
      eventStream([sse('5-0', 'system', 'queued'), sse('6-0', 'bogus', 'x'), sse('7-0', 'stdout', 'ok')]),
    );
    logs.follow();
    await untilReconnecting();
    logs.stop();

    assert.deepEqual(
      logs.lines()?.map((l) => l.text),
      ['queued', 'ok'],
    );
    assert.equal(calls[0]?.headers.get('last-event-id'), null);
  });
});
