/**
 * Runs git inside a workspace, as its commands run (docker exec, bubblewrap, the remote
 * drivers' exec), so git sees exactly the files, owner and config the person's terminal sees.
 */
import type { WorkloadDriver } from '../workloads/types.ts';

/** What one git call may print before it is stopped: a status or a file's side, not more. */
export const MAX_GIT_OUTPUT = 16 * 1024 * 1024;
const MAX_STDERR = 64 * 1024;
const GIT_TIMEOUT_MS = 60_000;

/**
 * Before every subcommand: pathspecs are literal (a file named `*` is that file), no pager,
 * no colours, no fsmonitor daemon, and the repository is accepted whoever owns it (the runner
 * may read a workspace it does not own the files of).
 */
const SAFE_ARGS = [
  '-c',
  'core.quotePath=false',
  '-c',
  'color.ui=false',
  '-c',
  'core.fsmonitor=false',
  '-c',
  'safe.directory=*',
  '--no-pager',
  '--literal-pathspecs',
];

export interface GitOutput {
  code: number | null;
  stdout: Buffer;
  stderr: string;
  /** stdout passed MAX_GIT_OUTPUT and was cut there. */
  truncated: boolean;
}

export interface GitRunOptions {
  env?: Record<string, string>;
  stdin?: Buffer | string;
  timeoutMs?: number;
  maxBytes?: number;
}

export class WorkspaceGit {
  constructor(
    private readonly driver: WorkloadDriver,
    private readonly workspaceId: string,
  ) {}

  /** Runs `git args…` in /workspace; answers whatever it exits with. */
  async run(args: string[], o: GitRunOptions = {}): Promise<GitOutput> {
    const maxBytes = o.maxBytes ?? MAX_GIT_OUTPUT;
    const handle = this.driver.exec(this.workspaceId, {
      argv: ['git', ...SAFE_ARGS, ...args],
      cwd: '.',
      env: {
        GIT_TERMINAL_PROMPT: '0',
        GIT_OPTIONAL_LOCKS: '0',
        // Messages in English whatever the workspace's locale: some are read below.
        LC_ALL: 'C',
        LANGUAGE: 'C',
        GIT_EDITOR: 'true',
        GIT_MERGE_AUTOEDIT: 'no',
        ...o.env,
      },
      timeoutMs: o.timeoutMs ?? GIT_TIMEOUT_MS,
      ...(o.stdin !== undefined ? { stdin: true } : {}),
    });
    const chunks: Buffer[] = [];
    let bytes = 0;
    let truncated = false;
    let stderr = '';
    handle.stdout.on('data', (c: Buffer) => {
      if (truncated) return;
      if (bytes + c.length > maxBytes) {
        chunks.push(c.subarray(0, maxBytes - bytes));
        truncated = true;
        void handle.kill();
        return;
      }
      bytes += c.length;
      chunks.push(c);
    });
    handle.stderr.on('data', (c: Buffer) => {
      if (stderr.length < MAX_STDERR) stderr += c.toString('utf8');
    });
    if (o.stdin !== undefined && handle.stdin) {
      handle.stdin.on('error', () => {});
      handle.stdin.end(o.stdin);
    }
    const ended = Promise.all([
      new Promise((r) => handle.stdout.once('close', r).once('end', r).once('error', r)),
      new Promise((r) => handle.stderr.once('close', r).once('end', r).once('error', r)),
    ]);
    const result = await handle.done;
    await Promise.race([ended, new Promise((r) => setTimeout(r, 2_000))]);
    return {
      code: result.exitCode,
      stdout: Buffer.concat(chunks),
      stderr: stderr.slice(0, MAX_STDERR),
      truncated,
    };
  }

  /** Runs git and answers its stdout; a non-zero exit throws a GitFailed with git's message. */
  async ok(args: string[], o: GitRunOptions = {}): Promise<Buffer> {
    const out = await this.run(args, o);
    if (out.code !== 0) throw new GitFailed(args[0] ?? 'git', out);
    return out.stdout;
  }
}

export class GitFailed extends Error {
  override name = 'GitFailed';
  constructor(
    readonly command: string,
    readonly output: GitOutput,
  ) {
    super(
      lastLines(output.stderr || output.stdout.toString('utf8')) ||
        `git ${command} exited with ${output.code}`,
    );
  }
}

/** git's own words, without its `hint:` lines, trimmed to the last few. */
export function lastLines(text: string, n = 6): string {
  return text
    .split(/\r?\n/)
    .map((l) => l.trimEnd())
    .filter((l) => l && !l.startsWith('hint:'))
    .slice(-n)
    .join('\n');
}
