import type { AiDone, RewriteResult } from '@keel/contract/ai';
import { AI_STREAM_MAX_ENTRIES, AI_STREAM_TTL_SECONDS } from '@keel/contract/keys';
import type { Redis } from 'ioredis';

/** Largest text in one `token` entry: tokens that piled up while Redis was slow go out in pieces this big. */
const ENTRY_CHARS = 16 * 1024;

/**
 * Appends a model's answer to its Redis Stream, the one the edge relays as SSE. The first token
 * leaves at once (it is what time-to-first-token measures); while a write is in flight, later
 * tokens gather and go out together in the next, so a fast model costs few round trips. The
 * edge made the stream (with its `meta` entry) and its expiry before the job was queued, so a
 * token is a bare XADD; `end` writes `result` and `done` last and renews the expiry.
 */
export class AnswerStream {
  #pending = '';
  #writing: Promise<void> | undefined;
  #failed = false;

  constructor(
    private readonly redis: Redis,
    readonly key: string,
  ) {}

  token(text: string): void {
    if (!text) return;
    this.#pending += text;
    this.#writing ??= this.#drain();
  }

  async #drain(): Promise<void> {
    try {
      while (this.#pending) {
        const text = this.#pending.slice(0, ENTRY_CHARS);
        this.#pending = this.#pending.slice(text.length);
        await this.redis.xadd(this.key, 'MAXLEN', '~', AI_STREAM_MAX_ENTRIES, '*', 't', 'token', 'd', text);
      }
    } catch {
      // Redis is gone: the tokens are lost, and `end` says so in the done it still tries to write.
      this.#pending = '';
      this.#failed = true;
    } finally {
      this.#writing = undefined;
    }
  }

  /** True when some tokens could not be written. */
  get lostTokens(): boolean {
    return this.#failed;
  }

  async end(result: RewriteResult | undefined, done: AiDone): Promise<void> {
    while (this.#writing) await this.#writing;
    const multi = this.redis.multi();
    if (result) multi.xadd(this.key, '*', 't', 'result', 'd', JSON.stringify(result));
    multi.xadd(this.key, '*', 't', 'done', 'd', JSON.stringify(done));
    multi.expire(this.key, AI_STREAM_TTL_SECONDS);
    await multi.exec();
  }
}
