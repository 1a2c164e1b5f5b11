/**
 * The Pod Security admission "restricted" profile, enforced on namespaces labelled
 * `pod-security.kubernetes.io/enforce: restricted`, as kube-apiserver does. Returns the
 * violations (empty: admitted).
 */
interface Sc {
  runAsNonRoot?: boolean;
  runAsUser?: number;
  privileged?: boolean;
  allowPrivilegeEscalation?: boolean;
  seccompProfile?: { type?: string };
  capabilities?: { add?: string[]; drop?: string[] };
}
interface PodLike {
  spec?: {
    hostNetwork?: boolean;
    hostPID?: boolean;
    hostIPC?: boolean;
    securityContext?: Sc;
    volumes?: Array<Record<string, unknown>>;
    containers?: Array<{ name: string; securityContext?: Sc; ports?: Array<{ hostPort?: number }> }>;
    initContainers?: Array<{ name: string; securityContext?: Sc }>;
  };
}

const ALLOWED_VOLUMES = new Set([
  'configMap',
  'csi',
  'downwardAPI',
  'emptyDir',
  'ephemeral',
  'persistentVolumeClaim',
  'projected',
  'secret',
]);

export function restrictedViolations(pod: PodLike): string[] {
  const spec = pod.spec ?? {};
  const podSc = spec.securityContext ?? {};
  const out: string[] = [];
  if (spec.hostNetwork || spec.hostPID || spec.hostIPC)
    out.push('host namespaces (hostNetwork, hostPID, hostIPC)');
  for (const v of spec.volumes ?? []) {
    const type = Object.keys(v).find((k) => k !== 'name');
    if (type && !ALLOWED_VOLUMES.has(type))
      out.push(`restricted volume types (volume "${String(v.name)}" uses ${type})`);
  }
  const containers = [...(spec.containers ?? []), ...(spec.initContainers ?? [])];
  for (const c of containers) {
    const sc = c.securityContext ?? {};
    if (sc.privileged)
      out.push(`privileged (container "${c.name}" must not set securityContext.privileged=true)`);
    if (sc.allowPrivilegeEscalation !== false)
      out.push(
        `allowPrivilegeEscalation != false (container "${c.name}" must set securityContext.allowPrivilegeEscalation=false)`,
      );
    if (!(sc.capabilities?.drop ?? []).includes('ALL'))
      out.push(
        `unrestricted capabilities (container "${c.name}" must set securityContext.capabilities.drop=["ALL"])`,
      );
    const added = (sc.capabilities?.add ?? []).filter((a) => a !== 'NET_BIND_SERVICE');
    if (added.length)
      out.push(`unrestricted capabilities (container "${c.name}" must not add ${added.join(', ')})`);
    const nonRoot = sc.runAsNonRoot ?? podSc.runAsNonRoot;
    if (nonRoot !== true) out.push(`runAsNonRoot != true (container "${c.name}")`);
    if ((sc.runAsUser ?? podSc.runAsUser) === 0) out.push(`runAsUser=0 (container "${c.name}")`);
    const seccomp = sc.seccompProfile?.type ?? podSc.seccompProfile?.type;
    if (seccomp !== 'RuntimeDefault' && seccomp !== 'Localhost')
      out.push(
        `seccompProfile (container "${c.name}" must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost")`,
      );
  }
  return out;
}
