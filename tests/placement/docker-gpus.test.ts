/*
 * The Docker driver's container create body for a GPU workspace (what it sends the engine,
 * caught by a recording stand-in for dockerode), and the process driver's refusal.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type Docker from 'dockerode';
import { DockerDriver, gpuRequest } from '../../runners/src/workloads/docker.ts';
import { ProcessDriver } from '../../runners/src/workloads/process.ts';
import { WorkloadError, type WorkloadSpec } from '../../runners/src/workloads/types.ts';

/** Records the create call; the image exists, the container does not yet. */
function recordingEngine() {
  const created: Docker.ContainerCreateOptions[] = [];
  const missing = Object.assign(new Error('no such container'), { statusCode: 404 });
  const engine = {
    getImage: () => ({ inspect: async () => ({ Id: 'sha256:test' }) }),
    getContainer: () => ({
      inspect: async () => {
        throw missing;
      },
    }),
    createVolume: async () => ({}),
    createContainer: async (options: Docker.ContainerCreateOptions) => {
      created.push(options);
      return {};
    },
  };
  return { engine: engine as unknown as Docker, created };
}

const spec = (extra: Partial<WorkloadSpec> = {}): WorkloadSpec => ({
  workspaceId: 'ws_gpuunit',
  cpus: 1,
  memoryMb: 512,
  network: false,
  storage: { kind: 'volume' },
  ...extra,
});

test('docker create body: a workspace asking 2 GPUs carries an nvidia device request for 2', async () => {
  const { engine, created } = recordingEngine();
  await new DockerDriver({ docker: engine }).create(spec({ gpus: 2 }));
  assert.equal(created.length, 1);
  assert.deepEqual(created[0]!.HostConfig?.DeviceRequests, [
    { Driver: 'nvidia', Count: 2, Capabilities: [['gpu']] },
  ]);
});

test('docker create body: a workspace asking no GPUs carries no device request', async () => {
  const { engine, created } = recordingEngine();
  await new DockerDriver({ docker: engine }).create(spec());
  assert.equal(created[0]!.HostConfig?.DeviceRequests, undefined);
  assert.deepEqual(gpuRequest(undefined), {});
});

test('the process driver refuses a GPU workspace with a reason that says so', async () => {
  const root = mkdtempSync(join(tmpdir(), 'keel-gpu-process-'));
  try {
    const driver = new ProcessDriver({ root });
    await assert.rejects(driver.create(spec({ gpus: 1 })), (err: unknown) => {
      assert.ok(err instanceof WorkloadError);
      assert.equal(err.code, 'INVALID_SPEC');
      assert.match(err.message, /process driver cannot give a workspace GPUs/);
      return true;
    });
    assert.deepEqual([...(await driver.states()).keys()], []);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
