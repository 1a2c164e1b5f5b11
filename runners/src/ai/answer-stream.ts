import type { AiDone, RewriteResult } from '@keel/contract/ai';
import { AI_STREAM_MAX_BYTES, AI_STREAM_MAX_ENTRIES, AI_STREAM_TTL_SECONDS } from '@keel/contract/keys';
import type { Redis } from 'ioredis';

/** Largest text in one `token` entry: tokens that piled up while Redis was slow go out in pieces this big. */
const ENTRY_CHARS = 16 * 1024;

/**
 * Appends a model's answer to its Redis Stream, the one the edge relays as SSE. The first token
 * leaves at once (it is what time-to-first-token measures); while a write is in flight, later
 * tokens gather and go out together in the next, so a fast model costs few round trips. The
 * edge made the stream (with its `meta` entry) and its expiry before the job was queued, so a
 * token is a bare XADD; `end` writes `result` and `done` last and renews the expiry.
 *
 * Bounded: the answer's text stops at AI_STREAM_MAX_BYTES, and its token entries stop short of
 * AI_STREAM_MAX_ENTRIES, so the stream's MAXLEN never trims its `meta` and there is always
 * room for `result` and `done`.
 */
export class AnswerStream {
  #pending = '';
  #writing: Promise<void> | undefined;
  #failed = false;
  #bytes = 0;
  #entries = 0;
  #full = false;

  constructor(
    private readonly redis: Redis,
    readonly key: string,
    private readonly maxBytes = AI_STREAM_MAX_BYTES,
    private readonly maxTokenEntries = AI_STREAM_MAX_ENTRIES - 8,
  ) {}

  /** False once the answer has reached its bound: this text and what follows are dropped. */
  token(text: string): boolean {
    if (this.#full) return false;
    if (!text) return true;
    const bytes = Buffer.byteLength(text);
    // Checked here too, not only in #drain: a drain that ended before its first await would
    // leave #writing set for good.
    if (this.#bytes + bytes > this.maxBytes || this.#entries >= this.maxTokenEntries) {
      this.#full = true;
      return false;
    }
    this.#bytes += bytes;
    this.#pending += text;
    this.#writing ??= this.#drain();
    return true;
  }

  /** True when the answer reached its bound and was cut. */
  get full(): boolean {
    return this.#full;
  }

  async #drain(): Promise<void> {
    try {
      while (this.#pending) {
        if (this.#entries >= this.maxTokenEntries) {
          this.#pending = '';
          this.#full = true;
          break;
        }
        this.#entries++;
        const text = this.#pending.slice(0, ENTRY_CHARS);
        this.#pending = this.#pending.slice(text.length);
        await this.redis.xadd(this.key, 'MAXLEN', '~', AI_STREAM_MAX_ENTRIES, '*', 't', 'token', 'd', text);
      }
    } catch {
      // Redis is gone or full: the tokens are lost, and `end` says so in the done it still tries to write.
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
    try {
      const failed = (await multi.exec())?.find(([err]) => err)?.[0];
      if (failed) throw failed;
    } catch (err) {
      // A full Redis: the answer's end is lost, and the runner goes on with its other calls.
      console.error(
        JSON.stringify({
          level: 'error',
          msg: 'an AI answer could not be ended',
          key: this.key,
          error: String(err),
        }),
      );
    }
  }
}
