import { connect as tlsConnect } from 'node:tls';
import type {
  ConnectionTestCode,
  ConnectionTestResult,
  ServerAccess,
  ServerResources,
} from '@keel/contract/servers';
import Docker from 'dockerode';
import { remoteDockerClient, runHelperContainer } from '../workloads/remote-docker.ts';
import {
  connectTcp,
  openSsh,
  SshFailure,
  type SshSession,
  sshDockerAgent,
} from '../workloads/ssh-connection.ts';
import type { HostKey } from '../workloads/ssh-host-key.ts';

export type DockerAccess = Extract<ServerAccess, { kind: 'ssh' | 'docker-tls' }>;

export interface ServerProbeOptions {
  /** The workspace image whose presence the test reports. */
  image: string;
  /** The whole test settles within this, with `timeout` if it must. */
  timeoutMs: number;
  runnerId: string;
}

type Report = Omit<ConnectionTestResult, 'ok' | 'code' | 'message' | 'at' | 'durationMs' | 'runnerId'>;
type System = NonNullable<ConnectionTestResult['system']>;
type Disk = System['disk'];
/** The fields of `GET /info` the probes read. */
interface EngineInfo {
  OperatingSystem: string;
  KernelVersion: string;
  NCPU: number;
  MemTotal: number;
  DockerRootDir: string;
}

/** A step's failure with the code the result carries. */
class ProbeFailure extends Error {
  constructor(
    readonly code: ConnectionTestCode,
    message: string,
  ) {
    super(message);
  }
}

/** What must be closed when the probe ends, finished or cut off by the deadline. */
class Probe {
  readonly report: Report = { reachable: false, authenticated: false };
  private readonly closers: Array<() => Promise<unknown> | unknown> = [];
  private readonly deadline: number;
  private readonly abandon = new AbortController();
  /** Aborted when the probe ends: steps still waiting give up and close what they opened. */
  readonly signal = this.abandon.signal;

  constructor(timeoutMs: number) {
    this.deadline = Date.now() + timeoutMs;
  }

  remaining(): number {
    return Math.max(1, this.deadline - Date.now());
  }

  onEnd(close: () => Promise<unknown> | unknown): void {
    this.closers.push(close);
  }

  async end(): Promise<void> {
    this.abandon.abort();
    await Promise.allSettled(this.closers.map(async (c) => c()));
  }
}

/**
 * Runs `work` against the deadline: a step still waiting when it passes is abandoned (its
 * connection closed) and the result says `timeout` with what was learned before.
 */
async function settle<T extends { ok: boolean }>(
  timeoutMs: number,
  work: (probe: Probe) => Promise<T>,
  failed: (probe: Probe, code: ConnectionTestCode, message: string) => T,
): Promise<T> {
  const probe = new Probe(timeoutMs);
  let timer: NodeJS.Timeout | undefined;
  const cutOff = new Promise<T>((resolve) => {
    timer = setTimeout(
      () => resolve(failed(probe, 'timeout', `no complete answer within ${timeoutMs} ms`)),
      timeoutMs,
    );
  });
  try {
    return await Promise.race([
      work(probe).catch((err: unknown) => {
        const { code, message } = classify(err);
        return failed(probe, code, message);
      }),
      cutOff,
    ]);
  } finally {
    clearTimeout(timer);
    await probe.end();
  }
}

const TLS_ERROR =
  /^(ERR_SSL_|ERR_TLS_|EPROTO$|CERT_|UNABLE_TO_|DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|ERR_OSSL_)/;

const UNREACHABLE = new Set([
  'ECONNREFUSED',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ECONNRESET',
]);

function classify(err: unknown): { code: ConnectionTestCode; message: string } {
  if (err instanceof ProbeFailure || err instanceof SshFailure)
    return { code: err.code, message: err.message };
  const e = err as NodeJS.ErrnoException & { statusCode?: number };
  if (typeof e?.code === 'string' && TLS_ERROR.test(e.code))
    return { code: 'tls_failed', message: e.message };
  // A connection that never opened (the resources' collection meets these raw, not as a ProbeFailure).
  if (typeof e?.code === 'string' && UNREACHABLE.has(e.code))
    return { code: 'unreachable', message: e.message };
  return { code: 'internal', message: String(e?.message ?? err) };
}

function hostKeyReport(key: HostKey, pinned: boolean, changed: boolean): ConnectionTestResult['hostKey'] {
  return {
    fingerprint: key.fingerprint,
    algorithm: key.algorithm,
    publicKey: key.publicKey,
    pinned,
    changed,
  };
}

/** The folder whose disk the test reports: the admin's storage folder, or the engine's data root. */
function storagePath(access: DockerAccess): string | null {
  return access.storage.kind === 'hostDir' ? access.storage.path : null;
}

/*
 * One exec over SSH for the host's figures. The storage folder may not exist yet: df measures the
 * nearest folder above it that does. Only POSIX sh, coreutils and /proc are assumed.
 */
const SYSTEM_PROBE = `. /etc/os-release 2>/dev/null
echo "os=\${PRETTY_NAME:-$(uname -s)}"
echo "kernel=$(uname -r)"
echo "cpus=$(nproc 2>/dev/null || getconf _NPROCESSORS_ONLN)"
awk '/^MemTotal:/{print "memKb=" $2} /^MemAvailable:/{print "memFreeKb=" $2}' /proc/meminfo
echo "gpus=$(ls /dev 2>/dev/null | grep -c '^nvidia[0-9][0-9]*$')"
p="$1"
if [ -n "$p" ]; then
  while [ ! -e "$p" ] && [ "$p" != / ]; do p=$(dirname "$p"); done
  df -Pk "$p" 2>/dev/null | awk 'NR==2{print "diskKb=" $2 " " $4}'
fi`;

const shellQuote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

interface HostFigures {
  os: string;
  kernel: string;
  cpus: number;
  memoryMb: number;
  memoryFreeMb: number | null;
  gpus: number;
  disk: Disk;
}

async function sshHostFigures(
  session: SshSession,
  diskPath: string | null,
  timeoutMs: number,
): Promise<HostFigures> {
  const { stdout } = await session.run(
    `sh -c ${shellQuote(SYSTEM_PROBE)} keel-probe ${shellQuote(diskPath ?? '')}`,
    {
      timeoutMs,
    },
  );
  const kv = new Map<string, string>();
  for (const line of stdout.split('\n')) {
    const i = line.indexOf('=');
    if (i > 0) kv.set(line.slice(0, i), line.slice(i + 1).trim());
  }
  const num = (k: string) => Number(kv.get(k) ?? Number.NaN);
  const [totalKb, freeKb] = (kv.get('diskKb') ?? '').split(' ').map(Number);
  return {
    os: kv.get('os') || 'unknown',
    kernel: kv.get('kernel') || 'unknown',
    cpus: num('cpus') || 0,
    memoryMb: Math.round((num('memKb') || 0) / 1024),
    memoryFreeMb: kv.has('memFreeKb') ? Math.round(num('memFreeKb') / 1024) : null,
    gpus: num('gpus') || 0,
    disk:
      diskPath &&
      totalKb !== undefined &&
      freeKb !== undefined &&
      Number.isFinite(totalKb) &&
      Number.isFinite(freeKb)
        ? { path: diskPath, totalMb: Math.round(totalKb / 1024), freeMb: Math.round(freeKb / 1024) }
        : null,
  };
}

/**
 * The disk of the storage location on an engine the runner reaches only by its API: `df` in a
 * helper container on the admin's folder (read-only), or on a fresh anonymous volume, which lives
 * where the engine keeps named volumes. Null when the image is missing or the folder does not exist.
 */
async function helperDisk(
  docker: Docker,
  access: DockerAccess,
  image: string,
  rootDir: string,
): Promise<Disk> {
  const path = storagePath(access);
  const { exitCode, output } = await runHelperContainer(docker, {
    image,
    purpose: 'disk',
    user: '65534:65534',
    mounts: [
      path
        ? { Type: 'bind', Source: path, Target: '/target', ReadOnly: true }
        : { Type: 'volume', Source: '', Target: '/target' },
    ],
    argv: ['df', '-Pk', '/target'],
    timeoutMs: 20_000,
  }).catch(() => ({ exitCode: -1, output: '' }));
  const fields = exitCode === 0 ? output.trim().split('\n')[1]?.split(/\s+/) : undefined;
  if (!fields) return null;
  return {
    path: path ?? `${rootDir}/volumes`,
    totalMb: Math.round(Number(fields[1]) / 1024),
    freeMb: Math.round(Number(fields[3]) / 1024),
  };
}

/** Docker version, API version and the image's presence; `docker_unavailable` when no engine answers. */
async function dockerFigures(
  docker: Docker,
  image: string,
): Promise<{ docker: NonNullable<ConnectionTestResult['docker']>; info: EngineInfo }> {
  try {
    const [version, info] = await Promise.all([docker.version(), docker.info() as Promise<EngineInfo>]);
    const present = await docker
      .getImage(image)
      .inspect()
      .then(
        () => true,
        (err: { statusCode?: number }) => {
          if (err.statusCode === 404) return false;
          throw err;
        },
      );
    return {
      docker: { version: version.Version, apiVersion: version.ApiVersion, image, imagePresent: present },
      info,
    };
  } catch (err) {
    if (err instanceof SshFailure && err.code !== 'docker_unavailable') throw err;
    const status = (err as { statusCode?: number }).statusCode;
    throw new ProbeFailure(
      'docker_unavailable',
      `no usable Docker engine${status ? ` (HTTP ${status})` : ''}: ${(err as Error).message}`,
    );
  }
}

/** An SSH session, its failure mapped onto the report (reachable, host key). */
async function sshSession(
  access: Extract<DockerAccess, { kind: 'ssh' }>,
  probe: Probe,
  allowUnpinned: boolean,
) {
  const pinned = access.hostKey !== null;
  try {
    const session = await openSsh(
      {
        host: access.host,
        port: access.port,
        user: access.user,
        privateKey: access.privateKey,
        ...(access.passphrase ? { passphrase: access.passphrase } : {}),
        hostKey: access.hostKey,
      },
      {
        timeoutMs: probe.remaining(),
        allowUnpinned,
        signal: probe.signal,
        onReachable: () => {
          probe.report.reachable = true;
        },
      },
    );
    probe.onEnd(() => session.close());
    probe.report.reachable = true;
    probe.report.authenticated = true;
    probe.report.hostKey = hostKeyReport(session.hostKey, pinned, false);
    return session;
  } catch (err) {
    if (err instanceof SshFailure) {
      probe.report.reachable = err.reached.reachable;
      if (err.reached.hostKey) {
        probe.report.hostKey = hostKeyReport(err.reached.hostKey, pinned, err.code === 'host_key_changed');
      }
    }
    throw err;
  }
}

function sshDocker(session: SshSession, probe: Probe): Docker {
  const agent = sshDockerAgent(async () => session);
  probe.onEnd(() => agent.destroy());
  return new Docker({ protocol: 'http', host: 'docker', port: 80, agent } as Docker.DockerOptions);
}

/**
 * TCP, then the TLS handshake with the client certificate and one `GET /_ping`: an engine that
 * refuses the certificate says so only when the first request is read (TLS 1.3), so the ping is
 * what tells `tls_failed` apart from a working credential.
 */
async function tlsHandshake(
  access: Extract<DockerAccess, { kind: 'docker-tls' }>,
  probe: Probe,
): Promise<void> {
  const sock = await connectTcp(access.host, access.port, probe.remaining());
  probe.report.reachable = true;
  probe.onEnd(() => sock.destroy());
  const host = access.host.replace(/^\[|\]$/g, '');
  const isIp = /^[0-9.]+$|:/.test(host);
  await new Promise<void>((resolve, reject) => {
    const tls = tlsConnect({
      socket: sock,
      ca: access.ca,
      cert: access.cert,
      key: access.key,
      ...(isIp ? {} : { servername: host }),
      host,
      minVersion: 'TLSv1.2',
    });
    probe.onEnd(() => tls.destroy());
    let head = '';
    const fail = (err: NodeJS.ErrnoException) =>
      reject(
        err.code && TLS_ERROR.test(err.code)
          ? new ProbeFailure('tls_failed', `TLS with ${access.host}:${access.port} failed: ${err.message}`)
          : new ProbeFailure(
              'tls_failed',
              `the engine closed the TLS connection: ${err.code ?? err.message}`,
            ),
      );
    tls.once('error', fail);
    tls.once('secureConnect', () => {
      tls.write(`GET /_ping HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`);
    });
    tls.on('data', (d: Buffer) => {
      head += d.toString('latin1');
      if (!head.includes('\r\n')) return;
      tls.removeAllListeners('data');
      tls.destroy();
      if (/^HTTP\/1\.[01] 200/.test(head)) resolve();
      else reject(new ProbeFailure('docker_unavailable', `the endpoint answered ${head.split('\r\n')[0]}`));
    });
    tls.once('end', () => {
      if (!head)
        reject(new ProbeFailure('tls_failed', 'the engine closed the TLS connection without an answer'));
    });
  });
  probe.report.authenticated = true;
}

function tlsDocker(access: Extract<DockerAccess, { kind: 'docker-tls' }>, probe: Probe): Docker {
  const client = remoteDockerClient(access, { connectTimeoutMs: probe.remaining() });
  probe.onEnd(() => client.close());
  return client.docker;
}

/** Connection test of a Docker host over SSH or mutual TLS. */
export async function testDockerServer(
  access: DockerAccess,
  opts: ServerProbeOptions,
): Promise<ConnectionTestResult> {
  const started = Date.now();
  const frame = () => ({
    at: new Date(started).toISOString(),
    durationMs: Date.now() - started,
    runnerId: opts.runnerId,
  });
  return settle<ConnectionTestResult>(
    opts.timeoutMs,
    async (probe) => {
      if (access.kind === 'ssh') {
        const session = await sshSession(access, probe, true);
        if (access.hostKey === null) {
          return {
            ok: false,
            code: 'host_key_unconfirmed',
            message: `the host offers ${session.hostKey.fingerprint} (${session.hostKey.algorithm}): confirm it to pin it`,
            ...frame(),
            ...probe.report,
          };
        }
        const docker = sshDocker(session, probe);
        const engine = await dockerFigures(docker, opts.image).catch((err: unknown) => err as Error);
        const diskPath =
          storagePath(access) ??
          (engine instanceof Error ? null : (engine.info.DockerRootDir ?? '/var/lib/docker'));
        const host = await sshHostFigures(session, diskPath, probe.remaining());
        probe.report.system = {
          os: host.os,
          kernel: host.kernel,
          cpus: host.cpus,
          memoryMb: host.memoryMb,
          disk: host.disk,
        };
        if (engine instanceof Error) throw engine;
        probe.report.docker = engine.docker;
      } else {
        await tlsHandshake(access, probe);
        const docker = tlsDocker(access, probe);
        const engine = await dockerFigures(docker, opts.image);
        probe.report.docker = engine.docker;
        const info = engine.info;
        probe.report.system = {
          os: info.OperatingSystem,
          kernel: info.KernelVersion,
          cpus: info.NCPU,
          memoryMb: Math.round(info.MemTotal / 1024 / 1024),
          disk: engine.docker.imagePresent
            ? await helperDisk(docker, access, opts.image, info.DockerRootDir)
            : null,
        };
      }
      const d = probe.report.docker;
      return {
        ok: true,
        message: `Docker ${d?.version} (API ${d?.apiVersion}); ${d?.image} ${d?.imagePresent ? 'present' : 'missing'}`,
        ...frame(),
        ...probe.report,
      };
    },
    (probe, code, message) => ({ ok: false, code, message, ...frame(), ...probe.report }),
  );
}

const LABEL = 'keel.workspace';

/** Resources of a Docker host, for the heartbeat. */
export async function collectDockerResources(
  access: DockerAccess,
  opts: ServerProbeOptions,
): Promise<ServerResources> {
  const at = new Date().toISOString();
  const empty = { cpus: 0, memoryMb: 0, memoryFreeMb: null, disk: null, gpus: 0, workspacesRunning: 0 };
  return settle<ServerResources>(
    opts.timeoutMs,
    async (probe) => {
      const running = (docker: Docker) =>
        docker.listContainers({ filters: { label: [LABEL], status: ['running'] } }).then((l) => l.length);
      if (access.kind === 'ssh') {
        // A host whose key was never confirmed is not asked anything.
        const session = await sshSession(access, probe, false);
        const docker = sshDocker(session, probe);
        const path = storagePath(access);
        const [count, rootDir] = await Promise.all([
          running(docker),
          path ? Promise.resolve(null) : docker.info().then((i: EngineInfo) => i.DockerRootDir),
        ]);
        const host = await sshHostFigures(session, path ?? rootDir, probe.remaining());
        return {
          at,
          ok: true,
          cpus: host.cpus,
          memoryMb: host.memoryMb,
          memoryFreeMb: host.memoryFreeMb,
          disk: host.disk,
          gpus: host.gpus,
          workspacesRunning: count,
        };
      }
      const docker = tlsDocker(access, probe);
      const [info, count] = await Promise.all([docker.info() as Promise<EngineInfo>, running(docker)]);
      return {
        at,
        ok: true,
        cpus: info.NCPU,
        memoryMb: Math.round(info.MemTotal / 1024 / 1024),
        memoryFreeMb: null,
        disk: await helperDisk(docker, access, opts.image, info.DockerRootDir),
        gpus: 0,
        workspacesRunning: count,
      };
    },
    (_probe, code) => ({ at, ok: false, code, ...empty }),
  );
}
