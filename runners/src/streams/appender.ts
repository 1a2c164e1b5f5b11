import { isUtf8 } from 'node:buffer';
import type { StreamKind } from '@keel/contract/streams';
import type { Redis } from 'ioredis';
import { recorder, streamKindLabel } from '../metrics/recorder.ts';
import { type RespArg, RespConnectionError, writerBeside } from '../resp-writer.ts';

export interface AppenderOptions {
  /** Output kept at most (UTF-8 bytes) in a `cut` kind; the kind's own cap otherwise. */
  maxBytes?: number;
  /** Entries appended at most; past it appends are refused (so an edge-written first entry is never trimmed). */
  maxEntries?: number;
  /**
   * Wait one tick before the first write, so what a burst prints leaves as one write. Off where
   * the first piece is what someone waits for (an AI answer's first token).
   */
  coalesce: boolean;
  /** Renew the kind's TTL with every write (a stream the runner opened); off when the edge set it. */
  renewTtl: boolean;
  /** A write Redis refuses (out of memory, NOPERM) stops the stream, rather than losing that batch only. */
  stopWhenRefused?: boolean;
  /** Each `appendText` is one entry of its own, never joined to the one before (one message per entry). */
  entryPerAppend?: boolean;
  /** Called once, when appends are first dropped (past the byte cap, or a refused write that stops). */
  onStop?: () => void;
}

/** Why a stream stopped taking appends. */
export type StopReason = { cut: number } | { refused: string } | { entries: number };

type Segment = [type: string, data: Buffer | string];

/** A final entry: its type and data. */
export type FinalEntry = readonly [type: string, data: string];

/**
 * Appends a runner's entries to one Redis Stream of a described kind (`@keel/contract/streams`):
 * exec output, terminal output and AI answers all go through here.
 *
 * At most one write is in flight: what arrives meanwhile leaves with the next one, merged into
 * entries of up to the kind's `entryBytes` (a lone line leaves at once, a flood in few large
 * entries). Writes go through the RespWriter beside the ioredis client (the caller's buffers in
 * one vectored write, no copy into a command buffer; see resp-writer.ts); a batch whose
 * connection failed is sent again through ioredis, which waits for Redis to come back (an entry
 * may then be stored twice, as when ioredis resends a command after a reconnect).
 *
 * Bytes stay bytes (`appendBytes`): every entry is valid UTF-8 that ends on a character (a
 * character cut between chunks waits for its end; invalid bytes become U+FFFD, as a decoder
 * makes them). Text (`appendText`) is cut into entries between UTF-16 surrogate halves never.
 *
 * Bounded: past the byte cap (counted as data is queued, no extra round trip) bytes are cut on a
 * character and text is refused whole; past `maxEntries` appends are refused; `stopReason` says
 * why, `onStop` is called once, and `end` writes the final entry that says so. Entries before the
 * cap stay. Nothing here throws at its caller for Redis' sake. `backlogBytes` and `flush` are the
 * backpressure: a producer pauses past a few batches in flight and resumes once flushed.
 */
export class StreamAppender {
  readonly #redis: Redis;
  readonly #kind: StreamKind;
  readonly #o: AppenderOptions;
  /** The key as the RespWriter sends it: with the client's key prefix, as ioredis would add it. */
  readonly #prefixedKey: string;
  readonly #maxBytes: number;
  readonly #maxEntries: string;
  /** A rolling kind's byte window (`windowBytes`): the data sizes of the entries in it, oldest first from #windowHead. */
  readonly #windowBytes: number | undefined;
  #window: number[] = [];
  #windowHead = 0;
  #windowTotal = 0;
  readonly #entryChars: number;
  #pending: Segment[] = [];
  #pendingBytes = 0;
  /** When the oldest pending piece was queued (metrics: the lag of the write that takes it). */
  #pendingSince = 0;
  readonly #metrics = recorder();
  readonly #metricKind: string;
  #inFlightBytes = 0;
  #writing: Promise<void> | undefined;
  /** An unfinished UTF-8 character at the end of each type's bytes. */
  #tails = new Map<string, Buffer>();
  #accepted = 0;
  #entries = 0;
  #stopped: StopReason | undefined;
  #lost: string | undefined;

  constructor(
    redis: Redis,
    readonly key: string,
    kind: StreamKind,
    options: AppenderOptions,
  ) {
    this.#redis = redis;
    this.#kind = kind;
    this.#o = options;
    this.#prefixedKey = (redis.options?.keyPrefix ?? '') + key;
    this.#maxBytes = kind.bound === 'cut' ? (options.maxBytes ?? kind.maxBytes) : Number.POSITIVE_INFINITY;
    this.#maxEntries = String(kind.maxEntries);
    this.#windowBytes = kind.bound === 'rolling' ? kind.windowBytes : undefined;
    // UTF-16 units of at most three UTF-8 bytes each.
    this.#entryChars = Math.max(1, Math.floor(kind.entryBytes / 3));
    this.#metricKind = streamKindLabel(kind.name);
  }

  /** Appends bytes of type `type`; an unfinished character at their end waits for the next chunk. */
  appendBytes(type: string, chunk: Buffer): void {
    if (this.#stopped) return;
    const tail = this.#tails.get(type);
    const bytes = tail ? Buffer.concat([tail, chunk]) : chunk;
    const cut = completeLength(bytes);
    // Copied: a view would pin the whole chunk it came from.
    if (cut < bytes.length) this.#tails.set(type, Buffer.from(bytes.subarray(cut)));
    else if (tail) this.#tails.delete(type);
    this.#pushBytes(type, bytes.subarray(0, cut));
  }

  /** Appends text of type `type`; false when the stream is past a cap (this text and what follows are dropped). */
  appendText(type: string, text: string): boolean {
    if (this.#stopped) return false;
    if (!text) return true;
    const bytes = Buffer.byteLength(text);
    // Checked here, not only when writing: a write that ended before its first await would
    // leave the stream marked as writing for good.
    if (this.#accepted + bytes > this.#maxBytes) {
      this.#stop({ cut: this.#maxBytes });
      return false;
    }
    if (this.#entries >= (this.#o.maxEntries ?? Number.POSITIVE_INFINITY)) {
      this.#stop({ entries: this.#entries });
      return false;
    }
    this.#accepted += bytes;
    const last = this.#pending[this.#pending.length - 1];
    // Text of one type joins the piece before it (a rope, no array per append).
    if (!this.#o.entryPerAppend && last && last[0] === type && typeof last[1] === 'string') last[1] += text;
    else this.#pending.push([type, text]);
    this.#queued(bytes);
    return true;
  }

  /** Resolves when everything appended so far is in Redis (or lost). */
  async flush(): Promise<void> {
    while (this.#writing) await this.#writing;
  }

  /** Data accepted but not yet acknowledged by Redis. */
  backlogBytes(): number {
    return this.#pendingBytes + this.#inFlightBytes;
  }

  /** Why appends are dropped, once they are. */
  get stopReason(): StopReason | undefined {
    return this.#stopped;
  }

  /** Why a batch was lost (Redis refused it), when one was. */
  get lost(): string | undefined {
    return this.#lost;
  }

  /** The byte cap in force (infinite for a rolling kind). */
  get maxBytes(): number {
    return this.#maxBytes;
  }

  /**
   * Writes the final entries, last, after everything appended (and the unfinished characters
   * left, as a decoder makes them), with the stream's expiry (`ttlSeconds`: the kind's ended TTL
   * by default). `final` may be a function, to say what it learned from the last writes (a cap
   * reached). False when Redis refused it (then it is logged): readers learn of the end only when
   * the stream expires.
   */
  async end(
    final: readonly FinalEntry[] | (() => readonly FinalEntry[]),
    ttlSeconds?: number,
  ): Promise<boolean> {
    for (const [type, rest] of this.#tails) this.#pushBytes(type, Buffer.from(rest.toString('utf8')));
    this.#tails.clear();
    await this.flush();
    const entries = typeof final === 'function' ? final() : final;
    const ttl = ttlSeconds ?? this.#kind.endedTtlSeconds ?? this.#kind.ttlSeconds;
    const multi = this.#redis.multi();
    for (const [type, data] of entries) {
      multi.xadd(this.key, 'MAXLEN', '~', this.#maxEntries, '*', 't', type, 'd', data);
    }
    if (ttl !== null) multi.expire(this.key, ttl);
    try {
      const failed = (await multi.exec())?.find(([err]) => err)?.[0];
      if (failed) throw failed;
      return true;
    } catch (err) {
      console.error(
        JSON.stringify({
          level: 'error',
          msg: `the end of a stream (${this.#kind.name}) could not be written`,
          key: this.key,
          final: entries.map(([type]) => type),
          error: err instanceof Error ? err.message : String(err),
          at: new Date().toISOString(),
        }),
      );
      return false;
    }
  }

  #pushBytes(type: string, bytes: Buffer): void {
    if (bytes.length === 0 || this.#stopped) return;
    let text = isUtf8(bytes) ? bytes : Buffer.from(bytes.toString('utf8'));
    const room = this.#maxBytes - this.#accepted;
    if (text.length > room) {
      text = text.subarray(0, characterStart(text, room));
      this.#stop({ cut: this.#maxBytes });
      if (text.length === 0) return;
    }
    this.#accepted += text.length;
    this.#pending.push([type, text]);
    this.#queued(text.length);
  }

  #queued(bytes: number): void {
    if (this.#pendingBytes === 0 && this.#metrics.enabled) this.#pendingSince = performance.now();
    this.#pendingBytes += bytes;
    this.#writing ??= this.#drain();
  }

  async #drain(): Promise<void> {
    // Let the rest of this tick's output join the first write.
    if (this.#o.coalesce) await new Promise((r) => setImmediate(r));
    try {
      while (this.#pending.length > 0) {
        const batch = this.#pending;
        const since = this.#pendingSince;
        this.#inFlightBytes = this.#pendingBytes;
        this.#pending = [];
        this.#pendingBytes = 0;
        const entries = this.#entriesOf(batch);
        if (entries.length > 0) await this.#write(entries);
        if (this.#metrics.enabled) {
          this.#metrics.streamWritten(
            this.#metricKind,
            this.#inFlightBytes,
            (performance.now() - since) / 1000,
          );
        }
        this.#inFlightBytes = 0;
      }
    } catch (err) {
      // Refused (OOM, NOPERM…): this batch is lost, and with stopWhenRefused all that follows.
      this.#pending = [];
      this.#pendingBytes = 0;
      this.#inFlightBytes = 0;
      const why = err instanceof Error ? err.message : String(err);
      this.#lost = why;
      if (this.#o.stopWhenRefused) this.#stop({ refused: why });
      else console.error(JSON.stringify({ level: 'warn', msg: `${this.#kind.name} lost`, error: why }));
    } finally {
      this.#writing = undefined;
    }
  }

  /**
   * A batch as entries: adjacent bytes of one type become one entry (chunks are never cut, so
   * each entry ends where a chunk did: on a character; an entry is the list of its chunks, sent
   * as they are), text is cut into entries of at most the kind's size. Entries past `maxEntries`
   * are dropped and stop the stream.
   */
  #entriesOf(batch: Segment[]): Array<[string, Buffer[] | string]> {
    const out: Array<[string, Buffer[] | string]> = [];
    const limit = this.#o.maxEntries ?? Number.POSITIVE_INFINITY;
    let type: string | undefined;
    let parts: Buffer[] = [];
    let size = 0;
    const close = () => {
      if (type !== undefined && parts.length) out.push([type, parts]);
      parts = [];
      size = 0;
      type = undefined;
    };
    for (const [t, data] of batch) {
      if (typeof data === 'string') {
        close();
        for (let at = 0; at < data.length; ) {
          let end = Math.min(data.length, at + this.#entryChars);
          const last = data.charCodeAt(end - 1);
          if (end < data.length && last >= 0xd800 && last <= 0xdbff) end -= 1;
          out.push([t, at === 0 && end === data.length ? data : data.slice(at, end)]);
          at = end;
        }
        continue;
      }
      if (t !== type || size + data.length > this.#kind.entryBytes) {
        close();
        type = t;
      }
      parts.push(data);
      size += data.length;
    }
    close();
    if (this.#entries + out.length > limit) {
      out.length = Math.max(0, limit - this.#entries);
      this.#stop({ entries: limit });
    }
    this.#entries += out.length;
    return out;
  }

  async #write(entries: Array<[string, Buffer[] | string]>): Promise<void> {
    const ttl = this.#o.renewTtl ? this.#kind.ttlSeconds : null;
    // Plain commands, not MULTI: one connection keeps them in order, and a transaction would
    // copy every entry once more into one buffer before sending it.
    const maxLen = this.#maxLenAfter(entries);
    const commands: RespArg[][] = [];
    for (const [type, data] of entries) {
      commands.push(['XADD', this.#prefixedKey, 'MAXLEN', '~', maxLen, '*', 't', type, 'd', data]);
    }
    if (ttl !== null) commands.push(['EXPIRE', this.#prefixedKey, String(ttl)]);
    try {
      await Promise.all(writerBeside(this.#redis).send(commands));
    } catch (err) {
      if (!(err instanceof RespConnectionError)) throw err;
      const sent: Array<Promise<unknown>> = [];
      for (const [type, data] of entries) {
        const d = typeof data === 'string' ? data : data.length === 1 ? data[0]! : Buffer.concat(data);
        sent.push(this.#redis.xadd(this.key, 'MAXLEN', '~', maxLen, '*', 't', type, 'd', d));
      }
      if (ttl !== null) sent.push(this.#redis.expire(this.key, ttl));
      await Promise.all(sent);
    }
  }

  /**
   * The entry cap for a write of `entries`: the kind's, or, with a byte window, as many of the
   * newest entries as fit in it once these are added. Each XADD of the write trims to it, so
   * the last leaves the window (and an earlier one only entries older than it).
   */
  #maxLenAfter(entries: Array<[string, Buffer[] | string]>): string {
    if (this.#windowBytes === undefined) return this.#maxEntries;
    for (const [, data] of entries) {
      const bytes =
        typeof data === 'string' ? Buffer.byteLength(data) : data.reduce((n, b) => n + b.length, 0);
      this.#window.push(bytes);
      this.#windowTotal += bytes;
    }
    while (this.#window.length - this.#windowHead > 1 && this.#windowTotal > this.#windowBytes) {
      this.#windowTotal -= this.#window[this.#windowHead++]!;
    }
    if (this.#windowHead > 4_096) {
      this.#window = this.#window.slice(this.#windowHead);
      this.#windowHead = 0;
    }
    return String(Math.min(Number(this.#maxEntries), this.#window.length - this.#windowHead));
  }

  #stop(why: StopReason): void {
    if (this.#stopped) return;
    this.#stopped = why;
    this.#tails.clear();
    this.#o.onStop?.();
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
