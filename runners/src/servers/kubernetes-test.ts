import type { ConnectionTestResult, ServerAccess, ServerResources } from '@keel/contract/servers';
import type { ServerProbeOptions } from './docker-test.ts';

export type KubernetesAccess = Extract<ServerAccess, { kind: 'kubernetes' }>;

/** Connection test of a Kubernetes API server: version, nodes, pods, what the credential may create. */
export async function testKubernetesServer(
  _access: KubernetesAccess,
  _opts: ServerProbeOptions,
): Promise<ConnectionTestResult> {
  throw new Error('testKubernetesServer: not written yet');
}

export async function collectKubernetesResources(
  _access: KubernetesAccess,
  _opts: ServerProbeOptions,
): Promise<ServerResources> {
  throw new Error('collectKubernetesResources: not written yet');
}
