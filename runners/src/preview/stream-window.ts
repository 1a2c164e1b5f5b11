/*
 * Writing and reading one direction of a preview connection (see @keel/contract/preview), bounded:
 * the writer coalesces what comes in one tick into one round trip (a small answer's head, body and
 * end go together), writes only what fits in the window (PreviewWindow: entries and bytes unread)
 * and waits while it is full; the reader deletes what it consumed, which opens the window again.
 */
import {
  PREVIEW_CHUNK_BYTES,
  PREVIEW_STREAM_TTL_SECONDS,
  PREVIEW_WINDOW_BYTES,
  PreviewWindow,
} from '@keel/contract/preview';
import type { Redis } from 'ioredis';
import type { RespArg, RespWriter } from '../resp-writer.ts';

/** A reader that stopped reading for this long has gone: the connection is ended. */
const STALLED_MS = 60_000;
/** While the window has been full for less than this, it is polled every millisecond. */
const FAST_POLL_MS = 250;
/**
 * A body that comes in pieces waits up to GATHER_MS for GATHER_BYTES before it is appended:
 * each entry costs both sides a round of commands and socket writes whatever its size, so a
 * download goes in fewer, larger entries. A head, an end or a message never waits.
 */
const GATHER_BYTES = 512 * 1024;
const GATHER_MS = 2;

type Queued = [string, Buffer | string | undefined];
/** An entry as written: its data as the pieces that make it (joined only where ioredis writes it). */
type Grouped = [string, Buffer[] | string | undefined];

/**
 * Adjacent `data` entries grouped up to the chunk size: the workspace's socket and the engine's
 * exec stream hand over pieces far smaller than a chunk, and the window counts entries.
 */
export function groupData(batch: Queued[]): Grouped[] {
  const out: Grouped[] = [];
  let run: Buffer[] = [];
  let runBytes = 0;
  const close = () => {
    if (run.length) out.push(['data', run]);
    run = [];
    runBytes = 0;
  };
  for (const [t, d] of batch) {
    if (t !== 'data' || !Buffer.isBuffer(d)) {
      close();
      out.push([t, Buffer.isBuffer(d) ? [d] : d]);
      continue;
    }
    if (runBytes + d.length > PREVIEW_CHUNK_BYTES) close();
    run.push(d);
    runBytes += d.length;
  }
  close();
  return out;
}

/** As groupData, each entry's pieces joined into one buffer. */
export function coalesceData(batch: Queued[]): Queued[] {
  return groupData(batch).map(([t, d]) => [t, Array.isArray(d) ? joined(d) : d]);
}

function joined(pieces: Buffer[]): Buffer {
  return pieces.length === 1 ? pieces[0]! : Buffer.concat(pieces);
}

export class WindowedWriter {
  private queue: Queued[] = [];
  private queuedBytes = 0;
  private flushing: Promise<void> | undefined;
  private full = false;
  private readonly window = new PreviewWindow();
  private waiters: Array<() => void> = [];
  /** Set while a flush waits to gather more of a body: starts it at once. */
  private gathered: (() => void) | undefined;
  failed: unknown;

  constructor(
    private readonly redis: Redis,
    private readonly key: string,
    private readonly onStalled: () => void,
    /** Where the appends go without ioredis's copies, when the runner's Redis allows it. */
    private readonly raw?: RespWriter,
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
    if (d !== undefined) this.queuedBytes += typeof d === 'string' ? d.length : d.length;
    if (this.gathered && (t !== 'data' || this.queuedBytes >= GATHER_BYTES)) this.gathered();
    this.schedule();
    return this.room();
  }

  /**
   * Resolves when the window has room and what waits to be written is less than a window (at once,
   * mostly): the producer slows down with the reader, and the runner holds at most about a window
   * per connection besides Redis's.
   */
  /** Whether `room()` would resolve at once. */
  hasRoom(): boolean {
    return !this.full && this.queuedBytes < PREVIEW_WINDOW_BYTES;
  }

  room(): Promise<void> {
    if (this.hasRoom()) return Promise.resolve();
    return new Promise((r) => this.waiters.push(r));
  }

  /** Resolves once everything queued is in Redis. */
  async flushed(): Promise<void> {
    while (this.flushing || this.queue.length) {
      this.schedule();
      this.gathered?.();
      await this.flushing;
    }
  }

  private schedule(): void {
    if (this.flushing || !this.queue.length) return;
    this.flushing = new Promise<void>((r) => setImmediate(r))
      .then(() => this.gather())
      .then(() => this.flush())
      .catch((err: unknown) => {
        this.failed = err;
        this.queue = [];
        this.queuedBytes = 0;
        this.open();
      })
      .finally(() => {
        this.flushing = undefined;
        if (this.queue.length && !this.failed) this.schedule();
      });
  }

  /** Waits a moment for more of a body that is all that is queued, and less than GATHER_BYTES. */
  private gather(): Promise<void> | undefined {
    if (this.queuedBytes >= GATHER_BYTES || this.queue.some(([t]) => t !== 'data')) return;
    return new Promise<void>((resolve) => {
      const timer = setTimeout(go, GATHER_MS);
      function go() {
        clearTimeout(timer);
        resolve();
      }
      this.gathered = () => {
        this.gathered = undefined;
        go();
      };
    }).finally(() => {
      this.gathered = undefined;
    });
  }

  private async flush(): Promise<void> {
    const batch = groupData(this.queue);
    this.queue = [];
    this.queuedBytes = 0;
    let at = 0;
    while (at < batch.length) {
      // What fits in the window goes in one round trip; the rest waits for the reader.
      let bytes = 0;
      let end = at;
      while (end < batch.length && this.window.fits(end - at + 1, bytes + sizeOf(batch[end]!))) {
        bytes += sizeOf(batch[end]!);
        end++;
      }
      if (end === at) {
        await this.waitFor(() => this.window.fits(1, sizeOf(batch[at]!)));
        continue;
      }
      const group = batch.slice(at, end);
      for (const entry of group) this.window.wrote(sizeOf(entry));
      this.window.seen(await this.append(group));
      at = end;
    }
    if (this.window.full) await this.waitFor(() => !this.window.full);
    this.open();
  }

  /** Writes the entries (and renews the expiry); the stream's length after them comes back. */
  private async append(group: Grouped[]): Promise<number> {
    if (this.raw) {
      const key = (this.redis.options.keyPrefix ?? '') + this.key;
      const commands: RespArg[][] = group.map(([t, d]) =>
        d === undefined ? ['XADD', key, '*', 't', t] : ['XADD', key, '*', 't', t, 'd', d],
      );
      commands.push(['EXPIRE', key, String(PREVIEW_STREAM_TTL_SECONDS)], ['XLEN', key]);
      // A refused command (an error reply) or a lost connection rejects.
      const replies = await Promise.all(this.raw.send(commands));
      return Number(replies.at(-1));
    }
    const multi = this.redis.multi();
    for (const [t, d] of group) {
      if (d === undefined) multi.xadd(this.key, '*', 't', t);
      else multi.xadd(this.key, '*', 't', t, 'd', Array.isArray(d) ? joined(d) : d);
    }
    multi.expire(this.key, PREVIEW_STREAM_TTL_SECONDS).xlen(this.key);
    const replies = await multi.exec();
    return Number(replies?.at(-1)?.[1] ?? 0);
  }

  /**
   * Waits until the reader consumed enough (it deletes what it read), polling the stream's length.
   * A reader that keeps up opens the window within milliseconds, so the first polls are close
   * together; one that does not is polled gently.
   */
  private async waitFor(room: () => boolean): Promise<void> {
    this.full = true;
    const since = Date.now();

    let wait = 1;
    for (;;) {
      await new Promise((r) => setTimeout(r, wait));
      wait = Date.now() - since < FAST_POLL_MS ? 1 : Math.min(wait * 2, 20);
      this.window.seen(await this.redis.xlen(this.key));
      if (room()) return;
      if (Date.now() - since > STALLED_MS) {
        this.onStalled();
        // Nobody reads: what is queued is dropped with the connection.
        throw new Error('the reader stopped reading');
      }
    }
  }

  private open(): void {
    this.full = false;
    for (const w of this.waiters.splice(0)) w();
  }
}

function sizeOf([, d]: Grouped): number {
  if (d === undefined) return 0;
  if (typeof d === 'string') return Buffer.byteLength(d);
  let n = 0;
  for (const p of d) n += p.length;
  return n;
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
