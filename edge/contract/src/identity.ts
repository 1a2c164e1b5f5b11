import { z } from 'zod';
import { DisplayName, LoginResponse, Role } from './auth.ts';
import { idSchema } from './ids.ts';

/**
 * Sign-in providers of an organization. Only LDAP / Active Directory directories for now; OpenID
 * Connect and GitHub join `ProviderKind` and the unions below with their own config documents.
 */
export const ProviderKind = z.enum(['ldap']);
export type ProviderKind = z.infer<typeof ProviderKind>;

/** Short and URL-safe: the sign-in page and the login request name a provider by it. */
export const ProviderSlug = z
  .string()
  .min(2)
  .max(40)
  .regex(/^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/, 'lowercase letters, digits and inner hyphens');

const Dn = z.string().trim().min(1).max(1024);
const AttributeName = z
  .string()
  .trim()
  .min(1)
  .max(100)
  .regex(/^[A-Za-z][A-Za-z0-9-]*(;[A-Za-z0-9-]+)*$|^[0-9]+(\.[0-9]+)+$/, 'an LDAP attribute name');
/** A search filter template: RFC 4515 syntax around placeholders the edge fills escaped. */
const FilterTemplate = z.string().trim().min(3).max(1024).startsWith('(', 'must be a parenthesized filter');

const PEM = /^-----BEGIN CERTIFICATE-----[\s\S]+-----END CERTIFICATE-----\s*$/;

/** How the directory says an account is switched off. */
export const LdapDisabledCheck = z.discriminatedUnion('kind', [
  /** The directory removes people instead: only removal refuses them. */
  z.strictObject({ kind: z.literal('none') }),
  /** Active Directory: bit 2 (ACCOUNTDISABLE) of `userAccountControl`. */
  z.strictObject({ kind: z.literal('active_directory') }),
  /**
   * An attribute that marks the account: `nsAccountLock` = `true` (389 DS, FreeIPA), or any value
   * of `pwdAccountLockedTime` (OpenLDAP ppolicy) when `value` is left out.
   */
  z.strictObject({
    kind: z.literal('attribute'),
    attribute: AttributeName,
    value: z.string().max(200).optional(),
  }),
]);
export type LdapDisabledCheck = z.infer<typeof LdapDisabledCheck>;

/** Where a person's groups come from. */
export const LdapGroupLookup = z.discriminatedUnion('kind', [
  /** The user entry's `memberOf` (Active Directory, OpenLDAP with the memberof overlay). */
  z.strictObject({ kind: z.literal('member_of'), attribute: AttributeName.default('memberOf') }),
  /** A search for group entries; `{{dn}}` and `{{username}}` in the filter are filled escaped. */
  z.strictObject({
    kind: z.literal('search'),
    searchBase: Dn,
    filter: FilterTemplate.default('(member={{dn}})'),
  }),
]);
export type LdapGroupLookup = z.infer<typeof LdapGroupLookup>;

export const GroupRoleRow = z.strictObject({ group: Dn, role: Role });
export type GroupRoleRow = z.infer<typeof GroupRoleRow>;

/** The parts of an LDAP provider's config stored as is (the bind password is sealed apart). */
const ldapFields = {
  /** `ldaps://host:636`, or `ldap://host:389` with `startTls`. */
  url: z
    .string()
    .trim()
    .max(500)
    .regex(/^ldaps?:\/\/[^\s/?#]+\/?$/i, 'must be ldap://host[:port] or ldaps://host[:port]'),
  startTls: z.boolean().default(false),
  /** Plain ldap:// without StartTLS: passwords cross the network in the clear. Only for tests and labs. */
  insecure: z.boolean().default(false),
  /** The CA that signed the directory's certificate (PEM); without it the system's CAs decide. */
  caCertificate: z.string().max(20_000).regex(PEM, 'must be a PEM certificate').optional(),
  /** The service account that searches for people. */
  bindDn: Dn,
  userSearchBase: Dn,
  /** `{{username}}` is replaced by the typed name, escaped per RFC 4515. */
  userFilter: FilterTemplate.default('(uid={{username}})').refine((f) => f.includes('{{username}}'), {
    message: 'must contain {{username}}',
  }),
  attributes: z
    .strictObject({
      email: AttributeName.default('mail'),
      name: AttributeName.default('cn'),
      /** A stable id of the entry (entryUUID, objectGUID, uid); the DN when left out. */
      subject: AttributeName.default('entryUUID'),
    })
    .default({ email: 'mail', name: 'cn', subject: 'entryUUID' }),
  groups: LdapGroupLookup.default({ kind: 'member_of', attribute: 'memberOf' }),
  /** Group DN → role; the highest mapped role wins, compared without regard to case. */
  groupRoleMap: z.array(GroupRoleRow).max(200).default([]),
  /** The role when no group maps; `null` refuses people in none of the mapped groups. */
  defaultRole: Role.nullable().default('developer'),
  disabled: LdapDisabledCheck.default({ kind: 'none' }),
  /** Link a first sign-in to an existing account with the same e-mail (only when the directory's addresses are verified). */
  trustEmail: z.boolean().default(false),
  /** Every connect, bind and search gives up after this long. */
  timeoutSeconds: z.number().int().min(1).max(30).default(5),
  /** On refresh, ask the directory again at most this often whether the person still exists and is enabled (0: at every refresh). */
  recheckMinutes: z.number().int().min(0).max(1440).default(15),
};

function transportRule<T extends { url: string; startTls: boolean; insecure: boolean }>(
  c: T,
  ctx: z.RefinementCtx,
): void {
  const ldaps = c.url.toLowerCase().startsWith('ldaps://');
  if (ldaps && c.startTls)
    ctx.addIssue({ code: 'custom', path: ['startTls'], message: 'StartTLS is for ldap://, not ldaps://' });
  if (!ldaps && !c.startTls && !c.insecure)
    ctx.addIssue({
      code: 'custom',
      path: ['startTls'],
      message: 'ldap:// needs startTls: true (or insecure: true, which sends passwords in the clear)',
    });
}

/** What an admin sends: the bind password is optional on update (kept when left out). */
export const LdapConfigInput = z
  .strictObject({ ...ldapFields, bindPassword: z.string().min(1).max(1024).optional() })
  .superRefine(transportRule);
export type LdapConfigInput = z.input<typeof LdapConfigInput>;

/** As stored (jsonb) and shown: never the bind password. */
export const LdapConfig = z.strictObject(ldapFields).superRefine(transportRule);
export type LdapConfig = z.infer<typeof LdapConfig>;

export const LdapConfigView = z.object({ ...ldapFields, hasBindPassword: z.boolean() });
export type LdapConfigView = z.infer<typeof LdapConfigView>;

export const IdentityProviderId = idSchema('identityProvider');

export const SaveProviderRequest = z.strictObject({
  /** Present: change that provider; absent: add one. */
  id: IdentityProviderId.optional(),
  kind: z.literal('ldap'),
  name: DisplayName,
  slug: ProviderSlug,
  enabled: z.boolean().default(true),
  config: LdapConfigInput,
});
export type SaveProviderRequest = z.input<typeof SaveProviderRequest>;

export const ProviderView = z.object({
  id: IdentityProviderId,
  kind: ProviderKind,
  name: z.string(),
  slug: z.string(),
  enabled: z.boolean(),
  config: LdapConfigView,
  createdAt: z.string(),
  updatedAt: z.string().nullable(),
});
export type ProviderView = z.infer<typeof ProviderView>;

export const ProviderListResponse = z.object({ providers: z.array(ProviderView) });
export type ProviderListResponse = z.infer<typeof ProviderListResponse>;

/** Any string up to a length: an id that is not one of the caller's organization is a 404, malformed or not. */
export const ProviderIdParam = z.strictObject({ id: z.string().max(128) });

/** A directory username: what people type, escaped before it reaches any filter. */
export const DirectoryUsername = z.string().trim().min(1).max(256);

export const TestProviderRequest = z.strictObject({ username: DirectoryUsername });

/** Why a directory check failed, in words a UI can act on. */
export const DirectoryErrorCode = z.enum([
  'unreachable',
  'tls_failed',
  'bind_failed',
  'not_found',
  'timeout',
  'search_failed',
]);
export type DirectoryErrorCode = z.infer<typeof DirectoryErrorCode>;

export const TestProviderResponse = z.discriminatedUnion('ok', [
  z.object({
    ok: z.literal(true),
    user: z.object({
      dn: z.string(),
      subject: z.string(),
      email: z.string().nullable(),
      name: z.string().nullable(),
      groups: z.array(z.string()),
      disabled: z.boolean(),
      /** The role a sign-in would get now; null: refused (no mapped group and no default role). */
      role: Role.nullable(),
    }),
  }),
  z.object({ ok: z.literal(false), error: z.object({ code: DirectoryErrorCode, message: z.string() }) }),
]);
export type TestProviderResponse = z.infer<typeof TestProviderResponse>;

export const LdapLoginRequest = z.strictObject({
  provider: ProviderSlug,
  username: DirectoryUsername,
  password: z.string().min(1).max(1024),
});
export type LdapLoginRequest = z.infer<typeof LdapLoginRequest>;

export const LdapLoginResponse = LoginResponse;
export type LdapLoginResponse = z.infer<typeof LdapLoginResponse>;

/** What the sign-in page may know before anyone signs in: names to show, slugs to send. */
export const PublicProvider = z.object({ name: z.string(), slug: z.string(), kind: ProviderKind });
export const PublicProvidersResponse = z.object({ providers: z.array(PublicProvider) });
export type PublicProvidersResponse = z.infer<typeof PublicProvidersResponse>;
