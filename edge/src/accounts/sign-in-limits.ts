import type { Context } from 'hono';
import type { AppEnv } from '../app-env.ts';
import { sha256Hex } from '../auth/bytes.ts';
import { ApiError } from '../http/api-error.ts';
import { signInRateKeys } from '../redis-keys.ts';
import { hitRateLimit } from '../services/rate-limit.ts';

/**
 * Sign-in attempts (password or directory), per address and per account, so neither a spray
 * over many accounts nor a focused guess runs free.
 */
export async function limitSignInAttempts(
  c: Context<AppEnv>,
  address: string | undefined,
  account: string,
): Promise<void> {
  const services = c.get('services');
  const limit = services.config.loginRateLimitPerMinute;
  const redis = services.commands;
  const keys = signInRateKeys(services, address ?? 'unknown', sha256Hex(account));
  const [byIp, byAccount] = await Promise.all([
    hitRateLimit(redis, keys.byIp, limit * 3, 60),
    hitRateLimit(redis, keys.byAccount, limit, 60),
  ]);
  const denied = [byIp, byAccount].find((d) => !d.allowed);
  if (denied) {
    c.header('Retry-After', String(denied.retryAfterSeconds));
    throw new ApiError('rate_limited', `Too many attempts; try again in ${denied.retryAfterSeconds} s`);
  }
}
