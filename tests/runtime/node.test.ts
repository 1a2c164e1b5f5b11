import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { runAccountsSmoke } from '../harness/accounts-smoke.ts';
import { testInfra } from '../harness/infra.ts';
import { freePort } from '../harness/ports.ts';
import { spawnService, waitForHttp } from '../harness/processes.ts';
import { testSecretKey } from '../harness/test-app.ts';

const root = new URL('../..', import.meta.url).pathname;

async function startNodeEdge(extraEnv: Record<string, string>) {
  const infra = await testInfra();
  const port = await freePort();
  const service = spawnService(
    process.execPath,
    ['--import', 'tsx', 'edge/src/entry-node.ts'],
    {
      ...process.env,
      PORT: String(port),
      REDIS_URL: infra.redisUrl,
      KEEL_SECRET_KEY: testSecretKey(),
      KEEL_REDIS_PREFIX: `node${port}:`,
      ...extraEnv,
    },
    root,
  );
  const base = `http://127.0.0.1:${port}`;
  await waitForHttp(`${base}/healthz`, service);
  return { base, service };
}

describe('edge on Node (@hono/node-server)', () => {
  const cleanups: Array<() => Promise<void>> = [];
  after(async () => {
    for (const c of cleanups) await c();
  });

  test('accounts smoke against PostgreSQL', async () => {
    const url = await (await testInfra()).createPostgresDatabase();
    const { base, service } = await startNodeEdge({ DATABASE_URL: url, KEEL_MIGRATE_ON_START: 'true' });
    cleanups.push(() => service.stop());
    await runAccountsSmoke(base);
  });

  test('accounts smoke against embedded PGlite under KEEL_DATA_DIR', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'keel-data-'));
    const { base, service } = await startNodeEdge({ KEEL_DATA_DIR: dir });
    cleanups.push(async () => {
      await service.stop();
      rmSync(dir, { recursive: true, force: true });
    });
    await runAccountsSmoke(base);
  });
});
