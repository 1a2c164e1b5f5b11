import { spawn } from 'node:child_process';
import type { FileOwner } from './workloads/types.ts';

const CLONE_TIMEOUT_MS = 10 * 60 * 1000;

export class CloneError extends Error {
  override name = 'CloneError';
}

function isLocal(url: string): boolean {
  return url.startsWith('/') || url.startsWith('file://');
}

/**
 * Clones into the (still empty, not yet started) workspace folder on the host, with every
 * prompt, credential helper and hook off, so a private or missing repository fails at once
 * instead of waiting for a password. Git runs as the runner (root can reach a Docker
 * volume; the workspace user cannot), and the files are then handed to the workspace user.
 */
export async function gitClone(input: {
  url: string;
  ref?: string;
  into: string;
  owner: FileOwner | undefined;
  allowLocal: boolean;
  onProgress: (line: string) => void;
}): Promise<void> {
  if (isLocal(input.url) && !input.allowLocal) {
    throw new CloneError('Cloning from a path on the runner host is not allowed here');
  }
  const env = {
    PATH: '/usr/local/bin:/usr/bin:/bin',
    HOME: '/tmp',
    GIT_TERMINAL_PROMPT: '0',
    GIT_ASKPASS: '/bin/false',
    SSH_ASKPASS: '/bin/false',
    GIT_SSH_COMMAND: 'ssh -o BatchMode=yes -o StrictHostKeyChecking=accept-new',
    GIT_CONFIG_NOSYSTEM: '1',
  };
  const git = (args: string[]) =>
    new Promise<void>((resolve, reject) => {
      const child = spawn(
        'git',
        ['-c', 'credential.helper=', '-c', 'core.hooksPath=/dev/null', '-c', 'safe.directory=*', ...args],
        { cwd: input.into, env, stdio: ['ignore', 'pipe', 'pipe'] },
      );
      let lastLine = '';
      const onData = (d: Buffer) => {
        for (const line of d.toString().split(/[\r\n]+/)) {
          const trimmed = line.trim();
          if (!trimmed) continue;
          lastLine = trimmed;
          input.onProgress(trimmed);
        }
      };
      child.stdout.on('data', onData);
      child.stderr.on('data', onData);
      const timer = setTimeout(() => child.kill('SIGKILL'), CLONE_TIMEOUT_MS);
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
  // `--` ends options: a URL or ref can never be read as a flag.
  await git(['clone', '--progress', '--no-checkout', '--', input.url, '.']);
  if (input.ref) await git(['checkout', '--progress', input.ref, '--']);
  else await git(['checkout', '--progress']);
  if (input.owner && process.getuid?.() === 0) await chownTree(input.into, input.owner);
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
