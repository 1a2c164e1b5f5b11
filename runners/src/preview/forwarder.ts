/*
 * The runner's side of a workspace's preview forwarder (./forwarder-program.ts): one process
 * inside the workspace per workspace, started on first use and again after it died, carrying
 * every preview connection to that workspace's ports as frames over its stdin/stdout.
 *
 * The forwarder runs as the workspace user, who can tamper with it: what it sends is bounded
 * (frame size), parsed with a schema, and only ever reaches the connection it names; a broken
 * frame stream ends it (and every connection through it).
 */
import { Duplex } from 'node:stream';
import { ListeningPort, PREVIEW_MAX_PORTS } from '@keel/contract/preview';
import { z } from 'zod';
import { encodeFrame, FrameReader } from '../files/agent/framing.ts';
import { AGENT_LOADER, programFrame } from '../files/agent/loader.ts';
import type { ExecHandle, ExecRequest } from '../workloads/types.ts';
import { FORWARDER_PROGRAM } from './forwarder-program.ts';

/** Frames from the forwarder: socket reads are 64 KiB at most; 1 MiB bounds a tampered one. */
const MAX_FRAME = 1024 * 1024;
const PORTS_TIMEOUT_MS = 10_000;
/** Frames queued for the forwarder past this many bytes leave at once rather than at the turn's end. */
const OUTGOING_FLUSH_BYTES = 256 * 1024;
/** The longest a connection's end or close waits to ride along with another write. */
const LAZY_FRAME_MS = 50;
/** What a forwarded socket holds read ahead of its reader before the forwarder pauses it. */
const SOCKET_BUFFER_BYTES = 1024 * 1024;

const FromForwarder = z.discriminatedUnion('op', [
  z.object({ op: z.literal('opened') }),
  z.object({ op: z.literal('data') }),
  z.object({ op: z.literal('end') }),
  z.object({ op: z.literal('closed') }),
  z.object({
    op: z.literal('error'),
    code: z.enum(['port_closed', 'bad_gateway']),
    message: z.string().max(200),
  }),
  z.object({ op: z.literal('ports'), ports: z.array(ListeningPort).max(PREVIEW_MAX_PORTS) }),
]);

/** A data frame's head as the forwarder writes it. */
const DATA = { op: 'data' } as const;
const DATA_HEAD = Buffer.from(JSON.stringify(DATA));

export class ForwarderError extends Error {
  constructor(
    readonly code: 'port_closed' | 'bad_gateway',
    message: string,
  ) {
    super(message);
  }
}

/** One connection to a port inside the workspace, as a Duplex (what `http.request` and `ws` take). */
class ForwardedSocket extends Duplex {
  opened = false;
  /** The forwarder was told to pause this socket's reads; `_read` tells it to resume. */
  pausedThere = false;
  constructor(
    private readonly fw: Forwarder,
    readonly id: number,
  ) {
    // A buffer of several socket reads: with Duplex's 16 KiB, every 64 KiB read the forwarder sent
    // was a pause and a resume, a round trip through the workload's stdio per read.
    super({ allowHalfOpen: true, readableHighWaterMark: SOCKET_BUFFER_BYTES });
  }
  override _read(): void {
    if (!this.pausedThere) return;
    this.pausedThere = false;
    this.fw.write(this.id, { op: 'resume' });
  }
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.fw.write(this.id, { op: 'data' }, chunk);
    cb();
  }
  override _final(cb: (err?: Error | null) => void): void {
    this.fw.write(this.id, { op: 'end' }, undefined, true);
    cb();
  }
  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    this.fw.write(this.id, { op: 'close' }, undefined, true);
    this.fw.forget(this.id);
    cb(err);
  }
  /** What node:http asks of a socket beyond a Duplex. */
  setNoDelay(): this {
    return this;
  }
  setKeepAlive(): this {
    return this;
  }
  setTimeout(): this {
    return this;
  }
  ref(): this {
    return this;
  }
  unref(): this {
    return this;
  }
}

export class Forwarder {
  over = false;
  private readonly handle: ExecHandle;
  private readonly reader = new FrameReader(MAX_FRAME);
  private readonly sockets = new Map<number, ForwardedSocket>();
  private readonly portAsks = new Map<number, (ports: z.infer<typeof ListeningPort>[] | Error) => void>();
  private nextId = 1;
  private outgoing: Buffer[] = [];
  private outgoingBytes = 0;
  private flushTimer: NodeJS.Immediate | undefined;
  private lazy: Array<{ id: number; frame: Buffer }> = [];
  private lazyTimer: NodeJS.Timeout | undefined;

  constructor(run: (req: ExecRequest) => ExecHandle) {
    // NODE_OPTIONS cleared: an image's or a user's preload has no place in the forwarder.
    this.handle = run({ argv: ['node', '-e', AGENT_LOADER], stdin: true, env: { NODE_OPTIONS: '' } });
    this.handle.stdout.on('data', (chunk: Buffer) => this.received(chunk));
    this.handle.stdout.on('end', () => this.end('its output ended'));
    this.handle.stderr.resume();
    this.handle.done.then(
      () => this.end('it exited'),
      (err: unknown) => this.end(`it could not start: ${String(err)}`),
    );
    this.handle.stdin?.on('error', () => {});
    this.handle.stdin?.write(programFrame(FORWARDER_PROGRAM));
  }

  /** A forwarder ends by itself with its workspace (its exec ends): while not over, it is current. */
  current(): boolean {
    return !this.over;
  }

  /** A new connection to `port` inside the workspace. Data written before it opened waits in order. */
  connect(port: number): ForwardedSocket {
    const socket = new ForwardedSocket(this, this.allocate());
    if (this.over) {
      queueMicrotask(() => socket.destroy(new ForwarderError('bad_gateway', 'the preview forwarder ended')));
      return socket;
    }
    this.sockets.set(socket.id, socket);
    this.write(socket.id, { op: 'open', port });
    return socket;
  }

  async ports(): Promise<z.infer<typeof ListeningPort>[]> {
    if (this.over) throw new ForwarderError('bad_gateway', 'the preview forwarder ended');
    const id = this.allocate();
    const answer = new Promise<z.infer<typeof ListeningPort>[] | Error>((resolve) => {
      this.portAsks.set(id, resolve);
      setTimeout(() => resolve(new ForwarderError('bad_gateway', 'no answer')), PORTS_TIMEOUT_MS).unref();
    });
    this.write(id, { op: 'ports' });
    const got = await answer;
    this.portAsks.delete(id);
    if (got instanceof Error) throw got;
    return got;
  }

  /**
   * Queues a frame; what is queued in one turn of the event loop leaves in one write (a request's
   * `open`, head and `end` together). Each write to the workload's stdin is a wake-up of the
   * engine's relay, and on a busy or virtualised host that costs more than the bytes it carries.
   */
  write(id: number, head: object, payload?: Buffer, lazy = false): void {
    if (this.over) return;
    // The forwarder closed it already: an end or close would tell it nothing.
    if (lazy && !this.sockets.has(id)) return;
    if (lazy && !this.outgoing.length) {
      // A connection's end or close after its answer need not cost a write of its own: it waits
      // for the next write, a moment at most, and is dropped if the forwarder closed it first.
      // (With frames already waiting it goes after them, so that it never passes its own data.)
      this.lazy.push({ id, frame: encodeFrame(id, head) });
      this.lazyTimer ??= setTimeout(() => this.flushOutgoing(), LAZY_FRAME_MS);
      return;
    }
    this.outgoing.push(encodeFrame(id, head, payload));
    this.outgoingBytes += this.outgoing.at(-1)!.length;
    if (this.outgoingBytes >= OUTGOING_FLUSH_BYTES) this.flushOutgoing();
    else this.flushTimer ??= setImmediate(() => this.flushOutgoing());
  }

  private flushOutgoing(): void {
    if (this.flushTimer) clearImmediate(this.flushTimer);
    if (this.lazyTimer) clearTimeout(this.lazyTimer);
    this.flushTimer = undefined;
    this.lazyTimer = undefined;
    const frames = [...this.lazy.map((l) => l.frame), ...this.outgoing];
    this.lazy = [];
    this.outgoing = [];
    this.outgoingBytes = 0;
    if (this.over || !frames.length) return;
    this.handle.stdin?.write(frames.length === 1 ? frames[0]! : Buffer.concat(frames));
  }

  /** The forwarder closed connection `id`: what was waiting to end or close it has no use. */
  private closedThere(id: number): void {
    if (this.lazy.length) this.lazy = this.lazy.filter((l) => l.id !== id);
  }

  forget(id: number): void {
    this.sockets.delete(id);
  }

  end(why: string): void {
    if (this.over) return;
    this.over = true;
    for (const s of this.sockets.values())
      s.destroy(new ForwarderError('bad_gateway', `preview forwarder: ${why}`));
    this.sockets.clear();
    for (const ask of this.portAsks.values()) ask(new ForwarderError('bad_gateway', why));
    if (this.flushTimer) clearImmediate(this.flushTimer);
    if (this.lazyTimer) clearTimeout(this.lazyTimer);
    this.outgoing = [];
    this.lazy = [];
    this.handle.stdin?.end();
    void this.handle.kill().catch(() => {});
  }

  private allocate(): number {
    this.nextId = this.nextId >= 0xffff_fff0 ? 1 : this.nextId + 1;
    return this.nextId;
  }

  private received(chunk: Buffer): void {
    let frames: ReturnType<FrameReader['push']>;
    try {
      frames = this.reader.push(chunk);
    } catch {
      this.end('it broke the framing');
      return;
    }
    for (const frame of frames) {
      let parsed: z.infer<typeof FromForwarder>;
      try {
        // Most frames of a download are data: their head, always the same bytes, is not parsed.
        parsed = frame.header.equals(DATA_HEAD)
          ? DATA
          : FromForwarder.parse(JSON.parse(frame.header.toString('utf8')));
      } catch {
        this.end('it sent a malformed frame');
        return;
      }
      if (parsed.op === 'ports') {
        this.portAsks.get(frame.id)?.(parsed.ports);
        continue;
      }
      const socket = this.sockets.get(frame.id);
      if (!socket) continue;
      switch (parsed.op) {
        case 'opened':
          socket.opened = true;
          break;
        case 'data':
          if (!socket.push(owned(frame.payload)) && !socket.pausedThere) {
            socket.pausedThere = true;
            this.write(frame.id, { op: 'pause' });
          }
          break;
        case 'end':
          socket.push(null);
          break;
        case 'closed':
          this.sockets.delete(frame.id);
          this.closedThere(frame.id);
          socket.push(null);
          break;
        case 'error':
          this.sockets.delete(frame.id);
          this.closedThere(frame.id);
          socket.destroy(new ForwarderError(parsed.code, parsed.message));
          break;
      }
    }
  }
}

/**
 * A frame's payload as the socket keeps it: a view of a frame the reader assembled, or of a
 * stream chunk the payload fills most of, as it is (the stream's chunks are not reused); a small
 * view of a large chunk is copied, so that it does not keep the whole chunk alive.
 */
function owned(payload: Buffer): Buffer {
  return payload.length * 2 >= payload.buffer.byteLength ? payload : Buffer.from(payload);
}
