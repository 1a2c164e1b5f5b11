import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultProcessRoot } from '../../../runners/src/process-root.ts';
import { freePort, waitFor } from '../../harness/ports.ts';
import { removeProcessWorkspaces } from '../../harness/process-workspaces.ts';
import { spawnService, waitForHttp } from '../../harness/processes.ts';

const root = new URL('../../..', import.meta.url).pathname;

export interface KeelInstance {
  base: string;
  /** The process group of scripts/up and everything it started. */
  pgid: number;
  /** What scripts/up printed last, for failure messages. */
  output(): string;
  stop(): Promise<void>;
}

/** True while any process of the group is alive. */
function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Starts the whole system the way a person does, with `scripts/up`, on a free port and a fresh data folder,
 * in its own process group; `stop` is Ctrl-C to that group. The web app must be built beforehand
 * (KEEL_SKIP_WEB_BUILD=1 serves web/dist as it is).
 */
export async function startKeel(
  options: { port?: number; env?: NodeJS.ProcessEnv } = {},
): Promise<KeelInstance> {
  const port = options.port ?? (await freePort());
  const dataDir = mkdtempSync(join(tmpdir(), 'keel-e2e-'));
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PORT: String(port),
    KEEL_DATA_DIR: dataDir,
    KEEL_SKIP_WEB_BUILD: '1',
    // Browsers load the app's files from one address; the limits' own tests set theirs.
    KEEL_RATE_LIMIT_IP_PER_MINUTE: '1000000',
    KEEL_RATE_LIMIT_PERSON_PER_MINUTE: '1000000',
    ...options.env,
  };
  // The instance brings its own Redis, database and secret, whatever the calling shell has set
  // (a test may hand it a database of its own, to change what no route changes yet).
  delete env.REDIS_URL;
  if (options.env?.DATABASE_URL === undefined) delete env.DATABASE_URL;
  delete env.KEEL_SECRET_KEY;
  const service = spawnService(join(root, 'scripts/up'), [], env, root);
  const base = `http://127.0.0.1:${port}`;
  const pgid = service.child.pid!;

  async function stop(): Promise<void> {
    try {
      process.kill(-pgid, 'SIGINT');
    } catch {
      // Already gone.
    }
    await waitFor(
      'every process scripts/up started to stop',
      async () => (groupAlive(pgid) ? undefined : true),
      30_000,
    );
    // The local runner's workspaces outlive it (scripts/up's runner: KEEL_RUNNER_DATA_DIR below).
    await removeProcessWorkspaces(
      defaultProcessRoot({
        KEEL_RUNNER_DATA_DIR: join(dataDir, 'runner'),
        KEEL_RUNNER_WORKSPACES_DIR: env.KEEL_RUNNER_WORKSPACES_DIR,
      }),
    );
    rmSync(dataDir, { recursive: true, force: true });
  }

  try {
    await waitForHttp(`${base}/readyz`, service, 120_000);
  } catch (error) {
    await stop().catch(() => {});
    throw error;
  }
  return { base, pgid, output: service.output, stop };
}
