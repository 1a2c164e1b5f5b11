import { z } from 'zod';

const flag = z
  .enum(['true', 'false', '1', '0', 'yes', 'no', ''])
  .optional()
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

const intFrom = (def: number, min: number, max: number) =>
  z.coerce.number().int().min(min).max(max).optional().default(def);

/**
 * The edge's configuration, read from the process environment (Node) or the worker's
 * bindings (workerd). Parsed once at the door: a bad value fails start-up loudly.
 */
export const EdgeEnv = z.object({
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL')
    .optional()
    .or(z.literal('').transform(() => undefined)),
  REDIS_URL: z.string().regex(/^rediss?:\/\//, 'must be a redis:// or rediss:// URL'),
  /** 32 random bytes, base64: encrypts signing keys and other secrets at rest. */
  KEEL_SECRET_KEY: z
    .string()
    .refine((s) => decodesTo32Bytes(s), 'must be 32 random bytes, base64-encoded (openssl rand -base64 32)'),
  KEEL_PUBLIC_URL: z.url().optional(),
  KEEL_OPEN_SIGNUP: flag,
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
    .regex(/^rediss?:\/\//, 'must be a redis:// or rediss:// URL')
    .optional()
    .or(z.literal('').transform(() => undefined)),
  /** Prefix of every Redis key the edge writes, so several installs can share one Redis. */
  KEEL_REDIS_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9:_-]{1,64}$/)
    .optional()
    .default('keel:'),
});
export type EdgeEnv = z.infer<typeof EdgeEnv>;

function decodesTo32Bytes(s: string): boolean {
  try {
    return atob(s.trim()).length === 32;
  } catch {
    return false;
  }
}

export interface EdgeConfig {
  databaseUrl: string | undefined;
  redisUrl: string;
  secretKey: Uint8Array<ArrayBuffer>;
  publicUrl: string | undefined;
  issuer: string;
  openSignup: boolean;
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
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

export function parseEdgeEnv(source: Record<string, unknown>): EdgeConfig {
  const parsed = EdgeEnv.safeParse(source);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`Invalid Keel edge configuration:\n${lines.join('\n')}`);
  }
  const e = parsed.data;
  return {
    databaseUrl: e.DATABASE_URL,
    redisUrl: e.REDIS_URL,
    secretKey: Uint8Array.from(atob(e.KEEL_SECRET_KEY.trim()), (ch) => ch.charCodeAt(0)),
    publicUrl: e.KEEL_PUBLIC_URL,
    issuer: e.KEEL_PUBLIC_URL ? new URL(e.KEEL_PUBLIC_URL).origin : 'keel',
    openSignup: e.KEEL_OPEN_SIGNUP,
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
  };
}
