import type { Context } from 'hono';
import type { AppEnv } from '../app-env.ts';

/**
 * The URL people reach this install at: KEEL_PUBLIC_URL, else the origin the request came to
 * (which a provider's registered callback URL must then match).
 */
export function publicBase(c: Context<AppEnv>): string {
  const configured = c.get('services').config.publicUrl;
  if (configured) return configured.replace(/\/+$/, '');
  return new URL(c.req.url).origin;
}
