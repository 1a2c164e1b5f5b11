/** RBAC as kube-apiserver evaluates a ClusterRole bound cluster-wide (a ClusterRoleBinding). */
export interface PolicyRule {
  apiGroups?: string[];
  resources?: string[];
  verbs: string[];
  resourceNames?: string[];
  nonResourceURLs?: string[];
}

export interface ResourceAttributes {
  verb: string;
  group: string;
  resource: string;
  subresource?: string;
  namespace?: string;
  name?: string;
}

const has = (list: string[] | undefined, v: string) => !!list && (list.includes('*') || list.includes(v));

export function allows(rules: PolicyRule[], a: ResourceAttributes): boolean {
  const resource = a.subresource ? `${a.resource}/${a.subresource}` : a.resource;
  return rules.some(
    (r) =>
      has(r.verbs, a.verb) &&
      has(r.apiGroups, a.group) &&
      (has(r.resources, resource) || (!a.subresource && has(r.resources, a.resource))) &&
      (!r.resourceNames?.length || (a.name !== undefined && r.resourceNames.includes(a.name))),
  );
}

export function forbiddenMessage(user: string, a: ResourceAttributes): string {
  const resource = a.subresource ? `${a.resource}/${a.subresource}` : a.resource;
  const what = a.name ? `${a.resource} "${a.name}" is forbidden` : `${a.resource} is forbidden`;
  const where = a.namespace ? ` in the namespace "${a.namespace}"` : ' at the cluster scope';
  return `${what}: User "${user}" cannot ${a.verb} resource "${resource}" in API group "${a.group}"${where}`;
}

/** Everything: what a cluster-admin binding gives. */
export const CLUSTER_ADMIN: PolicyRule[] = [{ apiGroups: ['*'], resources: ['*'], verbs: ['*'] }];
