/**
 * The Docker driver's hand-written exec start (docker-exec-socket.ts) against the real dockerd:
 * a reader that registers a direct sink gets stdout there (and nothing through the stream),
 * stderr through the stream, and the exit code as usual; a large output arrives whole and in
 * order while the reader pauses and resumes; a command that cannot start is refused as before.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { PassThrough } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import Docker from 'dockerode';
import { readOutputDirectly } from '../../runners/src/workloads/direct-output.ts';
import { DockerDriver } from '../../runners/src/workloads/docker.ts';
import {
  EngineRefusal,
  localEngineSocket,
  startExecOnSocket,
} from '../../runners/src/workloads/docker-exec-socket.ts';
import type { ExecHandle } from '../../runners/src/workloads/types.ts';
import { WorkloadError } from '../../runners/src/workloads/types.ts';
import { workspaceIdFor } from '../snapshots/engine-tree.ts';
import { ensureDockerAndImage, removeStale } from './docker-helper.ts';

const PREFIX = 'directout';

function directly(handle: ExecHandle) {
  const sunk: Buffer[] = [];
  const streamed: Buffer[] = [];
  const stderr: Buffer[] = [];
  readOutputDirectly(handle.stdout, (b) => sunk.push(Buffer.from(b)));
  handle.stdout.on('data', (b: Buffer) => streamed.push(b));
  handle.stderr.on('data', (b: Buffer) => stderr.push(b));
  const ended = new Promise<void>((r) => handle.stdout.once('end', r));
  return {
    sunk: () => Buffer.concat(sunk),
    streamed: () => Buffer.concat(streamed),
    stderr: () => Buffer.concat(stderr).toString(),
    ended,
  };
}

describe('direct stdout from a Docker exec (real dockerd, the engine socket read by hand)', () => {
  const driver = new DockerDriver();
  const id = workspaceIdFor(PREFIX);

  before(async () => {
    await ensureDockerAndImage();
    await removeStale(`ws_${PREFIX}`);
    await driver.create({
      workspaceId: id,
      cpus: 1,
      memoryMb: 256,
      network: false,
      storage: { kind: 'volume' },
    });
    await driver.start(id);
  });

  after(async () => {
    await driver.remove(id, { keepData: false }).catch(() => {});
  });

  it('hands stdout to the sink, stderr to its stream, and reports the exit code', async () => {
    const h = driver.exec(id, { argv: ['sh', '-c', 'printf out1; printf err >&2; printf out2; exit 3'] });
    const got = directly(h);
    const res = await h.done;
    await got.ended;
    assert.equal(res.exitCode, 3);
    assert.equal(got.sunk().toString(), 'out1out2');
    assert.equal(got.streamed().length, 0);
    assert.equal(got.stderr(), 'err');
  });

  it('a large output comes whole and in order while the reader pauses and resumes', async () => {
    // 40 MB of a repeatable stream, hashed inside and outside.
    const script =
      'head -c 40000000 /dev/zero | tr "\\0" "k" | tee /tmp/big | sha256sum >&2; cat /tmp/big; rm /tmp/big';
    const h = driver.exec(id, { argv: ['sh', '-c', script] });
    const hash = createHash('sha256');
    let bytes = 0;
    readOutputDirectly(h.stdout, (b) => {
      hash.update(b);
      bytes += b.length;
      if (bytes % 7 === 0 || Math.random() < 0.01) {
        h.stdout.pause();
        setTimeout(() => h.stdout.resume(), 2);
      }
    });
    let stderr = '';
    h.stderr.on('data', (b: Buffer) => {
      stderr += b.toString();
    });
    h.stdout.on('data', () => assert.fail('stdout came through the stream'));
    const res = await h.done;
    assert.equal(res.exitCode, 0, stderr);
    assert.equal(bytes, 40_000_000);
    assert.equal(hash.digest('hex'), stderr.split(' ')[0]);
  });

  it('a command in a stopped workspace is refused as not running', async () => {
    const other = workspaceIdFor(PREFIX);
    await driver.create({
      workspaceId: other,
      cpus: 1,
      memoryMb: 256,
      network: false,
      storage: { kind: 'volume' },
    });
    try {
      const h = driver.exec(other, { argv: ['true'] });
      directly(h);
      await assert.rejects(h.done, (err: unknown) => err instanceof WorkloadError);
    } finally {
      await driver.remove(other, { keepData: false }).catch(() => {});
    }
  });

  it("the engine's refusal of a start keeps its status and message (an exec it does not know: 404)", async () => {
    const exec = new Docker().getExec('0'.repeat(64));
    const path = await localEngineSocket(exec);
    assert.ok(path, 'the engine is reached through its unix socket');
    await assert.rejects(
      startExecOnSocket(exec, path, { stdout: () => {}, stderr: () => {}, flow: new PassThrough() }),
      (err: unknown) =>
        err instanceof EngineRefusal && err.statusCode === 404 && /no such exec/i.test(err.message),
    );
  });
});
