import OpenAI, { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError } from 'openai';
import type { AiConfig } from './config.ts';
import { AiCancelled, AiError, AiTimeout, AiUnavailable, AiUpstreamError } from './errors.ts';
import { Semaphore } from './semaphore.ts';
import { estimateTokens, type Tokenizer } from './tokens.ts';

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

export interface StreamChatRequest {
  messages: ChatMessage[];
  /** Capped at the configured KEEL_AI_MAX_OUTPUT_TOKENS. */
  maxTokens?: number;
  temperature?: number;
  /** Cancels the wait for a slot and the call itself; the stream then throws `AiCancelled`. */
  signal?: AbortSignal;
}

export interface ChatUsage {
  promptTokens: number;
  completionTokens: number;
  /** True when the server sent no usage (llama.cpp, older Ollama) and the numbers are counted here. */
  estimated: boolean;
}

export type ChatEvent =
  | { type: 'token'; text: string }
  | {
      type: 'done';
      usage: ChatUsage;
      /** As the server says it: 'stop', 'length' (hit maxTokens), … */
      finishReason: string;
      model: string;
      latencyMs: number;
      /** Undefined when the model answered with no text at all. */
      firstTokenMs: number | undefined;
    };

export interface ModelClient {
  readonly enabled: boolean;
  /** Calls holding a slot, and calls queued for one (for metrics and the admin view). */
  readonly active: number;
  readonly waiting: number;
  /**
   * Streams a chat completion. Nothing is sent until iteration starts. Stop early with
   * `break` (or `return()`) so the request is aborted and its slot freed. Throws only `AiError`s.
   */
  streamChat(request: StreamChatRequest): AsyncIterable<ChatEvent>;
  /**
   * The model ids the server serves (GET /v1/models): a connection test for start-up and the
   * admin console. Throws `AiUnavailable`, `AiTimeout` or `AiUpstreamError`.
   */
  listModels(signal?: AbortSignal): Promise<string[]>;
}

export interface ModelClientOptions {
  /** Used for the usage fallback when the server does not report usage. */
  tokenizer?: Tokenizer;
}

export function createModelClient(
  config: AiConfig | undefined,
  options: ModelClientOptions = {},
): ModelClient {
  return config ? new OpenAiCompatibleClient(config, options.tokenizer ?? estimateTokens) : disabledClient;
}

const disabledClient: ModelClient = {
  enabled: false,
  active: 0,
  waiting: 0,
  streamChat: () => ({
    [Symbol.asyncIterator]: () => ({
      next: () => Promise.reject(new AiUnavailable('not_configured')),
    }),
  }),
  listModels: () => Promise.reject(new AiUnavailable('not_configured')),
};

class OpenAiCompatibleClient implements ModelClient {
  readonly enabled = true;
  readonly #openai: OpenAI;
  readonly #slots: Semaphore;

  constructor(
    readonly config: AiConfig,
    readonly tokenizer: Tokenizer,
  ) {
    this.#slots = new Semaphore(config.maxConcurrency);
    this.#openai = new OpenAI({
      baseURL: config.baseUrl,
      // Local vLLM / llama.cpp usually run without a key; the SDK insists on one.
      apiKey: config.apiKey ?? 'not-needed',
      // Keep the SDK from picking up a developer's OpenAI account from the environment.
      organization: null,
      project: null,
      adminAPIKey: null,
      webhookSecret: null,
      // A 429 or 5xx is the caller's to retry: silent retries would hold a slot and blur the timeouts.
      maxRetries: 0,
      timeout: config.timeoutMs,
      // OPENAI_LOG=debug would make the SDK log request bodies, i.e. prompts with source code.
      logLevel: 'off',
    });
  }

  get active(): number {
    return this.#slots.active;
  }

  get waiting(): number {
    return this.#slots.waiting;
  }

  async listModels(signal?: AbortSignal): Promise<string[]> {
    // A connection test must answer quickly even when generation may take minutes.
    const timeout = Math.min(this.config.timeoutMs, this.config.firstTokenTimeoutMs);
    try {
      const ids: string[] = [];
      for await (const model of this.#openai.models.list({ signal: signal ?? null, timeout }))
        ids.push(model.id);
      return ids.sort();
    } catch (err) {
      throw signal?.aborted ? new AiCancelled() : toAiError(err, timeout);
    }
  }

  streamChat(request: StreamChatRequest): AsyncIterable<ChatEvent> {
    return { [Symbol.asyncIterator]: () => this.#run(request) };
  }

  async *#run(request: StreamChatRequest): AsyncGenerator<ChatEvent> {
    const { config } = this;
    const abort = new AbortController();
    // Why the request was aborted decides which error the caller sees.
    let stopReason: AiTimeout | AiCancelled | undefined;
    const stop = (reason: AiTimeout | AiCancelled) => {
      stopReason ??= reason;
      abort.abort();
    };
    const onCallerAbort = () => stop(new AiCancelled());
    request.signal?.addEventListener('abort', onCallerAbort, { once: true });

    let release: (() => void) | undefined;
    const timers: NodeJS.Timeout[] = [];
    /** The server's stream was read to its end: there is nothing left to stop. */
    let ended = false;
    try {
      if (request.signal?.aborted) throw new AiCancelled();
      try {
        release = await this.#slots.acquire(request.signal);
      } catch {
        throw new AiCancelled();
      }
      const slotRelease = release;

      // Timeouts run from the moment the request is sent; time queued for a slot is bounded by the caller's signal.
      const started = performance.now();
      const timeout = (phase: 'first_token' | 'total', ms: number) =>
        setTimeout(() => {
          stop(new AiTimeout(phase, ms));
          // A consumer that abandons the iterator without return() would otherwise hold the slot forever.
          slotRelease();
        }, ms);
      timers.push(timeout('total', config.timeoutMs));
      const firstTokenTimer = timeout('first_token', config.firstTokenTimeoutMs);
      timers.push(firstTokenTimer);

      let firstTokenMs: number | undefined;
      let finishReason: string | undefined;
      let model = config.model;
      let reported: { prompt_tokens: number; completion_tokens: number } | undefined;
      let tokenChunks = 0;
      let answering = false;
      try {
        const stream = await this.#openai.chat.completions.create(
          {
            model: config.model,
            messages: request.messages,
            stream: true,
            stream_options: { include_usage: true },
            // max_tokens, not max_completion_tokens: llama.cpp and Ollama only know the former.
            max_tokens: Math.min(request.maxTokens ?? config.maxOutputTokens, config.maxOutputTokens),
            ...(request.temperature === undefined ? {} : { temperature: request.temperature }),
          },
          { signal: abort.signal },
        );
        answering = true;
        for await (const chunk of stream) {
          if (chunk.model) model = chunk.model;
          if (chunk.usage) reported = chunk.usage;
          const choice = chunk.choices?.[0];
          if (choice?.finish_reason) finishReason = choice.finish_reason;
          const text = choice?.delta?.content;
          if (!text) continue;
          if (firstTokenMs === undefined) {
            firstTokenMs = Math.round(performance.now() - started);
            clearTimeout(firstTokenTimer);
          }
          tokenChunks++;
          yield { type: 'token', text };
        }
        ended = true;
      } catch (err) {
        // The SDK reports a socket that dies mid-body as a connection error too; once the server
        // has answered, that is a broken answer, not an unreachable server.
        if (
          !stopReason &&
          answering &&
          err instanceof APIConnectionError &&
          !(err instanceof APIConnectionTimeoutError)
        ) {
          throw new AiUpstreamError(undefined, 'the connection closed before the answer was complete');
        }
        throw stopReason ?? toAiError(err, config.timeoutMs);
      }
      if (stopReason) throw stopReason;
      if (finishReason === undefined) {
        // A server that closes a stream cleanly without a finish reason was cut off (proxy, crash):
        // a half answer must not pass for a complete rewrite.
        throw new AiUpstreamError(undefined, 'the stream ended before the model finished');
      }

      const usage: ChatUsage = reported
        ? {
            promptTokens: reported.prompt_tokens,
            completionTokens: reported.completion_tokens,
            estimated: false,
          }
        : {
            promptTokens: request.messages.reduce((n, m) => n + this.tokenizer(m.content), 0),
            // Servers stream about one token per chunk; a chunk carrying several is rare enough.
            completionTokens: tokenChunks,
            estimated: true,
          };
      yield {
        type: 'done',
        usage,
        finishReason,
        model,
        latencyMs: Math.round(performance.now() - started),
        firstTokenMs,
      };
    } finally {
      for (const t of timers) clearTimeout(t);
      request.signal?.removeEventListener('abort', onCallerAbort);
      // Stops generation on the server when the consumer breaks out early or a timer fired. Not
      // after a complete answer: an abort makes an exception and walks the request's listeners,
      // a fraction of a millisecond of CPU per call for nothing.
      if (!ended) abort.abort();
      release?.();
    }
  }
}

/** Maps whatever the SDK or the socket threw to one of ours, keeping only the status and fixed text. */
function toAiError(err: unknown, timeoutMs: number): AiError {
  if (err instanceof AiError) return err;
  if (err instanceof APIConnectionTimeoutError) return new AiTimeout('total', timeoutMs);
  if (err instanceof APIUserAbortError) return new AiCancelled();
  if (err instanceof APIConnectionError) return new AiUnavailable('connection_failed');
  if (err instanceof APIError) {
    return err.status === undefined
      ? new AiUpstreamError(undefined, 'the stream carried an error event')
      : new AiUpstreamError(err.status, describeStatus(err.status));
  }
  return new AiUpstreamError(undefined, 'the answer could not be read');
}

function describeStatus(status: number): string {
  if (status === 400) return 'the request was rejected (prompt too long for the model context?)';
  if (status === 401 || status === 403) return 'the API key was refused (check KEEL_AI_API_KEY)';
  if (status === 404) return 'no such endpoint or model (check KEEL_AI_BASE_URL and KEEL_AI_MODEL)';
  if (status === 413) return 'the request is too large';
  if (status === 422) return 'the request was not understood';
  if (status === 429) return 'the model server is overloaded or rate limited; try again later';
  if (status >= 500) return 'the model server failed';
  return 'unexpected status';
}
