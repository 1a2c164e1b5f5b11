import type { AccountSession } from '@keel/contract/account';
import { refreshTokenFamilies } from '@keel/drizzle/schema';
import { and, desc, eq, gt, isNull, ne } from 'drizzle-orm';
import { revokeSession } from '../auth/sessions.ts';
import type { Services } from '../services.ts';
import { deviceOf } from './device.ts';

type Owner = { userId: string; organizationId: string };

function openFamilies(services: Services, owner: Owner) {
  return and(
    eq(refreshTokenFamilies.userId, owner.userId),
    eq(refreshTokenFamilies.organizationId, owner.organizationId),
    isNull(refreshTokenFamilies.revokedAt),
    gt(refreshTokenFamilies.expiresAt, services.clock.now()),
  );
}

/** A person's open sessions in this organization, the most recently seen first. */
export async function listAccountSessions(
  services: Services,
  owner: Owner,
  currentSessionId: string,
): Promise<AccountSession[]> {
  const rows = await services.db
    .select()
    .from(refreshTokenFamilies)
    .where(openFamilies(services, owner))
    .orderBy(desc(refreshTokenFamilies.lastUsedAt), desc(refreshTokenFamilies.createdAt))
    .limit(200);
  return rows.map((r) => ({
    id: r.id,
    device: deviceOf(r.userAgent),
    userAgent: r.userAgent,
    address: r.address,
    createdAt: r.createdAt.toISOString(),
    lastSeenAt: (r.lastUsedAt ?? r.createdAt).toISOString(),
    current: r.id === currentSessionId,
  }));
}

/** Ends one of the person's sessions; false when it is not theirs or already over. */
export async function endAccountSession(
  services: Services,
  owner: Owner,
  sessionId: string,
  reason: string,
): Promise<boolean> {
  const [row] = await services.db
    .select({ id: refreshTokenFamilies.id })
    .from(refreshTokenFamilies)
    .where(and(eq(refreshTokenFamilies.id, sessionId), openFamilies(services, owner)))
    .limit(1);
  if (!row) return false;
  await revokeSession(services, row.id, reason);
  return true;
}

/**
 * Ends the person's sessions, all but `keep` when given, each with its revocation marker so
 * their access tokens stop at the next request. Every organization's when `owner` has none.
 */
export async function endAccountSessions(
  services: Services,
  owner: { userId: string; organizationId?: string },
  keep: string | undefined,
  reason: string,
): Promise<string[]> {
  const rows = await services.db
    .select({ id: refreshTokenFamilies.id })
    .from(refreshTokenFamilies)
    .where(
      and(
        eq(refreshTokenFamilies.userId, owner.userId),
        owner.organizationId ? eq(refreshTokenFamilies.organizationId, owner.organizationId) : undefined,
        isNull(refreshTokenFamilies.revokedAt),
        gt(refreshTokenFamilies.expiresAt, services.clock.now()),
        keep ? ne(refreshTokenFamilies.id, keep) : undefined,
      ),
    );
  for (const r of rows) await revokeSession(services, r.id, reason);
  return rows.map((r) => r.id);
}
