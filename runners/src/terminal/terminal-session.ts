import { type TerminalExit, TerminalInputEntry } from '@keel/contract/terminal';
import type { Redis } from 'ioredis';
import type { InputEntries, InputHub } from './input-hub.ts';
import { forgetSession, type RunnerKeys, type TerminalOutput } from './terminal-output.ts';
import type { Tty } from './tty.ts';

/** Output accepted from the shell but not yet in Redis (bytes), before the shell is held back. */
const OUTPUT_BACKLOG_BYTES = 1024 * 1024;
/** How often the session asks whether a socket is still attached (more often for a short idle time). */
const ATTACH_CHECK_MS = 5_000;

export interface TerminalSessionOptions {
  /** The runner's command connection. */
  redis: Redis;
  /** Where the session's input is read, with every other session's. */
  inputs: InputHub;
  keys: RunnerKeys;
  sessionId: string;
  workspaceId: string;
  tty: Tty;
  output: TerminalOutput;
  /** The session ends after this long with no socket attached. */
  idleMs: number;
  /** Input arrived: the workspace is in use. */
  onActivity(): void;
}

/**
 * One shell, joined to its streams: input entries (keystrokes, resizes) from the edge go to the TTY,
 * the TTY's output goes to the output stream. It ends when the shell exits, or when `end` is called
 * (idle without a socket, the workspace stopping), and always leaves an `exit` entry last.
 */
export class TerminalSession {
  readonly done: Promise<void>;
  private reason: TerminalExit | undefined;
  private lastAttached = Date.now();

  constructor(private readonly o: TerminalSessionOptions) {
    let paused = false;
    o.tty.onData((text) => {
      o.output.write(text);
      if (!paused && o.output.backlog() > OUTPUT_BACKLOG_BYTES) {
        paused = true;
        o.tty.pause();
        void o.output.flush().then(() => {
          paused = false;
          o.tty.resume();
        });
      }
    });
    this.done = this.run();
  }

  get workspaceId(): string {
    return this.o.workspaceId;
  }

  /** Ends the session for a reason other than its shell exiting; resolves once the exit is written. */
  async end(reason: TerminalExit): Promise<void> {
    this.reason ??= reason;
    await this.o.tty.kill();
    await this.done;
  }

  private async run(): Promise<void> {
    const stopReading = this.o.inputs.follow(this.o.keys.terminalInput(this.o.sessionId), (entries) =>
      this.onInput(entries),
    );
    const checkMs = Math.max(100, Math.min(ATTACH_CHECK_MS, Math.floor(this.o.idleMs / 2)));
    const checks = setInterval(() => void this.checkAttached(), checkMs);
    const result = await this.o.tty.exited;
    clearInterval(checks);
    stopReading();
    const exit: TerminalExit = this.reason ?? {
      exitCode: result.exitCode,
      ...(result.signal ? { signal: result.signal } : {}),
    };
    await this.o.output.end(exit);
    await forgetSession(this.o.redis, this.o.keys, this.o.sessionId, this.o.workspaceId);
  }

  private onInput(entries: InputEntries): void {
    for (const [, fields] of entries) {
      try {
        this.apply(fields);
      } catch {
        // A TTY that just closed refuses writes; the session ends through `exited`.
      }
    }
    this.o.onActivity();
  }

  private apply(flat: string[]): void {
    const fields: Record<string, string> = {};
    for (let i = 0; i + 1 < flat.length; i += 2) fields[flat[i]!] = flat[i + 1]!;
    const parsed = TerminalInputEntry.safeParse(fields);
    if (!parsed.success) return;
    const entry = parsed.data;
    if (entry.t === 'input') this.o.tty.write(entry.d);
    else this.o.tty.resize(entry.cols, entry.rows);
  }

  private async checkAttached(): Promise<void> {
    if (await this.o.redis.exists(this.o.keys.terminalAttached(this.o.sessionId)).catch(() => 1)) {
      this.lastAttached = Date.now();
      return;
    }
    if (Date.now() - this.lastAttached < this.o.idleMs) return;
    const minutes = Math.max(1, Math.round(this.o.idleMs / 60_000));
    void this.end({
      exitCode: null,
      code: 'idle',
      error: `The terminal was closed after ${minutes} min without a connection.`,
    });
  }
}
