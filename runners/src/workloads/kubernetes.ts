import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import { EgressAllow } from '@keel/contract/egress';
import type { V1PersistentVolumeClaim, V1Pod } from '@kubernetes/client-node';
import { type AgentFiles, agentFiles, filesOfCurrentAgent } from '../files/agent/index.ts';
import type { WorkspaceFiles } from '../files/workspace-files.ts';
import type { KubernetesAccess } from '../servers/kubernetes-test.ts';
import { EXEC_KILLER, EXEC_WRAPPER } from './docker-exec.ts';
import { makeExecHandle, waitAtMost } from './exec-handle.ts';
import { apiMessage, apiStatus, type KubernetesApis, makeApis, unless } from './kubernetes-api.ts';
import { openPodExec, type PodExec, type PodExecOptions, type PodRef } from './kubernetes-exec.ts';
import {
  CONTAINER,
  claimManifest,
  DEFAULT_DENY_POLICY,
  defaultDenyManifest,
  egressManifest,
  MANAGED_BY,
  namespaceManifest,
  namespaceName,
  podManifest,
  REMOVED_LABEL,
  SPEC_ANNOTATION,
  type StoredSpec,
  WORKSPACE_ID_ANNOTATION,
  WORKSPACE_LABEL,
  WORKSPACE_UID,
  workloadName,
} from './kubernetes-objects.ts';
import {
  assertWorkspaceId,
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
} from './types.ts';

export type KubernetesDriver = WorkloadDriver & { close(): Promise<void> };

export interface KubernetesDriverOptions {
  /** Default: $KEEL_WORKSPACE_IMAGE or keel-workspace:bookworm. */
  defaultImage?: string;
  /** How long a start waits for the pod to run. Default 120 s (an image pull can be slow). */
  startTimeoutMs?: number;
  /** Deadline of each API request. Default 30 s. */
  requestTimeoutMs?: number;
  tmpSizeMb?: number;
  homeSizeMb?: number;
}

const MAX_GPUS = 16;
/** Waiting reasons after which a pod will not start without someone changing something. */
const HOPELESS = new Set([
  'ErrImagePull',
  'ImagePullBackOff',
  'InvalidImageName',
  'ErrImageNeverPull',
  'CreateContainerConfigError',
  'CreateContainerError',
  'RunContainerError',
]);
const MANAGED_SELECTOR = Object.entries(MANAGED_BY)
  .map(([k, v]) => `${k}=${v}`)
  .join(',');

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** How long past a pod's grace period a stop waits for its commands before sweeping them. */
const STOP_MARGIN_MS = 5_000;

/**
 * Workspaces as pods on a Kubernetes cluster: a namespace per organization, a pod per running
 * workspace, a PersistentVolumeClaim for /workspace that outlives stop and start (it also keeps
 * what a start needs to make the pod again), NetworkPolicies for the network. Commands run
 * through the API server's exec endpoint; files through the file agent over such an exec.
 */
export class KubernetesWorkloadDriver implements KubernetesDriver {
  readonly kind = 'kubernetes' as const;
  readonly fileOwner: FileOwner = { uid: WORKSPACE_UID, gid: WORKSPACE_UID };
  readonly api: KubernetesApis;
  private readonly defaultImage: string;
  private readonly startTimeoutMs: number;
  private readonly tmpSizeMb: number;
  private readonly homeSizeMb: number;
  /** Namespace of each workspace seen; others are found by their claim's label. */
  private readonly namespaces = new Map<string, string>();
  private readonly readyNamespaces = new Set<string>();
  private readonly agents = new Map<string, AgentFiles>();
  /** Each workspace's commands not yet over: a stop or remove reports them killed (types.ts). */
  private readonly execs = new Map<string, Set<ExecHandle>>();
  /** Workspaces whose pod is being deleted: their commands end with it, no sweep races that. */
  private readonly stopping = new Map<string, number>();

  constructor(
    readonly access: KubernetesAccess,
    opts: KubernetesDriverOptions = {},
  ) {
    this.api = makeApis(access, { requestTimeoutMs: opts.requestTimeoutMs ?? 30_000 });
    this.defaultImage = opts.defaultImage ?? process.env.KEEL_WORKSPACE_IMAGE ?? 'keel-workspace:bookworm';
    this.startTimeoutMs = opts.startTimeoutMs ?? 120_000;
    this.tmpSizeMb = opts.tmpSizeMb ?? 512;
    this.homeSizeMb = opts.homeSizeMb ?? 64;
  }

  async create(spec: WorkloadSpec): Promise<void> {
    validateSpec(spec);
    if (spec.storage.kind !== 'volume') {
      throw new WorkloadError(
        'DRIVER_UNAVAILABLE',
        'the kubernetes driver keeps files on a PersistentVolumeClaim; host folders are not available',
      );
    }
    const gpus = spec.gpus ?? 0;
    if (!Number.isInteger(gpus) || gpus < 0 || gpus > MAX_GPUS)
      throw new WorkloadError('INVALID_SPEC', `gpus must be an integer from 0 to ${MAX_GPUS}`);
    if (
      spec.diskGb !== undefined &&
      (!Number.isInteger(spec.diskGb) || spec.diskGb < 1 || spec.diskGb > 16_384)
    )
      throw new WorkloadError('INVALID_SPEC', 'diskGb must be an integer from 1 to 16384');
    const id = spec.workspaceId;
    const name = workloadName(id);
    const namespace = namespaceName(this.access.namespacePrefix, spec.organizationId);
    await this.ensureNamespace(namespace, spec.organizationId);

    const stored: StoredSpec = {
      image: spec.image ?? this.defaultImage,
      cpus: spec.cpus,
      memoryMb: spec.memoryMb,
      network: spec.network,
      ...(spec.network && spec.egressAllow?.length ? { egressAllow: spec.egressAllow } : {}),
      ...(gpus ? { gpus } : {}),
    };
    const existing = await unless(
      [404],
      this.api.core.readNamespacedPersistentVolumeClaim({ name, namespace }),
      undefined,
    );
    if (existing && !existing.metadata?.labels?.[REMOVED_LABEL]) {
      this.namespaces.set(id, namespace);
      return;
    }
    if (existing) {
      // Data kept by an earlier remove: the workspace comes back on it, with this spec.
      const labels = { ...existing.metadata?.labels };
      delete labels[REMOVED_LABEL];
      await this.api.core.replaceNamespacedPersistentVolumeClaim({
        name,
        namespace,
        body: {
          ...existing,
          metadata: {
            ...existing.metadata,
            labels,
            annotations: { ...existing.metadata?.annotations, [SPEC_ANNOTATION]: JSON.stringify(stored) },
          },
        },
      });
    } else {
      const storage = {
        storageClass: this.access.storage.storageClass,
        sizeGb: spec.diskGb ?? this.access.storage.sizeGb,
      };
      await unless(
        [409],
        this.api.core.createNamespacedPersistentVolumeClaim({
          namespace,
          body: claimManifest(name, id, stored, storage),
        }),
        undefined,
      );
    }
    this.namespaces.set(id, namespace);
  }

  async start(id: string, opts: StartOptions = {}): Promise<void> {
    assertWorkspaceId(id);
    let allowOverride: string[] | undefined;
    if (opts.egressAllow !== undefined) {
      const list = EgressAllow.safeParse(opts.egressAllow);
      if (!list.success) throw new WorkloadError('INVALID_SPEC', 'egressAllow: not a list of destinations');
      allowOverride = list.data;
    }
    const namespace = await this.namespaceOf(id);
    const name = workloadName(id);
    const claim = namespace ? await this.claim(namespace, name) : undefined;
    if (!namespace || !claim) throw new WorkloadError('WORKLOAD_NOT_FOUND', `no workspace ${id}`);
    const spec = storedSpec(claim);

    // Each start makes the egress policy again: the install's list may have changed since.
    if (spec.network) await this.applyEgress(namespace, name, allowOverride ?? spec.egressAllow ?? []);

    const pod = await this.pod(namespace, name);
    if (pod && !pod.metadata?.deletionTimestamp && pod.status?.phase === 'Running') return;
    // A pod on its way out, or one whose first process ended, is replaced; a pending one is waited for.
    const stale =
      !!pod &&
      (!!pod.metadata?.deletionTimestamp ||
        pod.status?.phase === 'Succeeded' ||
        pod.status?.phase === 'Failed');
    if (stale) await this.deletePod(namespace, name, 0);
    if (!pod || stale) {
      try {
        await this.api.core.createNamespacedPod({
          namespace,
          body: podManifest(name, id, spec, { tmpSizeMb: this.tmpSizeMb, homeSizeMb: this.homeSizeMb }),
        });
      } catch (err) {
        // Another start made it first: wait for that one.
        if (apiStatus(err) !== 409)
          throw new WorkloadError('DRIVER_UNAVAILABLE', `pod not created: ${apiMessage(err)}`);
      }
    }
    await this.waitRunning(namespace, name);
  }

  async stop(id: string, opts: { timeoutMs?: number } = {}): Promise<void> {
    assertWorkspaceId(id);
    await this.closeAgent(id);
    const namespace = await this.namespaceOf(id);
    if (!namespace) return;
    const grace = Math.max(0, Math.ceil((opts.timeoutMs ?? 10_000) / 1000));
    await this.endingCommands(id, grace * 1000, () => this.deletePod(namespace, workloadName(id), grace));
  }

  /**
   * Runs `deletion` with the workspace marked stopping and kills its commands through their
   * handles meanwhile, so each reports `killed`; a handle's kill then only waits (the pod's grace
   * and a margin) for the command to end with the pod, and sweeps one that outlived it.
   */
  private async endingCommands(id: string, graceMs: number, deletion: () => Promise<void>): Promise<void> {
    this.stopping.set(id, Math.max(this.stopping.get(id) ?? 0, graceMs + STOP_MARGIN_MS));
    try {
      const commands = [...(this.execs.get(id) ?? [])].map((h) => h.kill());
      await deletion();
      await Promise.all(commands);
    } finally {
      this.stopping.delete(id);
    }
  }

  async remove(id: string, opts: { keepData: boolean }): Promise<void> {
    assertWorkspaceId(id);
    await this.closeAgent(id);
    const namespace = await this.namespaceOf(id);
    if (!namespace) return;
    const name = workloadName(id);
    await this.endingCommands(id, 0, () => this.deletePod(namespace, name, 0));
    await unless(
      [404],
      this.api.networking.deleteNamespacedNetworkPolicy({ name: `${name}-egress`, namespace }),
      undefined,
    );
    const claim = await this.claim(namespace, name);
    if (claim && opts.keepData) {
      if (!claim.metadata?.labels?.[REMOVED_LABEL]) {
        await this.api.core.replaceNamespacedPersistentVolumeClaim({
          name,
          namespace,
          body: {
            ...claim,
            metadata: { ...claim.metadata, labels: { ...claim.metadata?.labels, [REMOVED_LABEL]: '1' } },
          },
        });
      }
    } else if (claim) {
      await unless(
        [404],
        this.api.core.deleteNamespacedPersistentVolumeClaim({ name, namespace }),
        undefined,
      );
    }
    this.namespaces.delete(id);
  }

  async status(id: string): Promise<WorkloadStatus> {
    assertWorkspaceId(id);
    const namespace = await this.namespaceOf(id);
    if (!namespace) return 'missing';
    const name = workloadName(id);
    const claim = await this.claim(namespace, name);
    if (!claim || claim.metadata?.labels?.[REMOVED_LABEL]) return 'missing';
    const pod = await this.pod(namespace, name);
    return pod && !pod.metadata?.deletionTimestamp && pod.status?.phase === 'Running' ? 'running' : 'stopped';
  }

  exec(id: string, req: ExecRequest): ExecHandle {
    const execId = randomUUID();
    const stdin = req.stdin ? new PassThrough() : undefined;
    const handle = makeExecHandle({
      id: execId,
      timeoutMs: req.timeoutMs,
      start: async (io) => {
        assertWorkspaceId(id);
        validateExec(req);
        const ref = await this.podRef(id);
        const env = Object.entries(req.env ?? {}).map(([k, v]) => `${k}=${v}`);
        const session = await this.openExec(id, ref, {
          // Exec has no working directory or environment of its own: `env` and `cd` give them.
          command: [
            'env',
            ...env,
            `KEEL_EXEC_ID=${execId}`,
            'sh',
            '-c',
            `cd -- "$0" || exit 126\n${EXEC_WRAPPER}`,
            path.posix.resolve('/workspace', req.cwd ?? '.'),
            ...req.argv,
          ],
          stdout: io.stdout,
          stderr: io.stderr,
          stdin: !!stdin,
        });
        if (stdin) pipeStdin(stdin, session);
        let killRequested = false;
        // The pod deleted under a command (a stop or remove) may close its stream before the exit
        // status: a command the stop killed ended by SIGKILL, one it did not know of was refused.
        const exited = session.done.catch((err: unknown) => {
          if (!this.stopping.has(id)) throw err;
          if (killRequested) return { exitCode: 128 + 9, signal: 'SIGKILL' };
          throw new WorkloadError('WORKLOAD_NOT_RUNNING', 'the workspace stopped under the command');
        });
        return {
          exited,
          killTree: async () => {
            killRequested = true;
            const waitMs = this.stopping.get(id);
            if (waitMs !== undefined) {
              const over = await Promise.race([
                exited.then(
                  () => true,
                  () => true,
                ),
                sleep(waitMs).then(() => false),
              ]);
              if (over) return;
            }
            await this.killExec(ref, execId, exited);
          },
        };
      },
    });
    let mine = this.execs.get(id);
    if (!mine) {
      mine = new Set();
      this.execs.set(id, mine);
    }
    mine.add(handle);
    const forget = () => {
      mine.delete(handle);
      if (mine.size === 0 && this.execs.get(id) === mine) this.execs.delete(id);
    };
    handle.done.then(forget, forget);
    if (!stdin) return handle;
    // A command that never started takes no input: what was written is dropped.
    handle.done.catch(() => stdin.resume());
    return Object.assign(handle, { stdin });
  }

  /**
   * The files of a workspace, for as long as it exists: stop ends its agent (the agent dies with
   * the pod anyway), and the next call after a start brings up a new one. A runner keeps what this
   * returns across stop and start, so it must not hand out the agent itself, which closes for good.
   */
  async files(id: string): Promise<WorkspaceFiles> {
    assertWorkspaceId(id);
    return filesOfCurrentAgent(() => this.agent(id));
  }

  private agent(id: string): AgentFiles {
    let files = this.agents.get(id);
    if (!files) {
      files = agentFiles((req) => this.exec(id, req));
      this.agents.set(id, files);
    }
    return files;
  }

  async workspaceRoot(_id: string): Promise<string> {
    throw new WorkloadError(
      'DRIVER_UNAVAILABLE',
      "a Kubernetes workspace's files are on its claim in the cluster; reach them through files()",
    );
  }

  async list(): Promise<string[]> {
    return [...(await this.states()).keys()].sort();
  }

  async states(): Promise<Map<string, WorkloadState>> {
    const selector = `${MANAGED_SELECTOR},${WORKSPACE_LABEL},!${REMOVED_LABEL}`;
    const [claims, pods] = await Promise.all([
      this.api.core.listPersistentVolumeClaimForAllNamespaces({ labelSelector: selector }),
      this.api.core.listPodForAllNamespaces({ labelSelector: `${MANAGED_SELECTOR},${WORKSPACE_LABEL}` }),
    ]);
    const mine = (ns: string | undefined) => !!ns && ns.startsWith(`${this.access.namespacePrefix}-`);
    const podsByKey = new Map<string, V1Pod>();
    for (const p of pods.items) {
      if (mine(p.metadata?.namespace)) podsByKey.set(`${p.metadata?.namespace}/${p.metadata?.name}`, p);
    }
    const out = new Map<string, WorkloadState>();
    for (const c of claims.items) {
      const ns = c.metadata?.namespace;
      const id = c.metadata?.annotations?.[WORKSPACE_ID_ANNOTATION];
      if (!mine(ns) || !id || !isValidWorkspaceId(id) || workloadName(id) !== c.metadata?.name) continue;
      this.namespaces.set(id, ns!);
      const pod = podsByKey.get(`${ns}/${c.metadata?.name}`);
      if (pod && !pod.metadata?.deletionTimestamp && pod.status?.phase === 'Running')
        out.set(id, { status: 'running' });
      else out.set(id, { status: 'stopped', detail: pod ? describePod(pod) : 'no pod' });
    }
    return out;
  }

  async close(): Promise<void> {
    await Promise.all([...this.agents.keys()].map((id) => this.closeAgent(id)));
  }

  /** Where a workspace's commands run, for execs and terminals. */
  async podRef(id: string): Promise<PodRef> {
    assertWorkspaceId(id);
    const namespace = await this.namespaceOf(id);
    if (!namespace) throw new WorkloadError('WORKLOAD_NOT_FOUND', `no workspace ${id}`);
    return { namespace, pod: workloadName(id), container: CONTAINER };
  }

  /**
   * Opens an exec in the workspace's pod. A pod that is missing while the workspace's claim is
   * there is a stopped workspace (created and not started, or stopped): not running, not missing.
   */
  async openExec(id: string, ref: PodRef, opts: PodExecOptions): Promise<PodExec> {
    try {
      return await openPodExec(this.access, ref, opts);
    } catch (err) {
      if (
        err instanceof WorkloadError &&
        err.code === 'WORKLOAD_NOT_FOUND' &&
        (await this.status(id).catch(() => 'missing')) !== 'missing'
      )
        throw new WorkloadError('WORKLOAD_NOT_RUNNING', 'workspace is not running');
      throw err;
    }
  }

  /**
   * Kills one exec's processes with the docker driver's sweep (every process in its session or
   * carrying its KEEL_EXEC_ID), run through another exec, until the command's stream is over.
   */
  async killExec(ref: PodRef, execId: string, exited: Promise<unknown>): Promise<void> {
    const over = exited.then(
      () => true,
      () => true,
    );
    for (let i = 0; i < 20; i++) {
      try {
        const sweep = await openPodExec(this.access, ref, {
          command: ['bash', '-c', EXEC_KILLER, 'keel-kill', execId],
          stdout: discard(),
          stderr: discard(),
        });
        await sweep.done.catch(() => {});
      } catch (err) {
        // A pod that is gone or stopped has nothing left to kill.
        if (err instanceof WorkloadError) return;
      }
      if (await Promise.race([over, sleep(150).then(() => false)])) break;
    }
    await waitAtMost(exited, 2000);
  }

  private async closeAgent(id: string): Promise<void> {
    const files = this.agents.get(id);
    if (!files) return;
    this.agents.delete(id);
    await files.close().catch(() => {});
  }

  private async ensureNamespace(namespace: string, organizationId: string | undefined): Promise<void> {
    if (this.readyNamespaces.has(namespace)) return;
    const existing = await unless([404], this.api.core.readNamespace({ name: namespace }), undefined);
    if (!existing) {
      await unless(
        [409],
        this.api.core.createNamespace({ body: namespaceManifest(namespace, organizationId) }),
        undefined,
      );
    }
    const policy = await unless(
      [404],
      this.api.networking.readNamespacedNetworkPolicy({ name: DEFAULT_DENY_POLICY, namespace }),
      undefined,
    );
    if (!policy) {
      await unless(
        [409],
        this.api.networking.createNamespacedNetworkPolicy({ namespace, body: defaultDenyManifest() }),
        undefined,
      );
    }
    this.readyNamespaces.add(namespace);
  }

  /**
   * The nodes' addresses and the API server's, closed to network workspaces: on many clusters
   * they are not in a private range, and they serve the kubelet and the API. Read at each start
   * (the role may list nodes); a failure to read them fails the start rather than open them.
   */
  private async hostAddresses(): Promise<string[]> {
    const nodes = await this.api.core.listNode();
    const out = nodes.items.flatMap((node) => (node.status?.addresses ?? []).map((a) => a.address));
    const apiHost = new URL(this.access.url).hostname.replace(/^\[|\]$/g, '');
    out.push(apiHost);
    return out;
  }

  private async applyEgress(namespace: string, name: string, allow: string[]): Promise<void> {
    const body = egressManifest(name, allow, await this.hostAddresses());
    const existing = await unless(
      [404],
      this.api.networking.readNamespacedNetworkPolicy({ name: `${name}-egress`, namespace }),
      undefined,
    );
    if (!existing) {
      await this.api.networking.createNamespacedNetworkPolicy({ namespace, body });
      return;
    }
    await this.api.networking.replaceNamespacedNetworkPolicy({
      name: `${name}-egress`,
      namespace,
      body: { ...body, metadata: { ...body.metadata, resourceVersion: existing.metadata?.resourceVersion } },
    });
  }

  /** The namespace of a workspace: remembered, else found by its claim's label across the cluster. */
  private async namespaceOf(id: string): Promise<string | undefined> {
    const known = this.namespaces.get(id);
    if (known) return known;
    const name = workloadName(id);
    const claims = await this.api.core.listPersistentVolumeClaimForAllNamespaces({
      labelSelector: `${MANAGED_SELECTOR},${WORKSPACE_LABEL}=${name}`,
    });
    const claim = claims.items.find(
      (c) =>
        c.metadata?.namespace?.startsWith(`${this.access.namespacePrefix}-`) &&
        c.metadata.annotations?.[WORKSPACE_ID_ANNOTATION] === id,
    );
    const namespace = claim?.metadata?.namespace;
    if (namespace) this.namespaces.set(id, namespace);
    return namespace;
  }

  private claim(namespace: string, name: string): Promise<V1PersistentVolumeClaim | undefined> {
    return unless([404], this.api.core.readNamespacedPersistentVolumeClaim({ name, namespace }), undefined);
  }

  private pod(namespace: string, name: string): Promise<V1Pod | undefined> {
    return unless([404], this.api.core.readNamespacedPod({ name, namespace }), undefined);
  }

  /** Deletes the pod and waits until it is gone, so that a start can make it again. */
  private async deletePod(namespace: string, name: string, graceSeconds: number): Promise<void> {
    const gone = await unless(
      [404],
      this.api.core
        .deleteNamespacedPod({ name, namespace, gracePeriodSeconds: graceSeconds })
        .then(() => false),
      true,
    );
    if (gone) return;
    const deadline = Date.now() + graceSeconds * 1000 + 60_000;
    for (let i = 0; Date.now() < deadline; i++) {
      if (!(await this.pod(namespace, name))) return;
      await sleep(Math.min(50 * 2 ** i, 1000));
    }
    throw new WorkloadError('DRIVER_UNAVAILABLE', `pod ${namespace}/${name} is still terminating`);
  }

  private async waitRunning(namespace: string, name: string): Promise<void> {
    const deadline = Date.now() + this.startTimeoutMs;
    let last = 'not created';
    for (let i = 0; ; i++) {
      const pod = await this.pod(namespace, name);
      if (pod?.status?.phase === 'Running' && !pod.metadata?.deletionTimestamp) return;
      if (pod) {
        last = describePod(pod);
        const waiting = pod.status?.containerStatuses?.[0]?.state?.waiting;
        if (waiting?.reason && HOPELESS.has(waiting.reason))
          throw new WorkloadError('DRIVER_UNAVAILABLE', `pod ${namespace}/${name} cannot start: ${last}`);
        if (pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed')
          throw new WorkloadError('DRIVER_UNAVAILABLE', `pod ${namespace}/${name} exited at start: ${last}`);
      }
      if (Date.now() >= deadline) {
        throw new WorkloadError(
          'DRIVER_UNAVAILABLE',
          `pod ${namespace}/${name} not running after ${Math.round(this.startTimeoutMs / 1000)} s: ${last}`,
        );
      }
      await sleep(Math.min(50 * 2 ** i, 1000));
    }
  }
}

export async function makeKubernetesDriver(
  access: KubernetesAccess,
  opts: KubernetesDriverOptions = {},
): Promise<KubernetesDriver> {
  return new KubernetesWorkloadDriver(access, opts);
}

function storedSpec(claim: V1PersistentVolumeClaim): StoredSpec {
  const raw = claim.metadata?.annotations?.[SPEC_ANNOTATION];
  try {
    const s = JSON.parse(raw ?? '') as StoredSpec;
    if (typeof s.image === 'string' && s.cpus > 0 && s.memoryMb > 0) return s;
  } catch {
    // Fall through.
  }
  throw new WorkloadError('DRIVER_UNAVAILABLE', `claim ${claim.metadata?.name} lacks the workspace's spec`);
}

/** A pod's state in a few words: phase, and the reason it waits or why it stopped. */
function describePod(pod: V1Pod): string {
  const phase = pod.status?.phase ?? 'Unknown';
  if (pod.metadata?.deletionTimestamp) return `${phase}, terminating`;
  const cs = pod.status?.containerStatuses?.[0]?.state;
  if (cs?.waiting)
    return `${phase}: ${cs.waiting.reason}${cs.waiting.message ? ` (${cs.waiting.message})` : ''}`;
  if (cs?.terminated) return `${phase}: ${cs.terminated.reason ?? 'exited'} (exit ${cs.terminated.exitCode})`;
  const unscheduled = pod.status?.conditions?.find((c) => c.type === 'PodScheduled' && c.status === 'False');
  if (unscheduled)
    return `${phase}: ${unscheduled.reason}${unscheduled.message ? ` (${unscheduled.message})` : ''}`;
  return phase;
}

/** Feeds a handle's stdin to the exec in order, holding the writer back while the socket is busy. */
function pipeStdin(stdin: PassThrough, session: PodExec): void {
  stdin.on('data', (chunk: Buffer) => {
    stdin.pause();
    session.write(chunk).then(
      () => stdin.resume(),
      () => stdin.resume(),
    );
  });
  stdin.on('end', () => session.endStdin());
}

function discard(): Writable {
  return new Writable({ write: (_c, _e, cb) => cb() });
}
