import type { MiddlewareHandler } from 'hono';
import { createApp } from './app.ts';
import type { AppEnv } from './app-env.ts';
import { newKeyCache } from './auth/signing-keys.ts';
import { ConfigError, type EdgeConfig, parseEdgeEnv } from './env.ts';
import { ApiError } from './http/api-error.ts';
import { stopRequestLog } from './http/request-log.ts';
import { RequestStats } from './metrics/request-stats.ts';
import { systemClock } from './services/clock.ts';
import { connectPostgres } from './services/database.ts';
import { buildServices } from './services.ts';
import { workerdUpgrade } from './terminal/workerd-websockets.ts';

interface WorkerBindings {
  ASSETS?: { fetch(request: Request): Promise<Response> };
  /** Cloudflare Hyperdrive in front of PostgreSQL (deploy/cloudflare/wrangler.toml): its pooled connection string. */
  HYPERDRIVE?: { connectionString: string };
  [name: string]: unknown;
}

interface WorkerContext {
  waitUntil(promise: Promise<unknown>): void;
}

/** Plain data may outlive a request in workerd; I/O objects (sockets, clients) may not. */
const keyCache = newKeyCache();
/**
 * Request figures counted by this isolate since its last flush (plain numbers). A request that
 * finds a flush due sends them with its own Redis commands (services.commands) after its response, in
 * waitUntil; figures of an isolate evicted before its next flush are lost (a few seconds' worth).
 */
const stats = new RequestStats();
let cachedConfig: { source: unknown; config: EdgeConfig } | undefined;

function configFor(env: WorkerBindings): EdgeConfig {
  if (cachedConfig?.source !== env) cachedConfig = { source: env, config: parseEdgeEnv(withHyperdrive(env)) };
  return cachedConfig.config;
}

/** With Hyperdrive bound, the database is reached through it: its connection string is DATABASE_URL. */
function withHyperdrive(env: WorkerBindings): Record<string, unknown> {
  const connectionString = env.HYPERDRIVE?.connectionString;
  return typeof connectionString === 'string' && connectionString
    ? { ...env, DATABASE_URL: connectionString }
    : env;
}

/** Every request gets its own database and Redis connections, closed once the response is out. */
const provideServices: MiddlewareHandler<AppEnv & { Bindings: WorkerBindings }> = async (c, next) => {
  let config: EdgeConfig;
  try {
    config = configFor(c.env);
    if (!config.requestLog) stopRequestLog();
  } catch (err) {
    console.error(err instanceof Error ? err.message : String(err));
    throw new ApiError(
      'not_ready',
      err instanceof ConfigError ? 'The edge is misconfigured; see its log' : 'Not ready',
    );
  }
  if (!config.databaseUrl) {
    throw new ApiError('not_ready', 'DATABASE_URL must be set when the edge runs in workerd');
  }
  const database = connectPostgres(config.databaseUrl, { max: 1 });
  const handle = buildServices({
    config,
    db: database.db,
    closeDb: database.close,
    clock: systemClock,
    keyCache,
    perRequest: true,
  });
  c.set('services', handle.services);
  try {
    await next();
  } finally {
    const flush =
      config.edgeStats && stats.due(config.edgeStats.flushMs)
        ? stats.flush(handle.services.commands, handle.services)
        : undefined;
    c.executionCtx.waitUntil(flush ? flush.finally(() => handle.close()) : handle.close());
  }
};

const serveWeb: MiddlewareHandler<AppEnv & { Bindings: WorkerBindings }> = async (c) => {
  if (!c.env.ASSETS) return c.notFound();
  const res = await c.env.ASSETS.fetch(c.req.raw);
  // Asset responses have immutable headers; copy so the security headers can be added.
  return new Response(res.body, res);
};

/** A misconfigured edge counts nothing: provideServices answers why. */
function statsOn(env: WorkerBindings): boolean {
  try {
    return configFor(env).edgeStats !== undefined;
  } catch {
    return false;
  }
}

const app = createApp({
  // The setting is read per request (the bindings come with it), so the count is too.
  observers: [
    (c, status, seconds) => {
      if (statsOn(c.env as WorkerBindings)) stats.record(status, seconds);
    },
  ],
  provideServices: provideServices as unknown as MiddlewareHandler<AppEnv>,
  clientIp: (c) => c.req.header('cf-connecting-ip') ?? undefined,
  serveWeb: serveWeb as unknown as MiddlewareHandler<AppEnv>,
  upgradeWebSocket: workerdUpgrade,
});

export default {
  fetch(request: Request, env: WorkerBindings, ctx: WorkerContext): Response | Promise<Response> {
    return app.fetch(request, env, ctx as never);
  },
};
