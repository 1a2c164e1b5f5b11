import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { Writable } from 'node:stream';
import type Docker from 'dockerode';
import { type WebSocket, WebSocketServer } from 'ws';
import { demuxDockerStream } from '../../../runners/src/workloads/docker-demux.ts';
import { badRequest } from './api-errors.ts';

/** The exec subprotocols the stand-in speaks; v5 adds the close signal (channel 255). */
export const EXEC_PROTOCOLS = ['v5.channel.k8s.io', 'v4.channel.k8s.io'] as const;
const STDIN = 0;
const STDOUT = 1;
const STDERR = 2;
const ERROR = 3;
const RESIZE = 4;
const CLOSE = 255;

export interface ExecQuery {
  command: string[];
  container?: string;
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
  tty: boolean;
}

export function parseExecQuery(url: URL): ExecQuery {
  const bool = (k: string) => {
    const v = url.searchParams.get(k);
    return v === 'true' || v === '1';
  };
  const q: ExecQuery = {
    command: url.searchParams.getAll('command'),
    container: url.searchParams.get('container') ?? undefined,
    stdin: bool('stdin'),
    stdout: bool('stdout'),
    stderr: bool('stderr'),
    tty: bool('tty'),
  };
  if (q.command.length === 0) throw badRequest('you must specify at least 1 command');
  if (!q.stdin && !q.stdout && !q.stderr)
    throw badRequest('you must specify at least 1 of stdin, stdout, stderr');
  if (q.tty && q.stderr)
    throw badRequest('stdout and stderr cannot both be used with a TTY: set stderr=false');
  return q;
}

const wss = new WebSocketServer({
  noServer: true,
  handleProtocols: (offered) => EXEC_PROTOCOLS.find((p) => offered.has(p)) ?? false,
});

/** Picks the subprotocol before upgrading, so an unsupported client gets a clear 400. */
export function negotiate(req: IncomingMessage): string {
  const offered = String(req.headers['sec-websocket-protocol'] ?? '')
    .split(',')
    .map((s) => s.trim());
  const chosen = EXEC_PROTOCOLS.find((p) => offered.includes(p));
  if (!chosen) throw badRequest(`the stand-in speaks only ${EXEC_PROTOCOLS.join(' and ')}`);
  return chosen;
}

/** Frames a payload on a channel and waits for the socket to take it (backpressure). */
function channelWriter(ws: WebSocket, channel: number): Writable {
  return new Writable({
    write(chunk: Buffer, _enc, cb) {
      if (ws.readyState !== ws.OPEN) return cb();
      ws.send(Buffer.concat([Buffer.from([channel]), chunk]), (err) => cb(err ?? null));
    },
  });
}

/**
 * Upgrades to a WebSocket and runs the command with `docker exec` in the pod's container:
 * channel 0 → the command's stdin, its stdout and stderr → channels 1 and 2 (one stream on a
 * TTY), channel 4 resizes the TTY, v5's close frame on channel 255 closes stdin; the result is a
 * metav1.Status on channel 3, then the socket closes, as the kubelet's streaming server does.
 */
export async function serveExec(
  req: IncomingMessage,
  socket: Duplex,
  head: Buffer,
  container: Docker.Container,
  q: ExecQuery,
): Promise<void> {
  const exec = await container.exec({
    Cmd: q.command,
    AttachStdin: q.stdin,
    AttachStdout: q.stdout,
    AttachStderr: q.stderr,
    Tty: q.tty,
  });
  const ws = await new Promise<WebSocket>((resolve) => wss.handleUpgrade(req, socket, head, resolve));
  const protocol = ws.protocol;
  // The client may send (a resize, input) before the engine's stream is attached: keep it.
  const early: Buffer[] = [];
  let onFrame: (buf: Buffer) => void = (buf) => early.push(buf);
  ws.on('message', (data: Buffer, isBinary: boolean) => {
    const buf = isBinary ? data : Buffer.from(data);
    if (buf.length > 0) onFrame(buf);
  });
  const stream = (await exec.start({ hijack: true, stdin: q.stdin, Tty: q.tty })) as Duplex;
  const stdout = channelWriter(ws, STDOUT);
  const stderr = channelWriter(ws, STDERR);
  if (q.tty) stream.pipe(stdout);
  else demuxDockerStream(stream, stdout, stderr);

  // The engine refuses a resize until the exec's process runs; input waits for a resize sent
  // before it, so that what is typed after a resize sees the new size.
  const resize = async (w: number, h: number) => {
    for (let i = 0; i < 40; i++) {
      try {
        await exec.resize({ w, h });
        return;
      } catch {
        await new Promise((r) => setTimeout(r, 25));
      }
    }
  };
  let order: Promise<void> = Promise.resolve();
  onFrame = (buf) => {
    const channel = buf[0];
    const payload = buf.subarray(1);
    if (channel === STDIN && q.stdin) order = order.then(() => void stream.write(payload));
    else if (channel === RESIZE && q.tty) {
      try {
        const size = JSON.parse(payload.toString()) as { Width?: number; Height?: number };
        if (size.Width && size.Height) order = order.then(() => resize(size.Width!, size.Height!));
      } catch {
        // A malformed resize is ignored, as the kubelet does.
      }
    } else if (channel === CLOSE && protocol === 'v5.channel.k8s.io' && payload[0] === STDIN) {
      order = order.then(() => void stream.end());
    }
  };
  for (const buf of early.splice(0)) onFrame(buf);
  ws.on('close', () => stream.destroy());

  await new Promise<void>((resolve) => {
    stream.on('end', resolve);
    stream.on('close', resolve);
    stream.on('error', () => resolve());
  });
  let exitCode: number | null = null;
  for (let i = 0; i < 50; i++) {
    const info = await exec.inspect().catch(() => undefined);
    if (!info) break;
    if (!info.Running) {
      exitCode = info.ExitCode;
      break;
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  if (ws.readyState !== ws.OPEN) return;
  const status =
    exitCode === 0
      ? { metadata: {}, status: 'Success' }
      : {
          metadata: {},
          status: 'Failure',
          message: `command terminated with non-zero exit code: error executing command [${q.command.join(' ')}], exit code ${exitCode}`,
          reason: 'NonZeroExitCode',
          details: { causes: [{ reason: 'ExitCode', message: String(exitCode) }] },
        };
  await new Promise<void>((resolve) => {
    // Output written before the status must reach the client first.
    stdout.end(() => stderr.end(() => resolve()));
  });
  ws.send(Buffer.concat([Buffer.from([ERROR]), Buffer.from(JSON.stringify(status))]), () => ws.close(1000));
}
