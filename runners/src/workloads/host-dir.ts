import { chown, mkdir, stat } from 'node:fs/promises';
import { type FileOwner, WorkloadError } from './types.ts';

/**
 * Makes sure an admin-chosen storage folder exists. Returns true when it was created
 * here: only then may the driver delete it together with the workspace.
 */
export async function ensureHostDir(dir: string, owner: FileOwner | undefined): Promise<boolean> {
  const existing = await stat(dir).catch(() => undefined);
  if (existing) {
    if (!existing.isDirectory()) throw new WorkloadError('INVALID_SPEC', `${dir} is not a directory`);
    return false;
  }
  await mkdir(dir, { recursive: true, mode: 0o755 });
  // The workload runs as an unprivileged uid and must be able to write its own files.
  if (owner && process.getuid?.() === 0) await chown(dir, owner.uid, owner.gid);
  return true;
}
