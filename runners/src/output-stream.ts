import { StringDecoder } from 'node:string_decoder';
import { STREAM_MAX_ENTRIES, STREAM_TTL_SECONDS } from '@keel/contract/keys';
import type { ExitEvent } from '@keel/contract/workspaces';
import type { Redis } from 'ioredis';

/** Bytes gathered before a flush is forced; smaller writes wait for the next tick. */
const FLUSH_BYTES = 64 * 1024;

/**
 * Appends an execution's output to its Redis Stream. Chunks that arrive within one tick
 * go out in one pipeline, which keeps throughput high without delaying a lone line.
 * The stream is capped and expires; the `exit` entry is always last.
 */
export class OutputStream {
  private pending: Array<['stdout' | 'stderr', string]> = [];
  private pendingBytes = 0;
  private inFlightBytes = 0;
  private scheduled = false;
  private flushing: Promise<void> = Promise.resolve();
  private decoders = { stdout: new StringDecoder('utf8'), stderr: new StringDecoder('utf8') };

  constructor(
    private readonly redis: Redis,
    readonly key: string,
  ) {}

  write(kind: 'stdout' | 'stderr', chunk: Buffer): void {
    const text = this.decoders[kind].write(chunk);
    if (!text) return;
    this.pending.push([kind, text]);
    this.pendingBytes += text.length;
    if (this.pendingBytes >= FLUSH_BYTES) void this.flush();
    else if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => void this.flush());
    }
  }

  /** Resolves when everything written so far is in Redis; lets callers apply backpressure. */
  flush(): Promise<void> {
    this.scheduled = false;
    if (this.pending.length === 0) return this.flushing;
    const batch = this.pending;
    const batchBytes = this.pendingBytes;
    this.pending = [];
    this.pendingBytes = 0;
    this.inFlightBytes += batchBytes;
    this.flushing = this.flushing.then(async () => {
      const multi = this.redis.multi();
      // Adjacent chunks of one stream are joined: fewer entries, same bytes, same order.
      let last: [string, string] | undefined;
      const merged: Array<[string, string]> = [];
      for (const [k, t] of batch) {
        if (last && last[0] === k && last[1].length + t.length <= FLUSH_BYTES) last[1] += t;
        else {
          last = [k, t];
          merged.push(last);
        }
      }
      for (const [k, t] of merged)
        multi.xadd(this.key, 'MAXLEN', '~', STREAM_MAX_ENTRIES, '*', 't', k, 'd', t);
      multi.expire(this.key, STREAM_TTL_SECONDS);
      try {
        await multi.exec();
      } finally {
        this.inFlightBytes -= batchBytes;
      }
    });
    return this.flushing;
  }

  /** Bytes written but not yet acknowledged by Redis. */
  backlogBytes(): number {
    return this.pendingBytes + this.inFlightBytes;
  }

  async end(exit: ExitEvent): Promise<void> {
    for (const kind of ['stdout', 'stderr'] as const) {
      const rest = this.decoders[kind].end();
      if (rest) this.pending.push([kind, rest]);
    }
    await this.flush();
    await this.redis
      .multi()
      .xadd(this.key, 'MAXLEN', '~', STREAM_MAX_ENTRIES, '*', 't', 'exit', 'd', JSON.stringify(exit))
      .expire(this.key, STREAM_TTL_SECONDS)
      .exec();
  }
}
