import { after, describe, test } from 'node:test';
import { runAccountsSmoke } from '../harness/accounts-smoke.ts';
import { testInfra } from '../harness/infra.ts';
import { freshDatabaseUrl } from '../harness/migrated-postgres.ts';
import { startWorkerdEdge } from '../harness/workerd-edge.ts';

describe('edge on workerd (wrangler dev)', () => {
  const cleanups: Array<() => Promise<void>> = [];
  after(async () => {
    for (const c of cleanups) await c();
  });

  test('accounts smoke against PostgreSQL and Redis from inside workerd', async () => {
    const infra = await testInfra();
    const edge = await startWorkerdEdge({
      redisUrl: infra.redisUrl,
      databaseUrl: await freshDatabaseUrl(),
      redisPrefix: `workerd${process.pid}:`,
    });
    cleanups.push(edge.stop);
    try {
      await runAccountsSmoke(edge.base);
    } catch (err) {
      console.error(edge.output());
      throw err;
    }
  });
});
