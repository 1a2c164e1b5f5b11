import { z } from 'zod';
import { DisplayName, LoginResponse, Role } from './auth.ts';
import { idSchema } from './ids.ts';

/**
 * Sign-in providers of an organization: an LDAP / Active Directory directory, OpenID Connect
 * (generic, or with the presets `google` and `entra`), or GitHub. Each kind has its own config
 * document; the secret (bind password, client secret) is sealed apart and never shown.
 */
export const ProviderKind = z.enum(['ldap', 'oidc', 'google', 'entra', 'github']);
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

/** A group, team or claim value → role row (OIDC groups claim, GitHub `org/team`). */
export const ClaimRoleRow = z.strictObject({ group: z.string().trim().min(1).max(1024), role: Role });
export type ClaimRoleRow = z.infer<typeof ClaimRoleRow>;

const Domain = z
  .string()
  .trim()
  .toLowerCase()
  .max(253)
  .regex(/^(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+[a-z]{2,}$/, 'a domain name such as example.com');

const ProviderUrl = z
  .string()
  .trim()
  .max(500)
  .regex(/^https?:\/\/[^\s?#]+$/i, 'must be an http(s) URL without query or fragment');

/** An OAuth scope token (RFC 6749 §3.3). */
const Scope = z
  .string()
  .min(1)
  .max(100)
  .regex(/^[\x21\x23-\x5b\x5d-\x7e]+$/, 'a scope token');

/** What every single sign-on kind shares: the client, role mapping and linking rules. */
const ssoFields = {
  clientId: z.string().trim().min(1).max(500),
  /** Value → role; the highest mapped role wins. OIDC: values of `groupsClaim`; GitHub: `org/team-slug`. */
  groupRoleMap: z.array(ClaimRoleRow).max(200).default([]),
  /**
   * The role of people no row maps. Absent: the organization's default role (sign-in settings);
   * null: such people are refused.
   */
  defaultRole: Role.nullable().optional(),
  /**
   * Treat the provider's e-mail as verified even without an `email_verified` claim (Entra ID sends
   * none). An existing account is linked on first sign-in only through a verified e-mail.
   */
  trustEmail: z.boolean().default(false),
  /** Allow an http:// issuer or API. Only for tests and labs: codes and tokens cross in the clear. */
  insecure: z.boolean().default(false),
};

const oidcFields = {
  ...ssoFields,
  /**
   * The issuer; discovery reads `<issuer>/.well-known/openid-configuration`. Google:
   * `https://accounts.google.com`; Entra ID: `https://login.microsoftonline.com/<tenant>/v2.0`.
   */
  issuer: ProviderUrl,
  scopes: z.array(Scope).min(1).max(20).default(['openid', 'email', 'profile']),
  /** Google: only accounts of these Workspace domains (the ID token's `hd`); empty: any. */
  allowedDomains: z.array(Domain).max(50).default([]),
  /** Entra ID: only this tenant (the ID token's `tid`). */
  tenantId: z.string().trim().min(1).max(100).optional(),
  /** The ID-token claim that lists a person's groups (`groups` for Entra ID and Keycloak). */
  groupsClaim: z.string().trim().min(1).max(100).default('groups'),
};

function httpsOnly(fields: Record<string, string>, insecure: boolean, ctx: z.RefinementCtx): void {
  if (insecure) return;
  for (const [field, url] of Object.entries(fields))
    if (!url.toLowerCase().startsWith('https://'))
      ctx.addIssue({ code: 'custom', path: [field], message: 'must be https:// (or insecure: true)' });
}
const oidcHttps = (c: { issuer: string; insecure: boolean }, ctx: z.RefinementCtx) =>
  httpsOnly({ issuer: c.issuer }, c.insecure, ctx);

export const OidcConfigInput = z
  .strictObject({ ...oidcFields, clientSecret: z.string().min(1).max(2048).optional() })
  .superRefine(oidcHttps);
export type OidcConfigInput = z.input<typeof OidcConfigInput>;
export const OidcConfig = z.strictObject(oidcFields).superRefine(oidcHttps);
export type OidcConfig = z.infer<typeof OidcConfig>;
export const OidcConfigView = z.object({ ...oidcFields, hasClientSecret: z.boolean() });
export type OidcConfigView = z.infer<typeof OidcConfigView>;

const githubFields = {
  ...ssoFields,
  /** Where people authorize: `https://github.com`, or a GitHub Enterprise Server. */
  webUrl: ProviderUrl.default('https://github.com'),
  /** Its REST API: `https://api.github.com`, or `https://<host>/api/v3`. */
  apiUrl: ProviderUrl.default('https://api.github.com'),
  /** People must belong to one of these organizations (logins); empty: anyone. */
  requiredOrganizations: z
    .array(
      z
        .string()
        .trim()
        .min(1)
        .max(100)
        .regex(/^[A-Za-z0-9-]+$/, 'a GitHub organization login'),
    )
    .max(50)
    .default([]),
};
const githubHttps = (c: { webUrl: string; apiUrl: string; insecure: boolean }, ctx: z.RefinementCtx) =>
  httpsOnly({ webUrl: c.webUrl, apiUrl: c.apiUrl }, c.insecure, ctx);

export const GitHubConfigInput = z
  .strictObject({ ...githubFields, clientSecret: z.string().min(1).max(2048).optional() })
  .superRefine(githubHttps);
export type GitHubConfigInput = z.input<typeof GitHubConfigInput>;
export const GitHubConfig = z.strictObject(githubFields).superRefine(githubHttps);
export type GitHubConfig = z.infer<typeof GitHubConfig>;
export const GitHubConfigView = z.object({ ...githubFields, hasClientSecret: z.boolean() });
export type GitHubConfigView = z.infer<typeof GitHubConfigView>;

const saveFields = {
  /** Present: change that provider; absent: add one. The kind of an existing provider cannot change. */
  id: IdentityProviderId.optional(),
  name: DisplayName,
  slug: ProviderSlug,
  enabled: z.boolean().default(true),
};

/** Add or change a provider. A secret left out on update is kept; on add, SSO kinds need one. */
export const SaveProviderRequest = z.discriminatedUnion('kind', [
  z.strictObject({ ...saveFields, kind: z.literal('ldap'), config: LdapConfigInput }),
  z.strictObject({ ...saveFields, kind: z.literal('oidc'), config: OidcConfigInput }),
  z.strictObject({ ...saveFields, kind: z.literal('google'), config: OidcConfigInput }),
  z.strictObject({ ...saveFields, kind: z.literal('entra'), config: OidcConfigInput }),
  z.strictObject({ ...saveFields, kind: z.literal('github'), config: GitHubConfigInput }),
]);
export type SaveProviderRequest = z.input<typeof SaveProviderRequest>;

const viewFields = {
  id: IdentityProviderId,
  name: z.string(),
  slug: z.string(),
  enabled: z.boolean(),
  /** Where the provider must send people back (register it with the provider); null for LDAP. */
  callbackUrl: z.string().nullable(),
  createdAt: z.string(),
  updatedAt: z.string().nullable(),
};

export const ProviderView = z.discriminatedUnion('kind', [
  z.object({ ...viewFields, kind: z.literal('ldap'), config: LdapConfigView }),
  z.object({ ...viewFields, kind: z.literal('oidc'), config: OidcConfigView }),
  z.object({ ...viewFields, kind: z.literal('google'), config: OidcConfigView }),
  z.object({ ...viewFields, kind: z.literal('entra'), config: OidcConfigView }),
  z.object({ ...viewFields, kind: z.literal('github'), config: GitHubConfigView }),
]);
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
export const PublicProvider = z.object({
  name: z.string(),
  slug: z.string(),
  kind: ProviderKind,
  /** SSO kinds: where the sign-in button goes (`/api/auth/sso/<slug>/start`); null for LDAP. */
  startUrl: z.string().nullable(),
});
export const PublicProvidersResponse = z.object({
  providers: z.array(PublicProvider),
  /**
   * False when no organization with providers allows password sign-in: the page then leads with
   * its providers (the form stays reachable, for the last super_admin's way in).
   */
  passwordSignIn: z.boolean(),
});
export type PublicProvidersResponse = z.infer<typeof PublicProvidersResponse>;

/** An organization's sign-in settings (super_admin). */
export const SignInSettings = z.object({
  /** Password sign-in allowed. Off, the last super_admin with a password keeps a way in. */
  passwordEnabled: z.boolean(),
  /** Only configured providers sign people in (implies password sign-in off for everyone else). */
  requireSso: z.boolean(),
  /** The role of people created at first sign-in when no mapping applies. */
  defaultRole: Role,
});
export type SignInSettings = z.infer<typeof SignInSettings>;
export const SaveSignInSettingsRequest = SignInSettings.strict();
export type SaveSignInSettingsRequest = z.infer<typeof SaveSignInSettingsRequest>;

/** Where to land after sign-in: a path of this site only (never another origin). */
export const ReturnToPath = z
  .string()
  .max(1000)
  .regex(/^\/(?![/\\])[^\s]*$/, 'a path on this site');

export const SsoStartQuery = z.strictObject({ returnTo: ReturnToPath.optional() });
export const SsoSlugParam = z.strictObject({ slug: ProviderSlug });
/** What the provider sends back; `error` instead of `code` when the person declined or it failed. */
export const SsoCallbackQuery = z.object({
  code: z.string().max(4096).optional(),
  state: z.string().max(512).optional(),
  error: z.string().max(200).optional(),
  error_description: z.string().max(1000).optional(),
  iss: z.string().max(500).optional(),
});

/**
 * Why a single sign-on did not complete; the callback sends the browser to
 * `/sign-in?sso_error=<code>` with one of these.
 */
export const SsoErrorCode = z.enum([
  'state_mismatch',
  'provider_error',
  'token_rejected',
  'domain_not_allowed',
  'tenant_not_allowed',
  'organization_required',
  'email_unverified',
  'no_role',
  'account_disabled',
  'provider_unavailable',
  /**
   * An account with this verified address exists but is not a member of the provider's
   * organization: it is not taken over from another organization's provider.
   */
  'account_exists',
]);
export type SsoErrorCode = z.infer<typeof SsoErrorCode>;
