import type { IncomingMessage } from 'node:http';
import type { Writable } from 'node:stream';
import WebSocket from 'ws';
import type { KubernetesAccess } from '../servers/kubernetes-test.ts';
import { WorkloadError } from './types.ts';

/*
 * The pods/exec WebSocket protocol, spoken directly with `ws` rather than through the client
 * library's Exec: that one has no backpressure, cannot tell "pod missing" from "not running"
 * (it rejects with a bare ErrorEvent), and ends process.stdout when the server closes a channel.
 * Channels: 0 stdin, 1 stdout, 2 stderr, 3 the final metav1.Status, 4 TTY resize;
 * v5.channel.k8s.io adds 255 (close a channel), which is how stdin reaches EOF.
 */
const PROTOCOLS = ['v5.channel.k8s.io', 'v4.channel.k8s.io'];
const STDIN = 0;
const STDOUT = 1;
const STDERR = 2;
const STATUS = 3;
const RESIZE = 4;
const CLOSE = 255;

export interface PodRef {
  namespace: string;
  pod: string;
  container: string;
}

export interface PodExecOptions {
  command: string[];
  stdout: Writable;
  stderr?: Writable;
  stdin?: boolean;
  tty?: boolean;
  /** Deadline of the WebSocket handshake. */
  connectTimeoutMs?: number;
}

export interface PodExec {
  readonly protocol: string;
  /** Sends bytes to the command's stdin; resolves once the socket took them. */
  write(data: Buffer): Promise<void>;
  /** EOF on the command's stdin (v5 only; with v4 stdin stays open until the socket closes). */
  endStdin(): void;
  resize(cols: number, rows: number): void;
  pause(): void;
  resume(): void;
  /** Closes the socket: the output ends; the command is not killed by this. */
  close(): void;
  /** The exit code from the status channel, once the socket closed; output streams have ended. */
  readonly done: Promise<{ exitCode: number | null }>;
}

interface K8sStatus {
  status?: string;
  message?: string;
  reason?: string;
  code?: number;
  details?: { causes?: Array<{ reason?: string; message?: string }> };
}

/** Exit code of a finished exec from its status: 0, the NonZeroExitCode cause, or an error. */
export function exitCodeOf(status: K8sStatus): number {
  if (status.status === 'Success') return 0;
  if (status.reason === 'NonZeroExitCode') {
    const cause = status.details?.causes?.find((c) => c.reason === 'ExitCode');
    const code = Number(cause?.message);
    if (Number.isInteger(code)) return code;
  }
  throw new Error(`exec failed: ${status.message ?? status.reason ?? 'unknown error'}`);
}

function readBody(res: IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    let text = '';
    res.setEncoding('utf8');
    res.on('data', (c: string) => {
      if (text.length < 64 * 1024) text += c;
    });
    res.on('end', () => resolve(text));
    res.on('error', () => resolve(text));
  });
}

/** Maps a refused upgrade to the workload's terms: no pod, a pod that is not running, or else. */
function refusal(code: number, body: string): Error {
  let message = body;
  try {
    message = (JSON.parse(body) as K8sStatus).message ?? body;
  } catch {
    // Plain text body.
  }
  if (code === 404) return new WorkloadError('WORKLOAD_NOT_FOUND', 'workspace pod is missing');
  if (
    code === 400 &&
    /not found|completed pod|does not have a host|not running|ContainerCreating|waiting to start/i.test(
      message,
    )
  )
    return new WorkloadError('WORKLOAD_NOT_RUNNING', 'workspace is not running');
  return new Error(`exec refused by the API server (HTTP ${code}): ${message}`);
}

export function execUrl(access: KubernetesAccess, ref: PodRef, opts: PodExecOptions): string {
  const base = access.url.replace(/^http/, 'ws').replace(/\/+$/, '');
  const q = new URLSearchParams();
  for (const c of opts.command) q.append('command', c);
  q.set('container', ref.container);
  q.set('stdin', String(!!opts.stdin));
  q.set('stdout', 'true');
  // The API refuses stderr on a TTY: it is the same stream there.
  q.set('stderr', String(!opts.tty && !!opts.stderr));
  q.set('tty', String(!!opts.tty));
  return `${base}/api/v1/namespaces/${encodeURIComponent(ref.namespace)}/pods/${encodeURIComponent(ref.pod)}/exec?${q}`;
}

/** Starts a command in a pod's container through the API server's exec endpoint. */
export function openPodExec(access: KubernetesAccess, ref: PodRef, opts: PodExecOptions): Promise<PodExec> {
  const ws = new WebSocket(execUrl(access, ref, opts), PROTOCOLS, {
    ca: access.ca,
    cert: access.cert,
    key: access.key,
    headers: access.token ? { Authorization: `Bearer ${access.token}` } : {},
    handshakeTimeout: opts.connectTimeoutMs ?? 30_000,
    perMessageDeflate: false,
    maxPayload: 64 * 1024 * 1024,
  });

  return new Promise<PodExec>((resolve, reject) => {
    let opened = false;
    let status: K8sStatus | undefined;
    const full = new Set<Writable>();
    const endOutput = () => {
      opts.stdout.end();
      opts.stderr?.end();
    };

    const done = new Promise<{ exitCode: number | null }>((resolveDone, rejectDone) => {
      ws.on('close', () => {
        endOutput();
        if (!opened) return;
        if (!status) {
          rejectDone(new Error('the exec stream closed before the command reported its exit'));
          return;
        }
        try {
          resolveDone({ exitCode: exitCodeOf(status) });
        } catch (err) {
          rejectDone(err);
        }
      });
    });
    done.catch(() => {});

    const emit = (to: Writable, data: Buffer) => {
      if (data.length === 0 || to.write(data) || full.has(to)) return;
      full.add(to);
      ws.pause();
      to.once('drain', () => {
        full.delete(to);
        if (full.size === 0) ws.resume();
      });
    };

    ws.on('message', (data: Buffer, isBinary: boolean) => {
      const buf = isBinary ? data : Buffer.from(data);
      if (buf.length === 0) return;
      const channel = buf[0];
      const payload = buf.subarray(1);
      if (channel === STDOUT) emit(opts.stdout, payload);
      else if (channel === STDERR) emit(opts.stderr ?? opts.stdout, payload);
      else if (channel === STATUS && payload.length > 0) {
        try {
          status = JSON.parse(payload.toString('utf8')) as K8sStatus;
        } catch {
          status = { status: 'Failure', message: payload.toString('utf8').slice(0, 500) };
        }
      }
    });

    ws.on('unexpected-response', (_req, res) => {
      void readBody(res).then((body) => {
        reject(refusal(res.statusCode ?? 0, body));
        ws.terminate();
      });
    });
    ws.on('error', (err) => {
      if (!opened) reject(err);
    });

    ws.on('open', () => {
      opened = true;
      const send = (bytes: Buffer) =>
        new Promise<void>((res, rej) => {
          if (ws.readyState !== WebSocket.OPEN) return rej(new Error('the exec stream is closed'));
          ws.send(bytes, (err) => (err ? rej(err) : res()));
        });
      resolve({
        protocol: ws.protocol,
        write: (data) => send(Buffer.concat([Buffer.from([STDIN]), data])),
        endStdin: () => {
          if (ws.protocol === 'v5.channel.k8s.io') void send(Buffer.from([CLOSE, STDIN])).catch(() => {});
        },
        resize: (cols, rows) => {
          void send(
            Buffer.concat([
              Buffer.from([RESIZE]),
              Buffer.from(JSON.stringify({ Width: cols, Height: rows })),
            ]),
          ).catch(() => {});
        },
        pause: () => ws.pause(),
        resume: () => ws.resume(),
        close: () => ws.close(1000),
        done,
      });
    });
  });
}
