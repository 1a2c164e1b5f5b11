import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { ProcessDriver } from '../../../runners/src/workloads/process.ts';
import type { DriverTarget } from '../target.ts';

/** Bubblewrap sandboxes on this host, under a folder of this run's own. */
export const target: DriverTarget = {
  kind: 'process',
  async make() {
    const base = mkdtempSync('/tmp/keel-conform-proc-');
    // The sandbox user must be able to walk down to its workspaces.
    chmodSync(base, 0o711);
    const driver = new ProcessDriver({ root: `${base}/root` });
    await driver.probe();
    return {
      driver,
      async cleanup() {
        for (const id of await driver.list()) await driver.remove(id, { keepData: false }).catch(() => {});
        rmSync(base, { recursive: true, force: true });
      },
    };
  },
};
