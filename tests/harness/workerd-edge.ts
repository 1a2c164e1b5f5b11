import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './ports.ts';
import { spawnService, waitForHttp } from './processes.ts';
import { GENEROUS_REQUEST_LIMITS, testSecretKey } from './test-app.ts';

const root = new URL('../..', import.meta.url).pathname;

export interface WorkerdEdge {
  base: string;
  /** A scratch folder that lives as long as the edge (0711: a runner's sandbox may need to pass through). */
  dir: string;
  output(): string;
  stop(): Promise<void>;
}

/** The edge's workerd entry under `wrangler dev`, on a free port, against the given Redis and database. */
export async function startWorkerdEdge(opts: {
  redisUrl: string;
  databaseUrl: string;
  redisPrefix: string;
  /** More of the edge's variables, over the defaults here. */
  env?: Record<string, string>;
  /**
   * The production configuration (deploy/cloudflare/wrangler.toml) instead of the repository's:
   * the database is then reached through its Hyperdrive binding (wrangler's local Hyperdrive,
   * given the URL), not DATABASE_URL.
   */
  production?: boolean;
}): Promise<WorkerdEdge> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'keel-workerd-'));
  chmodSync(dir, 0o711);
  const envFile = join(dir, 'dev.vars');
  writeFileSync(
    envFile,
    [
      // The production file names its public host; here the edge is this loopback address.
      ...(opts.production
        ? [`KEEL_PUBLIC_URL=http://127.0.0.1:${port}`, 'KEEL_TRUST_PROXY=false']
        : [`DATABASE_URL=${opts.databaseUrl}`]),
      `REDIS_URL=${opts.redisUrl}`,
      `KEEL_SECRET_KEY=${testSecretKey()}`,
      `KEEL_REDIS_PREFIX=${opts.redisPrefix}`,
      ...Object.entries({ ...GENEROUS_REQUEST_LIMITS, ...opts.env }).map(([k, v]) => `${k}=${v}`),
    ].join('\n'),
  );
  const wrangler = spawnService(
    join(root, 'node_modules/.bin/wrangler'),
    [
      'dev',
      ...(opts.production ? ['--config', join(root, 'deploy/cloudflare/wrangler.toml')] : []),
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
    {
      ...process.env,
      WRANGLER_SEND_METRICS: 'false',
      CI: 'true',
      NO_COLOR: '1',
      ...(opts.production
        ? { CLOUDFLARE_HYPERDRIVE_LOCAL_CONNECTION_STRING_HYPERDRIVE: withPassword(opts.databaseUrl) }
        : {}),
    },
    root,
  );
  const stop = async () => {
    await wrangler.stop();
    rmSync(dir, { recursive: true, force: true });
  };
  const base = `http://127.0.0.1:${port}`;
  try {
    await waitForHttp(`${base}/healthz`, wrangler, 120_000);
  } catch (err) {
    await stop();
    throw err;
  }
  return { base, dir, output: () => wrangler.output(), stop };
}

/** Local Hyperdrive insists on a password in its URL; the tests' PostgreSQL trusts loopback, so any will do. */
function withPassword(databaseUrl: string): string {
  const url = new URL(databaseUrl);
  if (!url.password) url.password = 'trusted-on-loopback';
  return url.toString();
}
