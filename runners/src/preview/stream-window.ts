/*
 * Writing and reading one direction of a preview connection (see @keel/contract/preview), bounded:
 * the writer coalesces what comes in one tick into one round trip (a small answer's head, body and
 * end go together) and waits while PREVIEW_WINDOW_ENTRIES entries are unread; the reader deletes
 * what it consumed, which is what opens the window again.
 */
import {
  PREVIEW_CHUNK_BYTES,
  PREVIEW_STREAM_TTL_SECONDS,
  PREVIEW_WINDOW_ENTRIES,
} from '@keel/contract/preview';
import type { Redis } from 'ioredis';

/** A reader that stopped reading for this long has gone: the connection is ended. */
const STALLED_MS = 60_000;
/** While the window has been full for less than this, it is polled every millisecond. */
const FAST_POLL_MS = 250;

/**
 * Adjacent `data` entries joined up to the chunk size: the workspace's socket and the engine's
 * exec stream hand over pieces far smaller than a chunk, and the window counts entries.
 */
export function coalesceData(
  batch: Array<[string, Buffer | string | undefined]>,
): Array<[string, Buffer | string | undefined]> {
  const out: Array<[string, Buffer | string | undefined]> = [];
  let run: Buffer[] = [];
  let runBytes = 0;
  const close = () => {
    if (run.length) out.push(['data', run.length === 1 ? run[0] : Buffer.concat(run, runBytes)]);
    run = [];
    runBytes = 0;
  };
  for (const entry of batch) {
    const [t, d] = entry;
    if (t !== 'data' || !Buffer.isBuffer(d)) {
      close();
      out.push(entry);
      continue;
    }
    if (runBytes + d.length > PREVIEW_CHUNK_BYTES) close();
    run.push(d);
    runBytes += d.length;
  }
  close();
  return out;
}

export class WindowedWriter {
  private queue: Array<[string, Buffer | string | undefined]> = [];
  private flushing: Promise<void> | undefined;
  private full = false;
  private waiters: Array<() => void> = [];
  failed: unknown;

  constructor(
    private readonly redis: Redis,
    private readonly key: string,
    private readonly onStalled: () => void,
  ) {}

  /** Queues an entry (data is cut to chunk size); resolves once there is room for more. */
  add(t: string, d?: Buffer | string): Promise<void> {
    if (d !== undefined && typeof d !== 'string' && d.length > PREVIEW_CHUNK_BYTES) {
      // A WebSocket message keeps its bounds: its pieces but the last are `wc` (continued).
      const message = t === 'wt' || t === 'wb';
      for (let at = 0; at < d.length; at += PREVIEW_CHUNK_BYTES) {
        const last = at + PREVIEW_CHUNK_BYTES >= d.length;
        this.queue.push([message && !last ? 'wc' : t, d.subarray(at, at + PREVIEW_CHUNK_BYTES)]);
      }
    } else {
      this.queue.push([t, d]);
    }
    this.schedule();
    return this.room();
  }

  /** Resolves when the window has room (at once, mostly). */
  room(): Promise<void> {
    if (!this.full) return Promise.resolve();
    return new Promise((r) => this.waiters.push(r));
  }

  /** Resolves once everything queued is in Redis. */
  async flushed(): Promise<void> {
    while (this.flushing || this.queue.length) {
      this.schedule();
      await this.flushing;
    }
  }

  private schedule(): void {
    if (this.flushing || !this.queue.length) return;
    this.flushing = new Promise<void>((r) => setImmediate(r))
      .then(() => this.flush())
      .catch((err: unknown) => {
        this.failed = err;
        this.queue = [];
      })
      .finally(() => {
        this.flushing = undefined;
        if (this.queue.length && !this.failed) this.schedule();
      });
  }

  private async flush(): Promise<void> {
    const batch = coalesceData(this.queue);
    this.queue = [];
    const multi = this.redis.multi();
    for (const [t, d] of batch) {
      if (d === undefined) multi.xadd(this.key, '*', 't', t);
      else multi.xadd(this.key, '*', 't', t, 'd', d);
    }
    multi.expire(this.key, PREVIEW_STREAM_TTL_SECONDS).xlen(this.key);
    const replies = await multi.exec();
    const length = Number(replies?.at(-1)?.[1] ?? 0);
    if (length < PREVIEW_WINDOW_ENTRIES) return this.open();
    // Full: wait for the reader to consume (it deletes what it read), polling. A reader that keeps
    // up opens the window within milliseconds, so the first polls are close together; one that
    // does not is polled gently.
    this.full = true;
    const since = Date.now();
    let wait = 1;
    for (;;) {
      await new Promise((r) => setTimeout(r, wait));
      wait = Date.now() - since < FAST_POLL_MS ? 1 : Math.min(wait * 2, 20);
      if ((await this.redis.xlen(this.key)) < PREVIEW_WINDOW_ENTRIES) return this.open();
      if (Date.now() - since > STALLED_MS) {
        this.onStalled();
        return this.open();
      }
    }
  }

  private open(): void {
    this.full = false;
    for (const w of this.waiters.splice(0)) w();
  }
}

export interface ReadEntry {
  id: string;
  t: string;
  d: Buffer | undefined;
}

/**
 * Follows a stream on a blocking connection of its own, deleting each batch once `onBatch` has
 * taken it. Ends at an entry whose type is in `final`, when `stop` is called, or after `idleMs`
 * with nothing new.
 */
export async function followWindow(
  blocking: Redis,
  redis: Redis,
  key: string,
  final: readonly string[],
  onBatch: (entries: ReadEntry[]) => Promise<void> | void,
  isStopped: () => boolean,
  idleMs = STALLED_MS,
): Promise<'final' | 'stopped' | 'idle'> {
  let cursor = '0-0';
  let quietSince = Date.now();
  while (!isStopped()) {
    const res = (await blocking.xreadBuffer('COUNT', 128, 'BLOCK', 1000, 'STREAMS', key, cursor)) as Array<
      [Buffer, Array<[Buffer, Buffer[]]>]
    > | null;
    if (!res) {
      if (Date.now() - quietSince > idleMs) return 'idle';
      continue;
    }
    quietSince = Date.now();
    const entries: ReadEntry[] = [];
    for (const [, list] of res) {
      for (const [id, fields] of list) {
        const e: ReadEntry = { id: id.toString(), t: '', d: undefined };
        for (let i = 0; i + 1 < fields.length; i += 2) {
          const k = fields[i]!.toString();
          if (k === 't') e.t = fields[i + 1]!.toString();
          else if (k === 'd') e.d = fields[i + 1]!;
        }
        entries.push(e);
      }
    }
    if (!entries.length) continue;
    cursor = entries.at(-1)!.id;
    await onBatch(entries);
    void redis.xdel(key, ...entries.map((e) => e.id)).catch(() => {});
    if (entries.some((e) => final.includes(e.t))) return 'final';
  }
  return 'stopped';
}
