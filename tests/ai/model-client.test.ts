import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import OpenAI from 'openai';
import type { AiConfig } from '../../runners/src/ai/config.ts';
import { parseAiConfig } from '../../runners/src/ai/config.ts';
import {
  AiCancelled,
  AiError,
  AiTimeout,
  AiUnavailable,
  AiUpstreamError,
} from '../../runners/src/ai/errors.ts';
import {
  type ChatEvent,
  type ChatMessage,
  createModelClient,
  type ModelClient,
} from '../../runners/src/ai/model-client.ts';
import { FAKE_MODEL, type FakeOpenAi, startFakeOpenAi } from '../harness/fake-openai.ts';
import { freePort } from '../harness/ports.ts';

const SECRET = 'const launchCodes = "HUNTER2-PROMPT-TEXT";';
const messages: ChatMessage[] = [
  { role: 'system', content: 'You explain code.' },
  { role: 'user', content: `Explain this:\n${SECRET}` },
];

function configFor(fake: FakeOpenAi, overrides: Partial<AiConfig> = {}): AiConfig {
  return {
    baseUrl: fake.baseUrl,
    model: FAKE_MODEL,
    apiKey: 'test-key',
    maxConcurrency: 4,
    timeoutMs: 5_000,
    firstTokenTimeoutMs: 2_000,
    maxOutputTokens: 256,
    contextTokens: 8192,
    ...overrides,
  };
}

async function collect(stream: AsyncIterable<ChatEvent>) {
  const tokens: string[] = [];
  let done: Extract<ChatEvent, { type: 'done' }> | undefined;
  for await (const e of stream) {
    if (e.type === 'token') tokens.push(e.text);
    else done = e;
  }
  return { tokens, done };
}

/** Runs a stream that must fail; returns the error and the tokens seen before it. */
async function failure(stream: AsyncIterable<ChatEvent>): Promise<{ err: unknown; tokens: string[] }> {
  const tokens: string[] = [];
  try {
    for await (const e of stream) if (e.type === 'token') tokens.push(e.text);
  } catch (err) {
    return { err, tokens };
  }
  assert.fail('the stream should have failed');
}

function assertNoPromptText(err: unknown) {
  assert.ok(err instanceof AiError, `expected an AiError, got ${String(err)}`);
  for (const text of [err.message, String(err), err.stack ?? '', JSON.stringify(err)]) {
    assert.equal(text.includes('HUNTER2'), false, `prompt text leaked: ${text}`);
  }
  assert.equal(err.cause, undefined);
}

const waitUntil = async (ok: () => boolean, ms = 2_000) => {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) assert.fail('condition not reached in time');
    await new Promise((r) => setTimeout(r, 10));
  }
};

describe('model client against a fake OpenAI-compatible server (stands in for vLLM)', () => {
  let fake: FakeOpenAi;
  let client: ModelClient;

  before(async () => {
    fake = await startFakeOpenAi();
  });
  after(() => fake.close());
  beforeEach(() => {
    fake.requests.length = 0;
    fake.fallback = { tokens: ['Hello', ',', ' world'] };
    client = createModelClient(configFor(fake));
  });

  test('streams tokens in order and reports the usage the server sends', async () => {
    fake.enqueue({ tokens: ['fn', ' add', '(a, b)', ' { return a + b; }'], tokenDelayMs: 5 });
    const { tokens, done } = await collect(client.streamChat({ messages, temperature: 0.2 }));
    assert.deepEqual(tokens, ['fn', ' add', '(a, b)', ' { return a + b; }']);
    assert.ok(done);
    assert.equal(done.finishReason, 'stop');
    assert.equal(done.model, FAKE_MODEL);
    assert.equal(done.usage.estimated, false);
    assert.equal(done.usage.completionTokens, 4);
    assert.ok(done.usage.promptTokens > 7);
    assert.ok(done.firstTokenMs !== undefined && done.firstTokenMs >= 0);
    assert.ok(done.latencyMs >= done.firstTokenMs);

    const body = fake.requests[0]?.body;
    assert.equal(fake.requests[0]?.path, '/v1/chat/completions');
    assert.equal(body?.stream, true);
    assert.deepEqual(body?.stream_options, { include_usage: true });
    assert.equal(body?.model, FAKE_MODEL);
    assert.equal(body?.temperature, 0.2);
    assert.equal(body?.max_tokens, 256);
    assert.deepEqual(body?.messages, messages);
    assert.equal(fake.requests[0]?.headers.authorization, 'Bearer test-key');
  });

  test('without a usage chunk (llama.cpp, Ollama) the usage is counted and marked estimated', async () => {
    fake.enqueue({ tokens: ['a', 'b', 'c', 'd', 'e'], usage: false });
    const { tokens, done } = await collect(client.streamChat({ messages }));
    assert.equal(tokens.join(''), 'abcde');
    assert.deepEqual(done?.usage, {
      promptTokens: Math.ceil(messages[0]!.content.length / 4) + Math.ceil(messages[1]!.content.length / 4),
      completionTokens: 5,
      estimated: true,
    });
  });

  test('the first-token time counts content, not the opening role chunk', async () => {
    fake.enqueue({ tokens: ['late'], firstTokenDelayMs: 150 });
    const { done } = await collect(client.streamChat({ messages }));
    assert.ok(
      done?.firstTokenMs !== undefined && done.firstTokenMs >= 140,
      `firstTokenMs ${done?.firstTokenMs}`,
    );
  });

  test('maxTokens is capped at the configured maximum and a length stop is reported', async () => {
    fake.enqueue({ tokens: ['x'], finishReason: 'length' }, { tokens: ['y'] });
    const first = await collect(client.streamChat({ messages, maxTokens: 100_000 }));
    assert.equal(first.done?.finishReason, 'length');
    await collect(client.streamChat({ messages, maxTokens: 16 }));
    assert.equal(fake.requests[0]?.body?.max_tokens, 256);
    assert.equal(fake.requests[1]?.body?.max_tokens, 16);
  });

  test('HTTP 500 and 429 become AiUpstreamError with the status', async () => {
    fake.enqueue({ status: 500 }, { status: 429 }, { status: 401 });
    const e500 = (await failure(client.streamChat({ messages }))).err;
    assert.ok(e500 instanceof AiUpstreamError);
    assert.equal(e500.status, 500);
    assert.equal(e500.retryable, true);
    const e429 = (await failure(client.streamChat({ messages }))).err;
    assert.ok(e429 instanceof AiUpstreamError);
    assert.equal(e429.status, 429);
    assert.equal(e429.retryable, true);
    const e401 = (await failure(client.streamChat({ messages }))).err;
    assert.ok(e401 instanceof AiUpstreamError);
    assert.equal(e401.retryable, false);
    assert.match(e401.message, /KEEL_AI_API_KEY/);
    // Errors are not retried behind the caller's back: one request each.
    assert.equal(fake.requests.length, 3);
  });

  test('a connection dropped mid-stream is an AiUpstreamError after the tokens already sent', async () => {
    fake.enqueue({ tokens: ['one', ' two', ' three', ' four'], dropAfterTokens: 2 });
    const { err, tokens } = await failure(client.streamChat({ messages }));
    assert.ok(err instanceof AiUpstreamError, String(err));
    assert.equal(err.status, undefined);
    assert.deepEqual(tokens, ['one', ' two']);
  });

  test('an error event inside the stream is an AiUpstreamError', async () => {
    fake.enqueue({ tokens: ['a', 'b', 'c'], errorEventAfterTokens: 1 });
    const { err, tokens } = await failure(client.streamChat({ messages }));
    assert.ok(err instanceof AiUpstreamError, String(err));
    assert.deepEqual(tokens, ['a']);
  });

  test('a stream that ends cleanly without a finish reason is not taken for a complete answer', async () => {
    fake.enqueue({ tokens: ['half', ' an'], finishReason: null });
    const { err } = await failure(client.streamChat({ messages }));
    assert.ok(err instanceof AiUpstreamError);
    assert.match(err.message, /before the model finished/);
  });

  test('first-token timeout when the server is slow to start', async () => {
    const cut = fake.cutOff;
    client = createModelClient(configFor(fake, { firstTokenTimeoutMs: 200 }));
    fake.enqueue({ tokens: ['too late'], firstTokenDelayMs: 3_000 });
    const started = Date.now();
    const { err } = await failure(client.streamChat({ messages }));
    assert.ok(err instanceof AiTimeout, String(err));
    assert.equal(err.phase, 'first_token');
    assert.ok(Date.now() - started < 1_500);
    await waitUntil(() => fake.inFlight === 0);
    assert.equal(fake.cutOff, cut + 1, 'the model server saw the reply cut off before its last token');
  });

  test('first-token timeout when the server never answers at all', async () => {
    const cut = fake.cutOff;
    client = createModelClient(configFor(fake, { firstTokenTimeoutMs: 200 }));
    fake.enqueue({ hang: true });
    const { err } = await failure(client.streamChat({ messages }));
    assert.ok(err instanceof AiTimeout, String(err));
    assert.equal(err.phase, 'first_token');
    // The request is aborted, not left open on the server.
    await waitUntil(() => fake.inFlight === 0);
    assert.equal(fake.cutOff, cut + 1, 'the model server saw the reply cut off before its last token');
  });

  test('total timeout when tokens keep coming but the answer takes too long', async () => {
    const cut = fake.cutOff;
    client = createModelClient(configFor(fake, { timeoutMs: 400, firstTokenTimeoutMs: 200 }));
    fake.enqueue({ tokens: Array.from({ length: 50 }, (_, i) => `t${i} `), tokenDelayMs: 40 });
    const started = Date.now();
    const { err, tokens } = await failure(client.streamChat({ messages }));
    assert.ok(err instanceof AiTimeout, String(err));
    assert.equal(err.phase, 'total');
    assert.ok(tokens.length > 2 && tokens.length < 50);
    assert.ok(Date.now() - started < 1_500);
    await waitUntil(() => fake.inFlight === 0);
    assert.equal(fake.cutOff, cut + 1, 'the model server saw the reply cut off before its last token');
  });

  test('an AbortSignal cancels a running stream and the server sees the connection close', async () => {
    const cut = fake.cutOff;
    fake.enqueue({ tokens: Array.from({ length: 100 }, () => 'x'), tokenDelayMs: 20 });
    const ac = new AbortController();
    const tokens: string[] = [];
    await assert.rejects(
      (async () => {
        for await (const e of client.streamChat({ messages, signal: ac.signal })) {
          if (e.type === 'token') tokens.push(e.text);
          if (tokens.length === 3) ac.abort();
        }
      })(),
      (err) => err instanceof AiCancelled,
    );
    assert.equal(tokens.length, 3);
    await waitUntil(() => fake.inFlight === 0);
    assert.equal(fake.cutOff, cut + 1, 'the model server saw the reply cut off before its last token');
    assert.equal(client.active, 0);
  });

  test('an already aborted signal sends nothing', async () => {
    const ac = new AbortController();
    ac.abort();
    const { err } = await failure(client.streamChat({ messages, signal: ac.signal }));
    assert.ok(err instanceof AiCancelled);
    assert.equal(fake.requests.length, 0);
  });

  test('breaking out of the loop aborts the request and frees the slot', async () => {
    const cut = fake.cutOff;
    fake.enqueue({ tokens: Array.from({ length: 100 }, () => 'x'), tokenDelayMs: 20 });
    for await (const e of client.streamChat({ messages })) {
      if (e.type === 'token') break;
    }
    assert.equal(client.active, 0);
    await waitUntil(() => fake.inFlight === 0);
    assert.equal(fake.cutOff, cut + 1, 'the model server saw the reply cut off before its last token');
  });

  test('a consumer that abandons the iterator without return() still gets its slot back at the timeout', async () => {
    const cut = fake.cutOff;
    client = createModelClient(
      configFor(fake, { maxConcurrency: 1, timeoutMs: 300, firstTokenTimeoutMs: 200 }),
    );
    fake.enqueue({ tokens: Array.from({ length: 100 }, () => 'x'), tokenDelayMs: 20 });
    const it = client.streamChat({ messages })[Symbol.asyncIterator]();
    assert.equal((await it.next()).done, false);
    assert.equal(client.active, 1);
    await waitUntil(() => client.active === 0);
    await waitUntil(() => fake.inFlight === 0);
    assert.equal(fake.cutOff, cut + 1, 'the model server saw the reply cut off before its last token');
  });

  test('the concurrency limit holds: call N+1 waits until a slot frees, and can be cancelled while waiting', async () => {
    // A server of its own, so that its high-water mark of parallel requests is this test's alone.
    const own = await startFakeOpenAi({ fallback: { tokens: ['a', 'b', 'c'], firstTokenDelayMs: 300 } });
    try {
      client = createModelClient(configFor(own, { maxConcurrency: 2 }));
      const runs = [collect(client.streamChat({ messages })), collect(client.streamChat({ messages }))];
      const queued = new AbortController();
      const cancelled = failure(client.streamChat({ messages, signal: queued.signal }));
      const third = collect(client.streamChat({ messages }));
      await own.waitForRequests(2);
      await new Promise((r) => setTimeout(r, 100));
      assert.equal(own.requests.length, 2, 'only two requests may be in flight');
      assert.equal(client.active, 2);
      assert.equal(client.waiting, 2);
      queued.abort();
      assert.ok((await cancelled).err instanceof AiCancelled);
      assert.equal(client.waiting, 1);

      const results = await Promise.all([...runs, third]);
      for (const r of results) assert.equal(r.tokens.join(''), 'abc');
      assert.equal(own.requests.length, 3);
      assert.equal(own.maxInFlight, 2);
      assert.equal(client.active, 0);
      assert.equal(client.waiting, 0);
    } finally {
      await own.close();
    }
  });

  test('not configured: AiUnavailable, and nothing is sent', async () => {
    const disabled = createModelClient(parseAiConfig({}));
    assert.equal(disabled.enabled, false);
    const { err } = await failure(disabled.streamChat({ messages }));
    assert.ok(err instanceof AiUnavailable);
    assert.equal(err.reason, 'not_configured');
    assert.equal(err.code, 'ai_unavailable');
    await assert.rejects(disabled.listModels(), AiUnavailable);
    assert.equal(fake.requests.length, 0);
  });

  test('connection refused: AiUnavailable', async () => {
    const port = await freePort();
    const nowhere = createModelClient({ ...configFor(fake), baseUrl: `http://127.0.0.1:${port}/v1` });
    const { err } = await failure(nowhere.streamChat({ messages }));
    assert.ok(err instanceof AiUnavailable, String(err));
    assert.equal(err.reason, 'connection_failed');
    await assert.rejects(nowhere.listModels(), AiUnavailable);
  });

  test('listModels reads GET /v1/models', async () => {
    assert.deepEqual(await client.listModels(), [FAKE_MODEL]);
    assert.equal(fake.requests.at(-1)?.path, '/v1/models');
  });

  test('no error message carries prompt text, even when the server echoes it', async () => {
    const echo = `prompt was: ${SECRET}`;
    const cases: Array<() => Promise<unknown>> = [
      async () => {
        fake.enqueue({ status: 400, errorMessage: echo });
        return (await failure(client.streamChat({ messages }))).err;
      },
      async () => {
        fake.enqueue({ status: 500, errorMessage: echo });
        return (await failure(client.streamChat({ messages }))).err;
      },
      async () => {
        fake.enqueue({ tokens: ['a', 'b'], errorEventAfterTokens: 1, errorMessage: echo });
        return (await failure(client.streamChat({ messages }))).err;
      },
      async () => {
        fake.enqueue({ tokens: ['a', 'b'], dropAfterTokens: 1 });
        return (await failure(client.streamChat({ messages }))).err;
      },
      async () => {
        fake.enqueue({ hang: true });
        const quick = createModelClient(configFor(fake, { firstTokenTimeoutMs: 100 }));
        return (await failure(quick.streamChat({ messages }))).err;
      },
      async () => {
        const ac = new AbortController();
        ac.abort();
        return (await failure(client.streamChat({ messages, signal: ac.signal }))).err;
      },
      async () => {
        const nowhere = createModelClient({
          ...configFor(fake),
          baseUrl: `http://127.0.0.1:${await freePort()}/v1`,
        });
        return (await failure(nowhere.streamChat({ messages }))).err;
      },
      async () => (await failure(createModelClient(undefined).streamChat({ messages }))).err,
    ];
    for (const run of cases) assertNoPromptText(await run());
  });

  test('the fake also answers non-streamed requests (checked with the openai SDK itself)', async () => {
    fake.enqueue({ tokens: ['whole', ' answer'] });
    const sdk = new OpenAI({ baseURL: fake.baseUrl, apiKey: 'k', maxRetries: 0 });
    const answer = await sdk.chat.completions.create({ model: FAKE_MODEL, messages });
    assert.equal(answer.choices[0]?.message.content, 'whole answer');
    assert.equal(answer.usage?.completion_tokens, 2);
  });
});
