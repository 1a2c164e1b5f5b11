import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createTestApis } from '../testing/api-setup.ts';
import { json } from '../testing/fake-fetch.ts';
import { workspaceId } from '../testing/fixtures.ts';

const EXE = 'exe_abcdefghijklmnopqrst';

describe('executions API (fake fetch)', () => {
  test('execute posts the command as given and returns the execution id', async () => {
    const { executions, calls } = createTestApis(json(202, { executionId: EXE }));

    assert.equal(await executions.execute(workspaceId, { command: ['mv', '--', 'a', 'b'] }), EXE);
    assert.equal(calls[0]?.path, `/api/workspaces/${workspaceId}/execute`);
    assert.deepEqual(calls[0]?.body, { command: ['mv', '--', 'a', 'b'] });
    assert.equal(calls[0]?.headers.get('x-keel-csrf'), 'csrf-cookie');
  });

  test('cancel posts to the execution', async () => {
    const { executions, paths } = createTestApis(json(202, { executionId: EXE, cancelling: true }));

    await executions.cancel(workspaceId, EXE);

    assert.deepEqual(paths(), [`POST /api/workspaces/${workspaceId}/executions/${EXE}/cancel`]);
  });

  test('openEvents asks for an event stream and resumes with Last-Event-ID', async () => {
    const { executions, calls } = createTestApis(
      () => new Response('', { status: 200 }),
      () => new Response('', { status: 200 }),
    );

    await executions.openEvents(workspaceId, EXE, undefined, new AbortController().signal);
    await executions.openEvents(workspaceId, EXE, '12-3', new AbortController().signal);

    assert.equal(calls[0]?.headers.get('accept'), 'text/event-stream');
    assert.equal(calls[0]?.headers.get('last-event-id'), null);
    assert.equal(calls[1]?.headers.get('last-event-id'), '12-3');
  });
});
