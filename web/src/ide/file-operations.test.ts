import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createTestApis } from '../testing/api-setup.ts';
import { json, type Responder } from '../testing/fake-fetch.ts';
import { eventStream, sse } from '../testing/fake-streams.ts';
import { workspaceId } from '../testing/fixtures.ts';
import { createFileOperations } from './file-operations.ts';

const EXE = 'exe_abcdefghijklmnopqrst';

function setup(...script: Responder[]) {
  const apis = createTestApis(...script);
  return { ...apis, ops: createFileOperations(apis.files, apis.executions, workspaceId) };
}

describe('file operations', () => {
  test('a new file is an empty write; a new folder writes its placeholder', async () => {
    const { ops, calls } = setup(
      json(200, { path: 'a.ts', sha256: 'a'.repeat(64), size: 0 }),
      json(200, { path: 'lib/.keep', sha256: 'a'.repeat(64), size: 0 }),
    );

    await ops.createFile('a.ts');
    await ops.createFolder('lib');

    assert.equal(calls[0]?.path, `/api/workspaces/${workspaceId}/files?path=a.ts`);
    assert.deepEqual(calls[0]?.body, { content: '' });
    assert.equal(calls[1]?.path, `/api/workspaces/${workspaceId}/files?path=lib%2F.keep`);
  });

  test('rename runs mv as an argv array and waits for its exit', async () => {
    const { ops, calls } = setup(
      json(202, { executionId: EXE }),
      eventStream([sse('1-0', 'exit', '{"exitCode":0}')]),
    );

    await ops.rename('-odd name.ts', 'b; rm -rf ~.ts');

    assert.deepEqual(calls[0]?.body, {
      command: ['mv', '-n', '-T', '--', '-odd name.ts', 'b; rm -rf ~.ts'],
      timeoutMs: 60_000,
    });
    assert.equal(calls[1]?.path, `/api/workspaces/${workspaceId}/executions/${EXE}/events`);
  });

  test('a failing rm rejects with what it printed', async () => {
    const { ops, calls } = setup(
      json(202, { executionId: EXE }),
      eventStream([
        sse('1-0', 'stderr', "rm: cannot remove 'x': Permission denied\n"),
        sse('2-0', 'exit', '{"exitCode":1}'),
      ]),
    );

    await assert.rejects(ops.remove('x'), /Permission denied/);
    const body = calls[0]?.body as { command: string[] } | undefined;
    assert.deepEqual(body?.command, ['rm', '-rf', '--', 'x']);
  });
});
