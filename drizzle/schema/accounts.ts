import {
  boolean,
  index,
  integer,
  jsonb,
  pgEnum,
  pgTable,
  primaryKey,
  text,
  uniqueIndex,
} from 'drizzle-orm/pg-core';
import { createdAt, tz } from './columns.ts';

export const roleEnum = pgEnum('role', ['viewer', 'developer', 'admin', 'super_admin']);

export const organizations = pgTable('organizations', {
  id: text('id').primaryKey(),
  name: text('name').notNull(),
  /** The organization's placement policy (contract PlacementPolicy); null: the install's default. */
  placementPolicy: jsonb('placement_policy').$type<Record<string, unknown>>(),
  /** The organization's plan and its limits (contract, rate limits); null: the install's default. */
  plan: jsonb('plan').$type<Record<string, unknown>>(),
  createdAt: createdAt(),
});

export const users = pgTable(
  'users',
  {
    id: text('id').primaryKey(),
    /** Stored lower-cased; the unique index is what makes concurrent signups safe. */
    email: text('email').notNull(),
    name: text('name').notNull(),
    /**
     * PHC string: `$argon2id$v=19$m=…,t=…,p=…$salt$hash`, so parameters can be raised later.
     * Null for people who arrived through single sign-on or the directory and never set one.
     */
    passwordHash: text('password_hash'),
    /** How the account arrived: `password`, `oidc`, `github` or `ldap` (members list). */
    source: text('source').notNull().default('password'),
    /** Set by an admin's password reset: the next sign-in must choose a new password. */
    mustChangePassword: boolean('must_change_password').notNull().default(false),
    lastSignInAt: tz('last_sign_in_at'),
    /**
     * An install administrator: manages what every organization shares (shared runners, install
     * settings, the install audit chain). Distinct from any organization's super_admin.
     */
    installAdmin: boolean('install_admin').notNull().default(false),
    disabledAt: tz('disabled_at'),
    createdAt: createdAt(),
  },
  (t) => [uniqueIndex('users_email_key').on(t.email)],
);

export const memberships = pgTable(
  'memberships',
  {
    userId: text('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    organizationId: text('organization_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    role: roleEnum('role').notNull(),
    /** Disabled in this organization: no sign-in, no token, no session here until enabled. */
    disabledAt: tz('disabled_at'),
    createdAt: createdAt(),
  },
  (t) => [
    primaryKey({ columns: [t.userId, t.organizationId] }),
    index('memberships_org_idx').on(t.organizationId),
  ],
);

export const invitations = pgTable(
  'invitations',
  {
    id: text('id').primaryKey(),
    organizationId: text('organization_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    /** When set, only this address may accept. */
    email: text('email'),
    role: roleEnum('role').notNull(),
    /** SHA-256 of the token; the token itself is shown once and never stored. */
    tokenHash: text('token_hash').notNull(),
    invitedBy: text('invited_by').references(() => users.id, { onDelete: 'set null' }),
    expiresAt: tz('expires_at').notNull(),
    acceptedAt: tz('accepted_at'),
    acceptedBy: text('accepted_by').references(() => users.id, { onDelete: 'set null' }),
    revokedAt: tz('revoked_at'),
    createdAt: createdAt(),
  },
  (t) => [
    uniqueIndex('invitations_token_hash_key').on(t.tokenHash),
    index('invitations_org_idx').on(t.organizationId),
  ],
);

/**
 * A sign-in session. Each refresh rotates its token; presenting a token that was already
 * rotated means it leaked, and the whole family is revoked.
 */
export const refreshTokenFamilies = pgTable(
  'refresh_token_families',
  {
    id: text('id').primaryKey(),
    userId: text('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    organizationId: text('organization_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    generation: integer('generation').notNull().default(0),
    expiresAt: tz('expires_at').notNull(),
    revokedAt: tz('revoked_at'),
    revokedReason: text('revoked_reason'),
    lastUsedAt: tz('last_used_at'),
    /** The browser or client that signed in (User-Agent, cut to 300 characters): the sessions list. */
    userAgent: text('user_agent'),
    /** The client address at sign-in and at the last refresh. */
    address: text('address'),
    createdAt: createdAt(),
  },
  (t) => [index('refresh_token_families_user_idx').on(t.userId)],
);

export const refreshTokens = pgTable(
  'refresh_tokens',
  {
    /** SHA-256 of the token. */
    tokenHash: text('token_hash').primaryKey(),
    familyId: text('family_id')
      .notNull()
      .references(() => refreshTokenFamilies.id, { onDelete: 'cascade' }),
    generation: integer('generation').notNull(),
    /** Set when this token was exchanged for the next one; a second use is a reuse. */
    rotatedAt: tz('rotated_at'),
    createdAt: createdAt(),
  },
  (t) => [index('refresh_tokens_family_idx').on(t.familyId)],
);
