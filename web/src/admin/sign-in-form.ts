import type { Role } from '@keel/contract/auth';
import { type ProviderView, SaveProviderRequest } from '@keel/contract/identity';

/** How the edge reaches the directory: LDAPS, StartTLS on ldap://, or (labs only) in the clear. */
export type Transport = 'ldaps' | 'starttls' | 'insecure';
export type DisabledKind = 'none' | 'active_directory' | 'attribute';
export type GroupsKind = 'search' | 'member_of';

/** The directory form as text, the way its inputs hold it. */
export interface DirectoryForm {
  id?: string;
  name: string;
  slug: string;
  enabled: boolean;
  url: string;
  transport: Transport;
  caCertificate: string;
  bindDn: string;
  /** Empty on edit: keeps the sealed one. */
  bindPassword: string;
  userSearchBase: string;
  userFilter: string;
  emailAttribute: string;
  nameAttribute: string;
  subjectAttribute: string;
  groupsKind: GroupsKind;
  groupSearchBase: string;
  groupFilter: string;
  memberOfAttribute: string;
  groupRoles: Array<{ group: string; role: Role }>;
  /** `none`: people in no mapped group are refused. */
  defaultRole: Role | 'none';
  disabledKind: DisabledKind;
  disabledAttribute: string;
  disabledValue: string;
  trustEmail: boolean;
  timeoutSeconds: string;
  recheckMinutes: string;
}

export function emptyDirectoryForm(): DirectoryForm {
  return {
    name: '',
    slug: '',
    enabled: true,
    url: 'ldaps://',
    transport: 'ldaps',
    caCertificate: '',
    bindDn: '',
    bindPassword: '',
    userSearchBase: '',
    userFilter: '(uid={{username}})',
    emailAttribute: 'mail',
    nameAttribute: 'cn',
    subjectAttribute: 'entryUUID',
    groupsKind: 'search',
    groupSearchBase: '',
    groupFilter: '(member={{dn}})',
    memberOfAttribute: 'memberOf',
    groupRoles: [],
    defaultRole: 'developer',
    disabledKind: 'none',
    disabledAttribute: 'nsAccountLock',
    disabledValue: 'true',
    trustEmail: false,
    timeoutSeconds: '5',
    recheckMinutes: '15',
  };
}

/** An existing provider, as the form shows it (never its bind password, which the edge does not give). */
export function directoryFormFrom(p: Extract<ProviderView, { kind: 'ldap' }>): DirectoryForm {
  const c = p.config;
  const base = emptyDirectoryForm();
  return {
    ...base,
    id: p.id,
    name: p.name,
    slug: p.slug,
    enabled: p.enabled,
    url: c.url,
    transport: c.url.toLowerCase().startsWith('ldaps://') ? 'ldaps' : c.startTls ? 'starttls' : 'insecure',
    caCertificate: c.caCertificate ?? '',
    bindDn: c.bindDn,
    userSearchBase: c.userSearchBase,
    userFilter: c.userFilter,
    emailAttribute: c.attributes.email,
    nameAttribute: c.attributes.name,
    subjectAttribute: c.attributes.subject,
    groupsKind: c.groups.kind,
    groupSearchBase: c.groups.kind === 'search' ? c.groups.searchBase : '',
    groupFilter: c.groups.kind === 'search' ? c.groups.filter : base.groupFilter,
    memberOfAttribute: c.groups.kind === 'member_of' ? c.groups.attribute : base.memberOfAttribute,
    groupRoles: c.groupRoleMap.map((r) => ({ ...r })),
    defaultRole: c.defaultRole ?? 'none',
    disabledKind: c.disabled.kind,
    disabledAttribute: c.disabled.kind === 'attribute' ? c.disabled.attribute : base.disabledAttribute,
    disabledValue: c.disabled.kind === 'attribute' ? (c.disabled.value ?? '') : base.disabledValue,
    trustEmail: c.trustEmail,
    timeoutSeconds: String(c.timeoutSeconds),
    recheckMinutes: String(c.recheckMinutes),
  };
}

export type BuiltRequest =
  | { ok: true; request: SaveProviderRequest }
  | { ok: false; fields: Partial<Record<string, string>>; message: string };

/** The form as the contract's request, checked by the same schema the edge uses; issues named by field. */
export function buildDirectoryRequest(f: DirectoryForm): BuiltRequest {
  const trimmed = (s: string) => s.trim();
  const request = {
    ...(f.id ? { id: f.id } : {}),
    kind: 'ldap' as const,
    name: trimmed(f.name),
    slug: trimmed(f.slug),
    enabled: f.enabled,
    config: {
      url: trimmed(f.url),
      startTls: f.transport === 'starttls',
      insecure: f.transport === 'insecure',
      ...(trimmed(f.caCertificate) ? { caCertificate: trimmed(f.caCertificate) } : {}),
      bindDn: trimmed(f.bindDn),
      ...(f.bindPassword ? { bindPassword: f.bindPassword } : {}),
      userSearchBase: trimmed(f.userSearchBase),
      userFilter: trimmed(f.userFilter),
      attributes: {
        email: trimmed(f.emailAttribute),
        name: trimmed(f.nameAttribute),
        subject: trimmed(f.subjectAttribute),
      },
      groups:
        f.groupsKind === 'search'
          ? {
              kind: 'search' as const,
              searchBase: trimmed(f.groupSearchBase),
              filter: trimmed(f.groupFilter),
            }
          : { kind: 'member_of' as const, attribute: trimmed(f.memberOfAttribute) },
      groupRoleMap: f.groupRoles
        .filter((r) => r.group.trim() !== '')
        .map((r) => ({ group: trimmed(r.group), role: r.role })),
      defaultRole: f.defaultRole === 'none' ? null : f.defaultRole,
      disabled:
        f.disabledKind === 'attribute'
          ? {
              kind: 'attribute' as const,
              attribute: trimmed(f.disabledAttribute),
              ...(trimmed(f.disabledValue) ? { value: trimmed(f.disabledValue) } : {}),
            }
          : { kind: f.disabledKind },
      trustEmail: f.trustEmail,
      timeoutSeconds: Number(f.timeoutSeconds),
      recheckMinutes: Number(f.recheckMinutes),
    },
  };
  const checked = SaveProviderRequest.safeParse(request);
  if (checked.success) return { ok: true, request };
  const fields: Partial<Record<string, string>> = {};
  for (const issue of checked.error.issues) {
    const key = fieldForPath(issue.path.map(String));
    fields[key] ??= issue.message;
  }
  return { ok: false, fields, message: 'Some fields need attention.' };
}

/** A contract path (`config.attributes.email`) as the form field that holds it. */
export function fieldForPath(path: readonly string[]): string {
  const [head, second, third] = path;
  if (head !== 'config') return head ?? 'name';
  if (second === 'startTls' || second === 'insecure') return 'transport';
  if (second === 'attributes') return `${third ?? 'email'}Attribute`;
  if (second === 'groups')
    return third === 'searchBase'
      ? 'groupSearchBase'
      : third === 'filter'
        ? 'groupFilter'
        : 'memberOfAttribute';
  if (second === 'groupRoleMap') return 'groupRoles';
  if (second === 'disabled') return third === 'value' ? 'disabledValue' : 'disabledAttribute';
  return second ?? 'url';
}
