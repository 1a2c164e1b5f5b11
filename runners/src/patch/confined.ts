import { ConfinedFsError } from '../files/confined-fs.ts';
import type { WorkspaceFiles } from '../files/workspace-files.ts';
import type { PatchFs } from './commit.ts';

const isNotFound = (err: unknown) => err instanceof ConfinedFsError && err.code === 'NOT_FOUND';

/**
 * The commit's file operations on the runner's confined layer: symlinks, hard-linked
 * files and paths leaving the root are refused there, whatever the patch says.
 */
export function confinedPatchFs(fs: WorkspaceFiles): PatchFs {
  return {
    async read(path) {
      try {
        // The mode is only used to give a rewritten file its old permissions.
        const { mode } = await fs.stat(path);
        return { data: await fs.readFile(path), mode };
      } catch (err) {
        if (isNotFound(err)) return undefined;
        throw err;
      }
    },
    writeAtomic: (path, data, opts = {}) =>
      fs.writeFile(path, data, { createParents: true, mode: opts.mode }),
    remove: (path) => fs.remove(path),
    rename: (from, to, opts) => fs.rename(from, to, opts),
    async exists(path) {
      try {
        await fs.stat(path);
        return true;
      } catch (err) {
        if (isNotFound(err)) return false;
        throw err;
      }
    },
  };
}
