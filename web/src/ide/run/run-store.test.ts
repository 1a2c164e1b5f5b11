import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createRoot } from 'solid-js';
import { createTestApis } from '../../testing/api-setup.ts';
import { apiError, json, type Responder } from '../../testing/fake-fetch.ts';
import { eventStream, sse } from '../../testing/fake-streams.ts';
import { workspaceId } from '../../testing/fixtures.ts';
import { describeRun } from './describe-run.ts';
import { createRunStore } from './run-store.ts';

const EXE = 'exe_abcdefghijklmnopqrst';
const ESC = '\u001b';

function setup(options: { maxOutputChars?: number }, ...script: Responder[]) {
  const apis = createTestApis(...script);
  const store = createRoot(() =>
    createRunStore({ executions: apis.executions, workspaceId, now: () => 1000, ...options }),
  );
  const text = (id: string) =>
    store
      .output(id)
      .map((chunk) => chunk.text)
      .join('');
  return { ...apis, store, text };
}

describe('run store (fake fetch)', () => {
  test('runs a command through the shell and collects coloured output and the exit', async () => {
    const { store, calls, text } = setup(
      {},
      json(202, { executionId: EXE }),
      eventStream([
        sse('1-0', 'stdout', `${ESC}[32mok${ESC}[0m\n`),
        sse('2-0', 'stderr', 'warn\n'),
        sse('3-0', 'exit', '{"exitCode":0}'),
      ]),
    );

    await store.run('npm test');

    assert.deepEqual(calls[0]?.body, { command: 'npm test' });
    const [run] = store.runs();
    assert.equal(run?.state, 'exited');
    assert.deepEqual(run?.exit, { exitCode: 0 });
    assert.equal(run?.executionId, EXE);
    assert.equal(store.selected(), run?.id);
    assert.equal(text(run!.id), 'ok\nwarn\n');
    assert.deepEqual(
      store.output(run!.id).map((c) => [c.stream, c.text, c.style.fg]),
      [
        ['stdout', 'ok', 2],
        ['stdout', '\n', undefined],
        ['stderr', 'warn\n', undefined],
      ],
    );
  });

  test('a refused command is a failed run with the error', async () => {
    const { store } = setup({}, apiError(409, 'workspace_not_running'));

    await store.run('ls');

    assert.equal(store.runs()[0]?.state, 'failed');
    assert.ok(store.runs()[0]?.error);
  });

  test('survives a dropped stream without losing or doubling output', async () => {
    const { store, calls, text } = setup(
      {},
      json(202, { executionId: EXE }),
      eventStream([sse('1-0', 'stdout', '1\n'), sse('2-0', 'stdout', '2\n')], 'error'),
      eventStream([
        sse('2-0', 'stdout', '2\n'),
        sse('3-0', 'stdout', '3\n'),
        sse('4-0', 'exit', '{"exitCode":0}'),
      ]),
    );

    await store.run('seq 3');

    assert.equal(text(store.runs()[0]!.id), '1\n2\n3\n');
    assert.equal(calls[2]?.headers.get('last-event-id'), '2-0');
  });

  test('cancel asks the server and the exit says it was cancelled', async () => {
    let finish: () => void = () => {};
    const finished = new Promise<void>((resolve) => {
      finish = resolve;
    });
    const { store, paths } = setup(
      {},
      json(202, { executionId: EXE }),
      async (call) => {
        await finished;
        return eventStream([sse('1-0', 'exit', '{"exitCode":null,"signal":"SIGTERM","cancelled":true}')])(
          call,
        );
      },
      json(202, { executionId: EXE, cancelling: true }),
    );

    const running = store.run('sleep 100');
    await new Promise((resolve) => setTimeout(resolve, 0));
    const id = store.runs()[0]!.id;
    await store.cancel(id);
    assert.equal(store.runs()[0]?.cancelling, true);
    finish();
    await running;

    assert.ok(paths().includes(`POST /api/workspaces/${workspaceId}/executions/${EXE}/cancel`));
    assert.equal(store.runs()[0]?.exit?.cancelled, true);
    assert.equal(store.runs()[0]?.cancelling, false);
  });

  test('very long output keeps its newest part and says it was truncated', async () => {
    const lines = Array.from({ length: 50 }, (_, i) =>
      sse(`${i + 1}-0`, i % 2 ? 'stderr' : 'stdout', `${'x'.repeat(9)}${i % 10}\n`),
    );
    const { store, text } = setup(
      { maxOutputChars: 100 },
      json(202, { executionId: EXE }),
      eventStream([...lines, sse('99-0', 'exit', '{"exitCode":0}')]),
    );

    await store.run('yes');

    const run = store.runs()[0]!;
    assert.equal(run.truncated, true);
    assert.ok(text(run.id).length <= 100);
    assert.ok(text(run.id).endsWith('xxxxxxxxx9\n'));
  });

  test('clearFinished keeps only what still runs', async () => {
    const { store } = setup(
      {},
      apiError(409, 'workspace_not_running'),
      apiError(409, 'workspace_not_running'),
    );
    await store.run('a');
    await store.run('b');

    store.clearFinished();

    assert.deepEqual(store.runs(), []);
    assert.equal(store.selected(), undefined);
  });
});

describe('describeRun', () => {
  test('says how a run ended, in words', () => {
    const base = {
      id: 'run-1',
      executionId: EXE,
      command: 'x',
      startedAt: 1000,
      endedAt: 2500,
      state: 'exited' as const,
      error: undefined,
      cancelling: false,
      truncated: false,
    };
    assert.equal(describeRun({ ...base, exit: { exitCode: 0 } }), 'Exited with status 0 after 1.5 s');
    assert.equal(
      describeRun({ ...base, exit: { exitCode: null, cancelled: true } }),
      'Cancelled after 1.5 s',
    );
    assert.equal(
      describeRun({ ...base, exit: { exitCode: null, timedOut: true } }),
      'Stopped: it ran past its time limit after 1.5 s',
    );
    assert.equal(
      describeRun({ ...base, exit: { exitCode: null, error: 'the runner went offline' } }),
      'Ended: the runner went offline',
    );
    assert.equal(
      describeRun({ ...base, state: 'reconnecting', exit: undefined }),
      'Connection lost: reconnecting, no output will be lost…',
    );
  });
});
