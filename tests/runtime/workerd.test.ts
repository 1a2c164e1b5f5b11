import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { runAccountsSmoke } from '../harness/accounts-smoke.ts';
import { testInfra } from '../harness/infra.ts';
import { freshDatabaseUrl } from '../harness/migrated-postgres.ts';
import { freePort } from '../harness/ports.ts';
import { spawnService, waitForHttp } from '../harness/processes.ts';
import { testSecretKey } from '../harness/test-app.ts';

const root = new URL('../..', import.meta.url).pathname;

describe('edge on workerd (wrangler dev)', () => {
  const cleanups: Array<() => Promise<void>> = [];
  after(async () => {
    for (const c of cleanups) await c();
  });

  test('accounts smoke against PostgreSQL and Redis from inside workerd', async () => {
    const infra = await testInfra();
    const databaseUrl = await freshDatabaseUrl();
    const port = await freePort();
    const dir = mkdtempSync(join(tmpdir(), 'keel-workerd-'));
    const envFile = join(dir, 'dev.vars');
    writeFileSync(
      envFile,
      [
        `DATABASE_URL=${databaseUrl}`,
        `REDIS_URL=${infra.redisUrl}`,
        `KEEL_SECRET_KEY=${testSecretKey()}`,
        `KEEL_REDIS_PREFIX=workerd${port}:`,
      ].join('\n'),
    );
    const wrangler = spawnService(
      join(root, 'node_modules/.bin/wrangler'),
      [
        'dev',
        '--ip',
        '127.0.0.1',
        '--port',
        String(port),
        '--env-file',
        envFile,
        '--persist-to',
        join(dir, 'state'),
        '--inspector-port',
        String(await freePort()),
        '--show-interactive-dev-session=false',
        '--log-level',
        'warn',
      ],
      { ...process.env, WRANGLER_SEND_METRICS: 'false', CI: 'true', NO_COLOR: '1' },
      root,
    );
    cleanups.push(async () => {
      await wrangler.stop();
      rmSync(dir, { recursive: true, force: true });
    });
    await waitForHttp(`http://127.0.0.1:${port}/healthz`, wrangler, 120_000);
    try {
      await runAccountsSmoke(`http://127.0.0.1:${port}`);
    } catch (err) {
      console.error(wrangler.output());
      throw err;
    }
  });
});
