import {
  TERMINAL_STREAM_TTL_SECONDS,
  type TerminalExit,
  type TerminalOpenJob,
} from '@keel/contract/terminal';
import type { Redis } from 'ioredis';
import { type WorkloadDriver, WorkloadError } from '../workloads/types.ts';
import { InputHub } from './input-hub.ts';
import { openTty } from './open-tty.ts';
import { forgetSession, type RunnerKeys, TerminalOutput } from './terminal-output.ts';
import { TerminalSession } from './terminal-session.ts';

export interface TerminalsOptions {
  redis: Redis;
  keys: RunnerKeys;
  /** The driver that runs a workspace (this runner's, or its server's); rejects when none can now. */
  driverFor(workspaceId: string): Promise<WorkloadDriver>;
  idleMs: number;
  onActivity(workspaceId: string): void;
}

/** The runner's terminal sessions: opened by a job, ended by their shell, by idleness, or by the runner. */
export class Terminals {
  private readonly sessions = new Map<string, TerminalSession>();
  private inputs: InputHub | undefined;

  constructor(private readonly o: TerminalsOptions) {}

  async open(job: TerminalOpenJob): Promise<{ started: boolean; duplicate?: true }> {
    const { redis, keys } = this.o;
    const id = job.sessionId;
    // A job is delivered again when its runner died before finishing it: one shell per session, ever.
    const claimed = await redis.set(keys.terminalClaimed(id), '1', 'EX', TERMINAL_STREAM_TTL_SECONDS, 'NX');
    if (claimed !== 'OK') return { started: false, duplicate: true };
    await redis.hset(keys.terminals, id, job.workspaceId);
    const output = new TerminalOutput(redis, keys.terminalOutput(id));
    const fail = async (exit: TerminalExit) => {
      await output.end(exit);
      await forgetSession(redis, keys, id, job.workspaceId);
      return { started: false };
    };
    let tty: Awaited<ReturnType<typeof openTty>>;
    try {
      const driver = await this.o.driverFor(job.workspaceId);
      if ((await driver.status(job.workspaceId)) !== 'running') return fail(notRunning);
      tty = await openTty(driver, job.workspaceId, { cols: job.cols, rows: job.rows });
    } catch (err) {
      if (err instanceof WorkloadError && err.code === 'WORKLOAD_NOT_RUNNING') return fail(notRunning);
      const message = err instanceof Error ? err.message : String(err);
      return fail({
        exitCode: null,
        code: 'runner_unavailable',
        error: `The terminal could not start: ${message}`,
      });
    }
    this.o.onActivity(job.workspaceId);
    this.inputs ??= new InputHub(redis, keys.terminalInputBell);
    const session = new TerminalSession({
      redis,
      inputs: this.inputs,
      keys,
      sessionId: id,
      workspaceId: job.workspaceId,
      tty,
      output,
      idleMs: this.o.idleMs,
      onActivity: () => this.o.onActivity(job.workspaceId),
    });
    this.sessions.set(id, session);
    void session.done
      .catch((err) =>
        console.error(JSON.stringify({ level: 'error', msg: 'terminal session failed', error: String(err) })),
      )
      .finally(() => this.sessions.delete(id));
    return { started: true };
  }

  /** Sessions open now (metrics). */
  get count(): number {
    return this.sessions.size;
  }

  /** Workspaces with a live terminal: in use, so not idle. */
  workspaces(): Set<string> {
    return new Set([...this.sessions.values()].map((s) => s.workspaceId));
  }

  /** Before a workspace stops: its shells end with a reason the person can read. */
  async endWorkspace(workspaceId: string): Promise<void> {
    await Promise.all(
      [...this.sessions.values()]
        .filter((s) => s.workspaceId === workspaceId)
        .map((s) => s.end({ exitCode: null, code: 'workspace_stopped', error: 'The workspace stopped.' })),
    );
  }

  /** The runner is shutting down: every shell ends, and says why. */
  async stop(): Promise<void> {
    await Promise.all(
      [...this.sessions.values()].map((s) =>
        s.end({ exitCode: null, code: 'runner_unavailable', error: 'The workspace runner stopped.' }),
      ),
    );
    this.inputs?.close();
    this.inputs = undefined;
  }

  /** After a restart: sessions the previous run had are gone with it; their streams say so. */
  async endOrphans(): Promise<void> {
    const { redis, keys } = this.o;
    const lost = await redis.hgetall(keys.terminals);
    for (const [id, workspaceId] of Object.entries(lost)) {
      if (this.sessions.has(id)) continue;
      await new TerminalOutput(redis, keys.terminalOutput(id)).end({
        exitCode: null,
        code: 'runner_unavailable',
        error: 'The workspace runner restarted; this terminal was lost.',
      });
      await forgetSession(redis, keys, id, workspaceId);
    }
  }
}

const notRunning: TerminalExit = {
  exitCode: null,
  code: 'workspace_not_running',
  error: 'The workspace is not running; start it first.',
};
