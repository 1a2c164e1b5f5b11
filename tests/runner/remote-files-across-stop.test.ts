/**
 * The files a remote driver gives out for a workspace stay usable across a stop and a start, as
 * a local folder does: the runner keeps them for the workspace's life (runner-context `files`).
 * The Docker drivers on their real parts (sshd, the TLS engine); the kubernetes driver's own
 * test is in tests/kubernetes/driver-lifecycle.test.ts.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { WorkloadDriver } from '../../runners/src/workloads/types.ts';
import type { DriverTarget } from '../drivers/target.ts';
import { target as dockerTls } from '../drivers/targets/docker-tls.ts';
import { target as ssh } from '../drivers/targets/ssh.ts';

for (const target of [ssh, dockerTls] as DriverTarget[]) {
  describe(`${target.kind}: files given out before a stop work after the start`, { timeout: 240_000 }, () => {
    let made: Awaited<ReturnType<DriverTarget['make']>>;
    let driver: WorkloadDriver;
    const id = `fstop${process.pid.toString(36)}-${target.kind}`;

    before(async () => {
      made = await target.make();
      driver = made.driver;
    });
    after(async () => {
      await driver?.remove(id, { keepData: false }).catch(() => {});
      await made?.cleanup();
    });

    test('write, stop, start, read through the same files; gone for good after remove', async () => {
      await driver.create({
        workspaceId: id,
        cpus: 0.5,
        memoryMb: 256,
        pidsLimit: 64,
        network: false,
        storage: { kind: 'volume' },
      });
      await driver.start(id);
      const files = await driver.files(id);
      await files.writeFile('kept.txt', 'still here\n');
      await driver.stop(id);
      await driver.start(id);
      assert.equal((await files.readFile('kept.txt')).toString(), 'still here\n');
      await files.writeFile('after.txt', 'written after the start\n');
      assert.equal(
        (await (await driver.files(id)).readFile('after.txt')).toString(),
        'written after the start\n',
      );
      await driver.remove(id, { keepData: false });
      // Removed: nothing to read, and no agent is left behind.
      await assert.rejects(files.readFile('kept.txt'));
    });
  });
}
