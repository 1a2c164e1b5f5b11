import { z } from 'zod';
import { DisplayName, Password, User } from './auth.ts';
import { idSchema } from './ids.ts';
import { Permission } from './permissions.ts';

/**
 * A person's own account: profile, password, sessions and personal access tokens, and the
 * admin's password reset. Schemas only; the routes are in api/account.ts.
 */

/** Every personal access token starts with this, so scanners and people can recognise one. */
export const ACCESS_TOKEN_PREFIX = 'keel_pat_';
/** Characters of a token kept in clear (prefix included) for lists. */
export const ACCESS_TOKEN_SHOWN_CHARS = 16;
export const ACCESS_TOKEN_MAX_DAYS = 365;

export const UpdateProfileRequest = z.strictObject({ name: DisplayName });
export type UpdateProfileRequest = z.infer<typeof UpdateProfileRequest>;
export const ProfileResponse = z.object({ user: User });
export type ProfileResponse = z.infer<typeof ProfileResponse>;

export const ChangePasswordRequest = z.strictObject({
  currentPassword: z.string().min(1).max(256),
  newPassword: Password,
});
export type ChangePasswordRequest = z.infer<typeof ChangePasswordRequest>;

export const AccountSession = z.object({
  id: idSchema('tokenFamily'),
  /** Browser and system as read from the User-Agent ("Chrome on Linux"), or what the client sent. */
  device: z.string(),
  userAgent: z.string().nullable(),
  address: z.string().nullable(),
  createdAt: z.string(),
  lastSeenAt: z.string(),
  /** The session this request came with. */
  current: z.boolean(),
});
export type AccountSession = z.infer<typeof AccountSession>;
export const AccountSessionList = z.object({ sessions: z.array(AccountSession) });
export type AccountSessionList = z.infer<typeof AccountSessionList>;
export const SessionParams = z.object({ sessionId: z.string().max(64) });
/** `others` (the default) keeps the calling session; `all` ends it too. */
export const EndSessionsQuery = z.strictObject({ which: z.enum(['others', 'all']).default('others') });

export const AccessTokenPermissions = z
  .array(Permission)
  .min(1)
  .max(Permission.options.length)
  .refine((list) => new Set(list).size === list.length, { message: 'permissions must not repeat' });

export const CreateAccessTokenRequest = z.strictObject({
  name: z.string().trim().min(1).max(100),
  permissions: AccessTokenPermissions,
  /** Tokens always expire: a forgotten script's token must not live for ever. */
  expiresInDays: z.number().int().min(1).max(ACCESS_TOKEN_MAX_DAYS).default(30),
});
export type CreateAccessTokenRequest = z.input<typeof CreateAccessTokenRequest>;

export const AccessToken = z.object({
  id: idSchema('accessToken'),
  name: z.string(),
  /** The first characters of the token (`keel_pat_` and a few more). */
  prefix: z.string(),
  permissions: z.array(Permission),
  createdAt: z.string(),
  expiresAt: z.string(),
  lastUsedAt: z.string().nullable(),
  lastUsedAddress: z.string().nullable(),
  /** Past its expiry: listed until revoked, but refused. */
  expired: z.boolean(),
});
export type AccessToken = z.infer<typeof AccessToken>;
export const AccessTokenList = z.object({ tokens: z.array(AccessToken) });
export type AccessTokenList = z.infer<typeof AccessTokenList>;
export const CreateAccessTokenResponse = z.object({
  /** The token itself: shown this once, stored only as its SHA-256. */
  token: z.string().startsWith(ACCESS_TOKEN_PREFIX),
  /** What the list shows of it from now on. */
  record: AccessToken,
});
export type CreateAccessTokenResponse = z.infer<typeof CreateAccessTokenResponse>;
export const AccessTokenParams = z.object({ tokenId: z.string().max(64) });

/** An admin's password reset: the person's sessions end and only this link lets them back in. */
export const AdminPasswordResetParams = z.object({ userId: z.string().max(64) });
export const AdminPasswordResetResponse = z.object({
  /** One-time, shown once; the person redeems it at POST /api/account/password/reset. */
  resetToken: z.string(),
  /** The web page that redeems it (path and fragment: the token never reaches a server log). */
  resetPath: z.string(),
  expiresAt: z.string(),
});
export type AdminPasswordResetResponse = z.infer<typeof AdminPasswordResetResponse>;
export const RedeemPasswordResetRequest = z.strictObject({
  token: z.string().min(1).max(200),
  newPassword: Password,
});
export type RedeemPasswordResetRequest = z.infer<typeof RedeemPasswordResetRequest>;
