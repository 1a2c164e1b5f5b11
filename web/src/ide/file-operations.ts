import type { FilesApi } from '../api/files-api.ts';

export interface FileOperations {
  createFile(path: string): Promise<void>;
  createFolder(path: string): Promise<void>;
  rename(from: string, to: string): Promise<void>;
  remove(path: string): Promise<void>;
}

/**
 * Creating, renaming and deleting files, each one call to the files API. The workspace's runner
 * does the work on its confined file layer, so no name is ever read by a shell, and a rename never
 * replaces what is already there: that answers 409 instead.
 */
export function createFileOperations(files: FilesApi, workspaceId: string): FileOperations {
  return {
    async createFile(path) {
      await files.write(workspaceId, path, '');
    },
    async createFolder(path) {
      await files.mkdir(workspaceId, path);
    },
    async rename(from, to) {
      await files.rename(workspaceId, from, to);
    },
    async remove(path) {
      // The tree asks before deleting, and a folder goes with its content, as people expect from it.
      await files.remove(workspaceId, path, { recursive: true });
    },
  };
}
