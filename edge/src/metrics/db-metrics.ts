/** keel_db_* label values: what a query does, from its first word. */
export type DbOperation = 'select' | 'insert' | 'update' | 'delete' | 'other';

/** Where database calls are reported (prom-recorder.ts). */
export interface QueryObserver {
  /** A query or transaction starts; `holdsConnection`: it takes a connection of the pool (or waits for one). */
  queryStarted(holdsConnection: boolean): void;
  queryDone(operation: DbOperation, seconds: number, failed: boolean, heldConnection: boolean): void;
  /** How many connections the pool may open (1 for PGlite). */
  poolSize(max: number): void;
}

const FIRST_WORD = /^\s*(select|insert|update|delete)\b/i;

export function operationOf(query: string): DbOperation {
  const m = FIRST_WORD.exec(query);
  return m ? (m[1]!.toLowerCase() as DbOperation) : 'other';
}

/** Times `run` as one query (or transaction) of `operation`; the result and error pass through. */
function timed<T>(observer: QueryObserver, operation: DbOperation, holds: boolean, run: () => T): T {
  observer.queryStarted(holds);
  const started = performance.now();
  const done = (failed: boolean) =>
    observer.queryDone(operation, (performance.now() - started) / 1000, failed, holds);
  let result: T;
  try {
    result = run();
  } catch (err) {
    done(true);
    throw err;
  }
  Promise.resolve(result).then(
    () => done(false),
    () => done(true),
  );
  return result;
}

type Fn = (...args: unknown[]) => unknown;
interface SqlLike {
  unsafe: Fn;
  begin?: Fn;
  savepoint?: Fn;
}

/**
 * postgres.js: times `unsafe` (every query drizzle sends goes through it) on the client and on
 * the clients its transactions hand out. A top-level query holds a pool connection while it
 * runs, and so does a transaction (`begin`) for its whole life; queries inside one do not take
 * another (postgres.js's own `begin` statement counts as an `other` query). A query is timed
 * from when it is first awaited, which is when postgres.js starts it.
 */
export function observePostgres<T extends object>(sql: T, observer: QueryObserver, max: number): T {
  observer.poolSize(max);
  wrapSql(sql as unknown as SqlLike, observer, true);
  return sql;
}

function wrapSql(sql: SqlLike, observer: QueryObserver, topLevel: boolean): void {
  const unsafe = sql.unsafe;
  sql.unsafe = (...args: unknown[]) => {
    const query = unsafe.apply(sql, args) as PromiseLike<unknown>;
    // Observed once something awaits it: `unsafe` also makes fragments put inside other queries,
    // which are never run on their own (and must not be started here).
    const then = query.then;
    let observed = false;
    // biome-ignore lint/suspicious/noThenProperty: the query is a thenable already; this is its own `then`, observed.
    (query as { then: typeof then }).then = function observedThen(this: PromiseLike<unknown>, ...handlers) {
      if (!observed) {
        observed = true;
        timed(observer, operationOf(String(args[0])), topLevel, () => then.call(this, undefined, undefined));
      }
      return then.apply(this, handlers);
    } as typeof then;
    return query;
  };
  for (const name of ['begin', 'savepoint'] as const) {
    const open = sql[name];
    if (!open) continue;
    sql[name] = (...args: unknown[]) => {
      const last = args.length - 1;
      const body = args[last] as (tx: SqlLike) => unknown;
      args[last] = (tx: SqlLike) => {
        wrapSql(tx, observer, false);
        return body(tx);
      };
      // A transaction counts as one `other` call holding its connection; its queries count on their own.
      return timed(observer, 'other', topLevel && name === 'begin', () => open.apply(sql, args));
    };
  }
}

interface PgliteLike {
  query: Fn;
  transaction: (body: (tx: { query: Fn }) => unknown) => Promise<unknown>;
}

/**
 * PGlite: one connection (max 1), queries taking turns. Times `query` on the client and on the
 * transactions it opens.
 */
export function observePglite<T extends object>(client: T, observer: QueryObserver): T {
  observer.poolSize(1);
  const pg = client as unknown as PgliteLike;
  const query = pg.query;
  pg.query = (...args: unknown[]) =>
    timed(observer, operationOf(String(args[0])), true, () => query.apply(pg, args));
  const transaction = pg.transaction;
  pg.transaction = (body) =>
    timed(observer, 'other', true, () =>
      transaction.call(pg, (tx) => {
        const inner = tx.query;
        tx.query = (...args: unknown[]) =>
          timed(observer, operationOf(String(args[0])), false, () => inner.apply(tx, args));
        return body(tx);
      }),
    );
  return client;
}
