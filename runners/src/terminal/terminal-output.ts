import type { runnerKeys } from '@keel/contract/keys';
import {
  TERMINAL_ENDED_TTL_SECONDS,
  TERMINAL_OUTPUT_ENTRY_CHARS,
  TERMINAL_OUTPUT_MAX_ENTRIES,
  TERMINAL_STREAM_TTL_SECONDS,
  type TerminalExit,
} from '@keel/contract/terminal';
import type { Redis } from 'ioredis';

export type RunnerKeys = ReturnType<typeof runnerKeys>;

/**
 * Appends a session's output to its Redis Stream. At most one write is in flight: what arrives
 * meanwhile leaves with the next one, so a keystroke's echo goes out at once and a flood goes out in
 * few, large writes. The stream is capped (it is the replay window) and expires once unused:
 * entries of at most TERMINAL_OUTPUT_ENTRY_CHARS, at most TERMINAL_OUTPUT_MAX_ENTRIES of them.
 */
export class TerminalOutput {
  private pending = '';
  private inFlight = 0;
  private writing: Promise<void> | undefined;

  constructor(
    private readonly redis: Redis,
    readonly key: string,
  ) {}

  write(text: string): void {
    this.pending += text;
    this.writing ??= this.drain();
  }

  /** Characters accepted but not yet in Redis. */
  backlog(): number {
    return this.pending.length + this.inFlight;
  }

  async flush(): Promise<void> {
    while (this.writing) await this.writing;
  }

  /** Writes the final `exit` entry; the stream then stays only long enough for a reconnect to read it. */
  async end(exit: TerminalExit): Promise<void> {
    await this.flush();
    try {
      const replies = await this.redis
        .multi()
        .xadd(
          this.key,
          'MAXLEN',
          '~',
          TERMINAL_OUTPUT_MAX_ENTRIES,
          '*',
          't',
          'exit',
          'd',
          JSON.stringify(exit),
        )
        .expire(this.key, TERMINAL_ENDED_TTL_SECONDS)
        .exec();
      const failed = replies?.find(([err]) => err)?.[0];
      if (failed) throw failed;
    } catch (err) {
      // A full Redis: the end is lost (the stream still expires), and the runner goes on.
      console.error(JSON.stringify({ level: 'error', msg: 'terminal exit not written', error: String(err) }));
    }
  }

  private async drain(): Promise<void> {
    // Let the rest of this tick's output join the first write.
    await new Promise((r) => setImmediate(r));
    try {
      while (this.pending) {
        const text = this.pending;
        this.pending = '';
        this.inFlight = text.length;
        const multi = this.redis.multi();
        for (const piece of pieces(text, TERMINAL_OUTPUT_ENTRY_CHARS)) {
          multi.xadd(this.key, 'MAXLEN', '~', TERMINAL_OUTPUT_MAX_ENTRIES, '*', 't', 'output', 'd', piece);
        }
        multi.expire(this.key, TERMINAL_STREAM_TTL_SECONDS);
        await multi.exec();
        this.inFlight = 0;
      }
    } catch (err) {
      // Redis is gone: what was shown meanwhile is lost, and the session goes on.
      this.pending = '';
      this.inFlight = 0;
      console.error(JSON.stringify({ level: 'warn', msg: 'terminal output lost', error: String(err) }));
    } finally {
      this.writing = undefined;
    }
  }
}

/** Cuts text into pieces of at most `size` UTF-16 units, never between the halves of a surrogate pair. */
export function pieces(text: string, size: number): string[] {
  const out: string[] = [];
  let at = 0;
  while (at < text.length) {
    let end = Math.min(text.length, at + size);
    const last = text.charCodeAt(end - 1);
    if (end < text.length && last >= 0xd800 && last <= 0xdbff) end -= 1;
    out.push(text.slice(at, end));
    at = end;
  }
  return out;
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
