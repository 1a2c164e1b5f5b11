/*
 * Preview connections on this runner: each `preview.open` call becomes one HTTP exchange or one
 * WebSocket with a port inside the workspace, reached straight through the workspace's network
 * namespace where the driver allows (./netns-ports.ts) or else carried by the workspace's forwarder
 * (./forwarder.ts), with the request's body (or the browser's messages) read from the
 * connection's up stream and the answer written to its down stream (./stream-window.ts).
 *
 * node:http and ws speak the protocol here, over the forwarded socket: the workspace's server
 * sees an ordinary client on 127.0.0.1, the edge sees a parsed head and body chunks.
 */
import { Agent, request as httpRequest, type IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import {
  PREVIEW_HEAD_TIMEOUT_MS,
  PREVIEW_MAX_HEADER_BYTES,
  PREVIEW_MAX_HEADERS,
  type PreviewFailure,
  type PreviewOpenJob,
  type PreviewPortsResult,
  type PreviewResponseHead,
  previewDownStream,
  previewUpStream,
} from '@keel/contract/preview';
import type { Redis } from 'ioredis';
import { WebSocket } from 'ws';
import { log } from '../log.ts';
import { type RespWriter, writerBeside } from '../resp-writer.ts';
import type { RunnerContext } from '../runner-context.ts';
import { Forwarder, ForwarderError } from './forwarder.ts';
import { NetnsPorts } from './netns-ports.ts';
import { followWindow, WindowedWriter } from './stream-window.ts';

/** Headers ws makes itself for a handshake; the browser's would clash. */
const WS_OWN = new Set([
  'sec-websocket-key',
  'sec-websocket-version',
  'sec-websocket-extensions',
  'sec-websocket-protocol',
  'upgrade',
  'connection',
  'host',
]);
/** Largest WebSocket message relayed (Vite's messages are small; a server's big one is refused). */
const WS_MAX_MESSAGE = 16 * 1024 * 1024;
/** How long after a namespace helper failed to start the forwarder is used without trying again. */
const DIRECT_RETRY_MS = 60_000;

/** The two ways to a workspace's ports: its forwarder, or its network namespace entered directly. */
type PortPath = Pick<Forwarder, 'over' | 'ports' | 'end'> & {
  current(): boolean;
  connect(port: number): Duplex | Promise<Duplex>;
  /** Kept-alive connections for plain HTTP to a port, where the path keeps them (the direct one). */
  agentFor?(port: number): Agent;
};

/** Blocking connections kept for the next connection's up stream. */
const IDLE_BLOCKING = 16;

export class Previews {
  private readonly paths = new Map<string, PortPath>();
  private readonly making = new Map<string, Promise<PortPath>>();
  /** When a namespace helper last failed to start (the forwarder is used meanwhile). */
  private directFailedAt = 0;
  private readonly idle: Redis[] = [];
  private readonly live = new Set<() => void>();
  private closed = false;

  constructor(private readonly ctx: RunnerContext) {}

  private static readonly known = new WeakMap<object, Previews>();
  /**
   * One per runner, made on first use (the context knows nothing of previews). Keyed by the
   * runner's Redis connection: each job sees a view of the context made for its trace, so the
   * context object itself differs from job to job, and one forwarder per request would follow.
   */
  static of(ctx: RunnerContext): Previews {
    let p = Previews.known.get(ctx.redis);
    if (!p) {
      p = new Previews(ctx);
      Previews.known.set(ctx.redis, p);
    }
    return p;
  }

  /**
   * How this runner reaches the workspace's ports: straight into its network namespace where the
   * driver offers it (./netns-ports.ts), else through a forwarder inside the workspace. Two
   * requests that find none make one.
   */
  private portPath(workspaceId: string): Promise<PortPath> {
    const known = this.paths.get(workspaceId);
    if (known && !known.over && known.current()) return Promise.resolve(known);
    const making = this.making.get(workspaceId);
    if (making) return making;
    known?.end('the workspace stopped or restarted');
    const made = (async (): Promise<PortPath> => {
      const driver = await this.ctx.driverFor(workspaceId);
      if (this.ctx.config.KEEL_RUNNER_PREVIEW_DIRECT && Date.now() - this.directFailedAt > DIRECT_RETRY_MS) {
        const ns = await driver.previewNetns?.(workspaceId).catch(() => undefined);
        if (ns) {
          try {
            return await NetnsPorts.enter(ns);
          } catch (err) {
            // The forwarder still works; the direct path is tried again in a while.
            this.directFailedAt = Date.now();
            log('warn', 'preview: the namespace helper did not start; using the forwarder', {
              error: String(err),
            });
          }
        }
      }
      return new Forwarder((req) => driver.exec(workspaceId, req));
    })();
    this.making.set(workspaceId, made);
    return made.then(
      (p) => {
        this.making.delete(workspaceId);
        if (this.closed) p.end('the runner stopped');
        else {
          // Paths that ended (workspaces stopped or gone) leave as new ones come.
          for (const [id, old] of this.paths) if (old.over) this.paths.delete(id);
          this.paths.set(workspaceId, p);
        }
        return p;
      },
      (err: unknown) => {
        this.making.delete(workspaceId);
        throw err;
      },
    );
  }

  /** Ends the runner's previews, if it has any (runner shutdown). */
  static closeFor(ctx: RunnerContext): void {
    Previews.known.get(ctx.redis)?.close();
    Previews.known.delete(ctx.redis);
  }

  async ports(workspaceId: string): Promise<PreviewPortsResult> {
    try {
      return { ports: await (await this.portPath(workspaceId)).ports() };
    } catch (err) {
      // One retry with a fresh path: the old one may have died with a restarted workspace.
      this.paths.get(workspaceId)?.end('a listing failed');
      if (!(err instanceof ForwarderError)) throw err;
      return { ports: await (await this.portPath(workspaceId)).ports() };
    }
  }

  /** Starts the connection; the call returns at once, the answer goes to the down stream. */
  open(job: PreviewOpenJob): Record<string, never> {
    this.ctx.touch(job.workspaceId);
    void this.run(job).catch((err: unknown) => {
      log('warn', 'preview connection failed', { connectionId: job.connectionId, error: String(err) });
    });
    return {};
  }

  /** Ends every connection and forwarder (runner shutdown). */
  close(): void {
    this.closed = true;
    for (const stop of this.live) stop();
    for (const p of this.paths.values()) p.end('the runner stopped');
    for (const r of this.idle.splice(0)) r.disconnect();
  }

  /**
   * The appends go on the RESP writer beside the runner's client (one writev per batch, an
   * entry's pieces as they are: ioredis copied each Buffer twice, most of a download's cost),
   * except behind Sentinel, whose primary only ioredis follows.
   */
  private rawAppends(): RespWriter | undefined {
    return this.ctx.redis.options.sentinels?.length ? undefined : writerBeside(this.ctx.redis);
  }

  private blocking(): Redis {
    return this.idle.pop() ?? this.ctx.redis.duplicate();
  }
  private giveBack(r: Redis): void {
    if (!this.closed && this.idle.length < IDLE_BLOCKING && r.status === 'ready') this.idle.push(r);
    else r.disconnect();
  }

  private async run(job: PreviewOpenJob): Promise<void> {
    const down = previewDownStream.key(this.ctx.keys, job.connectionId);
    const up = previewUpStream.key(this.ctx.keys, job.connectionId);
    let stopped = false;
    let abort = () => {};
    const stop = () => {
      stopped = true;
      abort();
    };
    this.live.add(stop);
    const writer = new WindowedWriter(this.ctx.redis, down, stop, this.rawAppends());
    const fail = async (f: PreviewFailure) => {
      await writer.add('error', JSON.stringify(f));
    };
    try {
      let path: PortPath;
      try {
        path = await this.portPath(job.workspaceId);
      } catch (err) {
        await fail({
          code: 'workspace_not_running',
          message: `The workspace cannot be reached: ${String(err)}`,
        });
        return;
      }
      // Plain HTTP on the direct path goes through its kept-alive connections (see agentFor).
      const pooled = job.kind === 'http' ? path.agentFor?.(job.port) : undefined;
      let via: Duplex | Agent;
      try {
        via = pooled ?? (await path.connect(job.port));
      } catch (err) {
        if (!(err instanceof ForwarderError)) throw err;
        await fail(
          err.code === 'port_closed'
            ? { code: 'port_closed', message: `Nothing listens on port ${job.port} in the workspace` }
            : { code: 'bad_gateway', message: `The workspace's port could not be reached (${err.message})` },
        );
        return;
      }
      if (job.kind === 'ws')
        await this.websocket(
          job,
          via as Duplex,
          writer,
          up,
          (a) => (abort = a),
          () => stopped,
        );
      else
        await this.http(
          job,
          via,
          writer,
          up,
          (a) => (abort = a),
          () => stopped,
        );
    } finally {
      await writer.flushed().catch(() => {});
      this.live.delete(stop);
      // The edge may be gone; nobody reads what is left, so it goes now rather than at its expiry.
      if (stopped) void this.ctx.redis.del(up).catch(() => {});
    }
  }

  private http(
    job: PreviewOpenJob,
    /** A connection of its own, or the port's kept-alive ones. */
    via: Duplex | Agent,
    writer: WindowedWriter,
    up: string,
    onAbort: (a: () => void) => void,
    isStopped: () => boolean,
  ): Promise<void> {
    return new Promise<void>((resolve) => {
      let done = false;
      const finish = () => {
        if (done) return;
        done = true;
        resolve();
      };
      const ask = () =>
        httpRequest({
          ...(via instanceof Agent ? { agent: via } : { createConnection: () => via as never }),
          method: job.method,
          path: job.target,
          headers: job.headers.flat(),
          setHost: false,
        });
      let req = ask();
      const failWith = (code: PreviewFailure['code'], message: string) => {
        void writer.add('error', JSON.stringify({ code, message } satisfies PreviewFailure)).finally(finish);
      };
      onAbort(() => {
        req.destroy();
        finish();
      });
      const headTimer = setTimeout(() => {
        failWith('bad_gateway', 'The workspace server did not answer in time');
        req.destroy();
      }, PREVIEW_HEAD_TIMEOUT_MS);
      let retried = false;
      const onError = (err: NodeJS.ErrnoException) => {
        // A kept-alive connection the server closed as this request went out: asked again once,
        // on a new connection, when nothing of a body was sent (as browsers do).
        if (
          req.reusedSocket &&
          !retried &&
          !job.body &&
          (err.code === 'ECONNRESET' || err.code === 'EPIPE')
        ) {
          retried = true;
          req = ask();
          req.on('error', onError);
          req.on('response', onResponse);
          req.end();
          return;
        }
        clearTimeout(headTimer);
        if (err instanceof ForwarderError && err.code === 'port_closed')
          failWith('port_closed', `Nothing listens on port ${job.port} in the workspace`);
        else failWith('bad_gateway', `The workspace server broke the connection (${err.message})`);
      };
      req.on('error', onError);
      const onResponse = (res: IncomingMessage) => {
        clearTimeout(headTimer);
        void writer.add('head', JSON.stringify(headOf(res.statusCode ?? 502, res.rawHeaders)));
        res.on('data', (chunk: Buffer) => {
          const room = writer.add('data', chunk);
          // Paused only while the window is full: a pause and resume per read is two syscalls
          // per socket read, and a fast server's reads come small.
          if (writer.hasRoom()) return;
          res.pause();
          void room.then(() => res.resume());
        });
        res.on('end', () => void writer.add('end').finally(finish));
        res.on('error', () => failWith('bad_gateway', 'The workspace server broke off its answer'));
      };
      req.on('response', onResponse);
      if (!job.body) {
        req.end();
        return;
      }
      const blocking = this.blocking();
      void followWindow(
        blocking,
        this.ctx.redis,
        up,
        previewUpStream.final,
        async (entries) => {
          for (const e of entries) {
            if (e.t === 'data' && e.d) {
              if (!req.write(e.d)) await new Promise((r) => req.once('drain', r));
            } else if (e.t === 'end') req.end();
            else if (e.t === 'close') req.destroy();
          }
        },
        () => isStopped() || done,
      )
        .then((how) => {
          if (how === 'idle') req.destroy();
          this.giveBack(blocking);
        })
        .catch(() => blocking.disconnect());
    });
  }

  private websocket(
    job: PreviewOpenJob,
    socket: Duplex,
    writer: WindowedWriter,
    up: string,
    onAbort: (a: () => void) => void,
    isStopped: () => boolean,
  ): Promise<void> {
    const headers: Record<string, string> = {};
    let protocols: string[] = [];
    for (const [name, value] of job.headers) {
      const lower = name.toLowerCase();
      if (lower === 'sec-websocket-protocol')
        protocols = value
          .split(',')
          .map((p) => p.trim())
          .filter(Boolean);
      else if (!WS_OWN.has(lower)) headers[name] = value;
    }
    const hostHeader = job.headers.find(([n]) => n.toLowerCase() === 'host')?.[1] ?? `127.0.0.1:${job.port}`;
    return new Promise<void>((resolve) => {
      let done = false;
      const ws = new WebSocket(`ws://127.0.0.1:${job.port}${job.target}`, protocols, {
        createConnection: () => socket as never,
        headers: { ...headers, host: hostHeader },
        perMessageDeflate: false,
        maxPayload: WS_MAX_MESSAGE,
        handshakeTimeout: PREVIEW_HEAD_TIMEOUT_MS,
      });
      let blocking: Redis | undefined;
      const finish = () => {
        if (done) return;
        done = true;
        void writer.add('end').finally(resolve);
      };
      onAbort(() => {
        ws.terminate();
        finish();
      });
      ws.on('unexpected-response', (_req, res) => {
        void writer
          .add(
            'error',
            JSON.stringify({
              code: 'bad_gateway',
              message: `The workspace server answered ${res.statusCode}`,
            }),
          )
          .finally(() => {
            done = true;
            resolve();
          });
        ws.terminate();
      });
      ws.on('error', (err) => {
        if (done) return;
        const closed = err instanceof ForwarderError && err.code === 'port_closed';
        done = true;
        void writer
          .add(
            'error',
            JSON.stringify({
              code: closed ? 'port_closed' : 'bad_gateway',
              message: closed
                ? `Nothing listens on port ${job.port} in the workspace`
                : err.message.slice(0, 300),
            } satisfies PreviewFailure),
          )
          .finally(resolve);
      });
      ws.on('open', () => {
        void writer.add(
          'head',
          JSON.stringify({
            status: 101,
            headers: ws.protocol ? [['sec-websocket-protocol', ws.protocol]] : [],
          }),
        );
        blocking = this.blocking();
        const b = blocking;
        const pieces: Buffer[] = [];
        let pieceBytes = 0;
        void followWindow(
          b,
          this.ctx.redis,
          up,
          previewUpStream.final,
          (entries) => {
            for (const e of entries) {
              if (e.t === 'wc') {
                pieces.push(e.d ?? Buffer.alloc(0));
                pieceBytes += e.d?.length ?? 0;
                if (pieceBytes > WS_MAX_MESSAGE) ws.close(1009);
                continue;
              }
              const whole = () => {
                pieceBytes = 0;
                return Buffer.concat([...pieces.splice(0), e.d ?? Buffer.alloc(0)]);
              };
              if (e.t === 'wt') ws.send(whole().toString('utf8'));
              else if (e.t === 'wb') ws.send(whole(), { binary: true });
              else if (e.t === 'end' || e.t === 'close') ws.close();
            }
          },
          () => isStopped() || done,
          // A socket may sit quiet for long (hot reload waits for a save): only the TTL ends it.
          Number.POSITIVE_INFINITY,
        )
          .then(() => this.giveBack(b))
          .catch(() => b.disconnect());
      });
      ws.on('message', (data: Buffer, isBinary: boolean) => {
        const room = writer.add(isBinary ? 'wb' : 'wt', data);
        ws.pause();
        void room.then(() => ws.resume());
      });
      ws.on('close', finish);
    });
  }
}

/** The answer's head, bounded (the edge filters it further for the preview's origin). */
function headOf(status: number, raw: string[]): PreviewResponseHead {
  const headers: Array<[string, string]> = [];
  for (let i = 0; i + 1 < raw.length && headers.length < PREVIEW_MAX_HEADERS; i += 2) {
    const value = raw[i + 1]!;
    if (value.length <= PREVIEW_MAX_HEADER_BYTES) headers.push([raw[i]!, value]);
  }
  return { status: status < 101 || status > 599 ? 502 : status, headers };
}
