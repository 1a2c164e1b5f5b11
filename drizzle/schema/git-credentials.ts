import { index, pgTable, text, uniqueIndex } from 'drizzle-orm/pg-core';
import { organizations, users } from './accounts.ts';
import { createdAt, tz } from './columns.ts';

/**
 * A person's token for a Git host (GitHub, GitLab, a company's own), one per host within an
 * organization: used to clone their private repositories and to push from their workspaces. The
 * token is sealed (SecretBox, purpose `git-credential`), never read back out to people, and
 * opened only for the runner that holds the owner's workspace when it clones or pushes.
 */
export const gitCredentials = pgTable(
  'git_credentials',
  {
    id: text('id').primaryKey(),
    userId: text('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    organizationId: text('organization_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    /** Lower-cased host name, with a port if not the default (`github.com`, `git.corp.example:8443`). */
    host: text('host').notNull(),
    /** The user name sent with the token; null: the host's usual one (see the contract). */
    username: text('username'),
    tokenSealed: text('token_sealed').notNull(),
    label: text('label'),
    createdAt: createdAt(),
    lastUsedAt: tz('last_used_at'),
  },
  (t) => [
    uniqueIndex('git_credentials_user_org_host_key').on(t.userId, t.organizationId, t.host),
    index('git_credentials_org_idx').on(t.organizationId),
  ],
);
