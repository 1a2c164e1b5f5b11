/*
 * A real OpenSSH server for the ssh driver and connection tests: Debian's /usr/sbin/sshd on a
 * free loopback port, running as its own unprivileged user (`keel-ssh`, in the group that owns
 * the Docker socket, so that it reaches the local engine like an admin's docker user would),
 * with a host key and a user key generated here for each start.
 */
import { execFile } from 'node:child_process';
import { chmodSync, chownSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { freePort, waitFor } from './ports.ts';
import { type Spawned, spawnService } from './processes.ts';

const run = promisify(execFile);
export const SSH_USER = 'keel-ssh';
const DOCKER_SOCKET = '/var/run/docker.sock';

export interface KeyPair {
  privateKey: string;
  /** OpenSSH public key line, without a comment. */
  publicKey: string;
  /** `SHA256:…` as ssh-keygen -l prints it. */
  fingerprint: string;
}

export interface SshdServer {
  host: string;
  port: number;
  user: string;
  hostKey: KeyPair;
  userKey: KeyPair;
  /** Another key pair the server does not know (wrong user key, wrong host key). */
  otherKey(): Promise<KeyPair>;
  /**
   * Stops the server (its open sessions too) and starts it again on the same port and user key;
   * with `newHostKey`, under a host key made now (`hostKey` then names it): a host that was
   * reinstalled, or an impostor at its address.
   */
  restart(opts?: { newHostKey?: boolean }): Promise<void>;
  output(): string;
  stop(): Promise<void>;
}

export async function makeKeyPair(dir: string, name: string, type = 'ed25519'): Promise<KeyPair> {
  const file = path.join(dir, name);
  rmSync(file, { force: true });
  rmSync(`${file}.pub`, { force: true });
  await run('ssh-keygen', ['-q', '-t', type, '-N', '', '-C', '', '-f', file]);
  const { stdout } = await run('ssh-keygen', ['-l', '-E', 'sha256', '-f', `${file}.pub`]);
  const fingerprint = stdout.split(/\s+/)[1] ?? '';
  const [t, b64] = readFileSync(`${file}.pub`, 'utf8').trim().split(/\s+/);
  return { privateKey: readFileSync(file, 'utf8'), publicKey: `${t} ${b64}`, fingerprint };
}

let userReady: Promise<{ uid: number; gid: number }> | undefined;

/** Creates the server's system user once, in the Docker socket's group. */
export function ensureSshUser(): Promise<{ uid: number; gid: number }> {
  userReady ??= (async () => {
    const socketGid = statSync(DOCKER_SOCKET).gid;
    const { stdout: group } = await run('getent', ['group', String(socketGid)]);
    const groupName = group.split(':')[0];
    if (!groupName) throw new Error(`no group for ${DOCKER_SOCKET}'s gid ${socketGid}`);
    const exists = await run('id', ['-u', SSH_USER]).then(
      () => true,
      () => false,
    );
    if (!exists) {
      await run('useradd', [
        '--system',
        '--no-create-home',
        '--home-dir',
        '/nonexistent',
        '--shell',
        '/bin/sh',
        SSH_USER,
      ]).catch(
        // Another test process may have made it a moment ago.
        async (err) => {
          if (
            !(await run('id', ['-u', SSH_USER]).then(
              () => true,
              () => false,
            ))
          )
            throw err;
        },
      );
    }
    await run('usermod', ['-a', '-G', groupName, SSH_USER]);
    const uid = Number((await run('id', ['-u', SSH_USER])).stdout.trim());
    const gid = Number((await run('id', ['-g', SSH_USER])).stdout.trim());
    return { uid, gid };
  })();
  return userReady;
}

export interface SshdOptions {
  /** false: `AllowStreamLocalForwarding no` (the driver then falls back to dial-stdio). */
  streamLocalForwarding?: boolean;
}

export async function startSshd(opts: SshdOptions = {}): Promise<SshdServer> {
  const { uid, gid } = await ensureSshUser();
  const dir = mkdtempSync(path.join(tmpdir(), 'keel-sshd-'));
  chmodSync(dir, 0o755);
  const firstHostKey = await makeKeyPair(dir, 'host_ed25519');
  const userKey = await makeKeyPair(dir, 'user_ed25519');
  writeFileSync(path.join(dir, 'authorized_keys'), `${userKey.publicKey}\n`);
  const port = await freePort();
  const config = path.join(dir, 'sshd_config');
  writeFileSync(
    config,
    [
      `Port ${port}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${path.join(dir, 'host_ed25519')}`,
      `PidFile ${path.join(dir, 'sshd.pid')}`,
      `AuthorizedKeysFile ${path.join(dir, 'authorized_keys')}`,
      // Not root: sshd cannot switch users, so only its own user logs in.
      `AllowUsers ${SSH_USER}`,
      'UsePAM no',
      // The files live in a temp dir under /tmp (world-writable), which strict modes refuse.
      'StrictModes no',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'PubkeyAuthentication yes',
      `AllowStreamLocalForwarding ${opts.streamLocalForwarding === false ? 'no' : 'yes'}`,
      // sshd shares one permission list for TCP and stream-local forwards: with TCP
      // forwarding off, the Docker socket's forward is refused too (as on a default Debian host).
      'AllowTcpForwarding local',
      'X11Forwarding no',
      'PermitTTY no',
      'LogLevel VERBOSE',
      'MaxSessions 64',
      'MaxStartups 64:30:128',
      '',
    ].join('\n'),
  );
  for (const f of ['host_ed25519', 'host_ed25519.pub', 'authorized_keys', 'sshd_config', '.']) {
    chownSync(path.join(dir, f), uid, gid);
  }
  const spawnSshd = async (): Promise<Spawned> => {
    const spawned = spawnService(
      'setpriv',
      [
        '--reuid',
        SSH_USER,
        '--regid',
        String(gid),
        '--init-groups',
        '/usr/sbin/sshd',
        '-D',
        '-e',
        '-f',
        config,
      ],
      { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin' },
    );
    await waitFor(
      `sshd on ${port}`,
      async () => {
        if (spawned.child.exitCode !== null)
          throw new Error(`sshd exited ${spawned.child.exitCode}:\n${spawned.output()}`);
        return /Server listening/.test(spawned.output()) ? true : undefined;
      },
      15_000,
      50,
    );
    return spawned;
  };
  let sshd = await spawnSshd();
  let hostKey = firstHostKey;
  /**
   * The listener and every connection it accepted: each connection's sshd runs in a session of
   * its own (setsid), so ending the listener's group leaves open connections working.
   */
  const stopAll = async () => {
    const listener = sshd.child.pid;
    const { stdout } = await run('ps', ['-o', 'pid=', '--ppid', String(listener)]).catch(() => ({
      stdout: '',
    }));
    await sshd.stop();
    for (const pid of stdout.split(/\s+/).filter(Boolean).map(Number)) {
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
  };
  return {
    host: '127.0.0.1',
    port,
    user: SSH_USER,
    get hostKey() {
      return hostKey;
    },
    userKey,
    otherKey: () => makeKeyPair(dir, `other_${Math.random().toString(36).slice(2)}`),
    async restart(opts = {}) {
      // Open connections end too, as when a host is reinstalled.
      await stopAll();
      if (opts.newHostKey) {
        hostKey = await makeKeyPair(dir, 'host_ed25519');
        for (const f of ['host_ed25519', 'host_ed25519.pub']) chownSync(path.join(dir, f), uid, gid);
      }
      sshd = await spawnSshd();
    },
    output: () => sshd.output(),
    async stop() {
      await stopAll();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
