import { isUtf8 } from 'node:buffer';
import { STREAM_MAX_ENTRIES, STREAM_TTL_SECONDS } from '@keel/contract/keys';
import type { ExitEvent } from '@keel/contract/workspaces';
import type { Redis } from 'ioredis';
import { RespConnectionError, writerBeside } from './resp-writer.ts';

/** Largest output in one stream entry. */
const ENTRY_BYTES = 256 * 1024;

/** What one command may leave in its stream unless the runner is told otherwise (KEEL_EXEC_OUTPUT_MAX_BYTES). */
export const EXEC_OUTPUT_MAX_BYTES = 16 * 1024 * 1024;

type Kind = 'stdout' | 'stderr';

export interface OutputLimits {
  /** Output (stdout and stderr together) kept at most; what comes after is dropped. */
  maxBytes?: number;
  /** Called once, when output is first dropped (past maxBytes, or refused by Redis): stop the producer. */
  onStop?: () => void;
}

/**
 * Appends an execution's output to its Redis Stream. At most one write is in flight:
 * whatever arrives meanwhile goes out in the next one, merged into entries of up to 256 KB.
 * A lone line leaves at once; a fast producer gets few, large entries. The stream is
 * capped and expires; the `exit` entry is always last.
 *
 * Output stays in bytes from the workload to Redis (no decode and re-encode), and every
 * entry is valid UTF-8 that ends on a character boundary: a character cut between two
 * chunks waits for its end, and bytes that are not UTF-8 become U+FFFD, as a text decoder
 * would make them.
 *
 * Entries go out through a RespWriter beside the ioredis client (see resp-writer.ts): the
 * chunks as they came from the workload, with no copy into an entry and none into a
 * command buffer. A batch whose connection failed is sent again through ioredis, which
 * waits for Redis to come back (an entry may then be stored twice, as when ioredis
 * resends a command after a reconnect).
 *
 * Bounded: past `maxBytes` of output, or once Redis refuses an entry (out of memory), what
 * comes next is dropped (the entries kept end on a character), `onStop` is called so the
 * command can be stopped, and `end` says why in the exit entry. Nothing here throws at its
 * caller for Redis' sake: a runner whose Redis is full goes on serving other jobs.
 */
export class OutputStream {
  private pending: Array<[Kind, Buffer]> = [];
  private pendingBytes = 0;
  private inFlightBytes = 0;
  private writing: Promise<void> | undefined;
  private tails: Record<Kind, Buffer | undefined> = { stdout: undefined, stderr: undefined };
  private accepted = 0;
  private readonly maxBytes: number;
  /** Why output is being dropped: the cap was reached, or Redis refused a write. */
  private stopped: { cut: true } | { refused: string } | undefined;

  /** The key as the RespWriter sends it: with the client's key prefix, as ioredis would add it. */
  private readonly prefixedKey: string;

  constructor(
    private readonly redis: Redis,
    readonly key: string,
    private readonly limits: OutputLimits = {},
  ) {
    this.prefixedKey = (redis.options?.keyPrefix ?? '') + key;
    this.maxBytes = limits.maxBytes ?? EXEC_OUTPUT_MAX_BYTES;
  }

  write(kind: Kind, chunk: Buffer): void {
    if (this.stopped) return;
    const tail = this.tails[kind];
    const bytes = tail ? Buffer.concat([tail, chunk]) : chunk;
    const cut = completeLength(bytes);
    // Copied: a view would pin the whole chunk it came from.
    this.tails[kind] = cut < bytes.length ? Buffer.from(bytes.subarray(cut)) : undefined;
    this.push(kind, bytes.subarray(0, cut));
  }

  /** Resolves when everything written so far is in Redis. */
  async flush(): Promise<void> {
    while (this.writing) await this.writing;
  }

  /** Output accepted but not yet acknowledged by Redis. */
  backlogBytes(): number {
    return this.pendingBytes + this.inFlightBytes;
  }

  /** True once output is being dropped (past the cap, or refused by Redis). */
  get isStopped(): boolean {
    return this.stopped !== undefined;
  }

  private push(kind: Kind, bytes: Buffer): void {
    if (bytes.length === 0 || this.stopped) return;
    let text = isUtf8(bytes) ? bytes : Buffer.from(bytes.toString('utf8'));
    const room = this.maxBytes - this.accepted;
    if (text.length > room) {
      text = text.subarray(0, characterStart(text, room));
      this.stop({ cut: true });
      if (text.length === 0) return;
    }
    this.accepted += text.length;
    this.pending.push([kind, text]);
    this.pendingBytes += text.length;
    if (!this.writing) this.writing = this.drain();
  }

  private async drain(): Promise<void> {
    // Let the rest of this tick's output join the first write.
    await new Promise((r) => setImmediate(r));
    try {
      while (this.pending.length > 0) {
        const batch = this.pending;
        this.inFlightBytes = this.pendingBytes;
        this.pending = [];
        this.pendingBytes = 0;
        // Plain commands, not MULTI: one connection keeps them in order, and a transaction
        // would copy every entry once more into one buffer before sending it.
        const entries = merge(batch);
        try {
          await Promise.all(
            writerBeside(this.redis).send([
              ...entries.map(([kind, parts]) => [
                'XADD',
                this.prefixedKey,
                'MAXLEN',
                '~',
                String(STREAM_MAX_ENTRIES),
                '*',
                't',
                kind,
                'd',
                parts,
              ]),
              ['EXPIRE', this.prefixedKey, String(STREAM_TTL_SECONDS)],
            ]),
          );
        } catch (err) {
          if (!(err instanceof RespConnectionError)) throw err;
          const sent: Array<Promise<unknown>> = [];
          for (const [kind, parts] of entries) {
            const data = parts.length === 1 ? parts[0]! : Buffer.concat(parts);
            sent.push(
              this.redis.xadd(this.key, 'MAXLEN', '~', STREAM_MAX_ENTRIES, '*', 't', kind, 'd', data),
            );
          }
          sent.push(this.redis.expire(this.key, STREAM_TTL_SECONDS));
          await Promise.all(sent);
        }
        this.inFlightBytes = 0;
      }
    } catch (err) {
      // Refused (OOM, NOPERM…): the output from here on is lost, and the command is stopped.
      this.pending = [];
      this.pendingBytes = 0;
      this.inFlightBytes = 0;
      this.stop({ refused: err instanceof Error ? err.message : String(err) });
    } finally {
      this.writing = undefined;
    }
  }

  private stop(why: NonNullable<OutputStream['stopped']>): void {
    if (this.stopped) return;
    this.stopped = why;
    this.tails = { stdout: undefined, stderr: undefined };
    this.limits.onStop?.();
  }

  /** The exit as it is written: with why output stopped short, when it did. */
  private finalExit(exit: ExitEvent): ExitEvent {
    const why = this.stopped;
    if (!why) return exit;
    if ('cut' in why) {
      return {
        ...exit,
        truncatedAtBytes: this.maxBytes,
        error: `the output passed ${this.maxBytes} bytes and was cut there; the command was stopped`,
      };
    }
    return { ...exit, error: `Redis refused the output (${why.refused}); the command was stopped` };
  }

  /**
   * Writes the exit entry, last. False when Redis refused it (then it is logged): the caller
   * goes on, and readers learn of the end only when the stream expires.
   */
  async end(exit: ExitEvent): Promise<boolean> {
    for (const kind of ['stdout', 'stderr'] as const) {
      const rest = this.tails[kind];
      this.tails[kind] = undefined;
      // An unfinished character at the very end: what a decoder makes of it.
      if (rest) this.push(kind, Buffer.from(rest.toString('utf8')));
    }
    await this.flush();
    const final = this.finalExit(exit);
    try {
      const replies = await this.redis
        .multi()
        .xadd(this.key, 'MAXLEN', '~', STREAM_MAX_ENTRIES, '*', 't', 'exit', 'd', JSON.stringify(final))
        .expire(this.key, STREAM_TTL_SECONDS)
        .exec();
      const failed = replies?.find(([err]) => err)?.[0];
      if (failed) throw failed;
      return true;
    } catch (err) {
      console.error(
        JSON.stringify({
          level: 'error',
          msg: 'the exit of a command could not be written',
          key: this.key,
          exit: final,
          error: err instanceof Error ? err.message : String(err),
          at: new Date().toISOString(),
        }),
      );
      return false;
    }
  }
}

/**
 * The length of `bytes` without a UTF-8 sequence cut short at its end. Only a lead byte
 * in the last three positions whose sequence runs past the end is held back; anything
 * else (complete or invalid) is left to the validity check.
 */
export function completeLength(bytes: Uint8Array): number {
  const n = bytes.length;
  for (let back = 1; back <= Math.min(3, n); back++) {
    const b = bytes[n - back]!;
    if ((b & 0xc0) === 0x80) continue; // a continuation byte: look further back
    const need = b >= 0xf0 && b <= 0xf4 ? 4 : b >= 0xe0 && b < 0xf0 ? 3 : b >= 0xc2 && b < 0xe0 ? 2 : 1;
    return need > back ? n - back : n;
  }
  return n;
}

/** The largest length up to `at` that ends between two characters of valid UTF-8 `text`. */
function characterStart(text: Buffer, at: number): number {
  let n = Math.max(0, at);
  while (n > 0 && n < text.length && (text[n]! & 0xc0) === 0x80) n--;
  return n;
}

/**
 * Adjacent chunks of one stream become one entry (up to ENTRY_BYTES): same bytes, same
 * order. Chunks are never cut, so each entry ends where a chunk did: on a character. An
 * entry is the list of its chunks, sent as they are (no copy into one buffer).
 */
function merge(batch: Array<[Kind, Buffer]>): Array<[Kind, Buffer[]]> {
  const out: Array<[Kind, Buffer[]]> = [];
  let kind: Kind | undefined;
  let parts: Buffer[] = [];
  let size = 0;
  const close = () => {
    if (kind && parts.length) out.push([kind, parts]);
    parts = [];
    size = 0;
  };
  for (const [k, data] of batch) {
    if (k !== kind || size + data.length > ENTRY_BYTES) {
      close();
      kind = k;
    }
    parts.push(data);
    size += data.length;
  }
  close();
  return out;
}
