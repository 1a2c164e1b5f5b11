import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { FolderStore } from '../../runners/src/snapshots/folder-store.ts';
import { ProcessDriver } from '../../runners/src/workloads/process.ts';
import { workspaceIdFor } from './engine-tree.ts';
import { storeScenario } from './store-scenario.ts';

describe('snapshot folder store (real bubblewrap)', () => {
  let base: string;
  let driver: ProcessDriver;
  const source = workspaceIdFor('snapprune');
  const target = workspaceIdFor('snapprune');

  before(async () => {
    base = mkdtempSync('/tmp/keel-snap-prune-');
    chmodSync(base, 0o711);
    driver = new ProcessDriver({ root: join(base, 'workspaces') });
    for (const id of [source, target]) {
      await driver.create({
        workspaceId: id,
        cpus: 1,
        memoryMb: 128,
        network: false,
        storage: { kind: 'volume' },
      });
      await driver.start(id);
    }
  });

  after(async () => {
    for (const id of [source, target]) await driver.remove(id, { keepData: false }).catch(() => {});
    rmSync(base, { recursive: true, force: true });
  });

  it('round trip, a second snapshot that writes only the chunks around one change, and a prune that keeps shared chunks', async () => {
    await storeScenario(new FolderStore(join(base, 'store')), driver, source, target);
  });
});
