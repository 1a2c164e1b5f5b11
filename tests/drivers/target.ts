import type { WorkloadDriver } from '../../runners/src/workloads/types.ts';

/**
 * One driver the conformance suite runs against, with what it takes to stand it up here
 * (a Docker engine, sshd, a second TLS engine, the Kubernetes API stand-in).
 *
 * A target lives in `targets/<kind>.ts` as `export const target`, and is run by
 * `conformance.<kind>.test.ts` (a copy of `conformance.docker.test.ts`: the kind comes from the
 * file's name). A target whose `make()` fails fails every test of its run; nothing is skipped.
 */
export interface DriverTarget {
  kind: WorkloadDriver['kind'];
  /** Starts what the driver needs and makes it; `cleanup` removes what was started. */
  make(): Promise<{ driver: WorkloadDriver; cleanup(): Promise<void> }>;
  /**
   * What the driver does not have, so the suite checks a clear refusal instead (e.g. network):
   * `create` with it rejects with a WorkloadError `DRIVER_UNAVAILABLE`. A target that has
   * `hostDir` runs its workloads on this machine in tests, so that the suite can look at the
   * admin's folder from here.
   */
  lacks?: ReadonlyArray<'network' | 'hostDir'>;
}
