import type Docker from 'dockerode';
import { parseQuantity } from '../../../runners/src/workloads/kubernetes-quantity.ts';
import { CLUSTER_DNS, type PodNetwork } from './pod-network.ts';
import { apiTime, type KubeObject } from './store.ts';

/** Labels on everything the stand-in makes in the engine, so that it can remove all of it. */
export const STANDIN_LABEL = 'keel.k8s-api-standin';

interface ContainerSpec {
  name: string;
  image: string;
  command?: string[];
  args?: string[];
  workingDir?: string;
  env?: Array<{ name: string; value?: string }>;
  resources?: { limits?: Record<string, string>; requests?: Record<string, string> };
  securityContext?: {
    runAsUser?: number;
    runAsGroup?: number;
    runAsNonRoot?: boolean;
    readOnlyRootFilesystem?: boolean;
    allowPrivilegeEscalation?: boolean;
    privileged?: boolean;
    capabilities?: { add?: string[]; drop?: string[] };
    seccompProfile?: { type?: string };
  };
  volumeMounts?: Array<{ name: string; mountPath: string; readOnly?: boolean }>;
}
interface PodSpec {
  containers: ContainerSpec[];
  volumes?: Array<{
    name: string;
    emptyDir?: { medium?: string; sizeLimit?: string };
    persistentVolumeClaim?: { claimName: string; readOnly?: boolean };
  }>;
  securityContext?: ContainerSpec['securityContext'] & { fsGroup?: number; supplementalGroups?: number[] };
  hostname?: string;
}

/** Why a pod is not running yet, as the kubelet would say it. */
export interface PodHold {
  /** Unschedulable: no node fits (PodScheduled False). */
  unschedulable?: string;
  /** The container cannot be made (waiting reason, message). */
  waiting?: { reason: string; message: string };
}

/**
 * Runs each pod as one container in the local Docker engine: the pod's image and command, its
 * security context (user, read-only root, dropped capabilities, no-new-privileges, seccomp),
 * its limits (NanoCpus, Memory), emptyDir volumes as tmpfs and claims as named volumes.
 * Docker gives the container no network (NetworkMode none); the pod's network and its
 * NetworkPolicies are pod-network.ts', set up before the pod is reported running.
 */
export class DockerPods {
  /** Per pod uid: what keeps it from running (absent: launched or launching). */
  private readonly holds = new Map<string, PodHold>();
  private readonly launching = new Map<string, Promise<void>>();

  constructor(
    private readonly docker: Docker,
    private readonly instance: string,
    private readonly network: PodNetwork,
  ) {}

  containerName(pod: KubeObject): string {
    return `${this.instance}-${pod.metadata.namespace}-${pod.metadata.name}`;
  }

  volumeName(claim: KubeObject): string {
    return `${this.instance}-pvc-${claim.metadata.uid}`;
  }

  async createVolume(claim: KubeObject): Promise<void> {
    await this.docker.createVolume({
      Name: this.volumeName(claim),
      Labels: {
        [STANDIN_LABEL]: this.instance,
        'keel.k8s-api-standin.claim': `${claim.metadata.namespace}/${claim.metadata.name}`,
      },
    });
  }

  async removeVolume(claim: KubeObject): Promise<void> {
    await this.docker
      .getVolume(this.volumeName(claim))
      .remove()
      .catch(() => {});
  }

  hold(pod: KubeObject, hold: PodHold): void {
    this.holds.set(pod.metadata.uid, hold);
  }

  /** Starts the pod's container shortly after the create answered, as a kubelet would. */
  launch(pod: KubeObject, claims: (name: string) => KubeObject | undefined): void {
    const p = this.launchNow(pod, claims).catch((err: Error) => {
      this.holds.set(pod.metadata.uid, { waiting: { reason: 'CreateContainerError', message: err.message } });
    });
    this.launching.set(pod.metadata.uid, p);
  }

  private async launchNow(pod: KubeObject, claims: (name: string) => KubeObject | undefined): Promise<void> {
    const spec = pod.spec as unknown as PodSpec;
    const c = spec.containers[0]!;
    try {
      await this.docker.getImage(c.image).inspect();
    } catch {
      this.holds.set(pod.metadata.uid, {
        waiting: { reason: 'ErrImagePull', message: `rpc error: pull access denied for ${c.image}` },
      });
      return;
    }
    const podSc = spec.securityContext ?? {};
    const sc = { ...podSc, ...(c.securityContext ?? {}) };
    const image = await this.docker.getImage(c.image).inspect();
    const user = sc.runAsUser ?? image.Config.User ?? '';
    if (sc.runAsNonRoot && (user === '' || user === 0 || user === '0' || String(user).startsWith('root'))) {
      this.holds.set(pod.metadata.uid, {
        waiting: {
          reason: 'CreateContainerConfigError',
          message: 'container has runAsNonRoot and image will run as root',
        },
      });
      return;
    }
    const mounts: Docker.MountSettings[] = [];
    const tmpfs: Record<string, string> = {};
    for (const m of c.volumeMounts ?? []) {
      const v = spec.volumes?.find((x) => x.name === m.name);
      if (v?.emptyDir) {
        const size = v.emptyDir.sizeLimit ? `,size=${Math.floor(parseQuantity(v.emptyDir.sizeLimit))}` : '';
        // An emptyDir is world-writable (0777), as the kubelet makes it.
        tmpfs[m.mountPath] = `rw,nosuid,nodev${size},mode=0777`;
      } else if (v?.persistentVolumeClaim) {
        const claim = claims(v.persistentVolumeClaim.claimName);
        if (!claim) throw new Error(`persistentvolumeclaim "${v.persistentVolumeClaim.claimName}" not found`);
        mounts.push({
          Type: 'volume',
          Source: this.volumeName(claim),
          Target: m.mountPath,
          ReadOnly: !!(m.readOnly || v.persistentVolumeClaim.readOnly),
        });
      }
    }
    const limits = c.resources?.limits ?? {};
    const memory = limits.memory ? Math.floor(parseQuantity(limits.memory)) : 0;
    const securityOpt: string[] = [];
    if (sc.allowPrivilegeEscalation === false) securityOpt.push('no-new-privileges');
    // Kubernetes runs a container unconfined unless a profile is asked for; Docker's default is
    // its runtime profile, which is what RuntimeDefault means.
    const seccomp = sc.seccompProfile?.type;
    if (seccomp !== 'RuntimeDefault' && seccomp !== 'Localhost') securityOpt.push('seccomp=unconfined');
    const groups = [
      ...(podSc.fsGroup !== undefined ? [String(podSc.fsGroup)] : []),
      ...(podSc.supplementalGroups ?? []).map(String),
    ];
    const container = await this.docker.createContainer({
      name: this.containerName(pod),
      Image: c.image,
      ...(c.command ? { Entrypoint: c.command } : {}),
      ...(c.args ? { Cmd: c.args } : {}),
      Env: (c.env ?? []).map((e) => `${e.name}=${e.value ?? ''}`),
      WorkingDir: c.workingDir,
      User:
        sc.runAsUser !== undefined
          ? `${sc.runAsUser}${sc.runAsGroup !== undefined ? `:${sc.runAsGroup}` : ''}`
          : undefined,
      Hostname: (spec.hostname ?? pod.metadata.name).slice(0, 63),
      Labels: {
        [STANDIN_LABEL]: this.instance,
        'io.kubernetes.pod.namespace': pod.metadata.namespace ?? '',
        'io.kubernetes.pod.name': pod.metadata.name,
        'io.kubernetes.pod.uid': pod.metadata.uid,
      },
      HostConfig: {
        Mounts: mounts,
        Tmpfs: tmpfs,
        ReadonlyRootfs: !!sc.readOnlyRootFilesystem,
        CapDrop: sc.capabilities?.drop ?? [],
        CapAdd: sc.capabilities?.add ?? [],
        Privileged: !!sc.privileged,
        SecurityOpt: securityOpt,
        GroupAdd: groups,
        // An empty namespace of Docker's, which pod-network.ts connects; its resolver is the
        // cluster's DNS, as dnsPolicy ClusterFirst has it.
        NetworkMode: 'none',
        Dns: [CLUSTER_DNS],
        ...(limits.cpu ? { NanoCpus: Math.round(parseQuantity(limits.cpu) * 1e9) } : {}),
        ...(memory ? { Memory: memory, MemorySwap: memory } : {}),
        PidsLimit: 1024,
        IpcMode: 'private',
        RestartPolicy: { Name: 'no' },
      },
    });
    await container.start();
    const { State } = await container.inspect();
    await this.network.attach(pod, State.Pid);
  }

  /** The pod's status from its container's state (the kubelet's view). */
  async status(pod: KubeObject): Promise<Record<string, unknown>> {
    const uid = pod.metadata.uid;
    await this.launching.get(uid);
    const spec = pod.spec as unknown as PodSpec;
    const c = spec.containers[0]!;
    const hold = this.holds.get(uid);
    const base = {
      qosClass: qosClass(c),
      startTime: pod.metadata.creationTimestamp,
    };
    if (hold?.unschedulable) {
      return {
        ...base,
        phase: 'Pending',
        conditions: [
          { type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message: hold.unschedulable },
        ],
      };
    }
    const scheduled = {
      type: 'PodScheduled',
      status: 'True',
      lastTransitionTime: pod.metadata.creationTimestamp,
    };
    const containerStatus = (state: Record<string, unknown>, ready: boolean) => ({
      name: c.name,
      image: c.image,
      imageID: '',
      ready,
      started: ready,
      restartCount: 0,
      state,
    });
    if (hold?.waiting) {
      return {
        ...base,
        phase: 'Pending',
        hostIP: '127.0.0.1',
        conditions: [scheduled, { type: 'Ready', status: 'False', reason: 'ContainersNotReady' }],
        containerStatuses: [containerStatus({ waiting: hold.waiting }, false)],
      };
    }
    const info = await this.docker
      .getContainer(this.containerName(pod))
      .inspect()
      .catch(() => undefined);
    if (!info || info.State.Status === 'created') {
      return {
        ...base,
        phase: 'Pending',
        hostIP: '127.0.0.1',
        conditions: [scheduled, { type: 'Ready', status: 'False', reason: 'ContainersNotReady' }],
        containerStatuses: [containerStatus({ waiting: { reason: 'ContainerCreating' } }, false)],
      };
    }
    if (info.State.Running) {
      return {
        ...base,
        phase: 'Running',
        hostIP: '127.0.0.1',
        conditions: [scheduled, { type: 'Ready', status: 'True' }],
        containerStatuses: [
          containerStatus({ running: { startedAt: apiTime(new Date(info.State.StartedAt)) } }, true),
        ],
      };
    }
    const exitCode = info.State.ExitCode;
    return {
      ...base,
      phase: exitCode === 0 ? 'Succeeded' : 'Failed',
      hostIP: '127.0.0.1',
      conditions: [scheduled, { type: 'Ready', status: 'False', reason: 'PodCompleted' }],
      containerStatuses: [
        containerStatus(
          {
            terminated: {
              exitCode,
              reason: info.State.OOMKilled ? 'OOMKilled' : exitCode === 0 ? 'Completed' : 'Error',
              startedAt: apiTime(new Date(info.State.StartedAt)),
              finishedAt: apiTime(new Date(info.State.FinishedAt)),
            },
          },
          false,
        ),
      ],
    };
  }

  /** Stops the pod's container within its grace period (SIGTERM, then SIGKILL) and removes it. */
  async terminate(pod: KubeObject, graceSeconds: number): Promise<void> {
    await this.launching.get(pod.metadata.uid);
    this.holds.delete(pod.metadata.uid);
    this.launching.delete(pod.metadata.uid);
    const container = this.docker.getContainer(this.containerName(pod));
    await container.stop({ t: graceSeconds }).catch(() => {});
    this.network.detach(pod);
    await container.remove({ force: true, v: false }).catch(() => {});
  }

  container(pod: KubeObject): Docker.Container {
    return this.docker.getContainer(this.containerName(pod));
  }

  /** Removes every container and volume this stand-in made. */
  async cleanup(): Promise<void> {
    this.network.detachAll();
    const filters = { label: [`${STANDIN_LABEL}=${this.instance}`] };
    for (const c of await this.docker.listContainers({ all: true, filters })) {
      await this.docker
        .getContainer(c.Id)
        .remove({ force: true, v: false })
        .catch(() => {});
    }
    const { Volumes } = await this.docker.listVolumes({ filters });
    for (const v of Volumes ?? []) {
      await this.docker
        .getVolume(v.Name)
        .remove()
        .catch(() => {});
    }
  }
}

function qosClass(c: ContainerSpec): string {
  const l = c.resources?.limits ?? {};
  const r = c.resources?.requests ?? {};
  if (!l.cpu && !l.memory && !r.cpu && !r.memory) return 'BestEffort';
  const same = (k: string) =>
    l[k] !== undefined && (r[k] === undefined || parseQuantity(r[k]) === parseQuantity(l[k]));
  return same('cpu') && same('memory') ? 'Guaranteed' : 'Burstable';
}
