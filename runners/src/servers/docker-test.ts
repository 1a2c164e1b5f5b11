import type { ConnectionTestResult, ServerAccess, ServerResources } from '@keel/contract/servers';

export type DockerAccess = Extract<ServerAccess, { kind: 'ssh' | 'docker-tls' }>;

export interface ServerProbeOptions {
  /** The workspace image whose presence the test reports. */
  image: string;
  /** The whole test settles within this, with `timeout` if it must. */
  timeoutMs: number;
  runnerId: string;
}

/** Connection test of a Docker host over SSH or mutual TLS. */
export async function testDockerServer(
  _access: DockerAccess,
  _opts: ServerProbeOptions,
): Promise<ConnectionTestResult> {
  throw new Error('testDockerServer: not written yet');
}

/** Resources of a Docker host, for the heartbeat. */
export async function collectDockerResources(
  _access: DockerAccess,
  _opts: ServerProbeOptions,
): Promise<ServerResources> {
  throw new Error('collectDockerResources: not written yet');
}
