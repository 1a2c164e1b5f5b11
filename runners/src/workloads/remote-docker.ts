import { randomUUID } from 'node:crypto';
import https from 'node:https';
import path from 'node:path';
import Docker from 'dockerode';
import { type AgentFiles, agentFiles, filesOfCurrentAgent } from '../files/agent/index.ts';
import type { WorkspaceFiles } from '../files/workspace-files.ts';
import type { DockerAccess } from '../servers/docker-test.ts';
import { DockerDriver, type RemoteEngine } from './docker.ts';
import { SshDockerLink } from './ssh-connection.ts';
import { type WorkloadDriver, WorkloadError } from './types.ts';

/** A workload driver for a Docker host over SSH or mutual TLS; `close` ends its connection. */
export type RemoteDockerDriver = WorkloadDriver & { close(): Promise<void> };

const WORKSPACE_UID = 1000;

export interface RemoteDockerOptions {
  defaultImage?: string;
  /** TCP connect and SSH handshake or TLS handshake; default 10 s. */
  connectTimeoutMs?: number;
}

/** A Docker API client for the server, and what closes its connections. */
export function remoteDockerClient(
  access: DockerAccess,
  opts: { connectTimeoutMs: number; keepaliveMs?: number },
): { docker: Docker; close(): Promise<void> } {
  if (access.kind === 'ssh') {
    const link = new SshDockerLink(
      {
        host: access.host,
        port: access.port,
        user: access.user,
        privateKey: access.privateKey,
        ...(access.passphrase ? { passphrase: access.passphrase } : {}),
        hostKey: access.hostKey,
      },
      { connectTimeoutMs: opts.connectTimeoutMs, keepaliveMs: opts.keepaliveMs ?? 15_000 },
    );
    // `host` only names the API's HTTP requests: the agent connects every one through SSH.
    const docker = new Docker({
      protocol: 'http',
      host: 'docker',
      port: 80,
      agent: link.agent,
    } as Docker.DockerOptions);
    return { docker, close: () => link.close() };
  }
  const agent = new https.Agent({
    keepAlive: true,
    maxFreeSockets: 8,
    ca: access.ca,
    cert: access.cert,
    key: access.key,
    // The engine's certificate must name the host we dial (Node's default check), signed by the CA given.
    rejectUnauthorized: true,
    minVersion: 'TLSv1.2',
  });
  const docker = new Docker({
    protocol: 'https',
    host: access.host.replace(/^\[|\]$/g, ''),
    port: access.port,
    ca: access.ca,
    cert: access.cert,
    key: access.key,
    agent,
    connectionTimeout: opts.connectTimeoutMs,
  } as Docker.DockerOptions);
  return {
    docker,
    close: async () => agent.destroy(),
  };
}

/**
 * A short-lived container on the remote engine for what the runner cannot do there itself
 * (make, chown or remove a storage folder, measure a disk): as hardened as a workspace, with
 * only the capabilities the step needs. Resolves with its exit code and output.
 */
export async function runHelperContainer(
  docker: Docker,
  opts: {
    image: string;
    argv: string[];
    purpose: string;
    binds?: string[];
    mounts?: Docker.MountSettings[];
    capAdd?: string[];
    user?: string;
    timeoutMs?: number;
  },
): Promise<{ exitCode: number; output: string }> {
  const name = `keel-helper-${randomUUID().slice(0, 12)}`;
  const container = await docker.createContainer({
    name,
    Image: opts.image,
    Labels: { 'keel.helper': opts.purpose },
    User: opts.user ?? '0:0',
    Cmd: opts.argv,
    Tty: true,
    HostConfig: {
      ...(opts.binds ? { Binds: opts.binds } : {}),
      ...(opts.mounts ? { Mounts: opts.mounts } : {}),
      ReadonlyRootfs: true,
      CapDrop: ['ALL'],
      ...(opts.capAdd?.length ? { CapAdd: opts.capAdd } : {}),
      SecurityOpt: ['no-new-privileges'],
      NetworkMode: 'none',
      Memory: 64 * 1024 * 1024,
      MemorySwap: 64 * 1024 * 1024,
      PidsLimit: 16,
      RestartPolicy: { Name: 'no' },
    },
  });
  try {
    await container.start();
    const timeoutMs = opts.timeoutMs ?? 60_000;
    let timer: NodeJS.Timeout | undefined;
    const waited = await Promise.race([
      container.wait() as Promise<{ StatusCode: number }>,
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`helper ${opts.purpose} did not finish in ${timeoutMs} ms`)),
          timeoutMs,
        );
      }),
    ]).finally(() => clearTimeout(timer));
    const logs = (await container.logs({ stdout: true, stderr: true, follow: false })) as unknown as Buffer;
    return { exitCode: waited.StatusCode, output: logs.toString('utf8').replace(/\r/g, '') };
  } finally {
    // v: an anonymous volume the helper measured goes with it.
    await container.remove({ force: true, v: true }).catch(() => {});
  }
}

/** A workspace folder `<parent>/<name>` on the remote host: only plain names, never the root's child. */
function splitHostDir(dir: string): { parent: string; name: string } {
  const norm = path.posix.normalize(dir);
  const parent = path.posix.dirname(norm);
  const name = path.posix.basename(norm);
  if (
    norm !== dir.replace(/\/+$/, '') ||
    parent === '/' ||
    !/^[A-Za-z0-9._-]+$/.test(name) ||
    name.startsWith('.')
  ) {
    throw new WorkloadError(
      'INVALID_SPEC',
      `hostDir ${JSON.stringify(dir)} is not <storage folder>/<workspace>`,
    );
  }
  return { parent, name };
}

/*
 * Run in the helper with the parent folder at /parent and the workspace folder's name as $1.
 * Exit 0: made (and given to the workspace user); 10: it was there already, a folder; 11: it is
 * there and is not a folder (a link or a file), which is refused rather than followed.
 */
const ENSURE_DIR = `cd /parent || exit 12
if [ -L "$1" ] || { [ -e "$1" ] && [ ! -d "$1" ]; }; then exit 11; fi
if [ -d "$1" ]; then exit 10; fi
mkdir -m 0755 -- "$1" && chown ${WORKSPACE_UID}:${WORKSPACE_UID} -- "$1"`;

/** Remote mode of the Docker driver: storage folders through helper containers, files through the agent. */
class RemoteEngineOps implements RemoteEngine {
  private readonly agents = new Map<string, AgentFiles>();

  constructor(
    readonly kind: 'ssh' | 'docker-tls',
    private readonly docker: () => Docker,
    private readonly driver: () => DockerDriver,
  ) {}

  async ensureHostDir(dir: string, image: string): Promise<boolean> {
    const { parent, name } = splitHostDir(dir);
    const { exitCode, output } = await runHelperContainer(this.docker(), {
      image,
      purpose: 'storage-create',
      // Binds (not Mounts) so the engine makes the admin's storage folder when it is missing,
      // as the local driver does.
      binds: [`${parent}:/parent`],
      argv: ['sh', '-c', ENSURE_DIR, 'keel-mkdir', name],
      capAdd: ['CHOWN', 'DAC_OVERRIDE'],
    });
    if (exitCode === 0) return true;
    if (exitCode === 10) return false;
    if (exitCode === 11) throw new WorkloadError('INVALID_SPEC', `${dir} on the server is not a directory`);
    throw new WorkloadError(
      'DRIVER_UNAVAILABLE',
      `cannot make ${dir} on the server: ${output.trim().slice(-500)}`,
    );
  }

  async removeHostDir(dir: string, image: string): Promise<void> {
    const { parent, name } = splitHostDir(dir);
    // rm does not follow links, and the parent is the admin's folder, which no workspace sees.
    const { exitCode, output } = await runHelperContainer(this.docker(), {
      image,
      purpose: 'storage-remove',
      mounts: [{ Type: 'bind', Source: parent, Target: '/parent' }],
      argv: ['rm', '-rf', '--one-file-system', '--', `/parent/${name}`],
      capAdd: ['DAC_OVERRIDE', 'FOWNER'],
    });
    if (exitCode !== 0)
      throw new WorkloadError('DRIVER_UNAVAILABLE', `cannot remove ${dir} on the server: ${output.trim()}`);
  }

  /**
   * The files of a workspace, for as long as it exists: a stop ends its agent (for good: the agent
   * dies with the container anyway), and the next call after a start brings up a new one. A runner
   * keeps what this returns across stop and start, so it must not be the agent itself.
   */
  async files(id: string): Promise<WorkspaceFiles> {
    return filesOfCurrentAgent(() => this.agent(id));
  }

  private agent(id: string): AgentFiles {
    let agent = this.agents.get(id);
    if (!agent) {
      const driver = this.driver();
      agent = agentFiles((req) => driver.exec(id, req));
      this.agents.set(id, agent);
    }
    return agent;
  }

  async release(id: string): Promise<void> {
    const agent = this.agents.get(id);
    this.agents.delete(id);
    await agent?.close().catch(() => {});
  }

  async closeAll(): Promise<void> {
    await Promise.all([...this.agents.keys()].map((id) => this.release(id)));
  }
}

class RemoteDocker extends DockerDriver implements RemoteDockerDriver {
  constructor(
    docker: Docker,
    private readonly ops: RemoteEngineOps,
    private readonly closeClient: () => Promise<void>,
    defaultImage: string | undefined,
  ) {
    super({ docker, remote: ops, ...(defaultImage ? { defaultImage } : {}) });
  }

  async close(): Promise<void> {
    await this.ops.closeAll();
    await this.closeClient();
  }
}

export async function makeRemoteDockerDriver(
  access: DockerAccess,
  opts: RemoteDockerOptions = {},
): Promise<RemoteDockerDriver> {
  if (access.kind === 'ssh' && !access.hostKey) {
    throw new WorkloadError(
      'DRIVER_UNAVAILABLE',
      `server ${access.id} has no pinned host key: test it and confirm the key before placing workspaces on it`,
    );
  }
  const client = remoteDockerClient(access, { connectTimeoutMs: opts.connectTimeoutMs ?? 10_000 });
  let driver: RemoteDocker | undefined;
  const ops = new RemoteEngineOps(
    access.kind,
    () => client.docker,
    () => driver as RemoteDocker,
  );
  driver = new RemoteDocker(client.docker, ops, client.close, opts.defaultImage);
  try {
    await client.docker.ping();
  } catch (err) {
    await client.close();
    throw new WorkloadError(
      'DRIVER_UNAVAILABLE',
      `the Docker engine of ${access.host}:${access.port} does not answer: ${(err as Error).message}`,
    );
  }
  return driver;
}
