import type { Redis } from 'ioredis';

/** An input stream's entries as XREAD gives them: id, then the flat field list. */
export type InputEntries = Array<[id: string, fields: string[]]>;

/** Entries one read takes per stream at most. */
const COUNT = 256;
/** How long one read waits when nothing comes (a session joining rings the bell sooner). */
const BLOCK_MS = 10_000;
/** How long the bell stream lives unrung. */
const BELL_TTL_SECONDS = 24 * 3600;

interface Follower {
  cursor: string;
  onEntries(entries: InputEntries): void;
}

/**
 * Every terminal session's input on this runner, read by one blocking XREAD over all their
 * streams. With a connection and a read per session, each keystroke cost Redis and the runner a
 * reply, a new command and a wake-up of their own; here the sessions with input since the last
 * read share one reply and one command, so the busier the runner, the fewer of them per keystroke.
 *
 * The read also waits on a bell stream: a session that joins while a read waits rings it (an XADD
 * on the command connection), so its first keystrokes do not wait for the read to time out. The
 * bell's cursor is its last entry seen, never `$`, so a ring that reaches Redis before the read
 * it should wake still wakes it.
 */
export class InputHub {
  readonly #conn: Redis;
  readonly #followers = new Map<string, Follower>();
  #bellCursor = '0-0';
  #reading = false;
  #rung = false;
  #closed = false;

  constructor(
    private readonly redis: Redis,
    private readonly bell: string,
  ) {
    // Blocking reads wait out a Redis restart instead of failing after a few retries.
    this.#conn = redis.duplicate({ maxRetriesPerRequest: null });
    this.#conn.on('error', () => {});
  }

  /** Delivers the entries of `key` from its start, in order, until the returned function is called. */
  follow(key: string, onEntries: (entries: InputEntries) => void): () => void {
    const follower: Follower = { cursor: '0-0', onEntries };
    this.#followers.set(key, follower);
    if (this.#reading) this.#ring();
    else void this.#read();
    return () => {
      if (this.#followers.get(key) === follower) this.#followers.delete(key);
    };
  }

  close(): void {
    this.#closed = true;
    this.#conn.disconnect();
  }

  #ring(): void {
    if (this.#rung) return;
    this.#rung = true;
    void this.redis
      .multi()
      .xadd(this.bell, 'MAXLEN', '1', '*', 'r', '1')
      .expire(this.bell, BELL_TTL_SECONDS)
      .exec()
      .catch(() => {});
  }

  async #read(): Promise<void> {
    this.#reading = true;
    try {
      while (!this.#closed && this.#followers.size > 0) {
        // This read takes in every session there is now: a ring from before it is moot.
        this.#rung = false;
        const keys = [...this.#followers.keys()];
        const cursors = keys.map((k) => this.#followers.get(k)!.cursor);
        let res: Array<[string, InputEntries]> | null;
        try {
          res = (await this.#conn.xread(
            'COUNT',
            COUNT,
            'BLOCK',
            BLOCK_MS,
            'STREAMS',
            this.bell,
            ...keys,
            this.#bellCursor,
            ...cursors,
          )) as typeof res;
        } catch {
          if (this.#closed) return;
          await new Promise((r) => setTimeout(r, 500));
          continue;
        }
        for (const [key, entries] of res ?? []) {
          const last = entries[entries.length - 1];
          if (!last) continue;
          if (key === this.bell) {
            this.#bellCursor = last[0];
            continue;
          }
          const follower = this.#followers.get(key);
          if (!follower) continue;
          follower.cursor = last[0];
          follower.onEntries(entries);
        }
      }
    } finally {
      this.#reading = false;
    }
  }
}
