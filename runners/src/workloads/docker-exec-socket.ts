/**
 * Starts an exec and reads its output over the engine's unix socket by hand, for readers that
 * take stdout synchronously (see direct-output.ts: the snapshot's tar reader).
 *
 * Hand-written because of a measured cost: a snapshot of a 195 MB workspace through dockerode
 * (docker-modem's hijacked socket, then the demultiplexer and a PassThrough) is some 14,000
 * socket reads, each a new buffer of its own (dockerd writes about 14 KB at a time), and the
 * runner's main thread spent a third or more of its time in the collector (full collections
 * driven by that external memory), against a goal of half the speed of `docker exec tar`.
 * Here every read lands in one reused buffer (`net.connect`'s `onread`), Docker's 8-byte frame
 * headers are read in place (docker-frames.ts) and stdout's payload goes to the sink as views
 * of that buffer: nothing is allocated per read. stderr is copied (it is small and rare).
 *
 * Only the local socket is served so (`DOCKER_HOST=unix://…` or the default); engines reached
 * over TCP, TLS or SSH keep dockerode's path. The exec itself is created, inspected and killed
 * through dockerode as before: only `POST /exec/{id}/start` and the stream are done here.
 */
import net from 'node:net';
import type { Readable } from 'node:stream';
import type Docker from 'dockerode';
import type { DirectSink } from './direct-output.ts';
import { DockerFrameReader } from './docker-frames.ts';

/** One read buffer for every such exec: each read is consumed before the next can land. */
const READ_BYTES = 1024 * 1024;
let readBuffer: Buffer | undefined;
/** A response head or error body larger than this is not the engine's. */
const MAX_HEAD = 64 * 1024;

interface ModemLike {
  socketPath?: unknown;
  agent?: unknown;
  version?: string;
  headers?: Record<string, string>;
  getSocketPath?(): Promise<unknown> | undefined;
}

/** The engine's unix socket path, when the exec's engine is reached through one (and only then). */
export async function localEngineSocket(exec: Docker.Exec): Promise<string | undefined> {
  const modem = (exec as unknown as { modem?: ModemLike }).modem;
  if (!modem || modem.agent || !modem.socketPath || typeof modem.getSocketPath !== 'function')
    return undefined;
  // The default is a function that finds the socket (docker-modem caches what it found).
  const found = await modem.getSocketPath();
  return typeof found === 'string' && found.startsWith('/') ? found : undefined;
}

/** The engine's refusal, shaped as docker-modem's (callers read `statusCode`). */
export class EngineRefusal extends Error {
  override name = 'EngineRefusal';
  constructor(
    readonly statusCode: number,
    message: string,
  ) {
    super(`(HTTP code ${statusCode}) ${message}`);
  }
}

export interface SocketExecOutput {
  stdout: DirectSink;
  stderr(bytes: Buffer): void;
  /** The stdout stream the reader pauses and resumes: the socket follows it. */
  flow: Readable;
}

/**
 * Starts exec `exec` (created with AttachStdout/AttachStderr, no stdin, no TTY) on the engine's
 * socket; resolves with the socket once the engine answered 101/200, after which output flows
 * to `out`. The socket ends (or errors: a malformed stream) when the command's output is over.
 */
export function startExecOnSocket(
  exec: Docker.Exec,
  socketPath: string,
  out: SocketExecOutput,
): Promise<net.Socket> {
  const modem = (exec as unknown as { modem: ModemLike }).modem;
  const path = `${modem.version ? `/${modem.version}` : ''}/exec/${encodeURIComponent(exec.id)}/start`;
  const body = '{"Detach":false,"Tty":false}';
  const extra = Object.entries(modem.headers ?? {})
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('');
  const request =
    `POST ${path} HTTP/1.1\r\nHost: docker\r\n${extra}Content-Type: application/json\r\n` +
    `Connection: Upgrade\r\nUpgrade: tcp\r\nContent-Length: ${body.length}\r\n\r\n${body}`;

  return new Promise<net.Socket>((resolve, reject) => {
    readBuffer ??= Buffer.allocUnsafeSlow(READ_BYTES);
    const frames = new DockerFrameReader((stream, bytes) => {
      if (stream === 1) out.stdout(bytes);
      else out.stderr(Buffer.from(bytes));
    });
    /** The response head (and an error's body) while it comes; undefined once streaming. */
    let head: Buffer | undefined = Buffer.alloc(0);
    let refusal: { status: number; bodyAt: number; length: number | undefined } | undefined;
    let settled = false;

    const fail = (err: Error) => {
      if (settled) return;
      settled = true;
      socket.destroy();
      reject(err);
    };

    const onHead = (bytes: Buffer) => {
      head = Buffer.concat([head!, bytes]);
      if (!refusal) {
        const end = head.indexOf('\r\n\r\n');
        if (end < 0) {
          if (head.length > MAX_HEAD) fail(new Error('the engine answered with no end to its head'));
          return;
        }
        const lines = head.toString('latin1', 0, end).split('\r\n');
        const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(lines[0] ?? '')?.[1]);
        if (status === 101 || status === 200) {
          const rest = head.subarray(end + 4);
          head = undefined;
          settled = true;
          resolve(socket);
          // Bytes that came with the head: copied out of the head buffer, which is dropped.
          if (rest.length > 0) take(rest, 0, rest.length);
          return;
        }
        if (!(status >= 100)) return fail(new Error('the engine answered with no HTTP status'));
        const length = lines
          .map((l) => /^content-length:\s*(\d+)\s*$/i.exec(l)?.[1])
          .find((v) => v !== undefined);
        refusal = { status, bodyAt: end + 4, length: length === undefined ? undefined : Number(length) };
      }
      const bodyBytes = head.length - refusal.bodyAt;
      if (refusal.length !== undefined ? bodyBytes >= refusal.length : head.includes('\r\n0\r\n\r\n'))
        refuse();
      else if (head.length > MAX_HEAD) refuse();
    };

    const refuse = () => {
      if (!refusal || !head) return;
      let text = head.toString('utf8', refusal.bodyAt);
      // A chunked body: the JSON is in its first chunk.
      const chunked = /^[0-9a-f]+\r\n([\s\S]*?)\r\n/i.exec(text);
      if (refusal.length === undefined && chunked) text = chunked[1]!;
      let message = text.trim();
      try {
        const parsed = JSON.parse(message) as { message?: unknown };
        if (typeof parsed.message === 'string') message = parsed.message;
      } catch {}
      fail(new EngineRefusal(refusal.status, message || `the engine refused the exec's start`));
    };

    const take = (buf: Buffer, start: number, end: number) => {
      try {
        frames.push(buf, start, end);
      } catch (err) {
        // The reader hears of a malformed stream as an error, not as output that stopped short.
        out.flow.destroy(err as Error);
        socket.destroy();
      }
    };

    const socket = net.connect({
      path: socketPath,
      onread: {
        buffer: readBuffer,
        callback(n: number, buf: Uint8Array) {
          const bytes = buf as Buffer;
          if (head !== undefined) onHead(Buffer.from(bytes.subarray(0, n)));
          else take(bytes, 0, n);
          return true;
        },
      },
    });
    socket.once('connect', () => socket.write(request));
    socket.once('error', (err) => fail(err));
    socket.once('close', () => {
      if (refusal) refuse();
      fail(new Error('the engine closed the connection before it answered'));
    });
    out.flow.on('pause', () => socket.pause());
    out.flow.on('resume', () => socket.resume());
  });
}
