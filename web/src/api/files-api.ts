import { MakeDirectoryResponse, RenameFileResponse } from '@keel/contract/files';
import { FileEntry } from '@keel/contract/workspaces';
import type { ApiClient } from './client.ts';
import { inField, objectOf } from './response-shapes.ts';
import { workspacePath } from './workspaces-api.ts';

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

const Entries = inField('entries', FileEntry.array());
const FileContentShape = objectOf({
  path: 'string',
  content: 'string',
  encoding: 'string',
  sha256: 'string',
  size: 'number',
});
const WrittenShape = objectOf({ path: 'string', sha256: 'string', size: 'number' });

function filesPath(workspaceId: string, route: string, path: string): string {
  return workspacePath(workspaceId, `${route}?path=${encodeURIComponent(path)}`);
}

export function createFilesApi(client: ApiClient): FilesApi {
  return {
    list: async (workspaceId, path) =>
      (await client.request('GET', filesPath(workspaceId, '/files/tree', path), { schema: Entries })).entries,

    async read(workspaceId, path) {
      const file = await client.request('GET', filesPath(workspaceId, '/files', path), {
        schema: FileContentShape,
      });
      return { ...file, encoding: file.encoding === 'base64' ? 'base64' : 'utf8' };
    },

    write: (workspaceId, path, content, options = {}) =>
      client.request('PUT', filesPath(workspaceId, '/files', path), {
        body: {
          content,
          ...(options.encoding ? { encoding: options.encoding } : {}),
          ...(options.baseSha256 ? { baseSha256: options.baseSha256 } : {}),
        },
        schema: WrittenShape,
      }),

    async rename(workspaceId, from, to, options = {}) {
      await client.request('POST', workspacePath(workspaceId, '/files/rename'), {
        body: { from, to, ...(options.overwrite ? { overwrite: true } : {}) },
        schema: RenameFileResponse,
      });
    },

    async remove(workspaceId, path, options = {}) {
      const recursive = options.recursive ? '&recursive=true' : '';
      await client.request('DELETE', `${filesPath(workspaceId, '/files', path)}${recursive}`);
    },

    async mkdir(workspaceId, path) {
      await client.request('POST', workspacePath(workspaceId, '/files/mkdir'), {
        body: { path },
        schema: MakeDirectoryResponse,
      });
    },
  };
}
