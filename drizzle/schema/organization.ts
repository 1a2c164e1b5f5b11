import { boolean, index, jsonb, pgTable, primaryKey, text, uniqueIndex } from 'drizzle-orm/pg-core';
import { organizations, roleEnum, users } from './accounts.ts';
import { createdAt, tz } from './columns.ts';

/**
 * Personal access tokens for the API and scripts: scoped to permissions (a subset of the owner's
 * at use time), expiring, stored as SHA-256, revocable, with their last use.
 */
export const personalAccessTokens = pgTable(
  'personal_access_tokens',
  {
    id: text('id').primaryKey(),
    userId: text('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    organizationId: text('organization_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    /** SHA-256 of the token; the token is shown once. */
    tokenHash: text('token_hash').notNull(),
    /** The first characters of the token, shown in lists so a person can tell tokens apart. */
    prefix: text('prefix').notNull(),
    /** Contract Permission names. */
    permissions: jsonb('permissions').$type<string[]>().notNull(),
    expiresAt: tz('expires_at'),
    lastUsedAt: tz('last_used_at'),
    lastUsedAddress: text('last_used_address'),
    revokedAt: tz('revoked_at'),
    createdAt: createdAt(),
  },
  (t) => [
    uniqueIndex('personal_access_tokens_hash_key').on(t.tokenHash),
    index('personal_access_tokens_user_idx').on(t.userId, t.organizationId),
  ],
);

/** An organization's sign-in settings (one row per organization; absent: the defaults). */
export const signInSettings = pgTable('sign_in_settings', {
  organizationId: text('organization_id')
    .primaryKey()
    .references(() => organizations.id, { onDelete: 'cascade' }),
  /** Password sign-in allowed (the last super_admin keeps a way in regardless). */
  passwordEnabled: boolean('password_enabled').notNull().default(true),
  /** Sign-in only through a configured provider. */
  requireSso: boolean('require_sso').notNull().default(false),
  /** The role of people created on first sign-in when no mapping applies. */
  defaultRole: roleEnum('default_role').notNull().default('developer'),
  updatedAt: tz('updated_at'),
});

/**
 * A sign-in provider of an organization: OpenID Connect (generic, Google, Microsoft Entra ID),
 * GitHub, or an LDAP / Active Directory directory. `config` is the kind's contract document
 * without secrets; the client secret or bind password is sealed (SecretBox, purpose
 * `identity-provider`) and never read back out.
 */
export const identityProviders = pgTable(
  'identity_providers',
  {
    id: text('id').primaryKey(),
    organizationId: text('organization_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    /** `oidc`, `google`, `entra`, `github` or `ldap`. */
    kind: text('kind').notNull(),
    /** Shown on the sign-in page ("Sign in with …"). */
    name: text('name').notNull(),
    /** Short, URL-safe, unique in the install: the sign-in and callback URLs carry it. */
    slug: text('slug').notNull(),
    config: jsonb('config').$type<Record<string, unknown>>().notNull(),
    secretSealed: text('secret_sealed'),
    enabled: boolean('enabled').notNull().default(true),
    createdAt: createdAt(),
    updatedAt: tz('updated_at'),
  },
  (t) => [
    uniqueIndex('identity_providers_slug_key').on(t.slug),
    index('identity_providers_org_idx').on(t.organizationId),
  ],
);

/** Which provider's subject is which person: the link made at first sign-in. */
export const userIdentities = pgTable(
  'user_identities',
  {
    providerId: text('provider_id')
      .notNull()
      .references(() => identityProviders.id, { onDelete: 'cascade' }),
    /** The provider's stable id for the person (OIDC `sub`, GitHub user id, LDAP DN or entryUUID). */
    subject: text('subject').notNull(),
    userId: text('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    /** The groups or teams seen at the last sign-in (for the members list and role mapping). */
    groups: jsonb('groups').$type<string[]>(),
    lastSignInAt: tz('last_sign_in_at'),
    createdAt: createdAt(),
  },
  (t) => [primaryKey({ columns: [t.providerId, t.subject] }), index('user_identities_user_idx').on(t.userId)],
);
