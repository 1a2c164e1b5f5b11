import { DockerDriver } from '../../../runners/src/workloads/docker.ts';
import { ensureDockerAndImage } from '../../runner/docker-helper.ts';
import type { DriverTarget } from '../target.ts';

/** The local Docker engine, with the workspace image built by the project's own script. */
export const target: DriverTarget = {
  kind: 'docker',
  async make() {
    await ensureDockerAndImage();
    // Nothing of its own to stop: the suite removes each workspace it made.
    return { driver: new DockerDriver(), cleanup: async () => {} };
  },
};
