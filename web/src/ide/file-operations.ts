import type { ExecutionsApi } from '../api/executions-api.ts';
import type { FilesApi } from '../api/files-api.ts';
import { runChecked } from '../api/run-to-exit.ts';
import { joinPath } from './workspace-paths.ts';

/** The file a new folder is created with: the files API writes files only, and git ignores empty folders. */
export const FOLDER_PLACEHOLDER = '.keep';

export interface FileOperations {
  createFile(path: string): Promise<void>;
  createFolder(path: string): Promise<void>;
  rename(from: string, to: string): Promise<void>;
  remove(path: string): Promise<void>;
}

/**
 * Creating, renaming and deleting files. The API has routes for writing files only (so far), so rename and
 * delete run `mv` and `rm` in the workspace, as argv arrays: a name is never parsed by a shell, and `--`
 * keeps a name that starts with '-' from being read as an option.
 */
export function createFileOperations(
  files: FilesApi,
  executions: ExecutionsApi,
  workspaceId: string,
): FileOperations {
  return {
    async createFile(path) {
      await files.write(workspaceId, path, '');
    },
    async createFolder(path) {
      await files.write(workspaceId, joinPath(path, FOLDER_PLACEHOLDER), '');
    },
    async rename(from, to) {
      // -n never replaces an existing file; -T never moves into an existing folder of the new name.
      await runChecked(executions, workspaceId, {
        command: ['mv', '-n', '-T', '--', from, to],
        timeoutMs: 60_000,
      });
    },
    async remove(path) {
      await runChecked(executions, workspaceId, { command: ['rm', '-rf', '--', path], timeoutMs: 60_000 });
    },
  };
}
