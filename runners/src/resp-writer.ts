import { connect as netConnect, type Socket } from 'node:net';
import { type ConnectionOptions, connect as tlsConnect } from 'node:tls';
import type { Redis } from 'ioredis';

/** One argument of a command; an array is one argument made of several pieces, sent as they are. */
export type RespArg = string | Buffer | readonly Buffer[];
export type RespReply = Buffer | number | null;

/** The connection failed or closed before Redis answered: the command may or may not have run. */
export class RespConnectionError extends Error {
  override name = 'RespConnectionError';
}

/** An error reply from Redis (WRONGTYPE, NOPERM, OOM…): the command did not run. */
export class RespReplyError extends Error {
  override name = 'RespReplyError';
}

export interface RespWriterOptions {
  host?: string;
  port?: number;
  path?: string | null;
  family?: number;
  username?: string | null;
  password?: string | null;
  db?: number;
  tls?: ConnectionOptions | null | undefined;
  connectTimeout?: number;
}

const CR = 0x0d;

/**
 * A minimal Redis client for write-heavy commands whose replies are simple (status, error,
 * integer, bulk string): each command goes out as its header and the caller's own buffers
 * in one vectored write, where ioredis would copy every argument into a new buffer first.
 * That copy is most of what output streaming allocates, and the allocations are what
 * made the runner collect garbage every few dozen milliseconds.
 *
 * One connection, opened on first use with the same credentials and database as the
 * ioredis client it stands beside; replies are matched in order. When the connection
 * fails, every command waiting on it is rejected with RespConnectionError (never left
 * waiting), and the next command opens a new one.
 */
export class RespWriter {
  private conn: Connection | undefined;
  private closed = false;

  constructor(private readonly options: RespWriterOptions) {}

  /** Sends commands in one write; each promise settles with its command's reply. */
  send(commands: readonly (readonly RespArg[])[]): Array<Promise<RespReply>> {
    if (this.closed) {
      const err = new RespConnectionError('the connection is closed');
      return commands.map(() => Promise.reject(err));
    }
    return (this.conn ?? this.open()).send(commands);
  }

  /** Closes the connection for good; commands still waiting are rejected. */
  close(): void {
    this.closed = true;
    this.conn?.destroy();
  }

  private open(): Connection {
    const o = this.options;
    const socket = o.tls
      ? tlsConnect({ ...(o.path ? { path: o.path } : { host: o.host, port: o.port }), ...o.tls })
      : o.path
        ? netConnect(o.path)
        : netConnect({
            host: o.host ?? '127.0.0.1',
            port: o.port ?? 6379,
            ...(o.family ? { family: o.family } : {}),
          });
    const conn = new Connection(socket);
    this.conn = conn;
    const timer = setTimeout(() => conn.destroy(new Error('connect timed out')), o.connectTimeout ?? 10_000);
    socket.once(o.tls ? 'secureConnect' : 'connect', () => clearTimeout(timer));
    socket.on('close', () => {
      clearTimeout(timer);
      if (this.conn === conn) this.conn = undefined;
    });
    const setup: RespArg[][] = [];
    if (o.password) setup.push(o.username ? ['AUTH', o.username, o.password] : ['AUTH', o.password]);
    if (o.db) setup.push(['SELECT', String(o.db)]);
    if (setup.length > 0) conn.login(setup);
    return conn;
  }
}

/** One socket and the commands waiting on it, in the order they were sent. */
class Connection {
  private waiting: Array<{ resolve(r: RespReply): void; reject(e: Error): void }> = [];
  /** Reply bytes not parsed yet (replies are small: ids, integers, OK). */
  private input: Buffer | undefined;
  /** Corked until the end of this turn of the event loop (or until the login is answered). */
  private corked = false;
  private loggingIn = false;
  private error: Error | undefined;

  constructor(private readonly socket: Socket) {
    socket.setNoDelay(true);
    socket.setKeepAlive(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (err) => {
      this.error ??= err;
    });
    socket.on('close', () => {
      const why = this.error ? `: ${this.error.message}` : '';
      this.fail(new RespConnectionError(`the Redis connection closed${why}`));
    });
  }

  send(commands: readonly (readonly RespArg[])[]): Array<Promise<RespReply>> {
    if (this.socket.destroyed) {
      const err = new RespConnectionError('the Redis connection closed');
      return commands.map(() => Promise.reject(err));
    }
    // Every command of this turn goes out in one vectored write at its end (setImmediate runs
    // once the turn's I/O callbacks are done): many terminals' output then costs the runner and
    // Redis one write per turn, not one per stream.
    if (!this.corked) {
      this.corked = true;
      this.socket.cork();
      setImmediate(() => this.flush());
    }
    return this.write(commands);
  }

  /**
   * Sends the login (AUTH, SELECT) at once, and holds every later command until it is answered:
   * a command sent behind a refused AUTH would run as whoever the connection is without it.
   */
  login(setup: readonly (readonly RespArg[])[]): void {
    this.loggingIn = true;
    Promise.all(this.write(setup)).then(
      () => {
        this.loggingIn = false;
        this.flush();
      },
      (err: Error) => this.destroy(err),
    );
  }

  private flush(): void {
    if (this.loggingIn || !this.corked) return;
    this.corked = false;
    this.socket.uncork();
  }

  /** Encodes commands onto the socket (written now, or at the flush while it is corked). */
  private write(commands: readonly (readonly RespArg[])[]): Array<Promise<RespReply>> {
    const socket = this.socket;
    const replies: Array<Promise<RespReply>> = [];
    for (const args of commands) {
      let head = `*${args.length}\r\n`;
      for (const arg of args) {
        if (typeof arg === 'string') {
          head += `$${Buffer.byteLength(arg)}\r\n${arg}\r\n`;
          continue;
        }
        const pieces = Buffer.isBuffer(arg) ? [arg] : (arg as readonly Buffer[]);
        let size = 0;
        for (const p of pieces) size += p.length;
        socket.write(`${head}$${size}\r\n`);
        for (const p of pieces) if (p.length > 0) socket.write(p);
        head = '\r\n';
      }
      socket.write(head);
      replies.push(new Promise<RespReply>((resolve, reject) => this.waiting.push({ resolve, reject })));
    }
    return replies;
  }

  destroy(err?: Error): void {
    if (err) this.error ??= err;
    this.socket.destroy();
  }

  private fail(err: Error): void {
    const waiting = this.waiting;
    this.waiting = [];
    for (const w of waiting) w.reject(err);
  }

  private onData(chunk: Buffer): void {
    const buf = this.input ? Buffer.concat([this.input, chunk]) : chunk;
    let at = 0;
    while (at < buf.length) {
      const end = buf.indexOf(CR, at);
      if (end === -1 || end + 1 >= buf.length) break;
      const type = buf[at];
      const line = buf.toString('latin1', at + 1, end);
      let next = end + 2;
      let reply: RespReply | Error;
      if (type === 0x2b /* + */) reply = Buffer.from(line, 'latin1');
      else if (type === 0x2d /* - */) reply = new RespReplyError(line);
      else if (type === 0x3a /* : */) reply = Number(line);
      else if (type === 0x24 /* $ */) {
        const len = Number(line);
        if (len < 0) reply = null;
        else {
          if (next + len + 2 > buf.length) break;
          reply = Buffer.from(buf.subarray(next, next + len));
          next += len + 2;
        }
      } else {
        this.destroy(new Error(`unexpected reply type ${JSON.stringify(String.fromCharCode(type ?? 0))}`));
        return;
      }
      at = next;
      const w = this.waiting.shift();
      if (!w) {
        this.destroy(new Error('a reply to no command'));
        return;
      }
      if (reply instanceof Error) w.reject(reply);
      else w.resolve(reply);
    }
    this.input = at < buf.length ? Buffer.from(buf.subarray(at)) : undefined;
  }
}

const writers = new WeakMap<Redis, RespWriter>();

/**
 * The writer that stands beside an ioredis client: same server, user and database, one
 * per client, closed when the client ends.
 */
export function writerBeside(redis: Redis): RespWriter {
  let writer = writers.get(redis);
  if (!writer) {
    const o = redis.options;
    writer = new RespWriter({
      host: o.host,
      port: o.port,
      path: o.path,
      family: o.family,
      username: o.username,
      password: o.password,
      db: o.db,
      tls: o.tls,
      connectTimeout: o.connectTimeout,
    });
    const w = writer;
    redis.once('end', () => w.close());
    writers.set(redis, writer);
  }
  return writer;
}
