import { RUNNER_LOST_AFTER_SECONDS } from '@keel/contract/fleet';
import { PLAN_LIMIT_NAMES, type Plan, type PlanLimits } from '@keel/contract/plans';
import { REDIS_URL_MESSAGE, REDIS_URL_PATTERN } from '@keel/contract/redis-url';
import { z } from 'zod';
import { SecretKeyring } from './auth/secret-keys.ts';

const flag = z
  .enum(['true', 'false', '1', '0', 'yes', 'no', ''])
  .optional()
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

const intFrom = (def: number, min: number, max: number) =>
  z.coerce.number().int().min(min).max(max).optional().default(def);

/** A plan limit from the environment: a positive whole number, or unset / empty / `unlimited` for none. */
const planLimit = z.preprocess(
  (v) => (v === undefined || (typeof v === 'string' && ['', 'unlimited'].includes(v.trim())) ? null : v),
  z.coerce.number().int().positive().max(1_000_000_000).nullable(),
);

const planLimitEnv = (prefix: string) => ({
  [`${prefix}_AI_TOKENS_PER_DAY`]: planLimit,
  [`${prefix}_CONCURRENT_WORKSPACES`]: planLimit,
  [`${prefix}_CONCURRENT_COMMANDS`]: planLimit,
  [`${prefix}_API_REQUESTS_PER_MINUTE`]: planLimit,
});

const ENV_SUFFIX: Record<keyof PlanLimits, string> = {
  aiTokensPerDay: 'AI_TOKENS_PER_DAY',
  concurrentWorkspaces: 'CONCURRENT_WORKSPACES',
  concurrentCommands: 'CONCURRENT_COMMANDS',
  apiRequestsPerMinute: 'API_REQUESTS_PER_MINUTE',
};

function limitsFrom(e: Record<string, unknown>, prefix: string): PlanLimits {
  return Object.fromEntries(
    PLAN_LIMIT_NAMES.map((name) => [name, (e[`${prefix}_${ENV_SUFFIX[name]}`] as number | null) ?? null]),
  ) as PlanLimits;
}

const SECRET_KEY_HINT = 'must be 32 random bytes, base64-encoded (openssl rand -base64 32)';
/** Accepted secrets during a rotation: comma-separated, each like KEEL_SECRET_KEY. */
const acceptedSecrets = z
  .string()
  .optional()
  .default('')
  .transform((s) =>
    s
      .split(',')
      .map((k) => k.trim())
      .filter(Boolean),
  )
  .refine((keys) => keys.length <= 4, 'at most 4 keys')
  .refine((keys) => keys.every(decodesTo32Bytes), `each comma-separated key ${SECRET_KEY_HINT}`);

/**
 * The server secrets (docs/CONFIGURATION.md, "Rotating KEEL_SECRET_KEY"): one seals; the
 * others are only accepted when opening and checking, while edges move from one to another.
 */
export const SecretKeyEnv = z.object({
  /** 32 random bytes, base64: seals signing keys, credentials, audit heads and cache entries. */
  KEEL_SECRET_KEY: z.string().refine((s) => decodesTo32Bytes(s), SECRET_KEY_HINT),
  /** Secrets that sealed before this one: still opened, never used to seal. */
  KEEL_SECRET_KEY_PREVIOUS: acceptedSecrets,
  /** The secret that will seal next, accepted ahead of the switch so no edge meets a value it cannot open. */
  KEEL_SECRET_KEY_NEXT: acceptedSecrets,
});

/**
 * The edge's configuration, read from the process environment (Node) or the worker's
 * bindings (workerd). Parsed once at the door: a bad value fails start-up loudly.
 */
export const EdgeEnv = z.object({
  ...SecretKeyEnv.shape,
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL')
    .optional()
    .or(z.literal('').transform(() => undefined)),
  REDIS_URL: z.string().regex(REDIS_URL_PATTERN, REDIS_URL_MESSAGE),
  /** Upstash's REST endpoint and token: the request path's Redis commands over HTTP (services/upstash-redis.ts). */
  UPSTASH_REDIS_REST_URL: z
    .string()
    .regex(/^https?:\/\//, 'must be an https:// URL')
    .optional()
    .or(z.literal('').transform(() => undefined)),
  UPSTASH_REDIS_REST_TOKEN: z.string().optional(),
  KEEL_PUBLIC_URL: z.url().optional(),
  /** Sign-in providers declared as code (sso/environment-providers.ts): a JSON array. */
  KEEL_SSO_PROVIDERS: z.string().max(200_000).optional(),
  /** Invitation e-mail: `smtp://user:pass@host:587` (STARTTLS when offered) or `smtps://…:465`. */
  KEEL_SMTP_URL: z.url({ protocol: /^smtps?$/ }).optional(),
  KEEL_SMTP_FROM: z.string().trim().min(3).max(320).optional(),
  KEEL_OPEN_SIGNUP: flag,
  /**
   * Wildcard host for preview URLs (`<port>--<workspace>.<host>`), e.g. `preview.example.com` or
   * `localhost:8787`; `https://` or `http://` in front picks the scheme (default: that of Keel's own URL).
   */
  KEEL_PREVIEW_HOST: z
    .string()
    .regex(/^(https?:\/\/)?[a-z0-9.-]{1,200}(:\d{1,5})?$/, 'must be a host name, optionally with a port')
    .optional()
    .or(z.literal('').transform(() => undefined)),
  /** One JSON line per request on stdout (http/request-log.ts); `false` where a proxy logs them. */
  KEEL_REQUEST_LOG: z
    .enum(['true', 'false', '1', '0', 'yes', 'no', ''])
    .optional()
    .transform((v) => !(v === 'false' || v === '0' || v === 'no')),
  /** Comma-separated e-mail domains that open signup accepts; empty accepts any. */
  KEEL_OPEN_SIGNUP_DOMAINS: z.string().optional().default(''),
  KEEL_ACCESS_TOKEN_TTL_SECONDS: intFrom(900, 60, 900),
  KEEL_REFRESH_TOKEN_TTL_SECONDS: intFrom(30 * 24 * 3600, 3600, 365 * 24 * 3600),
  KEEL_SIGNING_KEY_ROTATE_SECONDS: intFrom(30 * 24 * 3600, 60, 365 * 24 * 3600),
  KEEL_MAX_BODY_BYTES: intFrom(1024 * 1024, 1024, 64 * 1024 * 1024),
  /** Largest file read or written through the files API. */
  KEEL_MAX_FILE_BYTES: intFrom(10 * 1024 * 1024, 1024, 48 * 1024 * 1024),
  /** Trust X-Forwarded-Proto / X-Forwarded-For from a load balancer in front. */
  KEEL_TRUST_PROXY: flag,
  KEEL_LOGIN_RATE_LIMIT_PER_MINUTE: intFrom(10, 1, 10_000),
  /** Model calls (explain, rewrite, chat) one person may start per minute. */
  KEEL_AI_RATE_LIMIT_PER_MINUTE: intFrom(60, 1, 100_000),
  /**
   * A registration token for shared runners (serving every organization), set by the
   * operator; `scripts/up` makes one for its local runner. Unset: only admin-made tokens.
   */
  KEEL_RUNNER_BOOTSTRAP_TOKEN: z
    .string()
    .min(32)
    .max(200)
    .optional()
    .or(z.literal('').transform(() => undefined)),
  /**
   * Give each runner its own Redis user, confined to its keys and channels (Redis 6+ ACL),
   * made at registration and removed at revocation. Needs a connection allowed to manage
   * users: KEEL_REDIS_ADMIN_URL, or REDIS_URL itself.
   */
  KEEL_REDIS_RUNNER_ACL: flag,
  KEEL_REDIS_ADMIN_URL: z
    .string()
    .regex(REDIS_URL_PATTERN, REDIS_URL_MESSAGE)
    .optional()
    .or(z.literal('').transform(() => undefined)),
  /** Prefix of every Redis key the edge writes, so several installs can share one Redis. */
  KEEL_REDIS_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9:_-]{1,64}$/)
    .optional()
    .default('keel:'),
  /** A runner whose heartbeat is gone this long is lost and its workspaces move (tests shorten it). */
  KEEL_RUNNER_LOST_AFTER_SECONDS: intFrom(RUNNER_LOST_AFTER_SECONDS, 1, 24 * 3600),
  /** Requests per minute from one client address, on every route. */
  KEEL_RATE_LIMIT_IP_PER_MINUTE: intFrom(600, 1, 1_000_000_000),
  /** Requests per minute from one signed-in person (or access token's owner), whatever the address. */
  KEEL_RATE_LIMIT_PERSON_PER_MINUTE: intFrom(300, 1, 1_000_000_000),
  /** The plan of organizations that have none of their own. */
  KEEL_PLAN_DEFAULT_NAME: z.string().trim().min(1).max(80).optional().default('Default'),
  ...planLimitEnv('KEEL_PLAN_DEFAULT'),
  /** The install's ceilings on any organization's plan. */
  ...planLimitEnv('KEEL_PLAN_MAX'),
  /** How long an edge keeps an organization's plan before reading it again. */
  KEEL_PLAN_CACHE_SECONDS: intFrom(10, 0, 300),
  /**
   * The port of the Prometheus endpoint (`/metrics`), a listener of its own apart from the API
   * (Node only). Unset or empty: no metrics are kept at all.
   */
  KEEL_METRICS_PORT: z.preprocess(
    (v) => (v === '' ? undefined : v),
    z.coerce.number().int().min(0).max(65535).optional(),
  ),
  /** Where the metrics listener binds; loopback unless a scraper elsewhere must reach it. */
  KEEL_METRICS_HOST: z.string().trim().min(1).max(255).optional().default('127.0.0.1'),
  /** When set, a scrape must send `Authorization: Bearer <this>`. */
  KEEL_METRICS_TOKEN: z
    .string()
    .min(16, 'at least 16 characters (openssl rand -hex 24)')
    .max(512)
    .optional()
    .or(z.literal('').transform(() => undefined)),
  /** How often one edge (of all) verifies every audit chain for keel_audit_chain_verified (metrics on). */
  KEEL_AUDIT_VERIFY_INTERVAL_SECONDS: intFrom(3600, 5, 7 * 24 * 3600),
  /**
   * Per-minute request figures in Redis, added to by every edge (metrics/request-stats.ts): the
   * Health page and the `keel-edge-stats` exporter read them. On unless `false`.
   */
  KEEL_EDGE_STATS: z
    .enum(['true', 'false', '1', '0', 'yes', 'no', ''])
    .optional()
    .transform((v) => !(v === 'false' || v === '0' || v === 'no')),
  /** How often an edge sends its counted figures to Redis (one pipeline each time). */
  KEEL_EDGE_STATS_FLUSH_SECONDS: intFrom(5, 1, 60),
  /** Days the hourly usage rollup is kept (GET /api/admin/usage with granularity=hour). */
  KEEL_USAGE_HOURLY_RETENTION_DAYS: intFrom(31, 1, 3660),
  /** Days the daily usage rollup is kept. */
  KEEL_USAGE_RETENTION_DAYS: intFrom(400, 1, 36600),
});
export type EdgeEnv = z.infer<typeof EdgeEnv>;

function decodesTo32Bytes(s: string): boolean {
  try {
    return atob(s.trim()).length === 32;
  } catch {
    return false;
  }
}

const secretBytes = (s: string) => Uint8Array.from(atob(s.trim()), (ch) => ch.charCodeAt(0));

function keyringOf(e: z.infer<typeof SecretKeyEnv>): SecretKeyring {
  return new SecretKeyring(secretBytes(e.KEEL_SECRET_KEY), [
    ...e.KEEL_SECRET_KEY_NEXT.map(secretBytes),
    ...e.KEEL_SECRET_KEY_PREVIOUS.map(secretBytes),
  ]);
}

export interface EdgeConfig {
  databaseUrl: string | undefined;
  redisUrl: string;
  /** Set: the request path's short Redis commands go over Upstash's REST API, not REDIS_URL's TCP. */
  upstash: { url: string; token: string } | undefined;
  /** KEEL_SECRET_KEY seals; KEEL_SECRET_KEY_PREVIOUS and _NEXT are accepted for opening. */
  secretKeys: SecretKeyring;
  publicUrl: string | undefined;
  /** KEEL_SSO_PROVIDERS as given (parsed and applied by sso/environment-providers.ts). */
  ssoProvidersJson: string | undefined;
  /** Where invitation e-mail goes out; undefined: e-mail is off and the console shows the link. */
  smtp?: { url: string; from: string };
  issuer: string;
  openSignup: boolean;
  /** KEEL_REQUEST_LOG: a line per request (on unless turned off). */
  requestLog: boolean;
  openSignupDomains: string[];
  accessTokenTtlSeconds: number;
  refreshTokenTtlSeconds: number;
  signingKeyRotateSeconds: number;
  maxBodyBytes: number;
  maxFileBytes: number;
  trustProxy: boolean;
  loginRateLimitPerMinute: number;
  aiRateLimitPerMinute: number;
  redisPrefix: string;
  runnerBootstrapToken: string | undefined;
  /** Set when each runner gets its own Redis user; `adminUrl` manages them (else redisUrl). */
  runnerRedisAcl: { adminUrl: string | undefined } | undefined;
  /** Seconds without a heartbeat before a runner holding workspaces is declared lost. */
  runnerLostAfterSeconds: number;
  /** Requests per minute per client address (every route) and per person (signed in). */
  rateLimits: { perIpPerMinute: number; perPersonPerMinute: number };
  /** The plan of organizations without one, the install's ceilings, and how long edges cache plans. */
  plans: { default: Plan; maximums: PlanLimits; cacheSeconds: number };
  /** The Prometheus endpoint (Node); undefined: metrics off. */
  metrics: { port: number; host: string; token: string | undefined } | undefined;
  /** Seconds between scheduled audit chain checks (with metrics on). */
  auditVerifyIntervalSeconds: number;
  /** KEEL_EDGE_STATS: per-minute request figures in Redis, flushed every `flushMs`; undefined: off. */
  edgeStats: { flushMs: number } | undefined;
  /** How long the usage rollups are kept, in days (hourly and daily rows). */
  usageRetention: { hourlyDays: number; days: number };
  /** KEEL_PREVIEW_HOST: the wildcard preview host (lower case, with port) and its scheme, when set. */
  previewHost?: { host: string; scheme: 'http' | 'https' | undefined };
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

function parsed<T extends z.ZodType>(schema: T, source: Record<string, unknown>, what: string): z.output<T> {
  const result = schema.safeParse(source);
  if (!result.success) {
    const lines = result.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`Invalid Keel ${what} configuration:\n${lines.join('\n')}`);
  }
  return result.data;
}

/** The server secrets alone, for tools that need no more of the edge's configuration (scripts/rotate-secret). */
export function parseSecretKeys(source: Record<string, unknown>): SecretKeyring {
  return keyringOf(parsed(SecretKeyEnv, source, 'secret key'));
}

function upstashOf(url: string | undefined, token: string | undefined): EdgeConfig['upstash'] {
  if (!url && !token) return undefined;
  if (!url || !token) {
    throw new ConfigError(
      'Invalid Keel edge configuration:\n  UPSTASH_REDIS_REST_URL and UPSTASH_REDIS_REST_TOKEN are set together or not at all',
    );
  }
  return { url, token };
}

export function parseEdgeEnv(source: Record<string, unknown>): EdgeConfig {
  const e = parsed(EdgeEnv, source, 'edge');
  return {
    databaseUrl: e.DATABASE_URL,
    redisUrl: e.REDIS_URL,
    upstash: upstashOf(e.UPSTASH_REDIS_REST_URL, e.UPSTASH_REDIS_REST_TOKEN?.trim() || undefined),
    secretKeys: keyringOf(e),
    publicUrl: e.KEEL_PUBLIC_URL,
    ...(e.KEEL_PREVIEW_HOST
      ? {
          previewHost: {
            host: e.KEEL_PREVIEW_HOST.replace(/^https?:\/\//, ''),
            scheme:
              (/^(https?):/.exec(e.KEEL_PREVIEW_HOST)?.[1] as 'http' | 'https' | undefined) ?? undefined,
          },
        }
      : {}),
    ssoProvidersJson: e.KEEL_SSO_PROVIDERS?.trim() || undefined,
    smtp: e.KEEL_SMTP_URL
      ? { url: e.KEEL_SMTP_URL, from: e.KEEL_SMTP_FROM ?? 'Keel <keel@localhost>' }
      : undefined,
    issuer: e.KEEL_PUBLIC_URL ? new URL(e.KEEL_PUBLIC_URL).origin : 'keel',
    openSignup: e.KEEL_OPEN_SIGNUP,
    requestLog: e.KEEL_REQUEST_LOG,
    openSignupDomains: e.KEEL_OPEN_SIGNUP_DOMAINS.split(',')
      .map((d) => d.trim().toLowerCase())
      .filter(Boolean),
    accessTokenTtlSeconds: e.KEEL_ACCESS_TOKEN_TTL_SECONDS,
    refreshTokenTtlSeconds: e.KEEL_REFRESH_TOKEN_TTL_SECONDS,
    signingKeyRotateSeconds: e.KEEL_SIGNING_KEY_ROTATE_SECONDS,
    maxBodyBytes: e.KEEL_MAX_BODY_BYTES,
    maxFileBytes: e.KEEL_MAX_FILE_BYTES,
    trustProxy: e.KEEL_TRUST_PROXY,
    loginRateLimitPerMinute: e.KEEL_LOGIN_RATE_LIMIT_PER_MINUTE,
    aiRateLimitPerMinute: e.KEEL_AI_RATE_LIMIT_PER_MINUTE,
    redisPrefix: e.KEEL_REDIS_PREFIX,
    runnerBootstrapToken: e.KEEL_RUNNER_BOOTSTRAP_TOKEN,
    runnerRedisAcl: e.KEEL_REDIS_RUNNER_ACL ? { adminUrl: e.KEEL_REDIS_ADMIN_URL } : undefined,
    runnerLostAfterSeconds: e.KEEL_RUNNER_LOST_AFTER_SECONDS,
    rateLimits: {
      perIpPerMinute: e.KEEL_RATE_LIMIT_IP_PER_MINUTE,
      perPersonPerMinute: e.KEEL_RATE_LIMIT_PERSON_PER_MINUTE,
    },
    plans: {
      default: { name: e.KEEL_PLAN_DEFAULT_NAME, limits: limitsFrom(e, 'KEEL_PLAN_DEFAULT') },
      maximums: limitsFrom(e, 'KEEL_PLAN_MAX'),
      cacheSeconds: e.KEEL_PLAN_CACHE_SECONDS,
    },
    metrics:
      e.KEEL_METRICS_PORT === undefined
        ? undefined
        : { port: e.KEEL_METRICS_PORT, host: e.KEEL_METRICS_HOST, token: e.KEEL_METRICS_TOKEN },
    auditVerifyIntervalSeconds: e.KEEL_AUDIT_VERIFY_INTERVAL_SECONDS,
    edgeStats: e.KEEL_EDGE_STATS ? { flushMs: e.KEEL_EDGE_STATS_FLUSH_SECONDS * 1000 } : undefined,
    usageRetention: { hourlyDays: e.KEEL_USAGE_HOURLY_RETENTION_DAYS, days: e.KEEL_USAGE_RETENTION_DAYS },
  };
}
