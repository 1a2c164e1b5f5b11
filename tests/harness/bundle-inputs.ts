import path from 'node:path';
import { build } from 'esbuild';

const root = path.resolve(import.meta.dirname, '../..');

/** The source files esbuild puts in a bundle of `entry` (relative to the repository): what a runtime would load. */
export async function bundleInputsOf(entry: string): Promise<string[]> {
  const result = await build({
    entryPoints: [path.join(root, entry)],
    bundle: true,
    write: false,
    metafile: true,
    platform: 'node',
    format: 'esm',
    logLevel: 'silent',
    external: ['cloudflare:*', '@hono/node-server*', 'pg-native', '@electric-sql/*'],
  });
  return Object.keys(result.metafile.inputs);
}
