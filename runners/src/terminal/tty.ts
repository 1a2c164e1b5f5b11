/** A shell on a terminal device in a workspace, whichever driver runs it. */
export interface Tty {
  /** Output as text; called in order, never with a partial UTF-8 sequence. */
  onData(listener: (text: string) => void): void;
  write(data: string): void;
  resize(cols: number, rows: number): void;
  /** Stops reading output until `resume`, so a slow consumer holds the program back. */
  pause(): void;
  resume(): void;
  /** Ends the shell and everything it started; safe to call more than once and after exit. */
  kill(): Promise<void>;
  /** Settles when the shell has exited and its output has been delivered. */
  readonly exited: Promise<{ exitCode: number | null; signal?: string }>;
}

export interface TtySize {
  cols: number;
  rows: number;
}

/** A login shell: bash where the workspace has it, sh otherwise. */
export const SHELL_ARGV = [
  '/bin/sh',
  '-c',
  'if command -v bash >/dev/null 2>&1; then exec bash -l; fi; exec sh -l',
];

/** What xterm.js in the browser understands. */
export const TTY_ENV = { TERM: 'xterm-256color', COLORTERM: 'truecolor' };
