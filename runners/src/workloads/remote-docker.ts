import type { DockerAccess } from '../servers/docker-test.ts';
import type { WorkloadDriver } from './types.ts';

/** A workload driver for a Docker host over SSH or mutual TLS; `close` ends its connection. */
export type RemoteDockerDriver = WorkloadDriver & { close(): Promise<void> };

export async function makeRemoteDockerDriver(
  _access: DockerAccess,
  _opts: { defaultImage?: string } = {},
): Promise<RemoteDockerDriver> {
  throw new Error('makeRemoteDockerDriver: not written yet');
}
