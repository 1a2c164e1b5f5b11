import { randomUUID } from 'node:crypto';
import { StringDecoder } from 'node:string_decoder';
import { containerName, type DockerDriver } from '../workloads/docker.ts';
import { EXEC_USER, EXEC_WRAPPER, runKiller, waitExitCode } from '../workloads/docker-exec.ts';
import { assertWorkspaceId, WorkloadError } from '../workloads/types.ts';
import { SHELL_ARGV, TTY_ENV, type Tty, type TtySize } from './tty.ts';

function statusOf(err: unknown): number | undefined {
  return (err as { statusCode?: number }).statusCode;
}

/**
 * `docker exec` with a TTY: the engine allocates the pty inside the container, and resizes it on request.
 * The shell runs under the same wrapper as other execs, so the same sweep kills everything it started.
 */
export async function openDockerTty(driver: DockerDriver, workspaceId: string, size: TtySize): Promise<Tty> {
  assertWorkspaceId(workspaceId);
  const container = driver.docker.getContainer(containerName(workspaceId));
  const execId = randomUUID();
  let exec: Awaited<ReturnType<typeof container.exec>>;
  try {
    exec = await container.exec({
      Cmd: ['sh', '-c', EXEC_WRAPPER, 'keel-exec', ...SHELL_ARGV],
      Env: [...Object.entries(TTY_ENV).map(([k, v]) => `${k}=${v}`), `KEEL_EXEC_ID=${execId}`],
      WorkingDir: '/workspace',
      User: EXEC_USER,
      AttachStdin: true,
      AttachStdout: true,
      AttachStderr: true,
      Tty: true,
    });
  } catch (err) {
    const code = statusOf(err);
    if (code === 404) throw new WorkloadError('WORKLOAD_NOT_FOUND', 'workspace container is missing');
    if (code === 409) throw new WorkloadError('WORKLOAD_NOT_RUNNING', 'workspace is not running');
    throw err;
  }
  const stream = await exec.start({ hijack: true, stdin: true, Tty: true });
  // The engine of this API version cannot size the pty at creation: the shell starts at its default
  // size and gets SIGWINCH at once, as with the docker CLI.
  const resize = (cols: number, rows: number) => exec.resize({ w: cols, h: rows }).catch(() => {});
  await resize(size.cols, size.rows);

  const decoder = new StringDecoder('utf8');
  const listeners: Array<(text: string) => void> = [];
  const emit = (text: string) => {
    if (text) for (const listener of listeners) listener(text);
  };
  stream.on('data', (chunk: Buffer) => emit(decoder.write(chunk)));
  const streamOver = new Promise<void>((resolve) => {
    stream.on('end', resolve);
    stream.on('close', resolve);
    stream.on('error', () => resolve());
  });
  let closed = false;
  const exited = streamOver.then(async () => {
    closed = true;
    emit(decoder.end());
    return waitExitCode(exec).catch(() => ({ exitCode: null }));
  });

  // A resize is an API call: input typed after it waits for it, or `stty size` could still see the old size.
  let resizing: Promise<void> | undefined;
  return {
    onData: (listener) => listeners.push(listener),
    write(data) {
      if (closed) return;
      if (resizing) void resizing.then(() => stream.write(data));
      else stream.write(data);
    },
    resize(cols, rows) {
      if (closed) return;
      const done: Promise<void> = (resizing ?? Promise.resolve())
        .then(() => resize(cols, rows))
        .finally(() => {
          if (resizing === done) resizing = undefined;
        });
      resizing = done;
    },
    pause: () => stream.pause(),
    resume: () => stream.resume(),
    async kill() {
      if (closed) return;
      for (let i = 0; i < 20 && !closed; i++) {
        await runKiller(container, execId);
        const info = await exec.inspect().catch(() => undefined);
        if (!info?.Running) break;
      }
      // A background child may hold the pty open after the shell died; the stream ends with it.
      stream.destroy();
      await exited;
    },
    exited,
  };
}
