import type { runnerKeys } from '@keel/contract/keys';
import { terminalOutputStream } from '@keel/contract/streams';
import type { TerminalExit } from '@keel/contract/terminal';
import type { Redis } from 'ioredis';
import { StreamAppender } from '../streams/appender.ts';

export type RunnerKeys = ReturnType<typeof runnerKeys>;

/**
 * A session's output stream (`terminalOutputStream`), written by the stream appender: at most one
 * write in flight, so a keystroke's echo goes out at once and a flood goes out in few, large
 * writes. The stream is a rolling replay window (entry cap × entry size) and expires once unused;
 * a write Redis refuses loses what was shown meanwhile, and the session goes on.
 */
export class TerminalOutput {
  readonly #out: StreamAppender;

  constructor(
    redis: Redis,
    readonly key: string,
  ) {
    this.#out = new StreamAppender(redis, key, terminalOutputStream, { coalesce: true, renewTtl: true });
  }

  write(text: string): void {
    this.#out.appendText('output', text);
  }

  /** Output accepted but not yet in Redis (bytes). */
  backlog(): number {
    return this.#out.backlogBytes();
  }

  flush(): Promise<void> {
    return this.#out.flush();
  }

  /** Writes the final `exit` entry; the stream then stays only long enough for a reconnect to read it. */
  async end(exit: TerminalExit): Promise<void> {
    await this.#out.end([['exit', JSON.stringify(exit)]]);
  }
}

/** A session's traces once it has ended: it no longer counts, its input is moot, nothing is attached. */
export async function forgetSession(
  redis: Redis,
  keys: RunnerKeys,
  sessionId: string,
  workspaceId: string,
): Promise<void> {
  await redis
    .multi()
    .zrem(keys.workspaceTerminals(workspaceId), sessionId)
    .hdel(keys.terminals, sessionId)
    .del(keys.terminalInput(sessionId), keys.terminalAttached(sessionId))
    .exec();
}
