/*
 * The no-Docker driver: each workspace is a host folder, each exec a fresh bubblewrap
 * sandbox that sees only the host's /usr (read-only), private /tmp and home, and the
 * workspace folder at /workspace. When the runner is root, commands run as an
 * unprivileged uid (default 1000) and inside a per-workspace cgroup (see cgroups.ts).
 *
 * A workspace with network gets a network namespace of its own for as long as it runs
 * (workspace-network.ts); every command enters it before bubblewrap starts.
 *
 * Layout under `root`:  .seccomp.bpf   <id>/state.json   <id>/etc/{passwd,group,resolv.conf}
 *                       <id>/net/slirp.pid(.log)   <id>/workspace/
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { closeSync, openSync } from 'node:fs';
import { chmod, chown, mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { ConfinedFs } from '../files/confined-fs.ts';
import type { WorkspaceFiles } from '../files/workspace-files.ts';
import { sha256 } from '../sha256.ts';
import { findExecutable, NAMESPACE_ARGS, sandboxArgs, sandboxEnv, systemArgs } from './bwrap.ts';
import { type CgroupDirs, createCgroup, type LimitKind, type WorkspaceCgroup } from './cgroups.ts';
import {
  COMMAND_FIFO_DIR,
  COMMAND_HOST_SCRIPT,
  CommandHost,
  type HostedRequest,
  hostable,
} from './command-host.ts';
import { sweepCommand } from './command-sweep.ts';
import { SLIRP_DNS } from './egress-rules.ts';
import { makeExecHandle, type RunningExec, waitAtMost } from './exec-handle.ts';
import { ensureHostDir } from './host-dir.ts';
import { seccompFilter } from './seccomp.ts';
import { SandboxSpawner, type SpawnedCommand } from './spawner/client.ts';
import { feedInput } from './taken-input.ts';
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
  deleteNamedNetns,
  ensureNamedNetns,
  NetworkBringUps,
  nsenterArgs,
  openNamespace,
  stopSlirp,
} from './workspace-network.ts';

export interface ProcessDriverOptions {
  /** Default: $KEEL_PROCESS_ROOT or /var/lib/keel/workspaces. */
  root?: string;
  /** Default: `bwrap` from PATH. */
  bwrapPath?: string;
  /** Run commands without any sandbox when bubblewrap is missing. Never the default. */
  allowUnsandboxed?: boolean;
  /** uid/gid commands run as when the runner is root. Default 1000. */
  sandboxUid?: number;
  sandboxGid?: number;
  /** Put each workspace in its own cgroup when possible. Default true. */
  cgroups?: boolean;
  /**
   * Start a workspace's commands from one long-lived process in its sandbox (command-host.ts)
   * rather than a sandbox each. Default true; false gives every command a sandbox of its own.
   */
  commandHost?: boolean;
}

/** A command as the process that starts it must run it. */
export interface SandboxCommand {
  argv: string[];
  cwd: string;
  env: Record<string, string>;
}

interface State {
  version: 1;
  spec: WorkloadSpec;
  workspaceDir: string;
  /** The storage folder was created by this driver, so `remove` may delete it. */
  createdDir: boolean;
  started: boolean;
}

const STATE_FILE = 'state.json';
const SECCOMP_FILE = '.seccomp.bpf';
/** The descriptor bubblewrap reads the seccomp program from (opened by CGROUP_JOIN). */
const SECCOMP_FD = 3;
const HOST_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/*
 * Joins the cgroups named after the count, then execs the rest with the seccomp program (the
 * first argument, or "-" for none) open on descriptor 3. It runs as root before privileges are
 * dropped, so the command is inside its limits from its first instruction: no child can be
 * forked outside them. A file rather than a pipe: a terminal's pty spawner passes no extra fds.
 */
const CGROUP_JOIN = `s=$1; n=$2; shift 2
while [ "$n" -gt 0 ]; do echo $$ >"$1" || exit 125; shift; n=$((n - 1)); done
[ "$s" = - ] && exec "$@"
exec "$@" 3<"$s"`;

export class ProcessDriver implements WorkloadDriver {
  readonly kind = 'process' as const;
  readonly root: string;
  /** false only when constructed with allowUnsandboxed and no bubblewrap was found. */
  readonly sandboxed: boolean;
  readonly fileOwner: FileOwner | undefined;
  private readonly bwrap: string | undefined;
  private readonly asRoot = process.getuid?.() === 0;
  private readonly useCgroups: boolean;
  private readonly execs = new Map<string, Set<ExecHandle>>();
  private readonly cgroups = new Map<string, WorkspaceCgroup>();
  private readonly useCommandHost: boolean;
  /** Each running workspace's command host, once a command asked for it. */
  private readonly hosts = new Map<string, Promise<CommandHost>>();
  /** Networks known to be up since this runner started; the first use after a restart checks. */
  private readonly networks = new NetworkBringUps<string>();
  private seccompFile: Promise<string> | undefined;
  /** Namespace names are host-wide: two drivers with other roots must not share one. */
  private readonly netnsTag: string;
  /** Forks the commands' sandboxes, so that the runner's event loop does not wait on each fork. */
  readonly spawner = new SandboxSpawner();

  constructor(opts: ProcessDriverOptions = {}) {
    this.root = path.resolve(opts.root ?? process.env.KEEL_PROCESS_ROOT ?? '/var/lib/keel/workspaces');
    this.bwrap = findExecutable(opts.bwrapPath ?? 'bwrap');
    if (!this.bwrap && !opts.allowUnsandboxed) {
      throw new WorkloadError(
        'DRIVER_UNAVAILABLE',
        'bubblewrap (bwrap) was not found: install the bubblewrap package, or construct the process ' +
          'driver with { allowUnsandboxed: true } to run workspace commands without any sandbox',
      );
    }
    this.sandboxed = this.bwrap !== undefined;
    this.fileOwner = this.asRoot ? { uid: opts.sandboxUid ?? 1000, gid: opts.sandboxGid ?? 1000 } : undefined;
    this.useCgroups = opts.cgroups ?? true;
    this.useCommandHost = opts.commandHost ?? true;
    this.netnsTag = sha256(this.root).slice(0, 8);
  }

  async create(spec: WorkloadSpec): Promise<void> {
    validateSpec(spec);
    if (spec.gpus) {
      // Placement sends GPU workspaces only where GPUs are free; a sandboxed process has no way
      // to be given some of them, so it is refused rather than run without.
      throw new WorkloadError(
        'INVALID_SPEC',
        `the process driver cannot give a workspace GPUs (it asked for ${spec.gpus}); run it on a Docker or Kubernetes runner`,
      );
    }
    if (spec.network) assertNetworkSupported();
    const id = spec.workspaceId;
    if (await this.readState(id)) return;
    await mkdir(this.root, { recursive: true });
    // The sandbox user must be able to traverse down to its workspace, and nothing more.
    if (this.asRoot) await chmod(this.root, 0o711);
    const home = this.dir(id);
    await mkdir(home, { recursive: true, mode: 0o711 });
    let workspaceDir: string;
    let createdDir: boolean;
    if (spec.storage.kind === 'hostDir') {
      workspaceDir = path.resolve(spec.storage.path);
      createdDir = await ensureHostDir(workspaceDir, this.fileOwner);
    } else {
      workspaceDir = path.join(home, 'workspace');
      createdDir = true;
      await mkdir(workspaceDir, { recursive: true, mode: 0o755 });
      if (this.fileOwner) await chown(workspaceDir, this.fileOwner.uid, this.fileOwner.gid);
    }
    await this.writeIdentity(id);
    if (this.fileOwner) await assertTraversable(workspaceDir, this.fileOwner);
    await this.writeState(id, { version: 1, spec, workspaceDir, createdDir, started: false });
  }

  async start(id: string, opts: StartOptions = {}): Promise<void> {
    let state = await this.mustState(id);
    if (opts.egressAllow !== undefined) {
      const spec = { ...state.spec, egressAllow: opts.egressAllow };
      validateSpec(spec);
      state = { ...state, spec };
      await this.writeState(id, state);
    }
    await this.cgroupFor(id, state.spec);
    // Each start re-makes the rules: the host's addresses may have changed since.
    if (state.spec.network) await this.networkFor(id, state.spec, { refresh: true });
    if (!state.started) await this.writeState(id, { ...state, started: true });
  }

  async stop(id: string, _opts: { timeoutMs?: number } = {}): Promise<void> {
    assertWorkspaceId(id);
    const state = await this.readState(id);
    // Marked stopped first so that no new exec starts while the old ones are killed.
    if (state?.started) await this.writeState(id, { ...state, started: false });
    // After a runner restart the cgroup is only on disk: re-open it to empty and drop it.
    const cg = this.cgroups.get(id) ?? (state ? await this.cgroupFor(id, state.spec) : undefined);
    // Each command's tree and, at the same time, everything in the workspace's cgroup: a
    // command's end waits for every process holding its output, and one that left the
    // command's process group would otherwise hold it (and this stop) forever.
    const commands = [...(this.execs.get(id) ?? [])];
    const host = this.hosts.get(id);
    this.hosts.delete(id);
    await Promise.all([
      ...commands.map((h) => h.kill()),
      host?.then((h) => h.close()).catch(() => undefined),
      cg?.killAll(),
    ]);
    this.cgroups.delete(id);
    await cg?.destroy();
    if (state?.spec.network) await this.networkDown(id);
    else if (state) await this.loopbackDown(id);
  }

  async remove(id: string, opts: { keepData: boolean }): Promise<void> {
    assertWorkspaceId(id);
    const state = await this.readState(id);
    await this.stop(id);
    const home = this.dir(id);
    if (state && !opts.keepData && state.createdDir && state.spec.storage.kind === 'hostDir') {
      await rm(state.workspaceDir, { recursive: true, force: true });
    }
    if (opts.keepData && state?.spec.storage.kind !== 'hostDir') {
      // Keep <id>/workspace so that a later create with the same id finds the files again.
      await rm(path.join(home, STATE_FILE), { force: true });
      await rm(path.join(home, 'etc'), { recursive: true, force: true });
      await rm(path.join(home, 'exec'), { recursive: true, force: true });
      return;
    }
    await rm(home, { recursive: true, force: true });
  }

  async status(id: string): Promise<WorkloadStatus> {
    assertWorkspaceId(id);
    const state = await this.readState(id);
    if (!state) return 'missing';
    return state.started ? 'running' : 'stopped';
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
        const state = await this.mustState(id);
        if (!state.started) throw new WorkloadError('WORKLOAD_NOT_RUNNING', `workspace ${id} is not running`);
        const hosted: HostedRequest = {
          argv: req.argv,
          cwd: path.posix.resolve('/workspace', req.cwd ?? '.'),
          // As the container drivers' execs carry it: what a kill sweeps for (command-sweep.ts).
          env: { ...sandboxEnv(req.env ?? {}), KEEL_EXEC_ID: execId },
          stdin: req.stdin === true,
        };
        if (this.useCommandHost && this.bwrap && !req.readOnlyBinds && hostable(hosted)) {
          const command = await (await this.hostFor(id, state)).run(hosted);
          const cg = this.cgroups.get(id);
          pipeWhole(command.stdout, io.stdout);
          pipeWhole(command.stderr, io.stderr);
          if (io.stdin && command.stdin) {
            command.stdin.on('error', () => {});
            feedInput(io.stdin, command.stdin);
          }
          return {
            exited: command.exited,
            async killTree() {
              command.kill();
              // What left the command's process group, found in the workspace's cgroup.
              if (cg && command.pid > 0) await sweepCommand(cg.procsFiles, command.pid, execId);
              await waitAtMost(command.exited, 5000);
            },
          };
        }
        const cg = await this.cgroupFor(id, state.spec);
        const netns = await this.namespaceFor(id, state.spec);
        const line = this.commandLine(id, state, req, cg, {
          newSession: true,
          netns,
          seccomp: await this.seccomp(),
        });
        const child = await this.spawner.spawn(line, { stdin: req.stdin === true });
        pipeWhole(child.stdout, io.stdout);
        pipeWhole(child.stderr, io.stderr);
        if (io.stdin && child.stdin) {
          // EPIPE once the command is gone: the exit is what callers learn from.
          child.stdin.on('error', () => {});
          feedInput(io.stdin, child.stdin);
        }
        return watchSpawned(child);
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

  /**
   * The workspace's command host, started on first use and again after it ended (a command can
   * kill it: it runs as the sandbox user). It is a command like the others, with the FIFO folder
   * bound in; its sandbox, and with it every command it started, ends with the workspace's stop.
   */
  private hostFor(id: string, state: State): Promise<CommandHost> {
    const known = this.hosts.get(id);
    if (known) {
      return known.then(
        (host) => (host.alive ? host : this.startHost(id, state, known)),
        () => this.startHost(id, state, known),
      );
    }
    return this.startHost(id, state, undefined);
  }

  private startHost(
    id: string,
    state: State,
    replacing: Promise<CommandHost> | undefined,
  ): Promise<CommandHost> {
    // Two commands that find the same dead host start one new one.
    const current = this.hosts.get(id);
    if (current && current !== replacing) return current;
    const starting = (async () => {
      const fifoDir = path.join(this.dir(id), 'exec');
      await rm(fifoDir, { recursive: true, force: true });
      await mkdir(fifoDir, { mode: 0o700 });
      if (this.fileOwner) await chown(fifoDir, this.fileOwner.uid, this.fileOwner.gid);
      const cg = await this.cgroupFor(id, state.spec);
      const netns = await this.namespaceFor(id, state.spec);
      const line = this.commandLine(
        id,
        state,
        {
          argv: ['/bin/bash', '-c', COMMAND_HOST_SCRIPT, 'keel-command-host', COMMAND_FIFO_DIR],
          writableBinds: [{ host: fifoDir, at: COMMAND_FIFO_DIR }],
        },
        cg,
        { newSession: true, netns, seccomp: await this.seccomp() },
      );
      const spawned = await this.spawner.spawn(line, { stdin: true, daemon: true });
      return new CommandHost(spawned, fifoDir, this.fileOwner?.uid, (l) =>
        console.error(`command host ${id}: ${l}`),
      );
    })();
    this.hosts.set(id, starting);
    starting.catch(() => {
      if (this.hosts.get(id) === starting) this.hosts.delete(id);
    });
    return starting;
  }

  /**
   * How to start an interactive program on a pty the caller opens (see runners/src/terminal): the same
   * cgroup, user and sandbox as `exec`, except that it stays in the pty's session so that the pty is
   * its controlling terminal. The caller owns the process; `stop` does not track it.
   */
  async ttyCommand(id: string, req: ExecRequest): Promise<SandboxCommand> {
    assertWorkspaceId(id);
    validateExec(req);
    const state = await this.mustState(id);
    if (!state.started) throw new WorkloadError('WORKLOAD_NOT_RUNNING', `workspace ${id} is not running`);
    const cg = await this.cgroupFor(id, state.spec);
    const netns = await this.namespaceFor(id, state.spec);
    return this.commandLine(id, state, req, cg, { newSession: false, netns, seccomp: await this.seccomp() });
  }

  async files(id: string): Promise<WorkspaceFiles> {
    return new ConfinedFs(await this.workspaceRoot(id), this.fileOwner);
  }

  async workspaceRoot(id: string): Promise<string> {
    return (await this.mustState(id)).workspaceDir;
  }

  /** The namespace the workspace's commands share (previews connect there); none without root. */
  async previewNetns(id: string): Promise<WorkspaceNetns | undefined> {
    assertWorkspaceId(id);
    const state = await this.mustState(id).catch(() => undefined);
    if (!state?.started || !this.asRoot) return undefined;
    const file = await this.namespaceFor(id, state.spec);
    if (!file) return undefined;
    const fd = await openNamespace(file);
    return fd === undefined ? undefined : { fd, witness: file };
  }

  async states(): Promise<Map<string, WorkloadState>> {
    const names = await readdir(this.root).catch(() => [] as string[]);
    const out = new Map<string, WorkloadState>();
    for (const name of names.sort()) {
      const state = isValidWorkspaceId(name) ? await this.readState(name) : undefined;
      if (state) out.set(name, { status: state.started ? 'running' : 'stopped' });
    }
    return out;
  }

  async list(): Promise<string[]> {
    return [...(await this.states()).keys()];
  }

  /**
   * Runs a trivial command in a sandbox like the real ones, to learn at runner startup
   * whether this host allows it (unprivileged user namespaces can be disabled).
   */
  async probe(): Promise<void> {
    if (!this.bwrap) return;
    const args = [
      ...this.dropPrivileges(),
      this.bwrap,
      ...NAMESPACE_ARGS,
      '--seccomp',
      String(SECCOMP_FD),
      '--die-with-parent',
      ...systemArgs(),
    ];
    args.push('--proc', '/proc', '--dev', '/dev', '--', '/usr/bin/true');
    const fd = openSync(await this.seccomp(), 'r');
    let child: ChildProcess;
    try {
      child = spawn(args[0]!, args.slice(1), {
        stdio: ['ignore', 'ignore', 'pipe', fd],
        env: { PATH: HOST_PATH },
      });
    } finally {
      closeSync(fd);
    }
    let stderr = '';
    child.stderr?.on('data', (c: Buffer) => {
      stderr += c.toString();
    });
    const { exitCode } = await exitOf(child);
    if (exitCode !== 0) {
      throw new WorkloadError(
        'DRIVER_UNAVAILABLE',
        `bubblewrap cannot create a sandbox here: ${stderr.trim()}`,
      );
    }
  }

  /** Which limits the kernel enforces for this workspace (empty: none). */
  async enforcedLimits(id: string): Promise<LimitKind[]> {
    const state = await this.mustState(id);
    return (await this.cgroupFor(id, state.spec))?.enforced ?? [];
  }

  /**
   * What runs a command in the workspace: join its cgroup, drop privileges, enter the sandbox. The
   * process that starts it must run `argv` in `cwd` with exactly `env`.
   */
  private commandLine(
    id: string,
    state: State,
    req: ExecRequest & { writableBinds?: Array<{ host: string; at: string }> },
    cg: WorkspaceCgroup | undefined,
    opts: { newSession: boolean; netns: string | undefined; seccomp: string },
  ): SandboxCommand {
    const cwdInside = path.posix.resolve('/workspace', req.cwd ?? '.');
    // As root, into the workspace's network namespace first; nothing else pays for it.
    const prefix = opts.netns ? nsenterArgs({ kind: 'path', path: opts.netns }) : [];
    const seccomp = this.bwrap ? opts.seccomp : '-';
    prefix.push('/bin/sh', '-c', CGROUP_JOIN, 'keel-cgroup', seccomp, String(cg?.procsFiles.length ?? 0));
    prefix.push(...(cg?.procsFiles ?? []));
    prefix.push(...this.dropPrivileges());

    if (!this.bwrap) {
      // Unsandboxed (explicitly allowed): the folder stands in for /workspace.
      const rel = path.posix.relative('/workspace', cwdInside);
      // No mount namespace: a bound folder is reached at its host path.
      const binds = req.readOnlyBinds ?? [];
      const argv = req.argv.map((arg) => {
        const bind = binds.find((b) => arg === b.at || arg.startsWith(`${b.at}/`));
        return bind ? bind.host + arg.slice(bind.at.length) : arg;
      });
      return {
        argv: [...prefix, ...argv],
        cwd: path.join(state.workspaceDir, rel),
        env: { PATH: HOST_PATH, HOME: state.workspaceDir, LANG: 'C.UTF-8', ...req.env },
      };
    }
    const bwrapArgs = sandboxArgs({
      workspaceDir: state.workspaceDir,
      passwdFile: path.join(this.dir(id), 'etc', 'passwd'),
      groupFile: path.join(this.dir(id), 'etc', 'group'),
      // The workspace's own namespace (with network, or loopback only), entered by nsenter above.
      network: opts.netns !== undefined,
      ...(state.spec.network ? { resolvConf: path.join(this.dir(id), 'etc', 'resolv.conf') } : {}),
      seccompFd: SECCOMP_FD,
      cwd: cwdInside,
      env: req.env ?? {},
      newSession: opts.newSession,
      ...(req.readOnlyBinds ? { readOnlyBinds: req.readOnlyBinds } : {}),
      ...(req.writableBinds ? { writableBinds: req.writableBinds } : {}),
    });
    return {
      argv: [...prefix, this.bwrap, ...bwrapArgs, '--', ...req.argv],
      cwd: '/',
      env: { PATH: HOST_PATH },
    };
  }

  /** As root, commands run as the sandbox uid with no supplementary groups. */
  private dropPrivileges(): string[] {
    const owner = this.fileOwner;
    if (!owner) return [];
    return ['setpriv', `--reuid=${owner.uid}`, `--regid=${owner.gid}`, '--clear-groups', '--'];
  }

  /**
   * Where the workspace's usage is counted (metrics): its cgroup's folders, once this runner
   * has made or re-opened it; undefined without a cgroup (not root, cgroups off, none writable).
   */
  cgroupDirs(id: string): CgroupDirs | undefined {
    return this.cgroups.get(id)?.dirs;
  }

  private async cgroupFor(id: string, spec: WorkloadSpec): Promise<WorkspaceCgroup | undefined> {
    if (!this.useCgroups) return undefined;
    let cg = this.cgroups.get(id);
    if (!cg) {
      // Host-wide like namespace names: several runners on one host (each its own root) must not
      // share a workspace's cgroup when it moves from one to another (the old one removes its own).
      cg = await createCgroup(`ws-${this.netnsTag}-${id}`, {
        cpus: spec.cpus,
        memoryMb: spec.memoryMb,
        pidsLimit: spec.pidsLimit ?? DEFAULT_PIDS_LIMIT,
      });
      if (cg) this.cgroups.set(id, cg);
    }
    return cg;
  }

  /**
   * The workspace's network namespace, made and connected if this runner has not yet seen it up
   * (also after a restart: the namespace and slirp4netns found from its pid file are reused).
   */
  private networkFor(id: string, spec: WorkloadSpec, opts: { refresh?: boolean } = {}): Promise<string> {
    return this.networks.of(id, opts.refresh ?? false, async () => {
      assertNetworkSupported();
      const name = this.netnsName(id);
      // slirp4netns' resolver, the only one a workspace's network reaches.
      await writeFile(path.join(this.dir(id), 'etc', 'resolv.conf'), `nameserver ${SLIRP_DNS}\n`, {
        mode: 0o644,
      });
      const file = await ensureNamedNetns(name);
      await bringUpNetwork({
        target: { kind: 'path', path: file },
        pidFile: path.join(this.dir(id), 'net', 'slirp.pid'),
        allow: spec.egressAllow ?? [],
      });
      return file;
    });
  }

  /**
   * The network namespace the workspace's commands share: with network, the one slirp4netns
   * connects; without, one with only loopback, so a server one command starts (a dev server in a
   * terminal) is reachable from the next command and from a preview, as on any machine, while
   * nothing outside is. Without root (or nsenter and ip) there is none: each command then gets a
   * loopback of its own from bubblewrap.
   */
  private async namespaceFor(id: string, spec: WorkloadSpec): Promise<string | undefined> {
    if (spec.network) return this.networkFor(id, spec);
    if (!this.asRoot || !this.bwrap || !findExecutable('ip') || !findExecutable('nsenter')) return undefined;
    return this.networks.of(id, false, () => ensureNamedNetns(this.netnsName(id)));
  }

  private async loopbackDown(id: string): Promise<void> {
    this.networks.forget(id);
    if (this.asRoot) await deleteNamedNetns(this.netnsName(id)).catch(() => undefined);
  }

  private async networkDown(id: string): Promise<void> {
    this.networks.forget(id);
    await stopSlirp(path.join(this.dir(id), 'net', 'slirp.pid'));
    await rm(path.join(this.dir(id), 'net'), { recursive: true, force: true });
    if (this.asRoot) await deleteNamedNetns(this.netnsName(id));
  }

  private netnsName(id: string): string {
    return `keel-${this.netnsTag}-${id}`;
  }

  /** The seccomp program, written once per runner start where every sandbox can read it. */
  private seccomp(): Promise<string> {
    this.seccompFile ??= (async () => {
      await mkdir(this.root, { recursive: true });
      const file = path.join(this.root, SECCOMP_FILE);
      const tmp = `${file}.${process.pid}.${randomUUID()}.tmp`;
      await writeFile(tmp, seccompFilter(), { mode: 0o644 });
      await rename(tmp, file);
      return file;
    })();
    return this.seccompFile;
  }

  private dir(id: string): string {
    assertWorkspaceId(id);
    return path.join(this.root, id);
  }

  private async writeIdentity(id: string): Promise<void> {
    const uid = this.fileOwner?.uid ?? process.getuid?.() ?? 1000;
    const gid = this.fileOwner?.gid ?? process.getgid?.() ?? 1000;
    const etc = path.join(this.dir(id), 'etc');
    await mkdir(etc, { recursive: true, mode: 0o755 });
    await writeFile(path.join(etc, 'passwd'), `keel:x:${uid}:${gid}:Keel workspace:/home/keel:/bin/bash\n`, {
      mode: 0o644,
    });
    await writeFile(path.join(etc, 'group'), `keel:x:${gid}:\n`, { mode: 0o644 });
  }

  private async readState(id: string): Promise<State | undefined> {
    try {
      return JSON.parse(await readFile(path.join(this.dir(id), STATE_FILE), 'utf8')) as State;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }

  private async mustState(id: string): Promise<State> {
    const state = await this.readState(id);
    if (!state) throw new WorkloadError('WORKLOAD_NOT_FOUND', `no workspace ${id}`);
    return state;
  }

  private async writeState(id: string, state: State): Promise<void> {
    const file = path.join(this.dir(id), STATE_FILE);
    const tmp = `${file}.${process.pid}.${randomUUID()}.tmp`;
    await writeFile(tmp, JSON.stringify(state, null, 2), { mode: 0o600 });
    await rename(tmp, file);
  }
}

/** The probe's end: 'close' waits for the output pipes too. */
function exitOf(child: ChildProcess): Promise<{ exitCode: number | null }> {
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (exitCode) => resolve({ exitCode }));
  });
}

function watchSpawned(child: SpawnedCommand): RunningExec {
  child.exited.catch(() => {});
  return {
    exited: child.exited,
    async killTree() {
      try {
        // The spawner started it in a process group of its own. bwrap's children die with it
        // (--die-with-parent), and the kernel then empties the sandbox's PID namespace.
        // Unsandboxed, only the process group is reachable.
        process.kill(-child.pid, 'SIGKILL');
      } catch {}
      await waitAtMost(child.exited, 5000);
    },
  };
}

/** bwrap runs as the sandbox user, so it must be able to reach the folder it binds. */
async function assertTraversable(dir: string, owner: FileOwner): Promise<void> {
  const parts = path.resolve(dir).split('/').filter(Boolean);
  for (let i = 0; i <= parts.length; i++) {
    const p = `/${parts.slice(0, i).join('/')}`;
    const st = await stat(p);
    const ok =
      st.mode & 0o001 ||
      (st.uid === owner.uid && st.mode & 0o100) ||
      (st.gid === owner.gid && st.mode & 0o010);
    if (!ok) {
      throw new WorkloadError(
        'INVALID_SPEC',
        `${p} is not searchable by uid ${owner.uid}, so the sandbox cannot reach ${dir} (chmod o+x ${p})`,
      );
    }
  }
}

/**
 * A command's output into the handle's: output that already ended (a command over before the
 * runner heard it start, from the command host or the spawner) ends the handle's at once, where
 * `pipe` would never end it.
 */
function pipeWhole(from: Readable, to: Writable): void {
  if (from.readableEnded) to.end();
  else from.pipe(to);
}
