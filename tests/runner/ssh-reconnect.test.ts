/**
 * The ssh driver after its connection drops (the host restarted, or came back reinstalled): the
 * next call makes a new connection at once instead of waiting forever on an idle API stream of
 * the old one; a host that now presents another key is refused with host_key_changed.
 * A real sshd in front of the real Docker engine.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  makeRemoteDockerDriver,
  type RemoteDockerDriver,
} from '../../runners/src/workloads/remote-docker.ts';
import { type SshdServer, startSshd } from '../harness/sshd.ts';
import { ensureDockerAndImage } from './docker-helper.ts';

/** Rejects when `p` has not settled in `ms`: a hang is a failure, not a slow test. */
function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} did not settle in ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

describe('ssh driver: a dropped connection', { timeout: 120_000 }, () => {
  let sshd: SshdServer;
  let driver: RemoteDockerDriver;

  before(async () => {
    await ensureDockerAndImage();
    sshd = await startSshd();
    driver = await makeRemoteDockerDriver({
      kind: 'ssh',
      id: 'srv_sshreconnectaaaaaaaa' as never,
      host: sshd.host,
      port: sshd.port,
      user: sshd.user,
      privateKey: sshd.userKey.privateKey,
      hostKey: sshd.hostKey.publicKey,
      storage: { kind: 'volume' },
    });
  });
  after(async () => {
    await driver?.close();
    await sshd?.stop();
  });

  test('the same host again: the next call reconnects and answers', async () => {
    await driver.states();
    await sshd.restart();
    await within(driver.states(), 10_000, 'the first call after the drop');
  });

  test('another host key: the next call is refused as host_key_changed, promptly', async () => {
    await driver.states();
    await sshd.restart({ newHostKey: true });
    await assert.rejects(within(driver.states(), 10_000, 'the first call after the drop'), (err: Error) => {
      assert.match(`${(err as { code?: string }).code} ${err.message}`, /host_key_changed|not the pinned/);
      return true;
    });
  });
});
