import { isUtf8 } from 'node:buffer';
import { STREAM_MAX_ENTRIES, STREAM_TTL_SECONDS } from '@keel/contract/keys';
import type { ExitEvent } from '@keel/contract/workspaces';
import type { Redis } from 'ioredis';
import { RespConnectionError, writerBeside } from './resp-writer.ts';

/** Largest output in one stream entry. */
const ENTRY_BYTES = 256 * 1024;

type Kind = 'stdout' | 'stderr';

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
 */
export class OutputStream {
  private pending: Array<[Kind, Buffer]> = [];
  private pendingBytes = 0;
  private inFlightBytes = 0;
  private writing: Promise<void> | undefined;
  private tails: Record<Kind, Buffer | undefined> = { stdout: undefined, stderr: undefined };

  /** The key as the RespWriter sends it: with the client's key prefix, as ioredis would add it. */
  private readonly prefixedKey: string;

  constructor(
    private readonly redis: Redis,
    readonly key: string,
  ) {
    this.prefixedKey = (redis.options?.keyPrefix ?? '') + key;
  }

  write(kind: Kind, chunk: Buffer): void {
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

  private push(kind: Kind, bytes: Buffer): void {
    if (bytes.length === 0) return;
    const text = isUtf8(bytes) ? bytes : Buffer.from(bytes.toString('utf8'));
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
    } finally {
      this.writing = undefined;
    }
  }

  async end(exit: ExitEvent): Promise<void> {
    for (const kind of ['stdout', 'stderr'] as const) {
      const rest = this.tails[kind];
      this.tails[kind] = undefined;
      // An unfinished character at the very end: what a decoder makes of it.
      if (rest) this.push(kind, Buffer.from(rest.toString('utf8')));
    }
    await this.flush();
    await this.redis
      .multi()
      .xadd(this.key, 'MAXLEN', '~', STREAM_MAX_ENTRIES, '*', 't', 'exit', 'd', JSON.stringify(exit))
      .expire(this.key, STREAM_TTL_SECONDS)
      .exec();
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
