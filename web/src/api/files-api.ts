import { workspaceRoutes as routes } from '@keel/contract/api/workspaces';
import type { FileEntry } from '@keel/contract/workspaces';
import { callRoute } from './call-route.ts';
import type { ApiClient } from './client.ts';

export interface FileContent {
  path: string;
  /** Text when the file is valid UTF-8, base64 of its bytes otherwise. */
  content: string;
  encoding: 'utf8' | 'base64';
  sha256: string;
  size: number;
}

export interface WrittenFile {
  path: string;
  sha256: string;
  size: number;
}

export interface WriteOptions {
  /**
   * The hash of the version this edit started from. When the file changed on the server since, the write
   * is refused with a 409 `conflict` ApiError instead of overwriting someone else's change.
   */
  baseSha256?: string | undefined;
  encoding?: 'utf8' | 'base64';
}

export interface FilesApi {
  /** One level of a folder ('' is the workspace root). */
  list(workspaceId: string, path: string): Promise<FileEntry[]>;
  read(workspaceId: string, path: string): Promise<FileContent>;
  write(workspaceId: string, path: string, content: string, options?: WriteOptions): Promise<WrittenFile>;
  /** Moves a file or folder; an existing `to` is a 409 `conflict` unless `overwrite`. */
  rename(workspaceId: string, from: string, to: string, options?: { overwrite?: boolean }): Promise<void>;
  /** Deletes a file, a link (never its target), or a folder; a folder with content needs `recursive`. */
  remove(workspaceId: string, path: string, options?: { recursive?: boolean }): Promise<void>;
  /** Creates a folder and any missing parents; an existing name is a 409 `conflict`. */
  mkdir(workspaceId: string, path: string): Promise<void>;
}

export function createFilesApi(client: ApiClient): FilesApi {
  return {
    list: async (workspaceId, path) =>
      (await callRoute(client, routes.fileTree, { params: { id: workspaceId }, query: { path } })).entries,

    read: (workspaceId, path) =>
      callRoute(client, routes.readFile, { params: { id: workspaceId }, query: { path } }),

    write: (workspaceId, path, content, options = {}) =>
      callRoute(client, routes.writeFile, {
        params: { id: workspaceId },
        query: { path },
        body: {
          content,
          ...(options.encoding ? { encoding: options.encoding } : {}),
          ...(options.baseSha256 ? { baseSha256: options.baseSha256 } : {}),
        },
      }),

    async rename(workspaceId, from, to, options = {}) {
      await callRoute(client, routes.renameFile, {
        params: { id: workspaceId },
        body: { from, to, ...(options.overwrite ? { overwrite: true } : {}) },
      });
    },

    async remove(workspaceId, path, options = {}) {
      await callRoute(client, routes.deleteFile, {
        params: { id: workspaceId },
        query: { path, ...(options.recursive ? { recursive: 'true' } : {}) },
      });
    },

    async mkdir(workspaceId, path) {
      await callRoute(client, routes.makeDirectory, { params: { id: workspaceId }, body: { path } });
    },
  };
}
