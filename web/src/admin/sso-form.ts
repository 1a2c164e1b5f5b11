import type { Role } from '@keel/contract/auth';
import { type ProviderView, SaveProviderRequest } from '@keel/contract/identity';

/** The single sign-on kinds the console offers; the first three are OpenID Connect with presets. */
export type SsoKind = 'google' | 'entra' | 'oidc' | 'github';
export type SsoView = Extract<ProviderView, { kind: SsoKind }>;

export const GOOGLE_ISSUER = 'https://accounts.google.com';
export const GITHUB_WEB = 'https://github.com';
export const GITHUB_API = 'https://api.github.com';
const DEFAULT_SCOPES = 'openid email profile';

export const SSO_KIND_LABELS: Record<SsoKind, string> = {
  google: 'Google',
  entra: 'Microsoft Entra ID',
  oidc: 'Other OpenID Connect',
  github: 'GitHub',
};

export function isSsoView(p: ProviderView): p is SsoView {
  return p.kind !== 'ldap';
}

/** The provider form as text, the way its inputs hold it. */
export interface SsoForm {
  id?: string;
  kind: SsoKind;
  name: string;
  slug: string;
  enabled: boolean;
  clientId: string;
  /** Write-only: empty on edit keeps the sealed one. */
  clientSecret: string;
  /** The edge holds one already (edit): the field then replaces it. */
  hasClientSecret: boolean;
  /** Other OpenID Connect only; Google's is fixed and Entra ID's follows from the tenant. */
  issuer: string;
  /** Entra ID: a directory (tenant) id, or a verified domain of it. */
  tenantId: string;
  /** Space-separated scope tokens. */
  scopes: string;
  /** Google Workspace domains, separated by commas, spaces or lines; empty: any Google account. */
  allowedDomains: string;
  groupsClaim: string;
  /** GitHub Enterprise Server: its web address; empty: github.com. */
  webUrl: string;
  /** GitHub Enterprise Server: its REST API; empty: `<webUrl>/api/v3`. */
  apiUrl: string;
  /** GitHub organization logins, separated by commas, spaces or lines. */
  requiredOrganizations: string;
  /** Group (OIDC) or `org/team-slug` (GitHub) → role. */
  groupRoles: Array<{ group: string; role: Role }>;
  /** `organization`: the sign-in settings' default role; `refuse`: people no row maps are refused. */
  defaultRole: Role | 'organization' | 'refuse';
  trustEmail: boolean;
  insecure: boolean;
}

export function emptySsoForm(kind: SsoKind): SsoForm {
  const named: Record<SsoKind, { name: string; slug: string }> = {
    google: { name: 'Google', slug: 'google' },
    entra: { name: 'Microsoft', slug: 'microsoft' },
    oidc: { name: '', slug: '' },
    github: { name: 'GitHub', slug: 'github' },
  };
  return {
    kind,
    ...named[kind],
    enabled: true,
    clientId: '',
    clientSecret: '',
    hasClientSecret: false,
    issuer: kind === 'oidc' ? 'https://' : '',
    tenantId: '',
    scopes: DEFAULT_SCOPES,
    allowedDomains: '',
    groupsClaim: 'groups',
    webUrl: '',
    apiUrl: '',
    requiredOrganizations: '',
    groupRoles: [],
    defaultRole: 'organization',
    trustEmail: false,
    insecure: false,
  };
}

const ENTRA_ISSUER = /^https:\/\/login\.microsoftonline\.com\/([^/]+)\/v2\.0\/?$/i;

/** Entra ID's issuer for a tenant (its id, or a domain of it). */
export function entraIssuer(tenant: string): string {
  return `https://login.microsoftonline.com/${encodeURIComponent(tenant.trim())}/v2.0`;
}

/** The ID token's `tid` is always the tenant's GUID: only a GUID can be checked against it. */
const TENANT_GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** An existing provider as the form shows it (never its secret, which the edge does not give). */
export function ssoFormFrom(p: SsoView): SsoForm {
  const base = emptySsoForm(p.kind);
  const common = {
    ...base,
    id: p.id,
    name: p.name,
    slug: p.slug,
    enabled: p.enabled,
    clientId: p.config.clientId,
    hasClientSecret: p.config.hasClientSecret,
    groupRoles: p.config.groupRoleMap.map((r) => ({ ...r })),
    defaultRole:
      p.config.defaultRole === undefined
        ? ('organization' as const)
        : p.config.defaultRole === null
          ? ('refuse' as const)
          : p.config.defaultRole,
    trustEmail: p.config.trustEmail,
    insecure: p.config.insecure,
  };
  if (p.kind === 'github') {
    const custom = p.config.webUrl !== GITHUB_WEB || p.config.apiUrl !== GITHUB_API;
    return {
      ...common,
      webUrl: custom ? p.config.webUrl : '',
      apiUrl: custom ? p.config.apiUrl : '',
      requiredOrganizations: p.config.requiredOrganizations.join(', '),
    };
  }
  return {
    ...common,
    issuer: p.config.issuer,
    tenantId: p.config.tenantId ?? decodeURIComponent(ENTRA_ISSUER.exec(p.config.issuer)?.[1] ?? ''),
    scopes: p.config.scopes.join(' '),
    allowedDomains: p.config.allowedDomains.join(', '),
    groupsClaim: p.config.groupsClaim,
  };
}

export type BuiltSsoRequest =
  | { ok: true; request: SaveProviderRequest }
  | { ok: false; fields: Partial<Record<string, string>>; message: string };

const list = (text: string) =>
  text
    .split(/[\s,;]+/)
    .map((s) => s.trim())
    .filter((s) => s !== '');

/** The form as the contract's request, checked by the same schema the edge uses; issues named by field. */
export function buildSsoRequest(f: SsoForm): BuiltSsoRequest {
  const fields: Partial<Record<string, string>> = {};
  const secret = f.clientSecret.trim();
  // The schema lets an update leave the secret out (kept); an added provider has none to keep.
  if (!f.id && secret === '') fields.clientSecret = 'Paste the client secret the provider gave you.';
  if (f.kind === 'entra' && f.tenantId.trim() === '') fields.tenantId = 'Enter the directory (tenant) ID.';

  const common = {
    clientId: f.clientId.trim(),
    ...(secret ? { clientSecret: secret } : {}),
    groupRoleMap: f.groupRoles
      .filter((r) => r.group.trim() !== '')
      .map((r) => ({ group: r.group.trim(), role: r.role })),
    ...(f.defaultRole === 'organization'
      ? {}
      : { defaultRole: f.defaultRole === 'refuse' ? null : f.defaultRole }),
    trustEmail: f.trustEmail,
  };
  const webUrl = f.webUrl.trim().replace(/\/+$/, '');
  const apiUrl = f.apiUrl.trim().replace(/\/+$/, '');
  const config =
    f.kind === 'github'
      ? {
          ...common,
          insecure: f.insecure,
          ...(webUrl ? { webUrl, apiUrl: apiUrl || `${webUrl}/api/v3` } : {}),
          requiredOrganizations: list(f.requiredOrganizations),
        }
      : {
          ...common,
          insecure: f.kind === 'oidc' ? f.insecure : false,
          issuer:
            f.kind === 'google'
              ? GOOGLE_ISSUER
              : f.kind === 'entra'
                ? entraIssuer(f.tenantId)
                : f.issuer.trim().replace(/\/+$/, ''),
          scopes: f.kind === 'oidc' ? list(f.scopes) : list(DEFAULT_SCOPES),
          allowedDomains: f.kind === 'google' ? list(f.allowedDomains) : [],
          ...(f.kind === 'entra' && TENANT_GUID.test(f.tenantId.trim())
            ? { tenantId: f.tenantId.trim() }
            : {}),
          ...(f.kind === 'google' ? {} : { groupsClaim: f.groupsClaim.trim() }),
        };
  const request = {
    ...(f.id ? { id: f.id } : {}),
    kind: f.kind,
    name: f.name.trim(),
    slug: f.slug.trim(),
    enabled: f.enabled,
    config,
  } as SaveProviderRequest;

  const checked = SaveProviderRequest.safeParse(request);
  if (!checked.success)
    for (const issue of checked.error.issues)
      fields[ssoFieldForPath(issue.path.map(String), f.kind)] ??= issue.message;
  if (Object.keys(fields).length > 0) return { ok: false, fields, message: 'Some fields need attention.' };
  return { ok: true, request };
}

/** A contract path (`config.allowedDomains.0`) as the form field that holds it. */
export function ssoFieldForPath(path: readonly string[], kind: SsoKind): string {
  const [head, second] = path;
  if (head !== 'config') return head ?? 'name';
  if (second === 'groupRoleMap') return 'groupRoles';
  // Entra ID's issuer is made from the tenant; the console shows that field instead.
  if (second === 'issuer' || second === 'tenantId') return kind === 'entra' ? 'tenantId' : 'issuer';
  return second ?? 'clientId';
}

/**
 * Where the provider will send people back, before the edge has said it: the edge answers the
 * authoritative `callbackUrl` once the provider is saved, under this same path.
 */
export function expectedCallbackUrl(origin: string, slug: string): string {
  const name = slug.trim();
  return `${origin}/api/auth/sso/${name ? encodeURIComponent(name) : '<sign-in-name>'}/callback`;
}
