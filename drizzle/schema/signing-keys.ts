import { jsonb, pgTable, text } from 'drizzle-orm/pg-core';
import { createdAt, tz } from './columns.ts';

/**
 * Access-token signing keys. Every edge instance reads them from here, so tokens signed by
 * one instance verify on all. The private half is encrypted with the instance secret.
 */
export const signingKeys = pgTable('signing_keys', {
  kid: text('kid').primaryKey(),
  alg: text('alg').notNull(),
  publicJwk: jsonb('public_jwk').notNull(),
  privateJwkEncrypted: text('private_jwk_encrypted').notNull(),
  /** No new tokens are signed after this. */
  signUntil: tz('sign_until').notNull(),
  /** Dropped from the JWKS (tokens it signed have all expired) after this. */
  verifyUntil: tz('verify_until').notNull(),
  createdAt: createdAt(),
});
