import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { build } from 'esbuild';

const root = path.resolve(import.meta.dirname, '../..');

/**
 * prom-client keeps its registry in the process; the Node edge loads it (with the metrics
 * modules that use it) only when KEEL_METRICS_PORT is set. The workerd entry must not pull it
 * in: its bundle would carry a client whose figures die with each request.
 */
test('the workerd bundle leaves prom-client out, the Node entry reaches it', async () => {
  const inputsOf = async (entry: string) => {
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
  };
  const workerd = await inputsOf('edge/src/entry-workerd.ts');
  assert.ok(workerd.length > 50);
  assert.deepEqual(
    workerd.filter(
      (f) =>
        f.includes('node_modules/prom-client') ||
        /metrics\/(prom-recorder|registry|node-metrics|metrics-server|series)\.ts$/.test(f),
    ),
    [],
  );
  const node = await inputsOf('edge/src/entry-node.ts');
  assert.ok(node.some((f) => f.includes('node_modules/prom-client')));
});
