import { spawn } from 'node-pty';
import type { ProcessDriver } from '../workloads/process.ts';
import { SHELL_ARGV, TTY_ENV, type Tty, type TtySize } from './tty.ts';

/** A pty on the runner's host, with the shell inside the workspace's bubblewrap sandbox. */
export async function openProcessTty(
  driver: ProcessDriver,
  workspaceId: string,
  size: TtySize,
): Promise<Tty> {
  const command = await driver.ttyCommand(workspaceId, { argv: SHELL_ARGV, env: TTY_ENV });
  const pty = spawn(command.argv[0]!, command.argv.slice(1), {
    name: TTY_ENV.TERM,
    cols: size.cols,
    rows: size.rows,
    cwd: command.cwd,
    env: command.env,
    encoding: 'utf8',
  });
  const listeners: Array<(text: string) => void> = [];
  pty.onData((text) => {
    for (const listener of listeners) listener(text);
  });
  const exited = new Promise<{ exitCode: number | null; signal?: string }>((resolve) => {
    pty.onExit(({ exitCode, signal }) => {
      resolve(signal ? { exitCode: null, signal: `signal ${signal}` } : { exitCode });
    });
  });
  let closed = false;
  void exited.then(() => {
    closed = true;
  });
  return {
    onData: (listener) => listeners.push(listener),
    write(data) {
      if (!closed) pty.write(data);
    },
    resize(cols, rows) {
      if (!closed) pty.resize(cols, rows);
    },
    pause: () => pty.pause(),
    resume: () => pty.resume(),
    async kill() {
      if (closed) return;
      // The pty's child is bubblewrap: killing it kills the sandbox's init, and with it every process
      // in the sandbox's PID namespace, whatever they did to detach.
      // Without a sandbox (explicitly allowed), the shell's process group is what can be reached.
      for (const target of [pty.pid, -pty.pid]) {
        try {
          process.kill(target, 'SIGKILL');
        } catch {}
      }
      await exited;
    },
    exited,
  };
}
