/**
 * The S3 store with AWS's own client against s3rver, an S3 stand-in started here on a free
 * loopback port (no MinIO is available on this machine).
 */
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import S3rver from 's3rver';
import { S3Store } from '../../runners/src/snapshots/s3-store.ts';
import { openStore } from '../../runners/src/snapshots/store-access.ts';
import { ProcessDriver } from '../../runners/src/workloads/process.ts';
import { freePort } from '../harness/ports.ts';
import { workspaceIdFor } from './engine-tree.ts';
import { storeScenario } from './store-scenario.ts';

describe('snapshot S3 store against the s3rver stand-in (real bubblewrap)', () => {
  let base: string;
  let driver: ProcessDriver;
  let server: S3rver;
  let endpoint: string;
  const source = workspaceIdFor('snaps');
  const target = workspaceIdFor('snaps');
  const access = (over: Record<string, unknown> = {}) => ({
    kind: 's3' as const,
    endpoint,
    region: 'us-east-1',
    bucket: 'keel-snapshots',
    prefix: 'install-a/',
    forcePathStyle: true,
    accessKeyId: 'S3RVER',
    secretAccessKey: 'S3RVER',
    ...over,
  });

  before(async () => {
    base = mkdtempSync('/tmp/keel-snap-s3-');
    chmodSync(base, 0o711);
    const port = await freePort();
    server = new S3rver({
      address: '127.0.0.1',
      port,
      silent: true,
      directory: join(base, 's3rver'),
      configureBuckets: [{ name: 'keel-snapshots', configs: [] }],
    });
    await server.run();
    endpoint = `http://127.0.0.1:${port}`;
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
    await server?.close();
    rmSync(base, { recursive: true, force: true });
  });

  it('round trip, a second snapshot that writes only the chunks around one change, and a prune that keeps shared chunks', async () => {
    const store = await openStore(access(), '/nonexistent');
    assert.ok(store instanceof S3Store, 'an s3 access opens the S3 client');
    await storeScenario(store, driver, source, target);
    // Everything lives under the install's prefix.
    const outside = new S3Store(access({ prefix: '' }));
    for await (const o of outside.list('')) assert.ok(o.key.startsWith('install-a/'), o.key);
  });

  it('a wrong secret is a store error that names neither the secret nor the key id', async () => {
    const store = new S3Store(access({ accessKeyId: 'WRONGKEYID', secretAccessKey: 'wrong-secret-value' }));
    await assert.rejects(store.put('chunks/00/x', Buffer.from('x')), (err: unknown) => {
      const message = String((err as Error).message);
      return (
        !message.includes('wrong-secret-value') &&
        !message.includes('WRONGKEYID') &&
        /snapshot store/.test(message)
      );
    });
  });
});
