import { PassThrough } from 'node:stream';
import type { ExecHandle, ExecResult } from './types.ts';

export interface ExecIo {
  stdout: PassThrough;
  stderr: PassThrough;
  /** With `stdin: true`: what the caller writes, for the driver to feed (and end) the command's stdin. */
  stdin?: PassThrough;
}

/** What a driver hands back once the command is running. */
export interface RunningExec {
  /** Settles when the command is over and its output streams have ended. */
  exited: Promise<{ exitCode: number | null; signal?: string }>;
  /** Kills every process of this exec; must be safe to call repeatedly and after exit. */
  killTree(): Promise<void>;
}

const SIGKILL_EXIT = 128 + 9;

/**
 * Shared bookkeeping for both drivers: timeout, idempotent kill, and the final result.
 * Drivers only know how to start a command and how to kill its tree.
 */
export function makeExecHandle(opts: {
  id: string;
  timeoutMs?: number;
  /** Give the handle a `stdin` that the driver connects to the command's. */
  stdin?: boolean;
  start(io: ExecIo): Promise<RunningExec>;
}): ExecHandle {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const stdin = opts.stdin ? new PassThrough() : undefined;
  let killed = false;
  let timedOut = false;
  let killing: Promise<void> | undefined;

  const running = opts.start(stdin ? { stdout, stderr, stdin } : { stdout, stderr });
  // The start failure surfaces through `done`; this keeps it from being reported twice.
  running.catch(() => {});

  const kill = (): Promise<void> => {
    killed = true;
    killing ??= running.then(
      (r) => r.killTree(),
      () => {},
    );
    return killing;
  };

  let timer: NodeJS.Timeout | undefined;
  if (opts.timeoutMs !== undefined && opts.timeoutMs > 0) {
    timer = setTimeout(() => {
      timedOut = true;
      // A kill that fails (the workspace's host went away) leaves `done` to say how it ended.
      kill().catch(() => {});
    }, opts.timeoutMs);
  }

  const done = running
    .then((r) => r.exited)
    .then(
      async (res): Promise<ExecResult> => {
        if (timer) clearTimeout(timer);
        // A kill in flight may still be sweeping stragglers; report only once it is over.
        if (killing) await killing.catch(() => {});
        const out: ExecResult = { exitCode: res.exitCode };
        if (res.signal) out.signal = res.signal;
        // Container runtimes report death by SIGKILL as 137; when we sent it, say so.
        if (killed && (res.signal || res.exitCode === SIGKILL_EXIT)) {
          out.exitCode = null;
          out.signal = res.signal ?? 'SIGKILL';
        }
        if (killed) out.killed = true;
        if (timedOut) out.timedOut = true;
        return out;
      },
      (err: unknown) => {
        if (timer) clearTimeout(timer);
        stdout.end();
        stderr.end();
        throw err;
      },
    );
  // Callers that only read the streams must not crash the runner with an unhandled rejection.
  done.catch(() => {});
  // Once the command is over (or never started), what is still written to its stdin goes nowhere
  // rather than piling up in memory.
  if (stdin) {
    const drain = () => {
      stdin.unpipe();
      stdin.resume();
    };
    done.then(drain, drain);
  }

  return {
    id: opts.id,
    stdout,
    stderr,
    ...(stdin ? { stdin } : {}),
    done,
    async kill() {
      await kill();
      await done.catch(() => {});
    },
  };
}

/** Waits for `p`, but no longer than `ms`; the timer never keeps the runner alive. */
export async function waitAtMost(p: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, ms);
  });
  try {
    await Promise.race([
      p.then(
        () => {},
        () => {},
      ),
      timeout,
    ]);
  } finally {
    clearTimeout(timer);
  }
}
