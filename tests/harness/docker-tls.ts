/*
 * A second, real Docker engine that serves its API only over mutual TLS on a loopback port, for
 * the docker-tls driver and connection tests. A CA, the engine's certificate (for 127.0.0.1) and a
 * client certificate are made here with openssl, plus a second CA and a client certificate it
 * signed, for the refusals. The engine gets its own data root, exec root, pid file and unix socket;
 * no iptables, no bridge; the main engine's storage driver. Its data root stays under a cache
 * folder, so the workspace image is loaded once and later runs reuse it.
 */
import { execFile } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { freePort, waitFor } from './ports.ts';
import { type Spawned, spawnService } from './processes.ts';

const run = promisify(execFile);
const CACHE = process.env.KEEL_TEST_CACHE ?? '/var/cache/keel-tests';

export interface TlsMaterial {
  ca: string;
  cert: string;
  key: string;
}

export interface TlsDockerEngine {
  host: string;
  port: number;
  /** The engine's own unix socket, for checks that should not go through the driver. */
  socket: string;
  /** A client that the engine accepts. */
  client: TlsMaterial;
  /** Another CA, and a client certificate it signed: the engine refuses that client, and this CA does not sign the engine. */
  otherCa: string;
  otherClient: TlsMaterial;
  /** `docker` CLI against this engine. */
  cli(...args: string[]): Promise<string>;
  output(): string;
  stop(): Promise<void>;
}

async function openssl(dir: string, ...args: string[]): Promise<void> {
  await run('openssl', args, { cwd: dir });
}

/** A CA, and certificates it signs: the server's with 127.0.0.1 in its names, clients' for clientAuth. */
export async function makeCertificates(dir: string): Promise<void> {
  const days = '2';
  for (const ca of ['ca', 'other-ca']) {
    await openssl(
      dir,
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-keyout',
      `${ca}-key.pem`,
      '-out',
      `${ca}.pem`,
      '-days',
      days,
      '-subj',
      `/CN=keel test ${ca}`,
    );
  }
  const sign = async (name: string, ca: string, ext: string) => {
    await openssl(
      dir,
      'req',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-keyout',
      `${name}-key.pem`,
      '-out',
      `${name}.csr`,
      '-subj',
      `/CN=keel test ${name}`,
    );
    writeFileSync(path.join(dir, `${name}.ext`), ext);
    await openssl(
      dir,
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      `${ca}.pem`,
      '-CAkey',
      `${ca}-key.pem`,
      '-CAcreateserial',
      '-out',
      `${name}.pem`,
      '-days',
      days,
      '-extfile',
      `${name}.ext`,
    );
  };
  await sign('server', 'ca', 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
  await sign('client', 'ca', 'extendedKeyUsage=clientAuth\n');
  await sign('other-client', 'other-ca', 'extendedKeyUsage=clientAuth\n');
}

/**
 * Takes the cached data root if no other live engine holds it, else a fresh one for this run
 * (which then loads the image itself and is removed at the end).
 */
function claimDataRoot(): { dataRoot: string; release(): void } {
  const shared = path.join(CACHE, 'docker-tls', 'data');
  const lock = path.join(CACHE, 'docker-tls', 'owner.pid');
  mkdirSync(path.dirname(lock), { recursive: true });
  const take = (): boolean => {
    try {
      const fd = openSync(lock, 'wx');
      writeFileSync(fd, String(process.pid));
      closeSync(fd);
      return true;
    } catch {
      const owner = Number(readFileSync(lock, 'utf8').trim());
      let alive = false;
      try {
        if (owner > 0) process.kill(owner, 0);
        alive = owner > 0;
      } catch {
        alive = false;
      }
      if (alive) return false;
      rmSync(lock, { force: true });
      return take();
    }
  };
  if (take()) return { dataRoot: shared, release: () => rmSync(lock, { force: true }) };
  const own = mkdtempSync(path.join(CACHE, 'docker-tls', 'run-'));
  return { dataRoot: own, release: () => rmSync(own, { recursive: true, force: true }) };
}

export async function startTlsDockerEngine(opts: { image?: string } = {}): Promise<TlsDockerEngine> {
  const image = opts.image ?? process.env.KEEL_WORKSPACE_IMAGE ?? 'keel-workspace:bookworm';
  const dir = mkdtempSync(path.join(tmpdir(), 'keel-dtls-'));
  await makeCertificates(dir);
  const port = await freePort();
  const socket = path.join(dir, 'docker.sock');
  const { stdout: driver } = await run('docker', ['info', '--format', '{{.Driver}}']);
  const claim = claimDataRoot();
  const execRoot = path.join(dir, 'exec');
  const engine: Spawned = spawnService(
    'dockerd',
    [
      '--tlsverify',
      `--tlscacert=${path.join(dir, 'ca.pem')}`,
      `--tlscert=${path.join(dir, 'server.pem')}`,
      `--tlskey=${path.join(dir, 'server-key.pem')}`,
      `-H=tcp://127.0.0.1:${port}`,
      `-H=unix://${socket}`,
      `--data-root=${claim.dataRoot}`,
      `--exec-root=${execRoot}`,
      `--pidfile=${path.join(dir, 'dockerd.pid')}`,
      '--iptables=false',
      '--ip6tables=false',
      '--bridge=none',
      `--storage-driver=${driver.trim()}`,
      // The main engine's containerd is not shared: this one starts its own under the exec root.
      '--containerd-namespace=keel-tls',
      '--containerd-plugins-namespace=keel-tls-plugins',
    ],
    { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin' },
  );
  const cli = async (...args: string[]) =>
    (await run('docker', ['-H', `unix://${socket}`, ...args], { maxBuffer: 16 * 1024 * 1024 })).stdout;
  const stop = async () => {
    await engine.stop();
    claim.release();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitFor(
      'the TLS Docker engine',
      async () => {
        if (engine.child.exitCode !== null)
          throw new Error(`dockerd exited ${engine.child.exitCode}:\n${engine.output()}`);
        return existsSync(socket) ? await cli('version', '--format', '{{.Server.Version}}') : undefined;
      },
      60_000,
      200,
    );
    const has = await cli('image', 'inspect', image).then(
      () => true,
      () => false,
    );
    if (!has) {
      // Piped through a shell: the image is a few hundred MB, too much to hold in memory here.
      await run('bash', [
        '-o',
        'pipefail',
        '-c',
        'docker save "$1" | docker -H "unix://$2" load -q',
        'load',
        image,
        socket,
      ]);
    }
  } catch (err) {
    await stop();
    throw err;
  }
  const read = (f: string) => readFileSync(path.join(dir, f), 'utf8');
  return {
    host: '127.0.0.1',
    port,
    socket,
    client: { ca: read('ca.pem'), cert: read('client.pem'), key: read('client-key.pem') },
    otherCa: read('other-ca.pem'),
    otherClient: { ca: read('ca.pem'), cert: read('other-client.pem'), key: read('other-client-key.pem') },
    cli,
    output: () => engine.output(),
    stop,
  };
}
