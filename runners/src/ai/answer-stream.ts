import type { AiDone, RewriteResult } from '@keel/contract/ai';
import { AI_STREAM_MAX_BYTES, AI_STREAM_MAX_ENTRIES } from '@keel/contract/keys';
import { aiAnswerStream } from '@keel/contract/streams';
import type { Redis } from 'ioredis';
import { StreamAppender } from '../streams/appender.ts';

/**
 * A model's answer in its stream (`aiAnswerStream`), the one the edge relays as SSE, written by the
 * stream appender. The first token leaves at once (it is what time-to-first-token measures); while
 * a write is in flight, later tokens gather and go out together in the next, so a fast model costs
 * few round trips. The edge made the stream (with its `meta` entry) and its expiry before the job
 * was queued, so a token is a bare XADD; `end` writes `result` and `done` last and renews the expiry.
 *
 * Bounded: the answer's text stops at AI_STREAM_MAX_BYTES (a token past it is refused whole), and
 * its token entries stop short of AI_STREAM_MAX_ENTRIES, so the stream's MAXLEN never trims its
 * `meta` and there is always room for `result` and `done`.
 */
export class AnswerStream {
  readonly #out: StreamAppender;

  constructor(
    redis: Redis,
    readonly key: string,
    maxBytes = AI_STREAM_MAX_BYTES,
    maxTokenEntries = AI_STREAM_MAX_ENTRIES - 8,
  ) {
    this.#out = new StreamAppender(redis, key, aiAnswerStream, {
      maxBytes,
      maxEntries: maxTokenEntries,
      coalesce: false,
      renewTtl: false,
    });
  }

  /** False once the answer has reached its bound: this text and what follows are dropped. */
  token(text: string): boolean {
    return this.#out.appendText('token', text);
  }

  /** True when the answer reached its bound and was cut. */
  get full(): boolean {
    return this.#out.stopReason !== undefined;
  }

  /** True when some tokens could not be written. */
  get lostTokens(): boolean {
    return this.#out.lost !== undefined;
  }

  async end(result: RewriteResult | undefined, done: AiDone): Promise<void> {
    const final: Array<[string, string]> = [];
    if (result) final.push(['result', JSON.stringify(result)]);
    final.push(['done', JSON.stringify(done)]);
    // A full Redis: the answer's end is lost (logged), and the runner goes on with its other calls.
    await this.#out.end(final);
  }
}
