import { randomBytes } from 'node:crypto';
import { migratePostgresDatabase } from '@keel/drizzle/migrate';
import type { PostgresJsDatabase } from 'drizzle-orm/postgres-js';
import type { Hono } from 'hono';
import { createApp } from '../../edge/src/app.ts';
import { newKeyCache } from '../../edge/src/auth/signing-keys.ts';
import { parseEdgeEnv } from '../../edge/src/env.ts';
import { sendRequestLogTo } from '../../edge/src/http/request-log.ts';
import { type Clock, systemClock } from '../../edge/src/services/clock.ts';
import { connectPostgres, type DatabaseHandle } from '../../edge/src/services/database.ts';
import { openPglite } from '../../edge/src/services/database-pglite.ts';
import { buildServices, type Services } from '../../edge/src/services.ts';
import type { SocketUpgrade } from '../../edge/src/terminal/socket-upgrade.ts';
import { testInfra } from './infra.ts';
import { checkedResponse } from './response-check.ts';

// In-process apps log no request lines unless a test listens for them (sendRequestLogTo).
sendRequestLogTo(() => {});
export type DatabaseKind = 'pglite' | 'postgres';
export const DATABASE_KINDS: DatabaseKind[] = ['pglite', 'postgres'];

export interface TestApp {
  app: Hono<never>;
  services: Services;
  /** Fetch against the in-process app, as a browser on `http://keel.test` would; JSON answers are checked against their route's description. */
  fetch(path: string, init?: RequestInit): Promise<Response>;
  close(): Promise<void>;
}

export function testSecretKey(): string {
  return randomBytes(32).toString('base64');
}

/**
 * Tests send many requests a minute from one address and one person: the request limits of
 * production (600 and 300 a minute) would refuse them. Tests of the limits set their own.
 */
export const GENEROUS_REQUEST_LIMITS = {
  KEEL_RATE_LIMIT_IP_PER_MINUTE: '1000000',
  KEEL_RATE_LIMIT_PERSON_PER_MINUTE: '1000000',
};

/** A fresh database of the given kind with migrations applied. */
export async function freshDatabase(kind: DatabaseKind): Promise<DatabaseHandle> {
  if (kind === 'pglite') return openPglite(undefined);
  return migratedPostgres(await (await testInfra()).createPostgresDatabase());
}

/** The edge's connection to the PostgreSQL database at `url`, migrated. */
export async function migratedPostgres(url: string): Promise<DatabaseHandle> {
  const handle = connectPostgres(url, { max: 5 });
  await migratePostgresDatabase(handle.db as unknown as PostgresJsDatabase<Record<string, unknown>>);
  return handle;
}

/**
 * The real app, on a fresh database, with real Redis. Each app has its own client address
 * so rate limits in one test do not leak into another.
 */
export async function createTestApp(
  options: {
    database?: DatabaseKind;
    /** A PostgreSQL database of the test's own (a server it restarts), instead of a fresh one. */
    databaseUrl?: string;
    env?: Record<string, string>;
    clock?: Clock;
    /** The client address of every request, or a function that says it per request. */
    clientIp?: string | (() => string);
    /** For apps served on a real port with WebSockets (see runner-rig). */
    upgradeWebSocket?: SocketUpgrade;
  } = {},
): Promise<TestApp> {
  const infra = await testInfra();
  const database = options.databaseUrl
    ? await migratedPostgres(options.databaseUrl)
    : await freshDatabase(options.database ?? 'pglite');
  const config = parseEdgeEnv({
    REDIS_URL: infra.redisUrl,
    KEEL_SECRET_KEY: testSecretKey(),
    // Tests share one Redis: a prefix per app keeps their counters apart.
    KEEL_REDIS_PREFIX: `t${randomBytes(6).toString('hex')}:`,
    ...GENEROUS_REQUEST_LIMITS,
    ...options.env,
  });
  const handle = buildServices({
    config,
    db: database.db,
    closeDb: database.close,
    clock: options.clock ?? systemClock,
    keyCache: newKeyCache(),
  });
  const ip = options.clientIp ?? `10.${randomBytes(3).join('.')}`;
  const clientIp = typeof ip === 'function' ? ip : () => ip;
  const app = createApp({
    provideServices: async (c, next) => {
      c.set('services', handle.services);
      await next();
    },
    clientIp,
    ...(options.upgradeWebSocket ? { upgradeWebSocket: options.upgradeWebSocket } : {}),
    directory: () => import('../../edge/src/ldap/ldap-directory.ts'),
  });
  return {
    app: app as unknown as Hono<never>,
    services: handle.services,
    fetch: async (path, init) =>
      checkedResponse(
        init?.method ?? 'GET',
        path,
        await app.request(new URL(path, 'http://keel.test').toString(), init),
      ),
    close: () => handle.close(),
  };
}

/** A clock tests can move forward. */
export function manualClock(start = new Date()): Clock & { advance(seconds: number): void } {
  let now = start.getTime();
  return {
    now: () => new Date(now),
    advance(seconds) {
      now += seconds * 1000;
    },
  };
}
