import { z } from 'zod';
import { Invitation, InvitationDelivery, Role } from './auth.ts';
import { idSchema } from './ids.ts';

/** How an account arrived: a password sign-up (or invitation), single sign-on, GitHub or the directory. */
export const MemberSource = z.enum(['password', 'oidc', 'github', 'ldap']);
export type MemberSource = z.infer<typeof MemberSource>;

/** One person of the organization, as the admin console lists them. */
export const Member = z.object({
  userId: idSchema('user'),
  email: z.string(),
  name: z.string(),
  role: Role,
  source: MemberSource,
  lastSignInAt: z.string().nullable(),
  /** When the membership was disabled; null while it stands. */
  disabledAt: z.string().nullable(),
  /** When they joined the organization. */
  createdAt: z.string(),
});
export type Member = z.infer<typeof Member>;

/** The most members one page holds. */
export const MEMBERS_PAGE_MAX = 200;

export const ListMembersQuery = z.strictObject({
  /** Part of the name or e-mail address, case-insensitive. */
  q: z
    .string()
    .trim()
    .max(100)
    .refine((s) => !s.includes('\u0000'), 'must not contain NUL')
    .optional(),
  role: Role.optional(),
  limit: z.coerce.number().int().min(1).max(MEMBERS_PAGE_MAX).default(50),
  /** Opaque: the `next` of the previous page. */
  cursor: z.string().max(200).optional(),
});
export type ListMembersQuery = z.infer<typeof ListMembersQuery>;

export const ListMembersResponse = z.object({
  members: z.array(Member),
  /** Pass as `cursor` for the next page; null on the last one. */
  next: z.string().nullable(),
});
export type ListMembersResponse = z.infer<typeof ListMembersResponse>;

export const MemberParams = z.object({ userId: z.string().max(128) });

export const ChangeRoleRequest = z.strictObject({ role: Role });
export type ChangeRoleRequest = z.infer<typeof ChangeRoleRequest>;

export const MemberResponse = z.object({ member: Member });
export type MemberResponse = z.infer<typeof MemberResponse>;

/**
 * Removing someone: their workspaces are stopped and handed to an admin of the organization
 * (`transfer`, naming them in `transferTo`), or deleted.
 */
export const RemoveMemberRequest = z
  .strictObject({
    workspaces: z.enum(['transfer', 'delete']),
    transferTo: idSchema('user').optional(),
  })
  .refine((r) => r.workspaces === 'delete' || r.transferTo !== undefined, {
    message: 'name the admin who receives the workspaces',
    path: ['transferTo'],
  })
  .refine((r) => r.workspaces === 'transfer' || r.transferTo === undefined, {
    message: 'only a transfer names a receiver',
    path: ['transferTo'],
  });
export type RemoveMemberRequest = z.infer<typeof RemoveMemberRequest>;

export const RemoveMemberResponse = z.object({
  userId: idSchema('user'),
  /** Workspaces handed over (stopped first when running), or marked for deletion. */
  workspaces: z.object({
    transferred: z.number().int(),
    deleted: z.number().int(),
    transferTo: idSchema('user').nullable(),
  }),
});
export type RemoveMemberResponse = z.infer<typeof RemoveMemberResponse>;

/** How many addresses one bulk invitation takes. */
export const BULK_INVITATIONS_MAX = 200;

/**
 * A list of addresses, one role for all. Each address is checked on its own: a malformed one,
 * a duplicate, an existing member or one already invited is reported, not a failure of the rest.
 */
export const BulkInvitationRequest = z.strictObject({
  emails: z.array(z.string().max(320)).min(1).max(BULK_INVITATIONS_MAX),
  role: Role.default('developer'),
  expiresInSeconds: z
    .number()
    .int()
    .min(60)
    .max(30 * 24 * 3600)
    .default(7 * 24 * 3600),
});
export type BulkInvitationRequest = z.infer<typeof BulkInvitationRequest>;

export const InvitedAddress = z.object({
  email: z.string(),
  invitation: Invitation,
  /** The sign-up link carrying the token (shown once). */
  link: z.string(),
  delivery: InvitationDelivery,
});

export const SkippedAddress = z.object({
  email: z.string(),
  reason: z.enum(['invalid', 'duplicate', 'member', 'invited']),
  message: z.string(),
});

export const BulkInvitationResponse = z.object({
  invited: z.array(InvitedAddress),
  skipped: z.array(SkippedAddress),
  /** Whether the install sends e-mail at all; when not, pass the links on by hand. */
  email: InvitationDelivery,
});
export type BulkInvitationResponse = z.infer<typeof BulkInvitationResponse>;
