import { lstat, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { WorkspaceFiles } from '../files/workspace-files.ts';
import { type GitAuth, gitClone } from '../git-clone.ts';

/** Files written at once into the workspace: enough to hide a remote round trip, few enough to stay gentle. */
const PARALLEL_WRITES = 8;

export interface CloneOptions {
  url: string;
  ref?: string;
  allowLocal: boolean;
  /** The owner's token for the URL's host, if one is kept (see git-clone). */
  auth?: GitAuth;
  onProgress: (line: string) => void;
}

/**
 * For a workspace whose files are not on this host (a remote server): clones into a private
 * temporary folder of the runner, then opens the workspace's confined files (`open`: a remote
 * workspace's files are reachable only while it runs, so this is where it is started) and copies
 * the checkout in through them (so nothing lands outside /workspace, whatever the repository
 * holds), then removes the folder. A clone that fails fails before `open`. Symbolic links are not
 * carried: the file interface makes none, and a link is where a repository would try to point
 * outside.
 */
export async function cloneThroughFiles(
  open: () => Promise<WorkspaceFiles>,
  o: CloneOptions,
): Promise<{ files: number; skippedLinks: number }> {
  // mkdtemp makes it 0700: other users of this host never read the checkout.
  const folder = await mkdtemp(join(tmpdir(), 'keel-clone-'));
  try {
    await gitClone({ ...o, into: folder, owner: undefined });
    return await copyInto(folder, await open());
  } finally {
    await rm(folder, { recursive: true, force: true });
  }
}

async function copyInto(
  folder: string,
  files: WorkspaceFiles,
): Promise<{ files: number; skippedLinks: number }> {
  const dirs: string[] = [];
  const plain: Array<{ rel: string; executable: boolean; size: number }> = [];
  let skippedLinks = 0;
  const walk = async (rel: string): Promise<void> => {
    for (const entry of await readdir(join(folder, rel), { withFileTypes: true })) {
      const child = rel ? `${rel}/${entry.name}` : entry.name;
      if (entry.isSymbolicLink()) skippedLinks++;
      else if (entry.isDirectory()) {
        dirs.push(child);
        await walk(child);
      } else if (entry.isFile()) {
        // lstat: the entry was a file when listed, and is not followed if it changed since.
        const st = await lstat(join(folder, child));
        if (st.isFile()) plain.push({ rel: child, executable: (st.mode & 0o111) !== 0, size: st.size });
      }
      // Sockets, FIFOs and devices are not repository content: left out.
    }
  };
  await walk('');
  // Parents before children: `dirs` is in walk order.
  for (const rel of dirs) await files.mkdir(rel, { recursive: true });
  let next = 0;
  const worker = async () => {
    while (next < plain.length) {
      const file = plain[next++]!;
      const data = await readFile(join(folder, file.rel));
      await files.writeFile(file.rel, data, {
        mode: file.executable ? 0o755 : 0o644,
        // The repository's own file sizes: a pack file may well exceed the editor's write limit.
        maxBytes: Math.max(1, file.size, data.byteLength),
      });
    }
  };
  await Promise.all(Array.from({ length: Math.min(PARALLEL_WRITES, plain.length) }, worker));
  return { files: plain.length, skippedLinks };
}
