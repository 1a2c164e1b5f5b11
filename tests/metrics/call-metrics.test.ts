import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { PGlite } from '@electric-sql/pglite';
import * as schema from '@keel/drizzle/schema';
import { sql } from 'drizzle-orm';
import { drizzle as pgliteDrizzle } from 'drizzle-orm/pglite';
import { drizzle } from 'drizzle-orm/postgres-js';
import { Redis } from 'ioredis';
import postgres from 'postgres';
import {
  type DbOperation,
  observePglite,
  observePostgres,
  operationOf,
} from '../../edge/src/metrics/db-metrics.ts';
import { PromEdgeMetrics } from '../../edge/src/metrics/prom-recorder.ts';
import { instrumentRedis } from '../../edge/src/metrics/redis-metrics.ts';
import { testInfra } from '../harness/infra.ts';

/** Real Redis, PostgreSQL and PGlite: what the edge's wrappers record of good and failing calls. */
const closers: Array<() => Promise<unknown>> = [];
after(async () => {
  for (const close of closers) await close();
});

const line = async (m: PromEdgeMetrics, series: string) => {
  const text = await m.scrape();
  const found = text.split('\n').find((l) => l.startsWith(`${series} `));
  return found ? Number(found.slice(series.length + 1)) : undefined;
};

test('Redis commands are timed by name, failures counted, MULTI included', async () => {
  const m = new PromEdgeMetrics();
  const redis = instrumentRedis(new Redis(process.env.KEEL_TEST_REDIS_URL!), m);
  closers.push(() => redis.quit());
  const key = `keel-call-metrics:${process.pid}`;
  await redis.set(key, '1', 'EX', 60);
  await redis.get(key);
  await redis.multi().incr(key).expire(key, 60).exec();
  await assert.rejects(redis.hget(key, 'field'));
  assert.equal(await line(m, 'keel_redis_command_duration_seconds_count{command="get"}'), 1);
  assert.equal(await line(m, 'keel_redis_command_duration_seconds_count{command="incr"}'), 1);
  assert.equal(await line(m, 'keel_redis_errors_total{command="hget"}'), 1);
  assert.equal(await line(m, 'keel_redis_errors_total{command="get"}'), 0);
  const inf = await line(m, 'keel_redis_command_duration_seconds_bucket{le="+Inf",command="get"}');
  assert.equal(inf, 1);
});

const operations = async (m: PromEdgeMetrics) =>
  Object.fromEntries(
    await Promise.all(
      (['select', 'insert', 'other'] as DbOperation[]).map(async (o) => [
        o,
        {
          count: await line(m, `keel_db_query_duration_seconds_count{operation="${o}"}`),
          errors: await line(m, `keel_db_errors_total{operation="${o}"}`),
        },
      ]),
    ),
  );

test('PostgreSQL (postgres.js): queries by operation, errors, transactions, the pool back to idle', async () => {
  const m = new PromEdgeMetrics();
  const url = await (await testInfra()).createPostgresDatabase();
  const client = observePostgres(postgres(url, { max: 3, onnotice: () => {} }), m, 3);
  closers.push(() => client.end());
  const db = drizzle(client, { schema });
  await db.execute(sql`create table t (n int)`);
  await db.execute(sql`insert into t values (1)`);
  assert.deepEqual([...(await db.execute(sql`select n from t`))], [{ n: 1 }]);
  await assert.rejects(db.execute(sql`select * from no_such_table`));
  await db.transaction(async (tx) => {
    await tx.execute(sql`insert into t values (2)`);
    await tx.execute(sql`select 1`);
  });
  const ops = await operations(m);
  assert.deepEqual(ops.select, { count: 3, errors: 1 });
  assert.deepEqual(ops.insert, { count: 2, errors: 0 });
  // create table, the BEGIN postgres.js sends, and the transaction as a whole.
  assert.deepEqual(ops.other, { count: 3, errors: 0 });
  assert.equal(await line(m, 'keel_db_pool_connections{state="in_use"}'), 0);
  // A fragment made by `unsafe` and never run alone is not counted (nor started).
  client.unsafe('"t"');
  assert.equal((await operations(m)).other!.count, 3);
  assert.equal(await line(m, 'keel_db_pool_connections{state="idle"}'), 3);
});

test('PGlite: the same, with a pool of one', async () => {
  const m = new PromEdgeMetrics();
  const client = observePglite(new PGlite(), m);
  closers.push(() => client.close());
  const db = pgliteDrizzle(client, { schema });
  await db.execute(sql`create table t (n int)`);
  await db.transaction(async (tx) => {
    await tx.execute(sql`insert into t values (1)`);
  });
  await assert.rejects(db.execute(sql`select * from no_such_table`));
  const ops = await operations(m);
  // PGlite asks for the array types itself (a select of pg_type) through the same `query`.
  assert.ok(ops.select!.count! >= 1);
  assert.equal(ops.select!.errors, 1);
  assert.deepEqual(ops.insert, { count: 1, errors: 0 });
  assert.deepEqual(ops.other, { count: 2, errors: 0 });
  assert.equal(await line(m, 'keel_db_pool_connections{state="idle"}'), 1);
});

test('operations are read from the first word only', () => {
  assert.equal(operationOf('  SELECT 1'), 'select');
  assert.equal(operationOf('with x as (select 1) select * from x'), 'other');
  assert.equal(operationOf('update "t" set'), 'update');
  assert.equal(operationOf('deleted'), 'other');
});
