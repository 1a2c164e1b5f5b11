import { DockerDriver } from '../workloads/docker.ts';
import type { KubernetesWorkloadDriver } from '../workloads/kubernetes.ts';
import { ProcessDriver } from '../workloads/process.ts';
import { type WorkloadDriver, WorkloadError } from '../workloads/types.ts';
import { openDockerTty } from './docker-tty.ts';
import { openProcessTty } from './process-tty.ts';
import type { Tty, TtySize } from './tty.ts';

/** A login shell on a TTY in the workspace, through whichever driver runs it. */
export async function openTty(driver: WorkloadDriver, workspaceId: string, size: TtySize): Promise<Tty> {
  if (driver instanceof ProcessDriver) return openProcessTty(driver, workspaceId, size);
  if (driver instanceof DockerDriver) return openDockerTty(driver, workspaceId, size);
  // Only a runner serving a Kubernetes server loads the Kubernetes client (see server-drivers.ts).
  if (driver.kind === 'kubernetes') {
    const { openKubernetesTty } = await import('./kubernetes-tty.ts');
    return openKubernetesTty(driver as KubernetesWorkloadDriver, workspaceId, size);
  }
  throw new WorkloadError('DRIVER_UNAVAILABLE', `the ${driver.kind} driver offers no terminals`);
}
