import { type PostgresServer, startPostgresServer } from './postgres-server.ts';
import { type RedisServer, startRedisServer } from './redis-server.ts';

/**
 * The Redis and PostgreSQL servers a test process uses. `tests/run.ts` starts one of each
 * for the whole run and passes their URLs down; a test file run on its own starts its own,
 * stopped when it exits.
 */
export interface TestInfra {
  redisUrl: string;
  createPostgresDatabase(): Promise<string>;
}

let infra: Promise<TestInfra> | undefined;
let stopSpawned: (() => Promise<void>) | undefined;

export function testInfra(): Promise<TestInfra> {
  infra ??= (async () => {
    const redisUrl = process.env.KEEL_TEST_REDIS_URL;
    const pgUrl = process.env.KEEL_TEST_PG_URL;
    let redis: RedisServer | undefined;
    let pg: PostgresServer | undefined;
    if (!redisUrl) redis = await startRedisServer();
    if (!pgUrl) pg = await startPostgresServer();
    if (redis || pg) {
      // Spawned servers must not keep the test process alive, and must die with it.
      redis?.process.unref();
      process.once('exit', () => {
        redis?.process.kill('SIGKILL');
        // A process that ends with process.exit() never sees 'beforeExit'.
        pg?.killNow();
      });
      process.once('beforeExit', () => {
        void pg?.stop();
      });
      stopSpawned = async () => {
        redis?.process.kill('SIGKILL');
        await pg?.stop();
      };
    }
    const sharedPg = pgUrl ? await attachPostgres(pgUrl) : pg!;
    return {
      redisUrl: redisUrl ?? redis!.url,
      createPostgresDatabase: () => sharedPg.createDatabase(),
    };
  })();
  return infra;
}

async function attachPostgres(url: string): Promise<Pick<PostgresServer, 'createDatabase'>> {
  const { default: postgres } = await import('postgres');
  let counter = 0;
  return {
    async createDatabase() {
      const name = `t_${process.pid}_${Date.now().toString(36)}_${counter++}`;
      const sql = postgres(url, { max: 1, onnotice: () => {} });
      try {
        await sql.unsafe(`create database "${name}"`);
      } finally {
        await sql.end();
      }
      const u = new URL(url);
      u.pathname = `/${name}`;
      return u.toString();
    },
  };
}

/** Stops the servers this process started (a script that exits by itself calls it first). */
export async function stopTestInfra(): Promise<void> {
  await stopSpawned?.();
  stopSpawned = undefined;
}
