import { randomUUID } from 'node:crypto';
import { PassThrough } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { EXEC_WRAPPER } from '../workloads/docker-exec.ts';
import type { KubernetesWorkloadDriver } from '../workloads/kubernetes.ts';
import { SHELL_ARGV, TTY_ENV, type Tty, type TtySize } from './tty.ts';

/**
 * A shell on a TTY in a Kubernetes workspace: the API server's exec with `tty=true` (the runtime
 * allocates the pty inside the pod), resized on channel 4. The shell runs under the same wrapper
 * as other execs, so the same sweep kills everything it started.
 */
export async function openKubernetesTty(
  driver: KubernetesWorkloadDriver,
  workspaceId: string,
  size: TtySize,
): Promise<Tty> {
  const ref = await driver.podRef(workspaceId);
  const execId = randomUUID();
  const output = new PassThrough();
  const session = await driver.openExec(workspaceId, ref, {
    command: [
      'env',
      ...Object.entries(TTY_ENV).map(([k, v]) => `${k}=${v}`),
      `KEEL_EXEC_ID=${execId}`,
      'sh',
      '-c',
      `cd -- "$0" || exit 126\n${EXEC_WRAPPER}`,
      '/workspace',
      ...SHELL_ARGV,
    ],
    stdout: output,
    stdin: true,
    tty: true,
  });
  session.resize(size.cols, size.rows);

  const decoder = new StringDecoder('utf8');
  const listeners: Array<(text: string) => void> = [];
  const emit = (text: string) => {
    if (text) for (const listener of listeners) listener(text);
  };
  output.on('data', (chunk: Buffer) => emit(decoder.write(chunk)));
  const outputOver = new Promise<void>((resolve) => output.on('end', resolve));
  let closed = false;
  const exited = session.done
    .catch(() => ({ exitCode: null }))
    .then(async (r) => {
      await outputOver;
      closed = true;
      emit(decoder.end());
      return r;
    });

  return {
    onData: (listener) => listeners.push(listener),
    write(data) {
      if (!closed) void session.write(Buffer.from(data, 'utf8')).catch(() => {});
    },
    resize(cols, rows) {
      // Resize frames travel on the same socket as input, so input typed after one sees the new size.
      if (!closed) session.resize(cols, rows);
    },
    pause: () => output.pause(),
    resume: () => output.resume(),
    async kill() {
      if (closed) return;
      await driver.killExec(ref, execId, exited);
      session.close();
      await exited;
    },
    exited,
  };
}
