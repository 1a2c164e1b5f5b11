import { startPostgresServer } from '../../tests/harness/postgres-server.ts';
import { startRedisServer } from '../../tests/harness/redis-server.ts';
import { startSystem } from '../system.ts';
import { ApiClient } from './api.ts';
import { pidListeningOn, type WatchedProcess } from './process-stats.ts';
import type { ScaleTarget } from './scaletest.ts';

/** Everything an administrator's token for the scale test may need: members, and workspaces of its own. */
const ADMIN_PERMISSIONS = [
  'members:manage',
  'settings:manage',
  'workspaces:read',
  'workspaces:create',
  'workspaces:use',
];

/**
 * The most workspaces per CPU and per byte that placement allows: the test's workspaces are
 * ceilings `cat` never reaches, and the ramp is to find where the host breaks, not the policy.
 * Only on a system the test started: a Keel tested by URL keeps its organization's policy.
 */
const DENSE_PLACEMENT = {
  strategy: 'least-loaded',
  requiredLabels: {},
  preferredLabels: {},
  cpuOvercommit: 64,
  memoryOvercommit: 16,
};

/** A token for `client`'s person (signed in with a short-lived session), that outlasts a long ramp. */
export async function mintToken(
  base: string,
  sessionToken: string,
  permissions = ADMIN_PERMISSIONS,
): Promise<string> {
  const minted = await new ApiClient(base, sessionToken).call<{ token: string }>(
    'POST',
    '/api/account/tokens',
    {
      name: 'scale test admin',
      permissions,
      expiresInDays: 1,
    },
  );
  return minted.token;
}

const portOf = (url: string) => Number(new URL(url).port);

/** The system's processes to measure, found from the URLs they listen on. */
export function watchedFor(
  urls: { edge?: string; redis?: string; postgres?: string },
  runnerPid?: number,
): WatchedProcess[] {
  const out: WatchedProcess[] = [];
  const add = (role: string, url: string | undefined, tree: boolean) => {
    const pid = url ? pidListeningOn(portOf(url)) : undefined;
    if (pid) out.push({ role, pid, tree });
  };
  add('edge', urls.edge, true);
  if (runnerPid) {
    out.push({ role: 'runner', pid: runnerPid, tree: false });
    // The process driver's workspaces (shells, cat) are the runner's children; Docker's are not.
    out.push({ role: 'runner and its workspaces', pid: runnerPid, tree: true });
  }
  add('redis', urls.redis, false);
  // Every backend is the postmaster's child.
  add('postgres', urls.postgres, true);
  return out;
}

export interface OwnSystem {
  target: ScaleTarget;
  stop(): Promise<void>;
}

/**
 * Keel as deployed on one host: its own Redis and PostgreSQL, the Node edge and one runner, each
 * its own process, so that the figures of each are the system's alone. `redisUrl` and
 * `databaseUrl` use servers already running instead (the test suite's).
 */
export async function startOwnSystem(
  driver: 'process' | 'docker',
  shared: { redisUrl?: string; databaseUrl?: string } = {},
): Promise<OwnSystem> {
  const redis = shared.redisUrl ? undefined : await startRedisServer();
  const pg = shared.databaseUrl ? undefined : await startPostgresServer();
  const redisUrl = shared.redisUrl ?? redis!.url;
  const databaseUrl = shared.databaseUrl ?? (await pg!.createDatabase('keel'));
  const previousRedis = process.env.KEEL_TEST_REDIS_URL;
  process.env.KEEL_TEST_REDIS_URL = redisUrl;
  const sys = await startSystem(driver, {
    // Every person signs up from the test's one address: sign-ups are not what is measured.
    edgeEnv: {
      DATABASE_URL: databaseUrl,
      KEEL_MIGRATE_ON_START: 'true',
      KEEL_LOGIN_RATE_LIMIT_PER_MINUTE: '10000',
    },
    // One runner takes every workspace of the test.
    runnerEnv: { KEEL_RUNNER_CAPACITY_WORKSPACES: '10000' },
  }).finally(() => {
    process.env.KEEL_TEST_REDIS_URL = previousRedis;
  });
  const admin = new ApiClient(sys.base, await mintToken(sys.base, sys.admin.accessToken!));
  await admin.call('PUT', '/api/admin/placement-policy', { policy: DENSE_PLACEMENT });
  return {
    target: {
      base: sys.base,
      admin,
      watched: watchedFor({ edge: sys.base, redis: redisUrl, postgres: databaseUrl }, sys.runner.child.pid),
    },
    async stop() {
      await sys.stop();
      redis?.process.kill('SIGKILL');
      await pg?.stop();
    },
  };
}
