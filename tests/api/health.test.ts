import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { freePort } from '../harness/ports.ts';
import { createTestApp } from '../harness/test-app.ts';

describe('health', () => {
  test('healthz answers; readyz checks the database and Redis', async () => {
    const t = await createTestApp();
    try {
      const health = await t.fetch('/healthz');
      assert.equal(health.status, 200);
      const ready = await t.fetch('/readyz');
      assert.equal(ready.status, 200);
      assert.deepEqual(await ready.json(), { status: 'ready', checks: { database: 'ok', redis: 'ok' } });
    } finally {
      await t.close();
    }
  });

  test('readyz is a 503 with the error body when Redis is unreachable, within its budget', async () => {
    const deadPort = await freePort();
    const t = await createTestApp({ env: { REDIS_URL: `redis://127.0.0.1:${deadPort}` } });
    try {
      const started = Date.now();
      const res = await t.fetch('/readyz');
      assert.equal(res.status, 503);
      const body = (await res.json()) as { error: { code: string; message: string } };
      assert.equal(body.error.code, 'not_ready');
      assert.match(body.error.message, /redis unavailable/);
      assert.ok(Date.now() - started < 5_000, 'answers instead of hanging');
      assert.equal((await t.fetch('/healthz')).status, 200, 'liveness does not depend on Redis');
    } finally {
      await t.close();
    }
  });
});
