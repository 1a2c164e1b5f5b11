import type { StreamKind } from '@keel/contract/streams';
import type { Redis } from 'ioredis';
import type { OutputEntry, OutputReader, ReaderPool } from '../workspaces/output-reader.ts';

export interface FollowOptions {
  /** Blocking reads take a connection from here (a lean one on Node, ioredis elsewhere). */
  readers: ReaderPool;
  /** A reader already taken for this stream (e.g. one that sent the first read with a script). */
  reader?: OutputReader;
  kind: StreamKind;
  key: string;
  /** The last entry the client has (see parseStreamCursor); reading starts just after it. */
  cursor: string;
  /** The read after `cursor`, already sent. */
  firstRead?: Promise<OutputEntry[] | null>;
  /** Entries per read, and how long one read waits before the stream counts as quiet. */
  count: number;
  blockMs: number;
  /**
   * Send the next read while this batch is delivered, so Redis and the client overlap (two
   * batches per stream in memory at most). Off where delivery decides whether to read on.
   */
  readAhead?: boolean;
  /**
   * Entries read, up to and with a final one (`ended`). Their data may be views of the reader's
   * buffer, valid only until the next read is sent: use them before the first await. The
   * returned promise is awaited before the next batch.
   */
  onBatch(entries: OutputEntry[], ended: boolean): Promise<void> | void;
  /** A read came back empty (every `blockMs`): a keep-alive, a lease to renew. */
  onQuiet?(): Promise<void> | void;
  /**
   * Checked when the stream is quiet: a runner without heartbeat will never write the final
   * entry. `close` writes it for the runner (durably, so every reader, now or after a reconnect,
   * sees the end) and returns true, or returns false to stop following where a kind never ends.
   */
  offline?: { redis: Redis; heartbeatKey: string; close(): Promise<boolean> };
}

/**
 * Follows one Redis Stream from a cursor to its final entry: the one loop behind exec output SSE,
 * AI answer SSE, the terminal socket and live workspace logs. Reads block on a connection of
 * their own, from the pool, which gets it back when the stream was read to its end (a reader cut
 * off mid-read is closed instead).
 */
export class StreamFollower {
  #open = true;
  readonly #reader: OutputReader;
  readonly #final: ReadonlySet<string>;
  #cursor: string;

  constructor(private readonly o: FollowOptions) {
    this.#reader = o.reader ?? o.readers.take();
    this.#final = new Set(o.kind.final);
    this.#cursor = o.cursor;
  }

  /** The last entry delivered. */
  get cursor(): string {
    return this.#cursor;
  }

  get open(): boolean {
    return this.#open;
  }

  /** Stops following at once (the client left, or the caller ended the stream). */
  stop(): void {
    if (!this.#open) return;
    this.#open = false;
    this.#reader.close();
  }

  /**
   * Resolves when the final entry was delivered or `stop` was called. `lead` is written first
   * (what the caller already knows the stream holds); the reader is given back even if it fails.
   */
  async run(lead?: () => Promise<void>): Promise<void> {
    const o = this.o;
    const read = () => {
      const pending = this.#reader.read(o.key, this.#cursor, o.count, o.blockMs);
      // Awaited later, or never when the client leaves first.
      pending.catch(() => {});
      return pending;
    };
    try {
      await lead?.();
      let next: Promise<OutputEntry[] | null> | undefined = o.firstRead ?? read();
      while (this.#open) {
        const entries: OutputEntry[] | null = await (next ?? read());
        next = undefined;
        if (!this.#open) return;
        if (!entries) {
          if (o.readAhead) next = read();
          await o.onQuiet?.();
          if (this.#open && o.offline && !(await o.offline.redis.exists(o.offline.heartbeatKey))) {
            if (!(await o.offline.close())) this.#open = false;
          }
          continue;
        }
        let ended = false;
        let upTo = entries.length;
        for (let i = 0; i < entries.length; i++) {
          const t = entries[i]!.t;
          if (t !== undefined && this.#final.has(t)) {
            ended = true;
            upTo = i + 1;
            break;
          }
        }
        const batch = upTo === entries.length ? entries : entries.slice(0, upTo);
        if (batch.length > 0) this.#cursor = batch[batch.length - 1]!.id;
        if (ended) this.#open = false;
        const delivered = o.onBatch(batch, ended);
        if (this.#open && o.readAhead) next = read();
        await delivered;
      }
    } catch (err) {
      if (this.#open) throw err;
    } finally {
      this.#open = false;
      // The pool keeps it only when it waits on nothing (read to its end, not cut off).
      o.readers.give(this.#reader);
    }
  }
}
