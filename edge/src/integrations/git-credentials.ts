import { idSchema } from '@keel/contract/ids';
import {
  defaultGitUsername,
  type GitCredential,
  type PutGitCredentialRequest,
} from '@keel/contract/integrations';
import { gitCredentials } from '@keel/drizzle/schema';
import { and, asc, eq } from 'drizzle-orm';
import type { z } from 'zod';
import { newId } from '../ids.ts';
import type { Services } from '../services.ts';

/** The SecretBox purpose of Git host tokens: a value sealed for another kind of secret never opens as one. */
export const GIT_CREDENTIAL_PURPOSE = 'git-credential';

type Row = typeof gitCredentials.$inferSelect;
type Owner = { userId: string; organizationId: string };

export function gitCredentialView(row: Row): GitCredential {
  return {
    id: row.id,
    host: row.host,
    username: row.username ?? defaultGitUsername(row.host),
    usernameIsDefault: row.username === null,
    label: row.label,
    createdAt: row.createdAt.toISOString(),
    lastUsedAt: row.lastUsedAt?.toISOString() ?? null,
  };
}

export async function listGitCredentials(services: Services, owner: Owner): Promise<GitCredential[]> {
  const rows = await services.db
    .select()
    .from(gitCredentials)
    .where(
      and(eq(gitCredentials.userId, owner.userId), eq(gitCredentials.organizationId, owner.organizationId)),
    )
    .orderBy(asc(gitCredentials.host));
  return rows.map(gitCredentialView);
}

/**
 * Keeps the token for its host, replacing the one already kept there (one statement: two
 * racing puts for one host leave one row). A replaced token forgets its last use.
 */
export async function putGitCredential(
  services: Services,
  owner: Owner,
  input: z.output<typeof PutGitCredentialRequest>,
): Promise<{ credential: GitCredential; replaced: boolean }> {
  const tokenSealed = await services.box.seal(input.token, GIT_CREDENTIAL_PURPOSE);
  const id = newId('gitCredential');
  const values = {
    username: input.username ?? null,
    tokenSealed,
    label: input.label ? input.label : null,
    createdAt: services.clock.now(),
    lastUsedAt: null,
  };
  const [row] = await services.db
    .insert(gitCredentials)
    .values({ id, userId: owner.userId, organizationId: owner.organizationId, host: input.host, ...values })
    .onConflictDoUpdate({
      target: [gitCredentials.userId, gitCredentials.organizationId, gitCredentials.host],
      set: values,
    })
    .returning();
  if (!row) throw new Error('git credential upsert returned no row');
  return { credential: gitCredentialView(row), replaced: row.id !== id };
}

/** Deletes one of the owner's; false when there is no such one (another person's reads the same). */
export async function deleteGitCredential(
  services: Services,
  owner: Owner,
  id: string,
): Promise<Row | undefined> {
  if (!idSchema('gitCredential').safeParse(id).success) return undefined;
  const [row] = await services.db
    .delete(gitCredentials)
    .where(
      and(
        eq(gitCredentials.id, id),
        eq(gitCredentials.userId, owner.userId),
        eq(gitCredentials.organizationId, owner.organizationId),
      ),
    )
    .returning();
  return row;
}

/** The owner's token for a host, opened, with its last use marked; undefined when none is kept. */
export async function openGitCredential(
  services: Services,
  owner: Owner,
  host: string,
): Promise<{ id: string; username: string; token: string } | undefined> {
  const [row] = await services.db
    .update(gitCredentials)
    .set({ lastUsedAt: services.clock.now() })
    .where(
      and(
        eq(gitCredentials.userId, owner.userId),
        eq(gitCredentials.organizationId, owner.organizationId),
        eq(gitCredentials.host, host),
      ),
    )
    .returning();
  if (!row) return undefined;
  const token = await services.box.open(row.tokenSealed, GIT_CREDENTIAL_PURPOSE);
  return { id: row.id, username: row.username ?? defaultGitUsername(row.host), token };
}

/**
 * While a push is asked for, its workspace's runner may fetch the owner's token for it: the key
 * holds that runner's id and lives as long as the push may take.
 */
export function gitPushGrantKey(services: Services, workspaceId: string): string {
  return `${services.config.redisPrefix}gitpush:${workspaceId}`;
}
