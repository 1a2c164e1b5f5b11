import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bundleInputsOf } from '../harness/bundle-inputs.ts';

/**
 * The directory client (ldapts, over Node's net and tls) loads lazily on the Node edge only:
 * the workerd entry must not pull it in, or its bundle would carry a client it cannot run.
 */
test('the workerd bundle leaves the LDAP client out, the Node entry reaches it', async () => {
  const workerd = await bundleInputsOf('edge/src/entry-workerd.ts');
  assert.ok(workerd.length > 50);
  assert.deepEqual(
    workerd.filter((f) => f.includes('node_modules/ldapts') || f.endsWith('ldap/ldap-directory.ts')),
    [],
  );
  const node = await bundleInputsOf('edge/src/entry-node.ts');
  assert.ok(node.some((f) => f.includes('node_modules/ldapts')));
});
