import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CSRF_HEADER } from '@keel/contract/auth';
import { createRoot } from 'solid-js';
import { createTestApis } from '../../testing/api-setup.ts';
import { apiError, json, networkFailure, type Responder } from '../../testing/fake-fetch.ts';
import { workspaceId } from '../../testing/fixtures.ts';
import { aiStream, done, held, meta, STREAM, settle, token } from './ai-test-streams.ts';
import { conversationStorageKey, createConversationStore } from './conversation-store.ts';

function memoryStorage(initial: Record<string, string> = {}) {
  const items = new Map(Object.entries(initial));
  return {
    items,
    getItem: (key: string) => items.get(key) ?? null,
    setItem: (key: string, value: string) => void items.set(key, value),
    removeItem: (key: string) => void items.delete(key),
  };
}

function setup(script: Responder[], storage = memoryStorage()) {
  const apis = createTestApis(...script);
  const store = createRoot(() =>
    createConversationStore({ ai: apis.ai, workspaceId, storage, retryDelaysMs: [1] }),
  );
  return { ...apis, store, storage };
}

describe('conversation store (fake fetch)', () => {
  test('a question streams its answer token by token, in order, and the store keeps it', async () => {
    const { store, calls, storage } = setup([
      aiStream([
        meta('1-0'),
        token('2-0', 'The '),
        token('3-0', '`main`'),
        token('4-0', ' function.'),
        done('5-0'),
      ]),
    ]);

    await store.ask('What does this do?', { paths: ['src/main.ts'] });

    assert.equal(calls[0]?.method, 'POST');
    assert.equal(calls[0]?.path, '/api/ai/chat');
    assert.equal(calls[0]?.headers.get(CSRF_HEADER), 'csrf-cookie');
    assert.deepEqual(calls[0]?.body, {
      workspaceId,
      messages: [{ role: 'user', content: 'What does this do?' }],
      paths: ['src/main.ts'],
    });
    const [turn] = store.turns();
    assert.equal(turn?.answer, 'The `main` function.');
    assert.equal(turn?.state, 'done');
    assert.equal(turn?.model, 'qwen-coder');
    assert.equal(store.busy(), false);
    assert.deepEqual(store.availability(), { status: 'ready', model: 'qwen-coder' });
    const saved = JSON.parse(storage.items.get(conversationStorageKey(workspaceId))!);
    assert.equal(saved.turns[0].answer, 'The `main` function.');
  });

  test('shows each token as it arrives, before the answer is complete', async () => {
    const rest = held(aiStream([token('3-0', ' world'), done('4-0')]));
    const { store } = setup([aiStream([meta('1-0'), token('2-0', 'Hello')], 'error'), rest.responder]);

    const asking = store.ask('hi');
    await settle();
    await settle();
    assert.equal(store.turns()[0]?.answer, 'Hello');
    assert.equal(store.busy(), true);
    rest.release();
    await asking;
    assert.equal(store.turns()[0]?.answer, 'Hello world');
  });

  test('a dropped stream resumes with Last-Event-ID: nothing lost, nothing doubled, no second POST', async () => {
    const { store, calls } = setup([
      // The drop cuts the event for 4-0 in half: it must come from the second connection only.
      aiStream([meta('1-0'), token('2-0', 'Hel'), token('3-0', 'lo'), 'event: token\ndata: , wo'], 'error'),
      // This server replays 3-0 as well; the store drops what it already has.
      aiStream([token('3-0', 'lo'), token('4-0', ', wo'), token('5-0', 'rld'), done('6-0')]),
    ]);

    await store.ask('greet');

    assert.equal(store.turns()[0]?.answer, 'Hello, world');
    assert.equal(store.turns()[0]?.state, 'done');
    assert.equal(calls.length, 2);
    assert.equal(calls[1]?.method, 'GET');
    assert.equal(calls[1]?.path, `/api/ai/streams/${STREAM}/events`);
    assert.equal(calls[1]?.headers.get('last-event-id'), '3-0');
  });

  test('a POST that never answered is not sent again (it may have started a model call)', async () => {
    const { store, calls } = setup([networkFailure()]);

    await store.ask('hello?');

    assert.equal(calls.length, 1);
    assert.equal(store.turns()[0]?.state, 'failed');
    assert.match(store.turns()[0]?.error ?? '', /reach/);
  });

  test('Stop cancels the model call on the server and the answer ends as cancelled', async () => {
    const rest = held(aiStream([token('3-0', ' more'), done('4-0', 'cancelled')]));
    const { store, calls } = setup([
      aiStream([meta('1-0'), token('2-0', 'Partial')], 'error'),
      rest.responder,
      json(202, { streamId: STREAM, cancelling: true }),
    ]);

    const asking = store.ask('long question');
    await settle();
    await settle();
    const stopping = store.stop();
    assert.equal(store.cancelling(), true);
    rest.release();
    await stopping;
    await asking;

    assert.ok(calls.some((c) => c.method === 'POST' && c.path === `/api/ai/streams/${STREAM}/cancel`));
    assert.equal(store.turns()[0]?.state, 'cancelled');
    assert.equal(store.turns()[0]?.answer, 'Partial more');
    assert.equal(store.cancelling(), false);
    assert.equal(store.busy(), false);
  });

  test('GET /api/ai/config saying no model turns the panel into set-up instructions', async () => {
    const { store, calls } = setup([
      json(200, { configured: false, model: null, hint: 'Set KEEL_AI_BASE_URL and KEEL_AI_MODEL' }),
    ]);

    await store.checkConfig();

    assert.equal(calls[0]?.path, `/api/ai/config?workspaceId=${workspaceId}`);
    assert.deepEqual(store.availability(), {
      status: 'not-configured',
      hint: 'Set KEEL_AI_BASE_URL and KEEL_AI_MODEL',
    });
  });

  test('a resume answered 204 (the server already sent the end) stops reconnecting and says so', async () => {
    const { store, calls } = setup([
      aiStream([meta('1-0'), token('2-0', 'Half an')], 'error'),
      () => new Response(null, { status: 204 }),
    ]);

    await store.ask('and then?');

    // One POST, one resume: a 204 is final, not a reason to try the 40 reconnects a drop gets.
    assert.deepEqual(
      calls.map((call) => call.method),
      ['POST', 'GET'],
    );
    const [turn] = store.turns();
    assert.equal(turn?.answer, 'Half an');
    assert.equal(turn?.state, 'failed');
    assert.match(turn?.error ?? '', /its last part did not arrive/);
    assert.equal(store.busy(), false);
  });

  test('a 503 ai_not_configured from a route is the not-configured state, not a retry loop', async () => {
    const { store, calls } = setup([apiError(503, 'ai_not_configured', 'No model is configured')]);

    await store.ask('anyone there?');

    assert.equal(calls.length, 1);
    assert.equal(store.turns()[0]?.state, 'failed');
    assert.deepEqual(store.availability(), { status: 'not-configured', hint: 'No model is configured' });
  });

  test('a failed model call shows the runner’s message as a sentence, with what to do next', async () => {
    const { store } = setup([
      aiStream([
        meta('1-0'),
        // As the runner writes it (runners/src/ai/errors.ts): a lower-case clause.
        done('2-0', 'failure', {
          code: 'model_unavailable',
          message: 'the model server could not be reached',
        }),
      ]),
    ]);

    await store.ask('why?');

    assert.equal(store.turns()[0]?.state, 'failed');
    assert.equal(
      store.turns()[0]?.error,
      'The model server could not be reached. Try again in a moment; if it keeps failing, ask an admin to check the model server.',
    );
  });

  test('explain sends the file and lines; a follow-up question carries the conversation and the file', async () => {
    const { store, calls } = setup([
      aiStream([meta('1-0', 'explain'), token('2-0', 'It adds.'), done('3-0')]),
      aiStream([meta('1-0'), token('2-0', 'Yes.'), done('3-0')]),
    ]);

    await store.explain('src/add.ts', { startLine: 3, endLine: 9 });
    await store.ask('Is it pure?');

    assert.equal(calls[0]?.path, '/api/ai/explain');
    assert.deepEqual(calls[0]?.body, {
      workspaceId,
      path: 'src/add.ts',
      range: { startLine: 3, endLine: 9 },
    });
    assert.equal(store.turns()[0]?.prompt, 'Explain src/add.ts, lines 3–9');
    assert.deepEqual(calls[1]?.body, {
      workspaceId,
      messages: [
        { role: 'user', content: 'Explain src/add.ts, lines 3–9' },
        { role: 'assistant', content: 'It adds.' },
        { role: 'user', content: 'Is it pure?' },
      ],
      paths: ['src/add.ts'],
    });
  });

  test('the conversation comes back after a reload; an answer cut short by it says so', async () => {
    const key = conversationStorageKey(workspaceId);
    const storage = memoryStorage({
      [key]: JSON.stringify({
        v: 1,
        turns: [
          { id: 't1', kind: 'chat', prompt: 'a', paths: [], answer: 'b', state: 'done' },
          { id: 't2', kind: 'chat', prompt: 'c', paths: [], answer: 'par', state: 'streaming' },
          { id: 'bad', kind: 'chat', prompt: 3 },
        ],
      }),
    });
    const { store } = setup([], storage);

    assert.deepEqual(
      store.turns().map((t) => [t.id, t.state]),
      [
        ['t1', 'done'],
        ['t2', 'interrupted'],
      ],
    );
    store.clear();
    assert.equal(storage.items.has(key), false);
  });

  test('saving writes a readable Markdown document', async () => {
    const { store } = setup([aiStream([meta('1-0'), token('2-0', 'Use `x`.'), done('3-0')])]);
    await store.ask('How?\nReally?');

    assert.equal(
      store.toMarkdown('Conversation in demo, 2026-11-22'),
      '# Conversation in demo, 2026-11-22\n\n## Question\n\n> How?\n> Really?\n\n## Answer (qwen-coder)\n\nUse `x`.\n',
    );
  });
});
