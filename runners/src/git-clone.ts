import { spawn } from 'node:child_process';
import type { FileOwner } from './workloads/types.ts';

const CLONE_TIMEOUT_MS = 10 * 60 * 1000;

export class CloneError extends Error {
  override name = 'CloneError';
}

/** A Git host's user name and token, for one command's environment only. */
export interface GitAuth {
  username: string;
  token: string;
}

function isLocal(url: string): boolean {
  return url.startsWith('/') || url.startsWith('file://');
}

/**
 * The environment every git the runner starts gets: no prompts, no askpass, no system or user
 * config (HOME is empty), so nothing but the command line and `authEnv` configures it.
 */
export const GIT_BASE_ENV = {
  PATH: '/usr/local/bin:/usr/bin:/bin',
  HOME: '/tmp',
  GIT_TERMINAL_PROMPT: '0',
  GIT_ASKPASS: '/bin/false',
  SSH_ASKPASS: '/bin/false',
  GIT_SSH_COMMAND: 'ssh -o BatchMode=yes -o StrictHostKeyChecking=accept-new',
  GIT_CONFIG_NOSYSTEM: '1',
} as const;

/** Options that come before every git subcommand: no credential helper, no hooks. */
export const GIT_SAFE_ARGS = [
  '-c',
  'credential.helper=',
  '-c',
  'core.hooksPath=/dev/null',
  '-c',
  'safe.directory=*',
];

/**
 * A token as git configuration in the environment (GIT_CONFIG_COUNT / KEY_n / VALUE_n), never
 * in argv (which every user of the host can read in /proc) nor in any file: an
 * `Authorization: Basic` header for URLs under the remote's origin only, and redirects not
 * followed, so the header is never sent anywhere the URL did not name.
 */
export function gitAuthEnv(url: string, auth: GitAuth | undefined): Record<string, string> {
  if (!auth) return {};
  const origin = new URL(url).origin;
  const basic = Buffer.from(`${auth.username}:${auth.token}`).toString('base64');
  return {
    GIT_CONFIG_COUNT: '2',
    GIT_CONFIG_KEY_0: `http.${origin}/.extraHeader`,
    GIT_CONFIG_VALUE_0: `Authorization: Basic ${basic}`,
    GIT_CONFIG_KEY_1: 'http.followRedirects',
    GIT_CONFIG_VALUE_1: 'false',
  };
}

/**
 * Runs one git command with the base environment (plus `env`), reporting each output line;
 * rejects with a CloneError carrying git's last line. `secrets` are never passed on in a line
 * or a message, whatever git prints.
 */
export function runGit(o: {
  args: string[];
  cwd: string;
  env?: Record<string, string>;
  onLine: (line: string) => void;
  timeoutMs: number;
  secrets?: string[];
}): Promise<void> {
  const hide = (line: string) => (o.secrets ?? []).reduce((l, s) => (s ? l.split(s).join('***') : l), line);
  return new Promise<void>((resolve, reject) => {
    const child = spawn('git', [...GIT_SAFE_ARGS, ...o.args], {
      cwd: o.cwd,
      env: { ...GIT_BASE_ENV, ...o.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let lastLine = '';
    const onData = (d: Buffer) => {
      for (const line of d.toString().split(/[\r\n]+/)) {
        const trimmed = hide(line.trim());
        if (!trimmed) continue;
        lastLine = trimmed;
        o.onLine(trimmed);
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    const timer = setTimeout(() => child.kill('SIGKILL'), o.timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(new CloneError(`git could not run: ${err.message}`));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve();
      else
        reject(
          new CloneError(signal ? `git was stopped (${signal})` : lastLine || `git exited with ${code}`),
        );
    });
  });
}

/**
 * Clones into the (still empty, not yet started) workspace folder on the host, with every
 * prompt, credential helper and hook off, so a private or missing repository fails at once
 * instead of waiting for a password. Git runs as the runner (root can reach a Docker
 * volume; the workspace user cannot), and the files are then handed to the workspace user.
 * With `auth`, the clone (and only the clone: the checkout needs no network) carries the token
 * in its environment; the repository's config keeps the URL as given, never the token.
 */
export async function gitClone(input: {
  url: string;
  ref?: string;
  into: string;
  owner: FileOwner | undefined;
  allowLocal: boolean;
  auth?: GitAuth;
  onProgress: (line: string) => void;
}): Promise<void> {
  if (isLocal(input.url) && !input.allowLocal) {
    throw new CloneError('Cloning from a path on the runner host is not allowed here');
  }
  const git = (args: string[], env?: Record<string, string>) =>
    runGit({
      args,
      cwd: input.into,
      ...(env ? { env } : {}),
      onLine: input.onProgress,
      timeoutMs: CLONE_TIMEOUT_MS,
      ...(input.auth ? { secrets: [input.auth.token] } : {}),
    });
  // `--` ends options: a URL or ref can never be read as a flag.
  try {
    await git(
      ['clone', '--progress', '--no-checkout', '--', input.url, '.'],
      gitAuthEnv(input.url, input.auth),
    );
  } catch (err) {
    throw explainRefusal(err, input.url, input.auth !== undefined);
  }
  if (input.ref) await git(['checkout', '--progress', input.ref, '--']);
  else await git(['checkout', '--progress']);
  if (input.owner && process.getuid?.() === 0) await chownTree(input.into, input.owner);
}

const LOGIN_REFUSED = /could not read Username|Authentication failed|returned error: 40[13]|HTTP 40[13]/i;

/** A host's refusal says what to do about it: keep a token for the host, or replace the one kept. */
export function explainRefusal(err: unknown, url: string, authenticated: boolean): unknown {
  if (!(err instanceof CloneError) || !LOGIN_REFUSED.test(err.message)) return err;
  let host = url;
  try {
    host = new URL(url).host;
  } catch {
    // Not a URL (ssh's user@host:path): named as given.
  }
  return new CloneError(
    authenticated
      ? `${err.message} (${host} refused your Git host token: replace it in Settings › Integrations)`
      : `${err.message} (the repository needs a login: keep a token for ${host} in Settings › Integrations)`,
  );
}

/** chown -R without following links: a symlink in the repository points nowhere new. */
async function chownTree(root: string, owner: FileOwner): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const child = spawn('chown', ['-R', '-h', `${owner.uid}:${owner.gid}`, '--', root], { stdio: 'ignore' });
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve() : reject(new CloneError(`chown exited with ${code}`)),
    );
  });
}
