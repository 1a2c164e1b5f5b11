import { z } from 'zod';
import { idSchema } from './ids.ts';
import { Permission } from './permissions.ts';

export const Role = z.enum(['viewer', 'developer', 'admin', 'super_admin']);
export type Role = z.infer<typeof Role>;

/** Roles in increasing order of power; a role may grant only roles at or below its own. */
export const roleRank: Record<Role, number> = { viewer: 0, developer: 1, admin: 2, super_admin: 3 };

export const Email = z
  .string()
  .trim()
  .max(254)
  .email()
  .transform((s) => s.toLowerCase());

/** NIST 800-63B: at least 10 characters here, long passphrases welcome, no composition rules. */
export const Password = z.string().min(10, 'must be at least 10 characters').max(256);
export const DisplayName = z.string().trim().min(1).max(100);

export const SignupRequest = z.strictObject({
  email: Email,
  password: Password,
  name: DisplayName,
  organization: DisplayName.optional(),
  inviteToken: z.string().min(1).max(200).optional(),
});
export type SignupRequest = z.infer<typeof SignupRequest>;

export const LoginRequest = z.strictObject({
  email: Email,
  password: z.string().min(1).max(256),
  /** An invitation accepted by someone who already has an account: signed in, they join its organization. */
  inviteToken: z.string().min(1).max(200).optional(),
});
export type LoginRequest = z.infer<typeof LoginRequest>;

/**
 * The refresh token travels only in an httpOnly cookie, so page scripts never see it.
 * Non-browser clients read it from Set-Cookie and may send it back in the body instead.
 */
export const RefreshRequest = z.strictObject({ refreshToken: z.string().min(1).max(400).optional() });
export type RefreshRequest = z.infer<typeof RefreshRequest>;

export const User = z.object({
  id: idSchema('user'),
  email: z.string(),
  name: z.string(),
  createdAt: z.string(),
});
export type User = z.infer<typeof User>;

export const Organization = z.object({
  id: idSchema('organization'),
  name: z.string(),
  createdAt: z.string(),
});
export type Organization = z.infer<typeof Organization>;

export const SignupResponse = z.object({
  user: User,
  organization: Organization,
  role: Role,
  /** True for the account that founded the install. */
  installAdmin: z.boolean(),
  accessToken: z.string(),
  csrfToken: z.string(),
  expiresIn: z.number(),
});
export type SignupResponse = z.infer<typeof SignupResponse>;

export const LoginResponse = z.object({
  user: User,
  accessToken: z.string(),
  csrfToken: z.string(),
  expiresIn: z.number(),
});
export type LoginResponse = z.infer<typeof LoginResponse>;

export const RefreshResponse = LoginResponse;
export type RefreshResponse = LoginResponse;

export const MeResponse = z.object({
  user: User,
  organization: Organization,
  role: Role,
  /** An install administrator: manages shared runners, install settings and the install chain. */
  installAdmin: z.boolean(),
  /**
   * What this session may do: the role's permissions (see permissions.ts), narrowed by the access
   * token's scopes if it used one. Clients ask these, never compare roles.
   */
  permissions: z.array(Permission),
});
export type MeResponse = z.infer<typeof MeResponse>;

export const CreateInvitationRequest = z.strictObject({
  email: Email.optional(),
  role: Role.default('developer'),
  expiresInSeconds: z
    .number()
    .int()
    .min(60)
    .max(30 * 24 * 3600)
    .default(7 * 24 * 3600),
});
export type CreateInvitationRequest = z.infer<typeof CreateInvitationRequest>;

/** Where an invitation stands: open, taken up, past its date, or withdrawn. */
export const InvitationStatus = z.enum(['pending', 'accepted', 'expired', 'revoked']);
export type InvitationStatus = z.infer<typeof InvitationStatus>;

export const Invitation = z.object({
  id: idSchema('invitation'),
  organizationId: idSchema('organization'),
  email: z.string().nullable(),
  role: Role,
  status: InvitationStatus,
  expiresAt: z.string(),
  acceptedAt: z.string().nullable(),
  revokedAt: z.string().nullable(),
  createdAt: z.string(),
});
export type Invitation = z.infer<typeof Invitation>;

/**
 * Whether an invitation went out by e-mail: `sent`; `off` (no SMTP configured: pass the link on
 * by hand); `failed` (the SMTP server refused; the message says why); `unavailable` (e-mail
 * needs the Node edge: workerd cannot run the SMTP client).
 */
export const InvitationDelivery = z.object({
  status: z.enum(['sent', 'off', 'failed', 'unavailable']),
  message: z.string(),
});
export type InvitationDelivery = z.infer<typeof InvitationDelivery>;

export const CreateInvitationResponse = z.object({
  invitation: Invitation,
  token: z.string(),
  /** The sign-up page with the token: `<public URL>/sign-up?invite=<token>`. */
  link: z.string(),
  /** Present when the invitation names an address. */
  delivery: InvitationDelivery.optional(),
});
export type CreateInvitationResponse = z.infer<typeof CreateInvitationResponse>;

export const ListInvitationsResponse = z.object({ invitations: z.array(Invitation) });

/** Cookie and header names shared by edge and web. */
export const AUTH_COOKIES = {
  access: 'keel_session',
  refresh: 'keel_refresh',
  csrf: 'keel_csrf',
} as const;
export const CSRF_HEADER = 'x-keel-csrf';
