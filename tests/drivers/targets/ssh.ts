/*
 * The ssh driver as a conformance target: a real sshd on a free port, as its own user, reaching
 * the local Docker engine; the driver talks to that engine only through SSH.
 */
import { makeRemoteDockerDriver } from '../../../runners/src/workloads/remote-docker.ts';
import { startSshd } from '../../harness/sshd.ts';
import { ensureDockerAndImage } from '../../runner/docker-helper.ts';
import type { DriverTarget } from '../target.ts';

export const target: DriverTarget = {
  kind: 'ssh',
  // The runner sets up a workspace's network on the engine's host, which it cannot reach here.
  lacks: ['network'],
  async make() {
    await ensureDockerAndImage();
    const sshd = await startSshd();
    try {
      const driver = await makeRemoteDockerDriver({
        kind: 'ssh',
        id: 'srv_conformancessh' as never,
        host: sshd.host,
        port: sshd.port,
        user: sshd.user,
        privateKey: sshd.userKey.privateKey,
        hostKey: sshd.hostKey.publicKey,
        storage: { kind: 'volume' },
      });
      return {
        driver,
        async cleanup() {
          await driver.close();
          await sshd.stop();
        },
      };
    } catch (err) {
      await sshd.stop();
      throw err;
    }
  },
};
