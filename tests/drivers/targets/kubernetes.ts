import { makeKubernetesDriver } from '../../../runners/src/workloads/kubernetes.ts';
import { startKubernetesApiStandin } from '../../harness/kubernetes-api-standin/server.ts';
import { readmeClusterRole } from '../../kubernetes/readme-rbac.ts';
import { ensureDockerAndImage } from '../../runner/docker-helper.ts';
import type { DriverTarget } from '../target.ts';

let made = 0;

/**
 * The kubernetes driver against the Kubernetes API stand-in (backed by the local Docker engine),
 * with a credential that holds exactly the README's ClusterRole. Its pods have a network as on a
 * cluster, with the NetworkPolicies the driver makes enforced in each pod
 * (tests/harness/kubernetes-api-standin/pod-network.ts), so the suite's network checks run; host
 * folders are not something a cluster's pods have. cleanup fails if the driver sent an object
 * the API refused as invalid or needed a right the README does not list.
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
