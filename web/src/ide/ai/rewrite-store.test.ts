import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createRoot } from 'solid-js';
import { createTestApis } from '../../testing/api-setup.ts';
import { apiError, json, networkFailure, type Responder } from '../../testing/fake-fetch.ts';
import { workspaceId } from '../../testing/fixtures.ts';
import { aiStream, done, held, meta, result, STREAM, settle, token } from './ai-test-streams.ts';
import { createRewriteStore, type RewriteTarget } from './rewrite-store.ts';

const BASE = 'a'.repeat(64);
const OTHER = 'b'.repeat(64);
const NEW = 'c'.repeat(64);
const ORIGINAL = 'const a = 1;\nconst b = 2;\nconsole.log(a + b);\n';
const DIFF =
  'diff --git a/src/sum.ts b/src/sum.ts\n--- a/src/sum.ts\n+++ b/src/sum.ts\n@@ -1,3 +1,3 @@\n const a = 1;\n-const b = 2;\n+const b = 40;\n console.log(a + b);\n';
const TARGET: RewriteTarget = {
  path: 'src/sum.ts',
  range: { startLine: 2, endLine: 2 },
  instruction: 'make b 40',
};

const rewriteAnswer = (diff = DIFF, base = BASE) =>
  aiStream([
    meta('1-0', 'rewrite'),
    token('2-0', 'const b'),
    token('3-0', ' = 40;'),
    result('4-0', { path: 'src/sum.ts', diff, baseSha256: base }),
    done('5-0'),
  ]);
const fileRead = (sha256 = BASE, content = ORIGINAL) =>
  json(200, { path: 'src/sum.ts', content, encoding: 'utf8', sha256, size: content.length });
const applied = json(200, { files: [{ path: 'src/sum.ts', action: 'modified', sha256: NEW }] });

function setup(...script: Responder[]) {
  const apis = createTestApis(...script);
  const appliedPaths: string[] = [];
  const store = createRoot(() =>
    createRewriteStore({
      ai: apis.ai,
      patch: apis.patch,
      files: apis.files,
      workspaceId,
      retryDelaysMs: [1],
      onApplied: (path) => void appliedPaths.push(path),
    }),
  );
  return { ...apis, store, appliedPaths };
}

function review(state: ReturnType<ReturnType<typeof setup>['store']['state']>) {
  assert.equal(state.phase, 'review');
  return state as Extract<typeof state, { phase: 'review' }>;
}

describe('rewrite store (fake fetch)', () => {
  test('streams progress, then on the result shows the file beside the file with the change applied', async () => {
    const answer = held(rewriteAnswer());
    const { store, calls } = setup(answer.responder, fileRead());

    const starting = store.start(TARGET);
    assert.equal(store.state().phase, 'streaming');
    answer.release();
    await starting;

    assert.equal(calls[0]?.path, '/api/ai/rewrite');
    assert.deepEqual(calls[0]?.body, {
      workspaceId,
      path: 'src/sum.ts',
      instruction: 'make b 40',
      range: { startLine: 2, endLine: 2 },
    });
    assert.equal(calls[1]?.path, `/api/workspaces/${workspaceId}/files?path=src%2Fsum.ts`);
    const state = review(store.state());
    assert.equal(state.original, ORIGINAL);
    assert.equal(state.modified, 'const a = 1;\nconst b = 40;\nconsole.log(a + b);\n');
    assert.equal(state.result.baseSha256, BASE);
  });

  test('the progress text grows in order while the model writes', async () => {
    const rest = held(
      aiStream([result('4-0', { path: 'src/sum.ts', diff: DIFF, baseSha256: BASE }), done('5-0')]),
    );
    const { store, calls } = setup(
      aiStream([meta('1-0', 'rewrite'), token('2-0', 'const b'), token('3-0', ' = 40;')], 'error'),
      rest.responder,
      fileRead(),
    );

    const starting = store.start(TARGET);
    await settle();
    await settle();
    const state = store.state();
    assert.equal(state.phase === 'streaming' && state.progress, 'const b = 40;');
    rest.release();
    await starting;
    assert.equal(calls[1]?.headers.get('last-event-id'), '3-0');
    assert.equal(store.state().phase, 'review');
  });

  test('Accept applies the diff with the base hash it was made from, then reloads the file', async () => {
    const { store, calls, appliedPaths } = setup(rewriteAnswer(), fileRead(), applied);
    await store.start(TARGET);

    assert.equal(await store.accept(), true);

    assert.equal(calls[2]?.method, 'POST');
    assert.equal(calls[2]?.path, '/api/patch/apply');
    assert.deepEqual(calls[2]?.body, { workspaceId, patch: DIFF, expected: { 'src/sum.ts': BASE } });
    assert.deepEqual(appliedPaths, ['src/sum.ts']);
    assert.equal(store.state().phase, 'idle');
  });

  test('a 409 on Accept says the file changed, writes nothing, and Retry rewrites the current version', async () => {
    const { store, calls, appliedPaths } = setup(
      rewriteAnswer(),
      fileRead(),
      apiError(409, 'conflict', 'src/sum.ts changed'),
      rewriteAnswer(DIFF, OTHER),
      fileRead(OTHER),
    );
    await store.start(TARGET);

    assert.equal(await store.accept(), false);
    const stale = store.state();
    assert.equal(stale.phase, 'stale');
    assert.match(
      stale.phase === 'stale' ? stale.message : '',
      /src\/sum\.ts changed since the rewrite was made/,
    );
    assert.deepEqual(appliedPaths, []);

    await store.retry();
    assert.equal(calls[3]?.path, '/api/ai/rewrite');
    assert.deepEqual(calls[3]?.body, calls[0]?.body);
    assert.equal(review(store.state()).result.baseSha256, OTHER);
  });

  test('a 422 on Accept says the change no longer applies', async () => {
    const { store } = setup(rewriteAnswer(), fileRead(), apiError(422, 'invalid_patch'));
    await store.start(TARGET);

    await store.accept();

    const state = store.state();
    assert.equal(state.phase, 'stale');
    assert.match(state.phase === 'stale' ? state.message : '', /no longer applies/);
  });

  test('a network failure on Accept keeps the review open, with the error, to try again', async () => {
    const { store, appliedPaths } = setup(rewriteAnswer(), fileRead(), networkFailure(), applied);
    await store.start(TARGET);

    assert.equal(await store.accept(), false);
    const state = review(store.state());
    assert.match(state.error ?? '', /Could not apply the change/);
    assert.equal(state.applying, false);

    assert.equal(await store.accept(), true);
    assert.deepEqual(appliedPaths, ['src/sum.ts']);
  });

  test('a file that changed while the rewrite was made is never previewed against the wrong text', async () => {
    const { store } = setup(rewriteAnswer(), fileRead(OTHER, 'something else\n'));

    await store.start(TARGET);

    const state = store.state();
    assert.equal(state.phase, 'stale');
  });

  test('Reject throws the change away without writing anything', async () => {
    const { store, calls } = setup(rewriteAnswer(), fileRead());
    await store.start(TARGET);

    store.reject();

    assert.equal(store.state().phase, 'idle');
    assert.equal(calls.length, 2);
  });

  test('Stop cancels the model call, and the rewrite ends without a review', async () => {
    const rest = held(aiStream([done('3-0', 'cancelled')]));
    const { store, paths } = setup(
      aiStream([meta('1-0', 'rewrite'), token('2-0', 'x')], 'error'),
      rest.responder,
      json(202, { streamId: STREAM, cancelling: true }),
    );

    const starting = store.start(TARGET);
    await settle();
    await settle();
    const cancelling = store.cancel();
    const state = store.state();
    assert.equal(state.phase === 'streaming' && state.cancelling, true);
    rest.release();
    await cancelling;
    await starting;

    assert.ok(paths().includes(`POST /api/ai/streams/${STREAM}/cancel`));
    assert.equal(store.state().phase, 'idle');
  });

  test('no model configured: the rewrite fails saying so', async () => {
    const { store } = setup(apiError(503, 'ai_not_configured', 'No model is configured'));

    await store.start(TARGET);

    const state = store.state();
    assert.equal(state.phase, 'failed');
    assert.equal(state.phase === 'failed' && state.notConfigured, true);
  });

  test('a diff that does not fit the file fails the preview instead of showing something wrong', async () => {
    const broken = DIFF.replace(' const a = 1;', ' const a = 2;');
    const { store } = setup(rewriteAnswer(broken), fileRead());

    await store.start(TARGET);

    const state = store.state();
    assert.equal(state.phase, 'failed');
    assert.match(state.phase === 'failed' ? state.message : '', /could not be shown/);
  });
});
