/*
 * All-or-nothing application of a patch to a workspace, through an injected file layer
 * (the runner passes its confined one, see confined.ts).
 *
 * 1. Plan: read and check every file (hunks, existence, expected base hashes). Any
 *    conflict throws PatchConflict before anything is written.
 * 2. Stage: write every new content to a hidden temp file beside its target. This is
 *    where the disk can fill up or a write can fail, and nothing visible has changed yet.
 * 3. Switch: per file, move the original aside to a hidden backup, check that the moved
 *    file still has the planned base hash (catching a writer that raced the plan), then
 *    rename the staged file into place. Renames are all that happen here.
 * 4. Clean up: remove the backups. Once the switch is done the patch counts as applied;
 *    a backup that cannot be removed is reported in `leftovers`, nothing more.
 * If anything fails in 2 or 3, the steps done so far are undone in reverse (staged
 * files and directories created for them removed, backups renamed back), so the
 * workspace is either fully patched or as it was. Should an undo step fail as well, the
 * error says so (`rolledBack: false`) and names what is left over.
 *
 * Crash consistency, honestly: this is all-or-nothing against failed operations, not
 * against the process dying. A crash while staging leaves only hidden
 * `.NAME.keel-patch-ID-N.new` files beside their targets. A crash during the switch
 * leaves some files patched and others not, and a file whose original was just moved
 * aside may be missing altogether; every original moved aside is still there as a
 * hidden `.NAME.keel-patch-ID-N.orig` beside it, so the state can be repaired by hand,
 * but nothing repairs it automatically (no journal). A crash during cleanup leaves a
 * fully patched workspace plus stray backups. The staged contents are fsynced by the
 * confined layer, but the renames are not followed by a directory fsync, so after a
 * power loss some renames may be lost. A reader can also briefly see a modified file
 * missing, between moving the original aside and renaming the new one in, and a writer
 * that already holds the original open can still write to it after the hash check
 * (its write then goes to the backup, which is discarded).
 */
import { randomBytes } from 'node:crypto';
import type { Patch } from '@keel/contract/unified-diff';
import { sha256 } from '../sha256.ts';
import { type FilePlan, type PatchPlan, type PlanOptions, planPatch } from './apply.ts';
import { PatchCommitError, PatchConflict } from './errors.ts';
import { parsePatch } from './parse.ts';

/** The file operations a commit needs; paths are workspace-relative. */
export interface PatchFs {
  /** The file's bytes and permission bits, or undefined when there is no such file. */
  read(path: string): Promise<{ data: Uint8Array; mode?: number } | undefined>;
  /** Replaces or creates the file atomically, creating missing parent directories. */
  writeAtomic(path: string, data: string, opts?: { mode?: number }): Promise<void>;
  /** Removes a file, or an empty directory. */
  remove(path: string): Promise<void>;
  /** Fails if `to` exists unless `overwrite`. */
  rename(from: string, to: string, opts?: { overwrite?: boolean }): Promise<void>;
  exists(path: string): Promise<boolean>;
}

export interface CommitResult {
  plan: PatchPlan;
  /** Backups that could not be removed after a successful commit. */
  leftovers: string[];
}

interface UndoStep {
  path: string;
  run: () => Promise<void>;
}

/** Applies `patch` to the workspace behind `fs`, all files or none. */
export async function commitPatch(
  fs: PatchFs,
  patch: Patch | string,
  opts: PlanOptions = {},
): Promise<CommitResult> {
  const parsed = typeof patch === 'string' ? parsePatch(patch) : patch;
  const modes = new Map<string, number | undefined>();
  const plan = await planPatch(
    parsed,
    async (path) => {
      const got = await fs.read(path);
      if (!got) return undefined;
      modes.set(path, got.mode);
      return { content: decodeText(got.data), sha256: sha256(got.data) };
    },
    opts,
  );
  if (!plan.ok) {
    throw new PatchConflict(plan.files.flatMap((f) => f.conflicts.map((c) => ({ path: f.path, ...c }))));
  }

  const id = randomBytes(6).toString('hex');
  const undo: UndoStep[] = [];
  const backups: string[] = [];
  const newDirs = new Set<string>();
  let step = 'staging';
  try {
    const staged = new Map<FilePlan, string>();
    for (const [n, f] of plan.files.entries()) {
      if (f.newContent === null || f.newPath === null) continue;
      const tmp = sidecar(f.newPath, id, n, 'new');
      await noteNewDirs(fs, f.newPath, newDirs, undo);
      const mode = f.kind === 'create' ? f.mode : modes.get(f.oldPath!);
      step = `staging ${f.newPath}`;
      await fs.writeAtomic(tmp, f.newContent, mode === undefined ? {} : { mode });
      undo.push({ path: tmp, run: () => removeIfThere(fs, tmp) });
      staged.set(f, tmp);
    }
    for (const [n, f] of plan.files.entries()) {
      if (f.kind === 'verify') continue;
      const oldPath = f.oldPath;
      if (oldPath !== null) {
        const backup = sidecar(oldPath, id, n, 'orig');
        step = `moving ${oldPath} aside`;
        await fs.rename(oldPath, backup);
        undo.push({ path: oldPath, run: () => fs.rename(backup, oldPath, { overwrite: true }) });
        backups.push(backup);
        await checkStillBase(fs, backup, f);
      }
      const tmp = staged.get(f);
      const newPath = f.newPath;
      if (tmp !== undefined && newPath !== null) {
        step = `renaming ${newPath} into place`;
        await fs.rename(tmp, newPath);
        undo.push({ path: newPath, run: () => fs.rename(newPath, tmp) });
      }
    }
  } catch (err) {
    const leftovers = await rollback(undo);
    if (err instanceof PatchConflict && leftovers.length === 0) throw err;
    const why = err instanceof Error ? err.message : String(err);
    const outcome = leftovers.length === 0 ? 'rolled back' : `rollback incomplete: ${leftovers.join(', ')}`;
    throw new PatchCommitError(
      `patch failed while ${step}: ${why} (${outcome})`,
      leftovers.length === 0,
      leftovers,
      {
        cause: err,
      },
    );
  }

  const leftovers: string[] = [];
  for (const b of backups) await fs.remove(b).catch(() => leftovers.push(b));
  return { plan, leftovers };
}

async function rollback(undo: UndoStep[]): Promise<string[]> {
  const failed: string[] = [];
  for (const s of undo.reverse()) {
    try {
      await s.run();
    } catch {
      failed.push(s.path);
    }
  }
  return failed;
}

/** Records the parent directories that staging will create, so a rollback removes them. */
async function noteNewDirs(fs: PatchFs, path: string, newDirs: Set<string>, undo: UndoStep[]) {
  const parts = path.split('/').slice(0, -1);
  for (let i = 1; i <= parts.length; i++) {
    const dir = parts.slice(0, i).join('/');
    if (newDirs.has(dir) || (await fs.exists(dir))) continue;
    newDirs.add(dir);
    undo.push({ path: dir, run: () => removeIfThere(fs, dir) });
  }
}

async function checkStillBase(fs: PatchFs, backup: string, f: FilePlan) {
  const got = await fs.read(backup);
  if (!got || sha256(got.data) !== f.baseSha256) {
    throw new PatchConflict([
      { path: f.oldPath ?? f.path, hunk: null, reason: 'the file changed while the patch was being applied' },
    ]);
  }
}

async function removeIfThere(fs: PatchFs, path: string) {
  if (await fs.exists(path)) await fs.remove(path);
}

/** A hidden name beside `path` that no patch path will collide with in practice. */
function sidecar(path: string, id: string, n: number, suffix: 'new' | 'orig'): string {
  const slash = path.lastIndexOf('/');
  // Bounded in code points so the name stays under 255 bytes and no surrogate is split.
  const base = Array.from(path.slice(slash + 1))
    .slice(0, 40)
    .join('');
  return `${path.slice(0, slash + 1)}.${base}.keel-patch-${id}-${n}.${suffix}`;
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function decodeText(data: Uint8Array): string {
  try {
    return utf8.decode(data);
  } catch {
    throw new Error('not UTF-8 text; only text files can be patched');
  }
}
