import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { build } from 'esbuild';

const root = path.resolve(import.meta.dirname, '../..');

/**
 * The directory client (ldapts, over Node's net and tls) loads lazily on the Node edge only:
 * the workerd entry must not pull it in, or its bundle would carry a client it cannot run.
 */
test('the workerd bundle leaves the LDAP client out, the Node entry reaches it', async () => {
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
    workerd.filter((f) => f.includes('node_modules/ldapts') || f.endsWith('ldap/ldap-directory.ts')),
    [],
  );
  const node = await inputsOf('edge/src/entry-node.ts');
  assert.ok(node.some((f) => f.includes('node_modules/ldapts')));
});
