import type { Context } from 'hono';
import type { AppEnv } from '../app-env.ts';
import { ApiError } from '../http/api-error.ts';
import { type AuditEventInput, appendAudit } from './audit-log.ts';

/** Records an event by the signed-in caller, in their organization's chain. */
export async function auditByCaller(
  c: Context<AppEnv>,
  event: Omit<AuditEventInput, 'actorId' | 'organizationId'>,
): Promise<void> {
  const p = c.get('principal');
  await appendAudit(c.get('services'), { ...event, actorId: p.userId, organizationId: p.organizationId });
}

/**
 * How a refused request is recorded: a path that the confined file layer refused (an
 * escape attempt, or a symlink) is `denied`; anything else that went wrong is `failure`.
 * Only the error code is kept, never its message (which may quote file content).
 */
export function failureOf(err: unknown): { outcome: 'failure' | 'denied'; error: string } {
  const code = err instanceof ApiError ? err.code : 'internal_error';
  return { outcome: code === 'invalid_path' || code === 'forbidden' ? 'denied' : 'failure', error: code };
}
