/**
 * The snapshot store in a folder (the embedded default: `KEEL_SNAPSHOT_DIR`, or the install's
 * folder, which runners sharing snapshots must all see). Folders are 0700 and objects 0600:
 * they hold workspaces' files. Each object is written to a temporary name and renamed into
 * place, so a reader (or a crash) never leaves half a chunk under its hash.
 */
import { randomBytes } from 'node:crypto';
import {
  type FileHandle,
  lstat,
  mkdir,
  open,
  readdir,
  rename,
  rm,
  stat,
  unlink,
  utimes,
  writeFile,
} from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { assertStoreKey, type SnapshotStore, SnapshotStoreError, type StoredObject } from './store.ts';

export class FolderStore implements SnapshotStore {
  readonly kind = 'folder' as const;
  private readonly made = new Set<string>();

  constructor(readonly root: string) {
    if (!root.startsWith('/')) throw new SnapshotStoreError('the snapshot folder must be an absolute path');
    // Kernel file systems hold no files to keep (and Node's recursive mkdir never settles in /proc).
    if (/^\/(proc|sys|dev)(\/|$)/.test(root)) {
      throw new SnapshotStoreError(`${root} cannot hold snapshots`);
    }
  }

  private path(key: string): string {
    assertStoreKey(key);
    return join(this.root, key);
  }

  async has(key: string): Promise<boolean> {
    const path = this.path(key);
    try {
      // Found present by a snapshot that will name it: fresh again for the prune's grace period.
      const now = new Date();
      await utimes(path, now, now);
      return true;
    } catch (err) {
      if (isMissing(err)) return false;
      throw err;
    }
  }

  async get(key: string, maxBytes: number): Promise<Buffer | undefined> {
    return this.readChecked(key, maxBytes, (handle) => handle.readFile());
  }

  async getInto(key: string, into: Buffer): Promise<Buffer | undefined> {
    return this.readChecked(key, into.length, async (handle, size) => {
      // Objects are renamed into place whole, so the open file keeps its size; a short read
      // (a file cut by hand) ends early and fails the caller's length check.
      let got = 0;
      while (got < size) {
        const { bytesRead } = await handle.read(into, got, size - got, got);
        if (bytesRead === 0) break;
        got += bytesRead;
      }
      return into.subarray(0, got);
    });
  }

  /** Opens `key` (undefined when missing), refuses what is not a file or is over `maxBytes`, reads it. */
  private async readChecked(
    key: string,
    maxBytes: number,
    read: (handle: FileHandle, size: number) => Promise<Buffer>,
  ): Promise<Buffer | undefined> {
    let handle: FileHandle;
    try {
      handle = await open(this.path(key), 'r');
    } catch (err) {
      if (isMissing(err)) return undefined;
      throw err;
    }
    try {
      const info = await handle.stat();
      if (!info.isFile()) throw new SnapshotStoreError(`${key} in the snapshot folder is not a file`);
      if (info.size > maxBytes) throw new SnapshotStoreError(`${key} is larger than ${maxBytes} bytes`);
      return await read(handle, info.size);
    } finally {
      await handle.close();
    }
  }

  async put(key: string, data: Uint8Array): Promise<void> {
    const path = this.path(key);
    await this.mkdirs(dirname(path));
    const temp = `${path}.tmp-${randomBytes(6).toString('hex')}`;
    try {
      await writeFile(temp, data, { mode: 0o600, flag: 'wx' });
      await rename(temp, path);
    } catch (err) {
      await unlink(temp).catch(() => {});
      throw err;
    }
  }

  async delete(keys: string[]): Promise<void> {
    for (const key of keys) await rm(this.path(key), { force: true });
  }

  async *list(prefix: string): AsyncIterable<StoredObject> {
    const clean = prefix.replace(/\/+$/, '');
    if (clean) assertStoreKey(clean);
    yield* this.walk(clean);
  }

  private async *walk(rel: string): AsyncIterable<StoredObject> {
    let names: string[];
    try {
      names = await readdir(join(this.root, rel));
    } catch (err) {
      if (isMissing(err)) return;
      throw err;
    }
    for (const name of names) {
      // Another writer's temporary file is not an object yet.
      if (name.includes('.tmp-')) continue;
      const key = rel ? `${rel}/${name}` : name;
      const info = await lstat(join(this.root, key)).catch(() => undefined);
      if (!info) continue;
      if (info.isDirectory()) yield* this.walk(key);
      else if (info.isFile()) yield { key, modifiedMs: info.mtimeMs };
    }
  }

  private async mkdirs(dir: string): Promise<void> {
    if (this.made.has(dir)) return;
    await mkdir(dir, { recursive: true, mode: 0o700 });
    // A folder that existed with wider rights (made by hand) is not widened further, nor
    // narrowed: an admin's choice. The ones made here are 0700.
    const info = await stat(dir);
    if (!info.isDirectory()) throw new SnapshotStoreError(`${dir} is not a folder`);
    this.made.add(dir);
  }
}

function isMissing(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}
