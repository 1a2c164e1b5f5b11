/*
 * The docker-tls driver as a conformance target: a second real dockerd that serves its API only
 * over mutual TLS on a loopback port, with certificates made by openssl for this run.
 */
import { makeRemoteDockerDriver } from '../../../runners/src/workloads/remote-docker.ts';
import { startTlsDockerEngine } from '../../harness/docker-tls.ts';
import { ensureDockerAndImage } from '../../runner/docker-helper.ts';
import type { DriverTarget } from '../target.ts';

export const target: DriverTarget = {
  kind: 'docker-tls',
  lacks: ['network'],
  async make() {
    await ensureDockerAndImage();
    const engine = await startTlsDockerEngine();
    try {
      const driver = await makeRemoteDockerDriver({
        kind: 'docker-tls',
        id: 'srv_conformancetls' as never,
        host: engine.host,
        port: engine.port,
        ...engine.client,
        storage: { kind: 'volume' },
      });
      return {
        driver,
        async cleanup() {
          await driver.close();
          await engine.stop();
        },
      };
    } catch (err) {
      await engine.stop();
      throw err;
    }
  },
};
