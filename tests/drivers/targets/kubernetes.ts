import { makeKubernetesDriver } from '../../../runners/src/workloads/kubernetes.ts';
import { startKubernetesApiStandin } from '../../harness/kubernetes-api-standin/server.ts';
import { readmeClusterRole } from '../../kubernetes/readme-rbac.ts';
import { ensureDockerAndImage } from '../../runner/docker-helper.ts';
import type { DriverTarget } from '../target.ts';

let made = 0;

/**
 * The kubernetes driver against the Kubernetes API stand-in (backed by the local Docker engine),
 * with a credential that holds exactly the README's ClusterRole. The stand-in's pods have no
 * network and it does not enforce NetworkPolicies: a network workspace there reaches nothing, so
 * checks that something is reachable cannot pass on it (the policies themselves are checked in
 * tests/kubernetes/). cleanup fails if the driver sent an object the API refused as invalid or
 * needed a right the README does not list.
 */
export const target: DriverTarget = {
  kind: 'kubernetes',
  lacks: ['hostDir'],
  async make() {
    await ensureDockerAndImage();
    const standin = await startKubernetesApiStandin({
      instance: `k8s-conf-${process.pid}-${made++}`,
      users: [{ name: 'keel-runner', rules: readmeClusterRole() }],
    });
    const driver = await makeKubernetesDriver(await standin.access('keel-runner'), {
      startTimeoutMs: 60_000,
    });
    return {
      driver,
      async cleanup() {
        await driver.close();
        const refused = [...standin.refused];
        const denied = [...standin.denied];
        await standin.stop();
        if (refused.length)
          throw new Error(`the API stand-in refused as invalid: ${JSON.stringify(refused)}`);
        if (denied.length)
          throw new Error(`the driver needed rights the README lacks: ${JSON.stringify(denied)}`);
      },
    };
  },
};
