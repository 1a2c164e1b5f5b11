/*
 * The runner's side of the sandbox spawner (main.ts): starts it on first use and again after it
 * died, asks it to start commands, and gives back each command's pid, its stdio (the pipes'
 * runner ends, received over the IPC channel) and its end. The runner reads and writes those
 * pipes itself, as it did when it forked the commands: only the fork moved out of its loop.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { Socket } from 'node:net';
import { WorkloadError } from '../types.ts';
import { spawnerProgram } from './program.ts';
import { type SpawnerReply, type SpawnRequest, spawnerReply } from './protocol.ts';

/** A command as the spawner must start it. */
export interface SpawnCommand {
  argv: string[];
  cwd: string;
  env: Record<string, string>;
}

export interface SpawnedCommand {
  /** Also its process group. */
  pid: number;
  stdin?: Socket;
  stdout: Socket;
  stderr: Socket;
  /**
   * Settles once the process has ended and its stdout and stderr are closed (every process
   * holding them is gone). Rejects when the spawner died before the command's end was known.
   */
  exited: Promise<{ exitCode: number | null; signal?: string }>;
}

interface Pending {
  stdin: boolean;
  /** Long-lived (a workspace's command host): does not keep the runner's process alive. */
  daemon: boolean;
  pipes: { stdin?: Socket; stdout?: Socket; stderr?: Socket };
  /**
   * Settle at each output pipe's 'close', watched from its arrival: a command that writes nothing
   * and ends at once closes its pipes before the message that says it started.
   */
  closes: Promise<unknown>[];
  pid?: number;
  started(command: SpawnedCommand): void;
  failed(err: Error): void;
  exit?: { exitCode: number | null; signal?: string };
  onExit?: (exit: { exitCode: number | null; signal?: string }) => void;
  onLost?: (err: Error) => void;
}

/** One spawner process and the commands asked of it. */
class SpawnerProcess {
  readonly child: ChildProcess;
  readonly pending = new Map<number, Pending>();
  gone = false;

  constructor(private readonly onGone: () => void) {
    const program = spawnerProgram();
    this.child = spawn(process.execPath, [...program.execArgv, program.script], {
      // The IPC channel is its descriptor 3 (main.ts keeps it from the commands it starts).
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
      // Nothing of the runner's environment (credentials, URLs): each command brings its own.
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
      // Not in the runner's process group: a signal to the group (Ctrl-C) must not end it before
      // the runner; it ends when the runner's end of the channel closes.
      detached: true,
    });
    this.child.on('message', (message: unknown, handle: unknown) => this.receive(message, handle));
    this.child.once('error', (err) => this.lost(err));
    this.child.once('exit', (code, signal) =>
      this.lost(new Error(`the sandbox spawner exited (${signal ?? `code ${code}`})`)),
    );
    this.refs();
  }

  spawn(req: Omit<SpawnRequest, 'type' | 'id'>, id: number, daemon: boolean): Promise<SpawnedCommand> {
    return new Promise((resolve, reject) => {
      if (this.gone) {
        reject(unavailable(new Error('the sandbox spawner exited')));
        return;
      }
      this.pending.set(id, {
        stdin: req.stdin,
        daemon,
        pipes: {},
        closes: [],
        started: resolve,
        failed: reject,
      });
      this.refs();
      this.child.send({ type: 'spawn', id, ...req } satisfies SpawnRequest, (err) => {
        if (err) this.settleFailed(id, unavailable(err));
      });
    });
  }

  private receive(message: unknown, handle: unknown): void {
    const parsed = spawnerReply.safeParse(message);
    if (!parsed.success) {
      // Our own program saying what it should not: end it, and with it what it was asked.
      destroyIfSocket(handle);
      this.child.kill('SIGKILL');
      return;
    }
    const reply: SpawnerReply = parsed.data;
    const pending = this.pending.get(reply.id);
    if (!pending) {
      destroyIfSocket(handle);
      return;
    }
    switch (reply.type) {
      case 'stdio':
        if (!isSocket(handle)) break;
        pending.pipes[reply.stream] = handle;
        if (reply.stream !== 'stdin') pending.closes.push(new Promise((r) => handle.once('close', r)));
        break;
      case 'failed': {
        const err = Object.assign(
          new Error(`spawn ${reply.message}`),
          reply.code ? { code: reply.code } : {},
        );
        this.settleFailed(reply.id, err);
        break;
      }
      case 'spawned':
        this.settleStarted(reply.id, pending, reply.pid);
        break;
      case 'exit':
        pending.exit = reply.signal
          ? { exitCode: reply.exitCode, signal: reply.signal }
          : { exitCode: reply.exitCode };
        pending.onExit?.(pending.exit);
        break;
    }
  }

  private settleStarted(id: number, pending: Pending, pid: number): void {
    const { stdin, stdout, stderr } = pending.pipes;
    if (!stdout || !stderr || (pending.stdin && !stdin)) {
      killGroup(pid);
      this.settleFailed(id, unavailable(new Error('the sandbox spawner sent no pipes for a command')));
      return;
    }
    pending.pid = pid;
    const exited = new Promise<{ exitCode: number | null; signal?: string }>((resolve, reject) => {
      // 'close' of both output pipes, as Node's ChildProcess waits for them.
      const closed = Promise.all(pending.closes);
      const exit = new Promise<{ exitCode: number | null; signal?: string }>((r) => {
        if (pending.exit) r(pending.exit);
        else pending.onExit = r;
      });
      pending.onLost = reject;
      Promise.all([exit, closed]).then(([e]) => resolve(e));
    });
    const forget = () => {
      this.pending.delete(id);
      this.refs();
    };
    exited.then(forget, forget);
    if (pending.daemon) for (const pipe of [stdin, stdout, stderr]) pipe?.unref();
    pending.started({ pid, ...(stdin ? { stdin } : {}), stdout, stderr, exited });
  }

  private settleFailed(id: number, err: Error): void {
    const pending = this.pending.get(id);
    if (!pending) return;
    this.pending.delete(id);
    for (const pipe of Object.values(pending.pipes)) pipe?.destroy();
    this.refs();
    pending.failed(err);
  }

  /** The spawner is gone: what was asked of it and has not ended fails now. */
  private lost(cause: Error): void {
    if (this.gone) return;
    this.gone = true;
    this.onGone();
    for (const [id, pending] of [...this.pending]) {
      if (pending.pid === undefined) {
        this.settleFailed(id, unavailable(cause));
        continue;
      }
      if (pending.exit) continue; // its end is known: its pipes close as they would have
      // bubblewrap died with the spawner (--die-with-parent); the group goes too if anything is left.
      killGroup(pending.pid);
      for (const pipe of Object.values(pending.pipes)) pipe?.destroy();
      this.pending.delete(id);
      pending.onLost?.(unavailable(cause));
    }
    this.refs();
  }

  /** Keeps the runner alive only while a command is asked for or running. */
  private refs(): void {
    const busy = !this.gone && [...this.pending.values()].some((p) => !p.daemon || p.pid === undefined);
    const channel = this.child.channel as { ref?(): void; unref?(): void } | null | undefined;
    if (busy) {
      this.child.ref();
      channel?.ref?.();
    } else {
      this.child.unref();
      channel?.unref?.();
    }
  }
}

/**
 * Starts the process driver's commands through a spawner process (one per driver, started on
 * first use and again after it died). A command in flight when the spawner dies fails with
 * DRIVER_UNAVAILABLE; the next one starts a new spawner.
 */
export class SandboxSpawner {
  private current: SpawnerProcess | undefined;
  private nextId = 0;

  /** daemon: a long-lived command that must not keep the runner's process alive (its pipes are unref'd). */
  spawn(command: SpawnCommand, opts: { stdin: boolean; daemon?: boolean }): Promise<SpawnedCommand> {
    const proc = this.process();
    const id = this.nextId;
    this.nextId = (this.nextId + 1) % Number.MAX_SAFE_INTEGER;
    const req = { argv: command.argv, cwd: command.cwd, env: command.env, stdin: opts.stdin };
    return proc.spawn(req, id, opts.daemon ?? false);
  }

  /** The spawner's pid, once one is running (for tests and diagnostics). */
  get pid(): number | undefined {
    return this.current?.child.pid;
  }

  private process(): SpawnerProcess {
    if (!this.current || this.current.gone) {
      const proc: SpawnerProcess = new SpawnerProcess(() => {
        if (this.current === proc) this.current = undefined;
      });
      this.current = proc;
    }
    return this.current;
  }
}

function unavailable(cause: Error): WorkloadError {
  return new WorkloadError('DRIVER_UNAVAILABLE', `could not run the command: ${cause.message}`);
}

function killGroup(pid: number): void {
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {}
}

function isSocket(handle: unknown): handle is Socket {
  return handle instanceof Socket;
}

function destroyIfSocket(handle: unknown): void {
  if (isSocket(handle)) handle.destroy();
}
