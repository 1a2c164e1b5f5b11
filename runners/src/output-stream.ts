import { StringDecoder } from 'node:string_decoder';
import { STREAM_MAX_ENTRIES, STREAM_TTL_SECONDS } from '@keel/contract/keys';
import type { ExitEvent } from '@keel/contract/workspaces';
import type { Redis } from 'ioredis';

/** Largest text in one stream entry. */
const ENTRY_CHARS = 64 * 1024;

/**
 * Appends an execution's output to its Redis Stream. At most one write is in flight:
 * whatever arrives meanwhile goes out in the next one, merged into entries of up to 64 KB.
 * A lone line leaves at once; a fast producer gets few, large entries. The stream is
 * capped and expires; the `exit` entry is always last.
 */
export class OutputStream {
  private pending: Array<['stdout' | 'stderr', string]> = [];
  private pendingChars = 0;
  private inFlightChars = 0;
  private writing: Promise<void> | undefined;
  private decoders = { stdout: new StringDecoder('utf8'), stderr: new StringDecoder('utf8') };

  constructor(
    private readonly redis: Redis,
    readonly key: string,
  ) {}

  write(kind: 'stdout' | 'stderr', chunk: Buffer): void {
    const text = this.decoders[kind].write(chunk);
    if (!text) return;
    this.pending.push([kind, text]);
    this.pendingChars += text.length;
    if (!this.writing) this.writing = this.drain();
  }

  /** Resolves when everything written so far is in Redis. */
  async flush(): Promise<void> {
    while (this.writing) await this.writing;
  }

  /** Output accepted but not yet acknowledged by Redis (characters). */
  backlogBytes(): number {
    return this.pendingChars + this.inFlightChars;
  }

  private async drain(): Promise<void> {
    // Let the rest of this tick's output join the first write.
    await new Promise((r) => setImmediate(r));
    try {
      while (this.pending.length > 0) {
        const batch = this.pending;
        this.inFlightChars = this.pendingChars;
        this.pending = [];
        this.pendingChars = 0;
        const multi = this.redis.multi();
        for (const [kind, text] of merge(batch)) {
          multi.xadd(this.key, 'MAXLEN', '~', STREAM_MAX_ENTRIES, '*', 't', kind, 'd', text);
        }
        multi.expire(this.key, STREAM_TTL_SECONDS);
        await multi.exec();
        this.inFlightChars = 0;
      }
    } finally {
      this.writing = undefined;
    }
  }

  async end(exit: ExitEvent): Promise<void> {
    for (const kind of ['stdout', 'stderr'] as const) {
      const rest = this.decoders[kind].end();
      if (rest) this.write(kind, Buffer.from(rest));
    }
    await this.flush();
    await this.redis
      .multi()
      .xadd(this.key, 'MAXLEN', '~', STREAM_MAX_ENTRIES, '*', 't', 'exit', 'd', JSON.stringify(exit))
      .expire(this.key, STREAM_TTL_SECONDS)
      .exec();
  }
}

/** Adjacent chunks of one stream become one entry (up to ENTRY_CHARS): same bytes, same order. */
function merge(batch: Array<['stdout' | 'stderr', string]>): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  let last: [string, string] | undefined;
  for (const [kind, text] of batch) {
    if (last && last[0] === kind && last[1].length + text.length <= ENTRY_CHARS) last[1] += text;
    else {
      last = [kind, text];
      out.push(last);
    }
  }
  return out;
}
