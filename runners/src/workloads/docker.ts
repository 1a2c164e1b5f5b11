import { randomUUID } from 'node:crypto';
import { closeSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { EgressAllow } from '@keel/contract/egress';
import Docker from 'dockerode';
import { ConfinedFs } from '../files/confined-fs.ts';
import type { WorkspaceFiles } from '../files/workspace-files.ts';
import { EXEC_USER, startDockerExec } from './docker-exec.ts';
import { SLIRP_DNS } from './egress-rules.ts';
import { makeExecHandle } from './exec-handle.ts';
import { ensureHostDir } from './host-dir.ts';
import {
  assertWorkspaceId,
  DEFAULT_PIDS_LIMIT,
  type ExecHandle,
  type ExecRequest,
  type FileOwner,
  isValidWorkspaceId,
  type StartOptions,
  validateExec,
  validateSpec,
  type WorkloadDriver,
  WorkloadError,
  type WorkloadSpec,
  type WorkloadState,
  type WorkloadStatus,
  type WorkspaceNetns,
} from './types.ts';
import {
  assertNetworkSupported,
  bringUpNetwork,
  NetworkBringUps,
  openNamespace,
  stopSlirp,
} from './workspace-network.ts';

export const DEFAULT_WORKSPACE_IMAGE = 'keel-workspace:bookworm';
const LABEL = 'keel.workspace';
const WORKSPACE_DIR = '/workspace';
/** Labels that carry a workspace's network choice from create to every start. */
const NETWORK_LABEL = 'keel.network';
const EGRESS_LABEL = 'keel.egressAllow';
const WORKSPACE_UID = 1000;

export interface DockerDriverOptions {
  docker?: Docker;
  /** Default: $KEEL_WORKSPACE_IMAGE or keel-workspace:bookworm. */
  defaultImage?: string;
  tmpSizeMb?: number;
  /** slirp4netns pid files of running workspaces. Default: /run/keel/workspace-net. */
  networkStateDir?: string;
  /** An engine on another host (`remote-docker.ts`): the runner cannot see its disk or processes. */
  remote?: RemoteEngine;
}

/**
 * What differs when the engine is on another host: storage folders are made and removed there by
 * a helper container, files go through an agent inside the workspace, and the host-side network
 * set-up (slirp4netns, nft) cannot be done at all.
 */
export interface RemoteEngine {
  kind: 'ssh' | 'docker-tls';
  /** Makes the hostDir folder on the engine's host, owned by the workspace user; true if it made it. */
  ensureHostDir(dir: string, image: string): Promise<boolean>;
  removeHostDir(dir: string, image: string): Promise<void>;
  files(id: string): Promise<WorkspaceFiles>;
  /** The workspace is stopped or removed: its file agent, if any, is ended. */
  release(id: string): Promise<void>;
}

/** Beyond a stop's timeout, how long it waits for the engine to end a command before killing it itself. */
const STOP_MARGIN_MS = 5000;

const delay = (ms: number) => new Promise<void>((r) => setTimeout(r, ms).unref());

export const containerName = (id: string) => `keel-ws-${id}`;
export const volumeName = (id: string) => `keel-ws-${id}`;

function statusCode(err: unknown): number | undefined {
  return (err as { statusCode?: number } | null)?.statusCode;
}

async function ignoring<T>(codes: number[], p: Promise<T>): Promise<T | undefined> {
  try {
    return await p;
  } catch (err) {
    if (codes.includes(statusCode(err) ?? -1)) return undefined;
    throw err;
  }
}

/**
 * The engine's device request for `gpus` GPUs (what `docker run --gpus n` sends): the NVIDIA
 * container toolkit on the host hands that many devices to the container.
 */
export function gpuRequest(gpus: number | undefined): Pick<Docker.HostConfig, 'DeviceRequests'> {
  if (!gpus) return {};
  return { DeviceRequests: [{ Driver: 'nvidia', Count: gpus, Capabilities: [['gpu']] }] };
}

export class DockerDriver implements WorkloadDriver {
  readonly kind: 'docker' | RemoteEngine['kind'];
  readonly fileOwner: FileOwner = { uid: WORKSPACE_UID, gid: WORKSPACE_UID };
  readonly docker: Docker;
  private readonly defaultImage: string;
  private readonly tmpSizeMb: number;
  private readonly networkStateDir: string;
  /** Workspaces whose network this runner has seen up; the first exec after a restart checks. */
  private readonly networks = new NetworkBringUps<void>();
  private readonly remote: RemoteEngine | undefined;
  /** Each workspace's commands not yet over: a stop reports them killed, as types.ts promises. */
  private readonly execs = new Map<string, Set<ExecHandle>>();
  /**
   * Workspaces being stopped, with how many stops at once and how long the engine may take to
   * end their commands (the stop's timeout, and a margin).
   */
  private readonly stopping = new Map<string, { stops: number; graceMs: number }>();

  constructor(opts: DockerDriverOptions = {}) {
    this.docker = opts.docker ?? new Docker();
    this.defaultImage = opts.defaultImage ?? process.env.KEEL_WORKSPACE_IMAGE ?? DEFAULT_WORKSPACE_IMAGE;
    this.tmpSizeMb = opts.tmpSizeMb ?? 512;
    this.networkStateDir = opts.networkStateDir ?? '/run/keel/workspace-net';
    this.remote = opts.remote;
    this.kind = opts.remote?.kind ?? 'docker';
  }

  async create(spec: WorkloadSpec): Promise<void> {
    validateSpec(spec);
    if (spec.network && this.remote) {
      throw new WorkloadError(
        'DRIVER_UNAVAILABLE',
        `workspaces with network are not available on ${this.remote.kind} servers yet: their network is set up on the engine's host, which this runner cannot reach`,
      );
    }
    if (spec.network) assertNetworkSupported();
    const id = spec.workspaceId;
    if (await this.inspect(id)) return;

    const image = spec.image ?? this.defaultImage;
    if (!(await ignoring([404], this.docker.getImage(image).inspect()))) {
      throw new WorkloadError(
        'DRIVER_UNAVAILABLE',
        `image ${image} is not on this engine (build it with scripts/build-workspace-image)`,
      );
    }

    const labels: Record<string, string> = {
      [LABEL]: id,
      'keel.storage': spec.storage.kind,
      [NETWORK_LABEL]: spec.network ? '1' : '0',
    };
    if (spec.network && spec.egressAllow?.length) labels[EGRESS_LABEL] = spec.egressAllow.join(',');
    let mount: Docker.MountSettings;
    if (spec.storage.kind === 'volume') {
      await this.docker.createVolume({ Name: volumeName(id), Labels: { [LABEL]: id } });
      // Docker copies the image's /workspace (owned by uid 1000) into a new empty volume.
      mount = { Type: 'volume', Source: volumeName(id), Target: WORKSPACE_DIR };
    } else {
      const created = this.remote
        ? await this.remote.ensureHostDir(spec.storage.path, image)
        : await ensureHostDir(spec.storage.path, this.fileOwner);
      labels['keel.storage.path'] = spec.storage.path;
      labels['keel.storage.created'] = created ? '1' : '0';
      mount = { Type: 'bind', Source: spec.storage.path, Target: WORKSPACE_DIR };
    }

    const memory = spec.memoryMb * 1024 * 1024;
    const options: Docker.ContainerCreateOptions = {
      name: containerName(id),
      Image: image,
      Labels: labels,
      User: EXEC_USER,
      WorkingDir: WORKSPACE_DIR,
      Env: ['HOME=/home/keel', 'USER=keel', 'LANG=C.UTF-8'],
      Cmd: ['sleep', 'infinity'],
      HostConfig: {
        Mounts: [mount],
        Tmpfs: {
          '/tmp': `rw,nosuid,nodev,size=${this.tmpSizeMb}m,mode=1777`,
          '/home/keel': `rw,nosuid,nodev,size=64m,uid=${WORKSPACE_UID},gid=${WORKSPACE_UID},mode=0700`,
        },
        ReadonlyRootfs: true,
        CapDrop: ['ALL'],
        SecurityOpt: ['no-new-privileges'],
        Privileged: false,
        // Never an engine network: a workspace with network gets slirp4netns and egress rules
        // in its own namespace at each start, so no bridge exposes the host's services to it.
        NetworkMode: 'none',
        ...(spec.network ? { Dns: [SLIRP_DNS] } : {}),
        NanoCpus: Math.round(spec.cpus * 1e9),
        Memory: memory,
        // Equal to Memory: no swap on top of the limit.
        MemorySwap: memory,
        PidsLimit: spec.pidsLimit ?? DEFAULT_PIDS_LIMIT,
        ...gpuRequest(spec.gpus),
        Init: true,
        IpcMode: 'private',
        RestartPolicy: { Name: 'no' },
      },
    };
    try {
      await this.docker.createContainer(options);
    } catch (err) {
      // Another create for the same workspace won the race: same outcome.
      if (statusCode(err) !== 409) throw err;
    }
  }

  async start(id: string, opts: StartOptions = {}): Promise<void> {
    assertWorkspaceId(id);
    if (opts.egressAllow !== undefined && !this.remote) {
      // Labels are fixed at create: the list as of this start lives beside the pid file.
      const list = EgressAllow.safeParse(opts.egressAllow);
      if (!list.success) throw new WorkloadError('INVALID_SPEC', 'egressAllow: not a list of destinations');
      await mkdir(this.networkStateDir, { recursive: true, mode: 0o700 });
      await writeFile(this.egressFile(id), JSON.stringify(list.data), { mode: 0o600 });
    }
    try {
      await this.docker.getContainer(containerName(id)).start();
    } catch (err) {
      if (statusCode(err) === 404) throw new WorkloadError('WORKLOAD_NOT_FOUND', `no workspace ${id}`);
      if (statusCode(err) !== 304) throw err;
    }
    // Each start re-makes the rules: the host's addresses may have changed since.
    await this.networkFor(id, { refresh: true });
  }

  async stop(id: string, opts: { timeoutMs?: number } = {}): Promise<void> {
    assertWorkspaceId(id);
    const t = Math.max(0, Math.ceil((opts.timeoutMs ?? 10_000) / 1000));
    const graceMs = t * 1000 + STOP_MARGIN_MS;
    const was = this.stopping.get(id);
    this.stopping.set(id, { stops: (was?.stops ?? 0) + 1, graceMs: Math.max(graceMs, was?.graceMs ?? 0) });
    try {
      // Killed through their handles, so that each reports `killed`; while the workspace is
      // stopping, a handle's kill only waits for the engine to end the command with the container.
      const commands = [...(this.execs.get(id) ?? [])].map((h) => h.kill());
      await ignoring([304, 404], this.docker.getContainer(containerName(id)).stop({ t }));
      await Promise.all(commands);
    } finally {
      const now = this.stopping.get(id);
      if (now && now.stops > 1) this.stopping.set(id, { ...now, stops: now.stops - 1 });
      else this.stopping.delete(id);
    }
    await this.remote?.release(id);
    await this.networkDown(id);
  }

  async remove(id: string, opts: { keepData: boolean }): Promise<void> {
    assertWorkspaceId(id);
    await this.remote?.release(id);
    await this.networkDown(id);
    await rm(this.egressFile(id), { force: true });
    const info = await this.inspect(id);
    if (info) {
      await ignoring([404], this.docker.getContainer(containerName(id)).remove({ force: true, v: false }));
    }
    if (opts.keepData) return;
    const labels = info?.Config.Labels ?? {};
    const hostPath = labels['keel.storage.path'];
    if (labels['keel.storage'] === 'hostDir') {
      // An admin-provided folder that existed before the workspace is not ours to delete.
      if (hostPath && labels['keel.storage.created'] === '1') {
        if (this.remote) await this.remote.removeHostDir(hostPath, info?.Config.Image ?? this.defaultImage);
        else await rm(hostPath, { recursive: true, force: true });
      }
      return;
    }
    await ignoring([404], this.docker.getVolume(volumeName(id)).remove());
  }

  async status(id: string): Promise<WorkloadStatus> {
    assertWorkspaceId(id);
    const info = await this.inspect(id);
    if (!info) return 'missing';
    return info.State.Running ? 'running' : 'stopped';
  }

  exec(id: string, req: ExecRequest): ExecHandle {
    const execId = randomUUID();
    const handle = makeExecHandle({
      id: execId,
      timeoutMs: req.timeoutMs,
      stdin: req.stdin,
      start: async (io) => {
        assertWorkspaceId(id);
        validateExec(req);
        await this.networkFor(id);
        const container = this.docker.getContainer(containerName(id));
        const running = await startDockerExec(
          container,
          {
            execId,
            argv: req.argv,
            workingDir: path.posix.resolve(WORKSPACE_DIR, req.cwd ?? '.'),
            env: req.env ?? {},
          },
          io,
        );
        return {
          exited: running.exited,
          killTree: async () => {
            // The stopping container takes the command with it: no killer exec to race its end.
            // One that outlives the stop's grace is killed the usual way.
            const stop = this.stopping.get(id);
            if (stop) {
              const over = await Promise.race([
                running.exited.then(
                  () => true,
                  () => true,
                ),
                delay(stop.graceMs).then(() => false),
              ]);
              if (over) return;
            }
            await running.killTree();
          },
        };
      },
    });
    let set = this.execs.get(id);
    if (!set) {
      set = new Set();
      this.execs.set(id, set);
    }
    set.add(handle);
    const forget = () => {
      set.delete(handle);
      if (set.size === 0 && this.execs.get(id) === set) this.execs.delete(id);
    };
    handle.done.then(forget, forget);
    return handle;
  }

  async files(id: string): Promise<WorkspaceFiles> {
    if (this.remote) {
      assertWorkspaceId(id);
      if (!(await this.inspect(id))) throw new WorkloadError('WORKLOAD_NOT_FOUND', `no workspace ${id}`);
      return this.remote.files(id);
    }
    return new ConfinedFs(await this.workspaceRoot(id), this.fileOwner);
  }

  async workspaceRoot(id: string): Promise<string> {
    assertWorkspaceId(id);
    if (this.remote) {
      throw new WorkloadError(
        'DRIVER_UNAVAILABLE',
        `a workspace on a ${this.remote.kind} server has no folder on this runner's host; use files(id)`,
      );
    }
    const info = await this.inspect(id);
    const mount = info?.Mounts.find((m) => m.Destination === WORKSPACE_DIR);
    if (mount?.Source) return mount.Source;
    // Container gone but data kept: the volume is still addressable.
    const vol = await ignoring([404], this.docker.getVolume(volumeName(id)).inspect());
    if (vol?.Mountpoint) return vol.Mountpoint;
    throw new WorkloadError('WORKLOAD_NOT_FOUND', `no workspace ${id}`);
  }

  async list(): Promise<string[]> {
    const containers = await this.docker.listContainers({ all: true, filters: { label: [LABEL] } });
    return containers
      .map((c) => c.Labels[LABEL])
      .filter((v): v is string => typeof v === 'string' && isValidWorkspaceId(v))
      .sort();
  }

  async states(): Promise<Map<string, WorkloadState>> {
    const containers = await this.docker.listContainers({ all: true, filters: { label: [LABEL] } });
    const out = new Map<string, WorkloadState>();
    for (const c of containers) {
      const id = c.Labels[LABEL];
      if (typeof id !== 'string' || !isValidWorkspaceId(id)) continue;
      out.set(id, c.State === 'running' ? { status: 'running' } : { status: 'stopped', detail: c.Status });
    }
    return out;
  }

  /**
   * The container's network namespace, through its first process, on a local engine only (a
   * remote one's pids are another host's). The pid counts only while that process sits in the
   * container's cgroup, checked after the namespace is open: a pid reused once the container
   * stopped, or one from another pid namespace (a runner in a container), names someone else's.
   */
  async previewNetns(id: string): Promise<WorkspaceNetns | undefined> {
    assertWorkspaceId(id);
    if (this.remote) return undefined;
    const info = await this.inspect(id);
    const pid = info?.State.Running ? info.State.Pid : 0;
    if (!info || !(pid > 0)) return undefined;
    const witness = `/proc/${pid}/ns/net`;
    const fd = await openNamespace(witness);
    if (fd === undefined) return undefined;
    const cgroup = await readFile(`/proc/${pid}/cgroup`, 'utf8').catch(() => '');
    if (!/^[0-9a-f]{64}$/.test(info.Id) || !cgroup.includes(info.Id)) {
      closeSync(fd);
      return undefined;
    }
    return { fd, witness };
  }

  private inspect(id: string): Promise<Docker.ContainerInspectInfo | undefined> {
    return ignoring([404], this.docker.getContainer(containerName(id)).inspect());
  }

  /**
   * Connects a running network workspace's container (slirp4netns on its first process, rules in
   * its namespace) unless this runner has already: the first call after a runner restart finds
   * the slirp4netns still serving it from its pid file, or replaces one left from an earlier start.
   */
  private networkFor(id: string, opts: { refresh?: boolean } = {}): Promise<void> {
    return this.networks.of(id, opts.refresh ?? false, async () => {
      const info = await this.inspect(id);
      const labels = info?.Config.Labels ?? {};
      if (!info?.State.Running || labels[NETWORK_LABEL] !== '1') return;
      assertNetworkSupported();
      await bringUpNetwork({
        target: { kind: 'pid', pid: info.State.Pid },
        pidFile: this.slirpPidFile(id),
        allow: (await this.egressAt(id)) ?? (labels[EGRESS_LABEL] ? labels[EGRESS_LABEL].split(',') : []),
      });
    });
  }

  private async networkDown(id: string): Promise<void> {
    this.networks.forget(id);
    if (this.remote) return;
    const pidFile = this.slirpPidFile(id);
    await stopSlirp(pidFile);
    await rm(`${pidFile}.log`, { force: true });
  }

  private egressFile(id: string): string {
    return path.join(this.networkStateDir, `${id}.allow.json`);
  }

  /** The allowed destinations given at the last start, if any (else the create's labels). */
  private async egressAt(id: string): Promise<string[] | undefined> {
    try {
      const list = EgressAllow.safeParse(JSON.parse(await readFile(this.egressFile(id), 'utf8')));
      return list.success ? list.data : undefined;
    } catch {
      return undefined;
    }
  }

  private slirpPidFile(id: string): string {
    return path.join(this.networkStateDir, `${id}.pid`);
  }
}
