/**
 * The two ends of a snapshot inside the workspace, through the driver's exec (so every driver,
 * local or remote, reads and writes its files in the workspace's own view, never on a host
 * path): `tar -cf -` of `/workspace` streamed out, and `tar -xf -` streamed in after emptying
 * it. Commands run in `/workspace` (the exec's default folder) as the workspace's user.
 */
import type { Readable } from 'node:stream';
import type { ExecHandle, WorkloadDriver } from '../workloads/types.ts';

const STDERR_KEEP = 2000;
/** A snapshot or restore of a large workspace may take long, but not forever. */
export const TAR_TIMEOUT_MS = 2 * 60 * 60 * 1000;

export class WorkspaceTarError extends Error {
  override name = 'WorkspaceTarError';
}

/**
 * `/workspace` as a tar stream. Hard links are stored as files (`--hard-dereference`); links
 * are stored as links, never followed. `done` rejects when tar fails (exit 2); exit 1 (a file
 * changed while it was read) is a snapshot of a workspace in use, taken as it was read.
 */
export function readWorkspaceTar(
  driver: WorkloadDriver,
  id: string,
  timeoutMs = TAR_TIMEOUT_MS,
): { tar: Readable; done: Promise<void>; kill(): Promise<void> } {
  const handle = driver.exec(id, {
    argv: ['tar', '--hard-dereference', '--numeric-owner', '-cf', '-', '.'],
    timeoutMs,
  });
  return {
    tar: handle.stdout,
    done: finished(handle, 'reading the workspace', [0, 1]),
    kill: () => handle.kill(),
  };
}

/**
 * Removes everything under `/workspace` (folders made writable first, links never followed),
 * then writes a tar stream into it: modes kept (`-p`), no owners, an existing name is removed
 * before its entry is written (`--unlink-first`, never written through a link), folders' times
 * and modes set once their contents are in. One exec for both (each costs 70 to 150 ms on a
 * busy host); tar runs only once the folder is empty, and the stream waits on its pipe.
 */
export async function replaceWorkspaceFiles(
  driver: WorkloadDriver,
  id: string,
  tar: Readable,
  timeoutMs = TAR_TIMEOUT_MS,
): Promise<void> {
  const handle = driver.exec(id, {
    argv: [
      'sh',
      '-c',
      `${EMPTY} && exec tar -xpf - --no-same-owner --unlink-first --delay-directory-restore --warning=no-timestamp`,
    ],
    stdin: true,
    timeoutMs,
  });
  const stdin = handle.stdin;
  if (!stdin) throw new WorkspaceTarError('the driver gave no input to the restore');
  let feedError: unknown;
  // tar that stops early closes its input: its exit status says why, not the broken pipe.
  stdin.on('error', () => {});
  tar.once('error', (err) => {
    feedError ??= err;
    void handle.kill();
  });
  // Straight in: manifestTar hands over half-megabyte blocks and large pieces of chunks (a
  // stage that gathered small pieces copied most of the bytes once more), and reuses each
  // once the driver says its bytes were taken (taken-input.ts).
  tar.pipe(stdin);
  handle.stdout.resume();
  try {
    await finished(handle, 'writing the workspace', [0]);
  } catch (err) {
    throw feedError ?? err;
  }
  if (feedError) throw feedError;
}

const EMPTY =
  'find . -mindepth 1 -type d ! -perm -u=rwx -exec chmod u+rwx {} + && find . -mindepth 1 -delete';

async function finished(handle: ExecHandle, what: string, okCodes: number[]): Promise<void> {
  let stderr = '';
  handle.stderr.on('data', (b: Buffer) => {
    if (stderr.length < STDERR_KEEP) stderr += b.toString('utf8');
  });
  const res = await handle.done;
  if (res.exitCode !== null && okCodes.includes(res.exitCode)) return;
  const how = res.timedOut
    ? 'it took too long'
    : res.exitCode === null
      ? `it was ended (${res.signal ?? 'killed'})`
      : `exit ${res.exitCode}`;
  const said = stderr.trim().slice(0, STDERR_KEEP);
  throw new WorkspaceTarError(`${what} failed (${how})${said ? `: ${said}` : ''}`);
}
