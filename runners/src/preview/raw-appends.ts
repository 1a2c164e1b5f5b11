/*
 * A plain RESP connection for the preview writers' appends (./stream-window.ts). ioredis copies a
 * Buffer argument twice on its way out (into the command's buffer, then into the pipeline's), and
 * at preview download rates those copies and the collections they cause were most of the runner's
 * time. Here an entry's pieces go to the socket as they are, in one writev per batch.
 *
 * Only for a Redis reached over plain TCP or a unix socket without Sentinel, as the edge's lean
 * stream reader; elsewhere the writers use ioredis. Replies are the simple kinds the appends get
 * (status, error, integer, bulk string); anything else ends the connection. Commands that were
 * sent when the connection ends fail; the next batch opens a new one.
 */
import net from 'node:net';
import type { Redis } from 'ioredis';

/** An argument: text, bytes, or bytes in pieces sent back to back as one argument. */
export type RawArg = string | Buffer | readonly Buffer[];
export type RawReply = string | number | null | Error;

interface Waiting {
  /** The login: a refusal ends the connection before any reply after it is handed out. */
  login?: boolean;
  left: number;
  replies: RawReply[];
  resolve(replies: RawReply[]): void;
  reject(err: Error): void;
}

const CRLF = '\r\n';
/** A reply line or bulk string longer than this is not an append's answer. */
const MAX_REPLY_BYTES = 64 * 1024;

export class RawAppends {
  private socket: net.Socket | undefined;
  private waiting: Waiting[] = [];
  private pending: Buffer = Buffer.alloc(0);
  private closed = false;

  private constructor(private readonly options: Redis['options']) {}

  /** A connection like `redis`'s, or undefined where it cannot be one (TLS, Sentinel). */
  static like(redis: Redis): RawAppends | undefined {
    const o = redis.options;
    if (o.tls || o.sentinels?.length) return undefined;
    return new RawAppends(o);
  }

  /** The key as ioredis would send it (its key prefix). */
  key(key: string): string {
    return (this.options.keyPrefix ?? '') + key;
  }

  /** Sends the commands in one write; resolves with their replies (errors as Error values). */
  send(commands: readonly (readonly RawArg[])[]): Promise<RawReply[]> {
    if (this.closed) return Promise.reject(new Error('closed'));
    const socket = this.socket ?? this.connect();
    const answer = new Promise<RawReply[]>((resolve, reject) =>
      this.waiting.push({ left: commands.length, replies: [], resolve, reject }),
    );
    socket.cork();
    let text = '';
    for (const args of commands) {
      text += `*${args.length}${CRLF}`;
      for (const a of args) {
        if (typeof a === 'string') {
          text += `$${Buffer.byteLength(a)}${CRLF}${a}${CRLF}`;
          continue;
        }
        const pieces = Buffer.isBuffer(a) ? [a] : a;
        let n = 0;
        for (const p of pieces) n += p.length;
        socket.write(`${text}$${n}${CRLF}`);
        text = CRLF;
        for (const p of pieces) if (p.length) socket.write(p);
      }
    }
    if (text) socket.write(text);
    socket.uncork();
    return answer;
  }

  close(): void {
    this.closed = true;
    this.fail(new Error('closed'));
  }

  private connect(): net.Socket {
    const o = this.options;
    const socket = o.path
      ? net.connect(o.path)
      : net.connect({ host: o.host ?? '127.0.0.1', port: o.port ?? 6379 });
    socket.setNoDelay(true);
    this.socket = socket;
    this.pending = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => this.received(chunk));
    socket.on('error', () => {});
    socket.on('close', () => {
      if (this.socket === socket) this.fail(new Error('the Redis connection closed'));
    });
    // Sent ahead of the first batch; a refusal fails it (and the connection).
    const hello: RawArg[][] = [];
    if (o.password) hello.push(o.username ? ['AUTH', o.username, o.password] : ['AUTH', o.password]);
    if (o.db) hello.push(['SELECT', String(o.db)]);
    if (hello.length) {
      this.send(hello).catch(() => {});
      this.waiting.at(-1)!.login = true;
    }
    return socket;
  }

  private fail(err: Error): void {
    const socket = this.socket;
    this.socket = undefined;
    socket?.destroy();
    for (const w of this.waiting.splice(0)) w.reject(err);
  }

  private received(chunk: Buffer): void {
    this.pending = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    let at = 0;
    for (;;) {
      const eol = this.pending.indexOf(CRLF, at);
      if (eol < 0) break;
      const type = this.pending[at];
      const line = this.pending.toString('latin1', at + 1, eol);
      let reply: RawReply;
      let next = eol + 2;
      if (type === 0x2b /* + */) reply = line;
      else if (type === 0x2d /* - */) reply = new Error(line);
      else if (type === 0x3a /* : */) reply = Number(line);
      else if (type === 0x24 /* $ */) {
        const n = Number(line);
        if (n < 0) reply = null;
        else if (n > MAX_REPLY_BYTES) {
          this.fail(new Error('unexpected reply'));
          return;
        } else {
          if (this.pending.length < next + n + 2) break;
          reply = this.pending.toString('utf8', next, next + n);
          next += n + 2;
        }
      } else {
        this.fail(new Error('unexpected reply'));
        return;
      }
      at = next;
      const w = this.waiting[0];
      if (!w) {
        this.fail(new Error('a reply nobody asked for'));
        return;
      }
      if (w.login && reply instanceof Error) {
        this.fail(new Error(`Redis refused the login: ${reply.message}`));
        return;
      }
      w.replies.push(reply);
      if (--w.left === 0) {
        this.waiting.shift();
        w.resolve(w.replies);
      }
    }
    if (this.pending.length - at > MAX_REPLY_BYTES) {
      this.fail(new Error('unexpected reply'));
      return;
    }
    this.pending = at === this.pending.length ? Buffer.alloc(0) : Buffer.from(this.pending.subarray(at));
  }
}
