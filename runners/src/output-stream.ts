import { EXEC_OUTPUT_MAX_BYTES, execOutputStream } from '@keel/contract/streams';
import type { ExitEvent } from '@keel/contract/workspaces';
import type { Redis } from 'ioredis';
import { StreamAppender } from './streams/appender.ts';

type Kind = 'stdout' | 'stderr';

export interface OutputLimits {
  /** Output (stdout and stderr together) kept at most; what comes after is dropped. */
  maxBytes?: number;
  /** Called once, when output is first dropped (past maxBytes, or refused by Redis): stop the producer. */
  onStop?: () => void;
}

/**
 * An execution's output stream (`execOutputStream`): stdout and stderr as bytes, then the `exit`,
 * always last. Written by the stream appender (one write in flight, coalesced, UTF-8 whole).
 *
 * Bounded: past `maxBytes` of output, or once Redis refuses an entry (out of memory), what comes
 * next is dropped (the entries kept end on a character), `onStop` is called so the command can
 * be stopped, and `end` says why in the exit entry (`truncatedAtBytes` for the cap). Nothing here
 * throws at its caller for Redis' sake: a runner whose Redis is full goes on serving other jobs.
 */
export class OutputStream {
  readonly #out: StreamAppender;

  constructor(
    redis: Redis,
    readonly key: string,
    limits: OutputLimits = {},
  ) {
    this.#out = new StreamAppender(redis, key, execOutputStream, {
      maxBytes: limits.maxBytes ?? EXEC_OUTPUT_MAX_BYTES,
      coalesce: true,
      renewTtl: true,
      stopWhenRefused: true,
      ...(limits.onStop ? { onStop: limits.onStop } : {}),
    });
  }

  write(kind: Kind, chunk: Buffer): void {
    this.#out.appendBytes(kind, chunk);
  }

  /** Resolves when everything written so far is in Redis. */
  flush(): Promise<void> {
    return this.#out.flush();
  }

  /** Output accepted but not yet acknowledged by Redis. */
  backlogBytes(): number {
    return this.#out.backlogBytes();
  }

  /** True once output is being dropped (past the cap, or refused by Redis). */
  get isStopped(): boolean {
    return this.#out.stopReason !== undefined;
  }

  /**
   * Writes the exit entry, last. False when Redis refused it (then it is logged): the caller
   * goes on, and readers learn of the end only when the stream expires.
   */
  end(exit: ExitEvent): Promise<boolean> {
    return this.#out.end(() => [['exit', JSON.stringify(this.#finalExit(exit))]]);
  }

  /** The exit as it is written: with why output stopped short, when it did. */
  #finalExit(exit: ExitEvent): ExitEvent {
    const why = this.#out.stopReason;
    if (!why) return exit;
    if ('refused' in why) {
      return { ...exit, error: `Redis refused the output (${why.refused}); the command was stopped` };
    }
    const cap = this.#out.maxBytes;
    return {
      ...exit,
      truncatedAtBytes: cap,
      error: `the output passed ${cap} bytes and was cut there; the command was stopped`,
    };
  }
}
