import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { waitFor } from './ports.ts';

export interface Spawned {
  child: ChildProcess;
  output(): string;
  stop(signal?: NodeJS.Signals): Promise<void>;
}

/**
 * Starts a long-running process in its own process group, keeping the tail of its output.
 * `stdoutFile`: its stdout goes to that file instead (and is not kept), as under a process
 * manager: a bench's load client must not be the one reading a server's request log.
 */
export function spawnService(
  cmd: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  cwd?: string,
  options: { stdoutFile?: string } = {},
): Spawned {
  const stdoutFd = options.stdoutFile ? openSync(options.stdoutFile, 'a') : undefined;
  const child = spawn(cmd, args, {
    env,
    cwd,
    detached: true,
    stdio: ['ignore', stdoutFd ?? 'pipe', 'pipe'],
  });
  if (stdoutFd !== undefined) closeSync(stdoutFd);
  let out = '';
  const keep = (d: Buffer) => {
    out = (out + d.toString()).slice(-20_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const killGroup = () => {
    try {
      if (child.pid) process.kill(-child.pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  };
  process.once('exit', killGroup);
  return {
    child,
    output: () => out,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      try {
        process.kill(-child.pid!, signal);
      } catch {
        return;
      }
      const timer = setTimeout(killGroup, 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

export async function waitForHttp(url: string, service: Spawned, timeoutMs = 60_000): Promise<void> {
  await waitFor(
    url,
    async () => {
      if (service.child.exitCode !== null) {
        throw new Error(`process exited (${service.child.exitCode}):\n${service.output()}`);
      }
      const res = await fetch(url).catch(() => undefined);
      return res?.ok ? true : undefined;
    },
    timeoutMs,
    200,
  );
}
