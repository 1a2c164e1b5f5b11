import { connect, type Socket } from 'node:net';
import type { Redis } from 'ioredis';

/** One output entry: its id, type and data (the bytes Redis holds). */
export interface OutputEntry {
  id: string;
  t: string | undefined;
  d: Uint8Array | undefined;
}

/**
 * Reads an execution's output stream with XREAD BLOCK on a connection of its own. An
 * entry's data may be a view of the reader's buffer: valid until the next `read` call.
 */
export interface OutputReader {
  /**
   * `consumed`: ids of entries of `key` the caller is done with, deleted (XDEL) in the same write
   * as the read, so that a windowed stream's writer sees them gone without a command of its own.
   */
  read(
    key: string,
    from: string,
    count: number,
    blockMs: number,
    consumed?: readonly string[],
  ): Promise<OutputEntry[] | null>;
  /**
   * Runs a Lua script and, in the same write, the first read of a stream the script makes:
   * Redis takes the read up as soon as the script is done, so the stream's first entries come
   * without a round trip after the script's answer. While the script's answer is not 1 the
   * read waits on a stream that may never come: give the reader back (it is closed then).
   * Undefined where the reader cannot (ioredis); the caller then runs the script itself.
   */
  evalThenRead(
    script: string,
    keys: readonly string[],
    args: readonly (string | number)[],
    read: StreamRead,
  ): EvalThenRead | undefined;
  /**
   * Deletes entries of `key` (XDEL) with the next command this reader sends, or as it closes:
   * no write of its own for a stream's last entries, which no read of that stream follows.
   */
  discard(key: string, ids: readonly string[]): void;
  close(): void;
  /** Connected, with no command waiting: it may serve another stream (see ReaderPool). */
  readonly idle: boolean;
  /** The bytes of the reader's own buffer (undefined where ioredis reads). */
  readonly heldBytes?: number;
}

/** One XREAD: from just after `from`, at most `count` entries, waiting up to `blockMs`. */
export interface StreamRead {
  key: string;
  from: string;
  count: number;
  blockMs: number;
}

export interface EvalThenRead {
  /** The script's answer (a Redis error reply rejects). */
  result: Promise<unknown>;
  /** The read's entries, as `read` gives them. */
  entries: Promise<OutputEntry[] | null>;
}

/**
 * Readers whose stream ended, kept for the next one: a reader that read its stream to the end
 * sits between commands, and taking it back costs nothing, where a new one costs a connection
 * handshake on both ends just as a stream starts. Only lean readers are kept (Node, plain TCP).
 */
export class ReaderPool {
  #idle: OutputReader[] = [];
  #closed = false;

  constructor(
    private readonly redis: () => Redis,
    private readonly max = 32,
  ) {}

  take(): OutputReader {
    for (;;) {
      const reader = this.#idle.pop();
      if (!reader) return outputReader(this.redis());
      // Its connection may have closed while it waited (Redis restarted).
      if (reader.idle) return reader;
      reader.close();
    }
  }

  /** A reader whose stream is over; it is closed unless it can be kept. */
  give(reader: OutputReader): void {
    // Only a lean reader is ever idle: ioredis does not say whether a command is waiting.
    if (!this.#closed && reader.idle && this.#idle.length < this.max) {
      this.#idle.push(reader);
    } else {
      reader.close();
    }
  }

  close(): void {
    this.#closed = true;
    for (const reader of this.#idle.splice(0)) reader.close();
  }
}

/** The reader for one stream: a lean one on Node over plain TCP, else ioredis. */
export function outputReader(redis: Redis): OutputReader {
  const o = redis.options;
  const lean =
    typeof process !== 'undefined' &&
    typeof process.versions?.node === 'string' &&
    (globalThis as { navigator?: { userAgent?: string } }).navigator?.userAgent !== 'Cloudflare-Workers' &&
    !o.tls &&
    !o.path &&
    // Behind Redis Sentinel the primary is learnt per connection: only ioredis asks for it.
    !o.sentinels;
  return lean ? new FallbackReader(redis, new LeanReader(o)) : new IoredisReader(redis);
}

/** ioredis: every read allocates its socket chunks and a copy of each entry. */
class IoredisReader implements OutputReader {
  private readonly conn: Redis;
  constructor(redis: Redis) {
    // A stream waits out a Redis restart or failover: its reads are not refused as a request's are.
    this.conn = redis.duplicate({ maxRetriesPerRequest: null, commandTimeout: undefined });
  }
  async read(
    key: string,
    from: string,
    count: number,
    blockMs: number,
    consumed?: readonly string[],
  ): Promise<OutputEntry[] | null> {
    if (consumed?.length) void this.conn.xdel(key, ...consumed).catch(() => {});
    const res = (await this.conn.xreadBuffer(
      'COUNT',
      count,
      'BLOCK',
      blockMs,
      'STREAMS',
      key,
      from,
    )) as Array<[Buffer, Array<[Buffer, Buffer[]]>]> | null;
    if (!res) return null;
    const out: OutputEntry[] = [];
    for (const [, entries] of res) {
      for (const [id, fields] of entries) out.push(entryOf(id.toString(), fields));
    }
    return out;
  }
  evalThenRead(): undefined {
    return undefined;
  }
  discard(key: string, ids: readonly string[]): void {
    if (ids.length) void this.conn.xdel(key, ...ids).catch(() => {});
  }
  close(): void {
    this.conn.disconnect();
  }
  // ioredis does not say whether a command is waiting: never handed on.
  readonly idle = false;
}

function entryOf(id: string, flat: readonly Buffer[] | null): OutputEntry {
  const e: OutputEntry = { id, t: undefined, d: undefined };
  if (!flat) return e;
  for (let i = 0; i + 1 < flat.length; i += 2) {
    const k = flat[i]!;
    if (k.length !== 1) continue;
    if (k[0] === 0x74 /* t */) e.t = flat[i + 1]!.toString();
    else if (k[0] === 0x64 /* d */) e.d = flat[i + 1]!;
  }
  return e;
}

class ConnectionLost extends Error {}

/**
 * The lean reader, and ioredis once its connection failed: ioredis reconnects and waits
 * for Redis to come back, so a stream outlives a Redis restart as it always did.
 */
class FallbackReader implements OutputReader {
  private lean: LeanReader | undefined;
  private slow: IoredisReader | undefined;
  private closed = false;
  constructor(
    private readonly redis: Redis,
    lean: LeanReader,
  ) {
    this.lean = lean;
  }
  read(
    key: string,
    from: string,
    count: number,
    blockMs: number,
    consumed?: readonly string[],
  ): Promise<OutputEntry[] | null> {
    const read = { key, from, count, blockMs, consumed };
    return this.lean
      ? this.orElsewhere(this.lean.read(key, from, count, blockMs, consumed), read)
      : this.elsewhere(read);
  }
  evalThenRead(
    script: string,
    keys: readonly string[],
    args: readonly (string | number)[],
    read: StreamRead,
  ): EvalThenRead | undefined {
    const lean = this.lean?.evalThenRead(script, keys, args, read);
    return lean && { result: lean.result, entries: this.orElsewhere(lean.entries, read) };
  }
  /** A lean read, or, when its connection failed, the same read through ioredis from then on. */
  private orElsewhere(lean: Promise<OutputEntry[] | null>, read: StreamRead): Promise<OutputEntry[] | null> {
    return lean.catch((err: unknown) => {
      if (!(err instanceof ConnectionLost) || this.closed) throw err;
      this.lean?.close();
      this.lean = undefined;
      return this.elsewhere(read);
    });
  }
  private elsewhere({
    key,
    from,
    count,
    blockMs,
    consumed,
  }: StreamRead & { consumed?: readonly string[] }): Promise<OutputEntry[] | null> {
    this.slow ??= new IoredisReader(this.redis);
    // The lean connection may have lost the deletes with it: XDEL again is harmless.
    return this.slow.read(key, from, count, blockMs, consumed);
  }
  discard(key: string, ids: readonly string[]): void {
    if (this.lean) {
      this.lean.discard(key, ids);
      return;
    }
    this.slow ??= new IoredisReader(this.redis);
    this.slow.discard(key, ids);
  }
  close(): void {
    this.closed = true;
    this.lean?.close();
    this.slow?.close();
  }
  get idle(): boolean {
    return !this.closed && this.lean !== undefined && this.lean.idle;
  }
  get heldBytes(): number | undefined {
    return this.lean?.heldBytes;
  }
}

/** The smallest buffer a reader takes once replies arrive; an idle stream holds none. */
const MIN_BYTES = 4 * 1024;
/** A grown buffer is let go when replies are small again, above this size. */
const KEEP_BYTES = 256 * 1024;
/**
 * ... and when no large reply came for this long: a download's reads alternate full windows with
 * single entries, and letting the buffer go at each small one regrew it, by doubling and copying,
 * for the next full one (the edge's CPU per MiB of a preview download doubled).
 */
const KEEP_MS = 1_000;
const NO_BYTES = Buffer.alloc(0);
const CR = 0x0d;
/**
 * Where every lean reader's socket reads land before they join their reply: one buffer for
 * the process, since each read is copied out before the next one is made.
 */
const landing = Buffer.allocUnsafe(64 * 1024);

type Value = Buffer | number | null | Error | Value[];

/**
 * XREAD on a socket that reads into a buffer of the process (Node's `onread`) and appends
 * each read to the reply being assembled: no buffer per socket read and no copy per entry
 * that spans reads, which is what ioredis costs per byte. Replies are parsed where they lie
 * and entries handed out as views, valid until the next read, after which the next reply
 * is assembled from the start of the same buffer. It grows to hold the largest reply and
 * shrinks again when replies are small.
 */
class LeanReader {
  private readonly socket: Socket;
  // Allocated when replies come: a thousand open streams waiting on quiet commands hold none.
  private buf = NO_BYTES;
  /** Unparsed bytes are buf[start, end). */
  private start = 0;
  private end = 0;
  /** Views of buf[0, start) may be in use: set when a reply is handed out, cleared by the next read. */
  private lent = false;
  private lastReply = 0;
  /** When a reply last needed an eighth of the buffer or more (see KEEP_MS). */
  private bigAt = 0;
  private waiting: Array<{ resolve(v: Value): void; reject(e: Error): void }> = [];
  private error: Error | undefined;
  private readonly prefix: string;
  /** Commands that leave with the next write (see `discard`); their replies are not waited on. */
  private later: string[][] = [];

  constructor(o: Redis['options']) {
    this.prefix = o.keyPrefix ?? '';
    this.socket = connect({
      host: o.host ?? '127.0.0.1',
      port: o.port ?? 6379,
      ...(o.family ? { family: o.family } : {}),
      onread: {
        buffer: landing,
        callback: (n: number, data: Uint8Array) => {
          this.received(data, n);
          return true;
        },
      },
    });
    this.socket.setNoDelay(true);
    this.socket.setKeepAlive(true);
    const timer = setTimeout(
      () => this.socket.destroy(new Error('connect timed out')),
      o.connectTimeout ?? 10_000,
    );
    this.socket.once('connect', () => clearTimeout(timer));
    this.socket.on('error', (err) => {
      this.error ??= err;
    });
    this.socket.on('close', () => {
      clearTimeout(timer);
      const waiting = this.waiting;
      this.waiting = [];
      const why = this.error ? `: ${this.error.message}` : '';
      for (const w of waiting) w.reject(new ConnectionLost(`the Redis connection closed${why}`));
    });
    const setup: string[][] = [];
    if (o.password) setup.push(o.username ? ['AUTH', o.username, o.password] : ['AUTH', o.password]);
    if (o.db) setup.push(['SELECT', String(o.db)]);
    for (const args of setup) {
      this.send([args])[0]!.then(
        (v) => {
          if (v instanceof Error) this.socket.destroy(v);
        },
        () => {},
      );
    }
  }

  read(
    key: string,
    from: string,
    count: number,
    blockMs: number,
    consumed?: readonly string[],
  ): Promise<OutputEntry[] | null> {
    this.release();
    const read = this.xread({ key, from, count, blockMs });
    if (!consumed?.length) return this.send([read])[0]!.then(entriesOf);
    // XDEL's answer (a count, or an error the read will meet too) is not waited on.
    const [deleted, reply] = this.send([['XDEL', this.prefix + key, ...consumed], read]);
    deleted!.catch(() => {});
    return reply!.then(entriesOf);
  }

  evalThenRead(
    script: string,
    keys: readonly string[],
    args: readonly (string | number)[],
    read: StreamRead,
  ): EvalThenRead {
    this.release();
    const evalArgs = ['EVAL', script, String(keys.length), ...keys.map((k) => this.prefix + k)];
    for (const a of args) evalArgs.push(String(a));
    const [result, entries] = this.send([evalArgs, this.xread(read)]);
    return {
      result: result!.then((v) => {
        if (v instanceof Error) throw v;
        return v;
      }),
      entries: entries!.then(entriesOf),
    };
  }

  /** The caller is done with the last reply's views. */
  private release(): void {
    this.lent = false;
    if (this.start === this.end) {
      this.start = 0;
      this.end = 0;
      // A buffer grown for a burst of output is let go once replies are small again.
      if (
        this.buf.length > KEEP_BYTES &&
        this.lastReply * 8 < this.buf.length &&
        Date.now() - this.bigAt > KEEP_MS
      )
        this.buf = NO_BYTES;
    }
  }

  private xread({ key, from, count, blockMs }: StreamRead): string[] {
    return ['XREAD', 'COUNT', String(count), 'BLOCK', String(blockMs), 'STREAMS', this.prefix + key, from];
  }

  discard(key: string, ids: readonly string[]): void {
    if (ids.length) this.later.push(['XDEL', this.prefix + key, ...ids]);
  }

  close(): void {
    // What waits for the next write leaves now, ahead of the connection's end.
    if (this.later.length && !this.socket.destroyed && this.socket.writable)
      this.socket.end(encode(this.later.splice(0)));
    else this.socket.destroy();
  }

  get idle(): boolean {
    return !this.socket.destroyed && this.waiting.length === 0 && this.error === undefined;
  }

  get heldBytes(): number {
    return this.buf.length;
  }

  /** Sends commands in one write (after any `later`); a promise of each one's reply, in order. */
  private send(commands: readonly (readonly string[])[]): Array<Promise<Value>> {
    if (this.socket.destroyed) {
      return commands.map(() => Promise.reject(new ConnectionLost('the Redis connection closed')));
    }
    const later = this.later.splice(0);
    this.socket.write(encode([...later, ...commands]));
    for (const _ of later) this.waiting.push({ resolve() {}, reject() {} });
    return commands.map(
      () => new Promise<Value>((resolve, reject) => this.waiting.push({ resolve, reject })),
    );
  }

  private received(data: Uint8Array, n: number): void {
    if (this.buf.length - this.end < n) {
      const keep = this.end - this.start;
      if (!this.lent && keep + n <= this.buf.length) {
        this.buf.copyWithin(0, this.start, this.end);
      } else {
        // A new buffer, never this one written over: views of the last reply may be in use.
        const grown = Buffer.allocUnsafe(Math.max(2 * (keep + n), MIN_BYTES));
        this.buf.copy(grown, 0, this.start, this.end);
        this.buf = grown;
      }
      this.start = 0;
      this.end = keep;
    }
    this.buf.set(n === data.length ? data : data.subarray(0, n), this.end);
    this.end += n;
    try {
      while (this.waiting.length > 0 && this.start < this.end) {
        const parsed = parse(this.buf, this.start, this.end);
        if (!parsed) break;
        this.lastReply = parsed[1] - this.start;
        if (this.lastReply * 8 >= this.buf.length) this.bigAt = Date.now();
        this.start = parsed[1];
        this.lent = true;
        this.waiting.shift()!.resolve(parsed[0]);
      }
      if (this.waiting.length === 0 && this.start < this.end) throw new Error('a reply to no command');
    } catch (err) {
      this.socket.destroy(err as Error);
    }
  }
}

/** Commands in RESP. */
function encode(commands: readonly (readonly string[])[]): string {
  let out = '';
  for (const args of commands) {
    out += `*${args.length}\r\n`;
    for (const a of args) out += `$${Buffer.byteLength(a)}\r\n${a}\r\n`;
  }
  return out;
}

/** An XREAD reply as entries (views of the reader's buffer); null when the read timed out. */
function entriesOf(reply: Value): OutputEntry[] | null {
  if (reply instanceof Error) throw reply;
  if (reply === null) return null;
  if (!Array.isArray(reply)) throw new Error('unexpected XREAD reply');
  const out: OutputEntry[] = [];
  for (const stream of reply) {
    const entries = (stream as Value[])[1] as Value[];
    for (const entry of entries) {
      const [id, fields] = entry as [Buffer, Buffer[] | null];
      out.push(entryOf(id.toString('latin1'), fields));
    }
  }
  return out;
}

/** One RESP2 value at `at`, bulk strings as views; undefined while it is incomplete. */
function parse(buf: Buffer, at: number, end: number): [Value, number] | undefined {
  // Headers are short: a loop that stops at `end` rather than a search through the rest of the buffer.
  let cr = at;
  while (cr < end && buf[cr] !== CR) cr++;
  if (cr + 1 >= end) return undefined;
  const type = buf[at];
  const line = buf.toString('latin1', at + 1, cr);
  const next = cr + 2;
  switch (type) {
    case 0x2b /* + */:
      return [Buffer.from(line, 'latin1'), next];
    case 0x2d /* - */:
      return [new Error(line), next];
    case 0x3a /* : */:
      return [Number(line), next];
    case 0x24 /* $ */:
      {
        const len = Number(line);
        if (len < 0) return [null, next];
        if (next + len + 2 > end) return undefined;
        return [buf.subarray(next, next + len), next + len + 2];
      }
    case 0x2a /* * */:
      {
        const len = Number(line);
        if (len < 0) return [null, next];
        const items: Value[] = [];
        let pos = next;
        for (let i = 0; i < len; i++) {
          const item = parse(buf, pos, end);
          if (!item) return undefined;
          items.push(item[0]);
          pos = item[1];
        }
        return [items, pos];
      }
    default:
      throw new Error(`unexpected reply type ${type}`);
  }
}
