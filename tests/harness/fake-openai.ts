/**
 * A fake OpenAI-compatible model server: a stand-in for vLLM (and llama.cpp server, Ollama)
 * in tests, since no GPU and no vLLM run here. It speaks the part of the API the runner uses:
 * `POST /v1/chat/completions` streamed (SSE `data: {chunk}` lines, then `data: [DONE]`) and
 * not streamed, and `GET /v1/models`. Each test scripts the replies (tokens, delays, HTTP
 * errors, a dropped connection, no answer at all, with or without the usage chunk) and
 * reads back the requests it received.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

export interface FakeReply {
  /** The completion, one SSE chunk per entry. */
  tokens?: string[];
  /** Wait before the first token (after the headers are sent). */
  firstTokenDelayMs?: number;
  /** Wait before each later token. */
  tokenDelayMs?: number;
  /** Answer with this HTTP status and an OpenAI-style error body instead of a completion. */
  status?: number;
  /** The error body's message; tests put prompt text here to prove it never leaks. */
  errorMessage?: string;
  /** Destroy the socket after this many tokens, mid-stream, without `[DONE]`. */
  dropAfterTokens?: number;
  /** After this many tokens send an error event in the stream, as vLLM does when the engine fails mid-answer. */
  errorEventAfterTokens?: number;
  /** Accept the request and never answer. */
  hang?: boolean;
  /** Send the usage chunk when the client asks for it (default true); false acts like llama.cpp. */
  usage?: boolean;
  /** Defaults to 'stop'; null ends the stream with no finish reason (a cut-off stream). */
  finishReason?: string | null;
  /** Report this model name in the chunks. */
  model?: string;
}

export interface RecordedRequest {
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  /** The parsed JSON body, or undefined for a GET or a body that is not JSON. */
  body: ChatRequestBody | undefined;
}

export interface ChatRequestBody {
  model?: string;
  messages?: Array<{ role: string; content: string }>;
  stream?: boolean;
  stream_options?: { include_usage?: boolean };
  max_tokens?: number;
  temperature?: number;
}

export type ReplyScript = FakeReply | ((request: RecordedRequest, index: number) => FakeReply);

export interface FakeOpenAi {
  /** e.g. http://127.0.0.1:41234/v1, what KEEL_AI_BASE_URL would hold. */
  baseUrl: string;
  port: number;
  /** Every request received, in arrival order. */
  requests: RecordedRequest[];
  /** Completion requests being served right now, and the most at once since the start. */
  readonly inFlight: number;
  readonly maxInFlight: number;
  /**
   * Replies the client closed before their last token was written (and, for a hang, before any
   * answer): what a test of "the model connection closed" must see grow, since `inFlight`
   * drops back to 0 just as well when a reply simply ends.
   */
  readonly cutOff: number;
  /** Replies for the next completion requests, in order; after them `fallback` answers. */
  enqueue(...replies: ReplyScript[]): void;
  fallback: ReplyScript;
  /** Resolves when `n` completion requests have arrived in total. */
  waitForRequests(n: number): Promise<void>;
  close(): Promise<void>;
}

export const FAKE_MODEL = 'fake-vllm-model';

export async function startFakeOpenAi(options: { fallback?: ReplyScript } = {}): Promise<FakeOpenAi> {
  const sockets = new Set<Socket>();
  const queue: ReplyScript[] = [];
  const waiters: Array<{ n: number; resolve: () => void }> = [];
  let completions = 0;
  let inFlight = 0;
  let maxInFlight = 0;
  let cutOff = 0;
  let closing = false;

  const fake: FakeOpenAi = {
    baseUrl: '',
    port: 0,
    requests: [],
    get inFlight() {
      return inFlight;
    },
    get maxInFlight() {
      return maxInFlight;
    },
    get cutOff() {
      return cutOff;
    },
    enqueue: (...replies) => queue.push(...replies),
    fallback: options.fallback ?? { tokens: ['Hello', ',', ' world'] },
    waitForRequests: (n) =>
      completions >= n ? Promise.resolve() : new Promise((resolve) => waiters.push({ n, resolve })),
    close: () =>
      new Promise((resolve) => {
        closing = true;
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };

  const server = createServer((req, res) => {
    void handle(req, res).catch(() => res.destroy());
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const raw = await readBody(req);
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    let body: ChatRequestBody | undefined;
    try {
      body = raw ? (JSON.parse(raw) as ChatRequestBody) : undefined;
    } catch {
      body = undefined;
    }
    const recorded: RecordedRequest = { method: req.method ?? 'GET', path, headers: req.headers, body };
    fake.requests.push(recorded);

    if (req.method === 'GET' && path === '/v1/models') {
      return json(res, 200, {
        object: 'list',
        data: [{ id: FAKE_MODEL, object: 'model', created: 0, owned_by: 'vllm' }],
      });
    }
    if (req.method !== 'POST' || path !== '/v1/chat/completions') {
      return json(res, 404, { error: { message: 'not found', type: 'invalid_request_error', code: 404 } });
    }
    if (!body?.messages) {
      return json(res, 400, { error: { message: 'messages is required', type: 'invalid_request_error' } });
    }

    const index = completions++;
    for (const w of waiters.filter((x) => completions >= x.n)) {
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve();
    }
    const script = queue.shift() ?? fake.fallback;
    const reply = typeof script === 'function' ? script(recorded, index) : script;

    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    const done = new Promise<void>((resolve) => res.on('close', resolve));
    void done.then(() => {
      inFlight--;
      // A scripted drop is the server's own doing; ended means the last token was handed over.
      if (!res.writableEnded && !closing && reply.dropAfterTokens === undefined) cutOff++;
    });

    if (reply.hang) return;
    if (reply.status !== undefined) {
      return json(res, reply.status, {
        error: {
          message: reply.errorMessage ?? 'scripted failure',
          type: 'server_error',
          code: reply.status,
        },
      });
    }
    if (body.stream) await streamReply(res, body, reply);
    else await wholeReply(res, body, reply);
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const addr = server.address();
  fake.port = typeof addr === 'object' && addr ? addr.port : 0;
  fake.baseUrl = `http://127.0.0.1:${fake.port}/v1`;
  return fake;
}

async function streamReply(res: ServerResponse, body: ChatRequestBody, reply: FakeReply): Promise<void> {
  const tokens = reply.tokens ?? [];
  const id = 'chatcmpl-fake';
  const model = reply.model ?? body.model ?? FAKE_MODEL;
  const chunk = (choices: unknown[], extra: Record<string, unknown> = {}) =>
    `data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created: 0, model, choices, ...extra })}\n\n`;
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  // vLLM opens with a role-only delta; clients must not take it for the first token.
  await send(res, chunk([{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }]));

  for (const [i, text] of tokens.entries()) {
    const wait = i === 0 ? reply.firstTokenDelayMs : reply.tokenDelayMs;
    if (wait) await pause(res, wait);
    if (res.destroyed) return;
    if (reply.errorEventAfterTokens !== undefined && i >= reply.errorEventAfterTokens) {
      const message = reply.errorMessage ?? 'engine failure';
      res.end(
        `data: ${JSON.stringify({ error: { object: 'error', message, type: 'InternalServerError', code: 500 } })}\n\n`,
      );
      return;
    }
    if (reply.dropAfterTokens !== undefined && i >= reply.dropAfterTokens) {
      res.socket?.destroy();
      return;
    }
    await send(res, chunk([{ index: 0, delta: { content: text }, finish_reason: null }]));
  }
  if (reply.dropAfterTokens !== undefined) {
    res.socket?.destroy();
    return;
  }
  const finish = reply.finishReason === undefined ? 'stop' : reply.finishReason;
  if (finish !== null) res.write(chunk([{ index: 0, delta: {}, finish_reason: finish }]));
  if (body.stream_options?.include_usage && reply.usage !== false) {
    res.write(chunk([], { usage: usageFor(body, tokens) }));
  }
  res.end(finish === null ? undefined : 'data: [DONE]\n\n');
}

async function wholeReply(res: ServerResponse, body: ChatRequestBody, reply: FakeReply): Promise<void> {
  const tokens = reply.tokens ?? [];
  if (reply.firstTokenDelayMs) await pause(res, reply.firstTokenDelayMs);
  json(res, 200, {
    id: 'chatcmpl-fake',
    object: 'chat.completion',
    created: 0,
    model: reply.model ?? body.model ?? FAKE_MODEL,
    choices: [
      {
        index: 0,
        message: { role: 'assistant', content: tokens.join('') },
        finish_reason: reply.finishReason ?? 'stop',
      },
    ],
    ...(reply.usage === false ? {} : { usage: usageFor(body, tokens) }),
  });
}

function usageFor(body: ChatRequestBody, tokens: string[]) {
  const promptChars = (body.messages ?? []).reduce((n, m) => n + m.content.length, 0);
  const prompt_tokens = Math.ceil(promptChars / 4) + 7;
  return { prompt_tokens, completion_tokens: tokens.length, total_tokens: prompt_tokens + tokens.length };
}

// Waits until the bytes are handed to the socket, so a scripted drop cannot discard tokens still queued.
function send(res: ServerResponse, data: string): Promise<void> {
  return new Promise((resolve) => {
    if (res.destroyed) resolve();
    else res.write(data, () => resolve());
  });
}

function json(res: ServerResponse, status: number, value: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(value));
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    req.on('data', (b: Buffer) => parts.push(b));
    req.on('end', () => resolve(Buffer.concat(parts).toString('utf8')));
    req.on('error', reject);
  });
}

/** A delay that ends early when the client goes away, so a closed fake leaves no timers behind. */
function pause(res: ServerResponse, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      res.off('close', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    res.on('close', done);
  });
}
