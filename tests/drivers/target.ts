import type { WorkloadDriver } from '../../runners/src/workloads/types.ts';

/**
 * One driver the conformance suite runs against, with what it takes to stand it up here
 * (a Docker engine, sshd, a second TLS engine, the Kubernetes API stand-in).
 */
export interface DriverTarget {
  kind: WorkloadDriver['kind'];
  /** Starts what the driver needs and makes it; `cleanup` removes what was started. */
  make(): Promise<{ driver: WorkloadDriver; cleanup(): Promise<void> }>;
  /** What the driver does not have, so the suite checks a clear refusal instead (e.g. network). */
  lacks?: ReadonlyArray<'network' | 'hostDir'>;
}
