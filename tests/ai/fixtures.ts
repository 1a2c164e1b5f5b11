import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, isAbsolute, join } from 'node:path';
import type { WorkspaceReader } from '../../runners/src/ai/context-builder.ts';

/**
 * A small project written to a temp dir: `root` is the workspace, and files named with a
 * leading `../` land beside it, outside the workspace, as bait for path escapes.
 */
export interface Fixture {
  base: string;
  root: string;
  reader: RecordingReader;
  cleanup(): Promise<void>;
}

export interface RecordingReader extends WorkspaceReader {
  /** Every path the builder asked about, in order. */
  asked: string[];
}

export async function writeFixture(
  files: Record<string, string>,
  options: { jitterMs?: number } = {},
): Promise<Fixture> {
  const base = await mkdtemp(join(tmpdir(), 'keel-ai-ctx-'));
  const root = join(base, 'ws');
  await mkdir(root);
  for (const [path, content] of Object.entries(files)) {
    const full = join(root, path);
    await mkdir(dirname(full), { recursive: true });
    await writeFile(full, content);
  }
  return {
    base,
    root,
    reader: fsReader(root, options.jitterMs ?? 0),
    cleanup: () => rm(base, { recursive: true, force: true }),
  };
}

/**
 * Reads straight from the disk without any confinement of its own, so that a path the builder
 * failed to confine would really be read; `asked` lets tests prove it never asks for one.
 * Optional random delays check that the result does not depend on I/O timing.
 */
function fsReader(root: string, jitterMs: number): RecordingReader {
  const asked: string[] = [];
  const jitter = () =>
    jitterMs ? new Promise((r) => setTimeout(r, Math.random() * jitterMs)) : Promise.resolve();
  const full = (p: string) => (isAbsolute(p) ? p : join(root, p));
  return {
    asked,
    async exists(p) {
      asked.push(p);
      await jitter();
      return stat(full(p)).then(
        (s) => s.isFile(),
        () => false,
      );
    },
    async readFile(p) {
      asked.push(p);
      await jitter();
      return readFile(full(p), 'utf8').catch(() => undefined);
    },
  };
}

export function lines(n: number, make: (i: number) => string = (i) => `line ${i}`): string {
  return `${Array.from({ length: n }, (_, i) => make(i + 1)).join('\n')}\n`;
}
