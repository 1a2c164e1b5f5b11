import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type ServerType, serve } from '@hono/node-server';
import { getConnInfo } from '@hono/node-server/conninfo';
import { serveStatic } from '@hono/node-server/serve-static';
import { withFileVariables } from '@keel/contract/env-files';
import { OtlpExporter, otlpConfigFrom } from '@keel/contract/otlp';
import { migratePostgresDatabase } from '@keel/drizzle/migrate';
import type { PostgresJsDatabase } from 'drizzle-orm/postgres-js';
import type { MiddlewareHandler } from 'hono';
import { z } from 'zod';
import { type AppOptions, createApp } from './app.ts';
import type { AppEnv } from './app-env.ts';
import { newKeyCache } from './auth/signing-keys.ts';
import { type EdgeConfig, EdgeEnv, parseEdgeEnv } from './env.ts';
import { closeOpenStreams, isDraining, startDraining } from './http/graceful-stop.ts';
import { answerClientErrors } from './http/node-client-errors.ts';
import {
  exportRequestSpansTo,
  flushRequestLog,
  gatherRequestLog,
  stopRequestLog,
} from './http/request-log.ts';
import type { QueryObserver } from './metrics/db-metrics.ts';
import { flushEvery, RequestStats, requestCounter } from './metrics/request-stats.ts';
import { systemClock } from './services/clock.ts';
import { connectPostgres, type DatabaseHandle } from './services/database.ts';
import { openPglite } from './services/database-pglite.ts';
import { buildServices, type ServicesHandle } from './services.ts';
import { environmentProvidersReady } from './sso/environment-providers.ts';
import { nodeWebSockets } from './terminal/node-websockets.ts';

/** Settings only the Node entry has: where it listens and where the embedded data lives. */
const NodeEnv = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(8787),
  HOST: z.string().default('127.0.0.1'),
  KEEL_DATA_DIR: z.string().default('.keel'),
  KEEL_MIGRATE_ON_START: z.enum(['true', 'false', '']).optional(),
  KEEL_WEB_DIST: z.string().optional(),
  /**
   * On SIGTERM, how long the edge goes on serving with /readyz at 503 before it closes its streams
   * and stops accepting: long enough for a load balancer's health check to take it out (none by
   * default: without a balancer nobody is waiting to hear it).
   */
  KEEL_STOP_DRAIN_MS: z.coerce.number().int().min(0).max(60_000).default(0),
});

const defaultWebDist = fileURLToPath(new URL('../../web/dist', import.meta.url));

export interface NodeEdge {
  server: ServerType;
  port: number;
  services: ServicesHandle;
  /** Where Prometheus scrapes, when KEEL_METRICS_PORT is set. */
  metricsUrl: string | undefined;
  /**
   * A graceful stop (SIGTERM): /readyz answers 503 while requests are still served, then open
   * streams and sockets end with a reconnect hint, the server stops accepting and waits for the
   * requests in flight. `stop` follows.
   */
  drain(): Promise<void>;
  stop(): Promise<void>;
}

/** Opens the database the configuration names: PostgreSQL, or embedded PGlite under the data folder. */
export async function openDatabase(
  config: EdgeConfig,
  dataDir: string,
  migrateOnStart: boolean,
  observer?: QueryObserver,
): Promise<DatabaseHandle> {
  if (config.databaseUrl) {
    const handle = connectPostgres(config.databaseUrl, { max: 10, observer });
    if (migrateOnStart)
      await migratePostgresDatabase(handle.db as unknown as PostgresJsDatabase<Record<string, unknown>>);
    return handle;
  }
  const dir = resolve(dataDir, 'pglite');
  mkdirSync(dir, { recursive: true });
  return openPglite(dir, observer);
}

export function nodeClientIp(trustProxy: boolean): AppOptions['clientIp'] {
  return (c) => {
    if (trustProxy) {
      const forwarded = c.req.header('x-forwarded-for')?.split(',')[0]?.trim();
      if (forwarded) return forwarded;
    }
    try {
      return getConnInfo(c).remote.address;
    } catch {
      return undefined;
    }
  };
}

/** Serves the built web app, and index.html for any other path so client-side routes load. */
export function serveWebDist(dist: string): MiddlewareHandler<AppEnv> {
  const files = serveStatic({ root: dist });
  const indexPath = join(dist, 'index.html');
  return async function serveWeb(c) {
    const res = await files(c, async () => {});
    if (res) return res;
    if (c.res && c.res.status !== 404 && c.finalized) return;
    if (!existsSync(indexPath)) {
      return c.text('The web app is not built: run `npm run build -w @keel/web` (scripts/up does it).', 503);
    }
    c.header('Cache-Control', 'no-cache');
    return c.html(readFileSync(indexPath, 'utf8'));
  };
}

export async function startNodeEdge(
  given: Record<string, string | undefined> = process.env,
): Promise<NodeEdge> {
  // DATABASE_URL_FILE, KEEL_SECRET_KEY_FILE…: any setting may come from a mounted secret file.
  const env = withFileVariables(given, [...Object.keys(EdgeEnv.shape), ...Object.keys(NodeEnv.shape)]);
  const config = parseEdgeEnv(env);
  const nodeEnv = NodeEnv.parse(env);
  mkdirSync(nodeEnv.KEEL_DATA_DIR, { recursive: true });
  // Loaded only with metrics on: prom-client stays out of the process (and the per-request path) otherwise.
  const metrics = config.metrics ? (await import('./metrics/node-metrics.ts')).edgeMetrics() : undefined;
  const database = await openDatabase(
    config,
    nodeEnv.KEEL_DATA_DIR,
    nodeEnv.KEEL_MIGRATE_ON_START === 'true',
    metrics?.recorder,
  );
  const handle = buildServices({
    config,
    db: database.db,
    closeDb: database.close,
    clock: systemClock,
    keyCache: newKeyCache(),
    ...(metrics ? { metrics: metrics.recorder, redisCommands: metrics.recorder } : {}),
  });
  // Providers declared by the environment are written before anyone can sign in; a mistake in
  // them stops the start with its reason (workerd, with no start, writes them on first need).
  await environmentProvidersReady(handle.services, { throwOnError: true });
  // Request lines gathered and written together (see http/request-log.ts), or none.
  if (config.requestLog) gatherRequestLog(process.stdout);
  else stopRequestLog();
  // A span per request to an OpenTelemetry collector, when one is configured (contract/otlp).
  const otlp = otlpConfigFrom(env, 'keel-edge');
  const spans = otlp ? new OtlpExporter(otlp) : undefined;
  exportRequestSpansTo(spans);
  // Request figures shared by every edge: counted in memory, sent to Redis every few seconds.
  const stats = config.edgeStats ? new RequestStats() : undefined;
  const statsFlush =
    stats && config.edgeStats
      ? flushEvery(stats, handle.services.commands, handle.services, config.edgeStats.flushMs)
      : undefined;
  const sockets = nodeWebSockets();
  const app = createApp({
    provideServices: function processServices(c, next) {
      c.set('services', handle.services);
      return next();
    },
    clientIp: nodeClientIp(config.trustProxy),
    serveWeb: serveWebDist(nodeEnv.KEEL_WEB_DIST ?? defaultWebDist),
    upgradeWebSocket: sockets.upgrade,
    directory: () => import('./ldap/ldap-directory.ts'),
    observers: [...(metrics ? [metrics.observer] : []), ...(stats ? [requestCounter(stats)] : [])],
  });
  const server = await new Promise<ServerType>((resolveServer) => {
    const s = serve(
      {
        fetch: app.fetch,
        port: nodeEnv.PORT,
        hostname: nodeEnv.HOST,
        websocket: { server: sockets.server },
      },
      () => resolveServer(s),
    );
  });
  answerClientErrors(server as Server);
  // While draining, a kept-alive connection (a balancer's) is closed after its answer instead of
  // taking another request that could meet the server's close.
  server.on('request', (_req, res) => {
    if (isDraining() && !res.headersSent) res.setHeader('connection', 'close');
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : nodeEnv.PORT;
  const served =
    metrics && config.metrics
      ? await metrics.start(handle.services, config.metrics, config.auditVerifyIntervalSeconds)
      : undefined;
  return {
    server,
    port,
    services: handle,
    metricsUrl: served?.url,
    async drain() {
      startDraining();
      await new Promise((r) => setTimeout(r, nodeEnv.KEEL_STOP_DRAIN_MS));
      closeOpenStreams();
      sockets.closeForRestart();
      const closed = new Promise<void>((r) => server.close(() => r()));
      (server as Server).closeIdleConnections();
      await closed;
    },
    async stop() {
      await served?.stop();
      sockets.closeAll();
      await new Promise<void>((r) => server.close(() => r()));
      await statsFlush?.stop().catch(() => {});
      await handle.close();
      flushRequestLog();
      await spans?.flush();
    },
  };
}

const isMain = process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (isMain) {
  startNodeEdge().then(
    (edge) => {
      console.log(JSON.stringify({ level: 'info', msg: 'keel edge listening', port: edge.port }));
      if (edge.metricsUrl)
        console.log(JSON.stringify({ level: 'info', msg: 'keel edge metrics served', url: edge.metricsUrl }));
      let stopping = false;
      // SIGTERM (a process manager, a rolling restart) drains first; Ctrl-C stops at once.
      const shutdown = (graceful: boolean) => {
        if (stopping) return;
        stopping = true;
        (graceful ? edge.drain() : Promise.resolve())
          .then(() => edge.stop())
          .then(
            () => process.exit(0),
            () => process.exit(1),
          );
        setTimeout(() => process.exit(1), 10_000 + (graceful ? 20_000 : 0)).unref();
      };
      process.on('SIGINT', () => shutdown(false));
      process.on('SIGTERM', () => shutdown(true));
    },
    (err) => {
      console.error(err instanceof Error ? err.message : err);
      process.exit(1);
    },
  );
}
