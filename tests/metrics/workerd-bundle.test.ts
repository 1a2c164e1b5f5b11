import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bundleInputsOf } from '../harness/bundle-inputs.ts';

/**
 * prom-client keeps its registry in the process; the Node edge loads it (with the metrics
 * modules that use it) only when KEEL_METRICS_PORT is set. The workerd entry must not pull it
 * in: its bundle would carry a client whose figures die with each request.
 */
test('the workerd bundle leaves prom-client out, the Node entry reaches it', async () => {
  const workerd = await bundleInputsOf('edge/src/entry-workerd.ts');
  assert.ok(workerd.length > 50);
  assert.deepEqual(
    workerd.filter(
      (f) =>
        f.includes('node_modules/prom-client') ||
        /metrics\/(prom-recorder|registry|node-metrics|metrics-server|series)\.ts$/.test(f),
    ),
    [],
  );
  const node = await bundleInputsOf('edge/src/entry-node.ts');
  assert.ok(node.some((f) => f.includes('node_modules/prom-client')));
});
