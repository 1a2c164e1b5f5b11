/*
 * A workspace's network: a namespace of its own, connected to the outside by slirp4netns (a
 * user-mode stack that opens ordinary sockets on the host, with the host's loopback turned off),
 * and nft egress rules installed inside that namespace by the root runner. The workspace's user
 * has no capability over the namespace, so it cannot change them.
 *
 * Shared by the drivers: the process driver names a namespace per workspace (`ip netns`); the
 * docker driver attaches to the namespace of the container's first process. slirp4netns outlives
 * a runner restart; its pid file lets the next runner find it again.
 */
import { spawn } from 'node:child_process';
import { closeSync, open as openCb, openSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { findExecutable } from './bwrap.ts';
import { egressRules, hostIPv4Addresses } from './egress-rules.ts';
import { WorkloadError } from './types.ts';

/** Where slirp4netns attaches: a namespace file, or the namespace a process is in. */
export type NetnsTarget = { kind: 'path'; path: string } | { kind: 'pid'; pid: number };

export interface WorkspaceNetworkSetup {
  target: NetnsTarget;
  /** slirp4netns' pid; its log goes beside it (`.log`). */
  pidFile: string;
  allow: string[];
}

const NETNS_DIR = '/run/netns';
const READY_TIMEOUT_MS = 10_000;

/** Refuses, with the reason, where workspaces with network cannot be given one. */
export function assertNetworkSupported(): void {
  if (process.getuid?.() !== 0) {
    throw new WorkloadError(
      'DRIVER_UNAVAILABLE',
      'workspaces with network need a runner running as root (it makes a network namespace with egress rules for each); run the runner as root or create the workspace without network',
    );
  }
  for (const tool of ['slirp4netns', 'nft', 'nsenter', 'ip']) {
    if (!findExecutable(tool)) {
      throw new WorkloadError(
        'DRIVER_UNAVAILABLE',
        `workspaces with network need ${tool} on the runner host (install slirp4netns, nftables, iproute2 and util-linux)`,
      );
    }
  }
}

/** The namespace file of a named namespace. */
export const namedNetnsPath = (name: string) => path.join(NETNS_DIR, name);

/** `nsenter` arguments that put a command in the target's network namespace. */
export function nsenterArgs(target: NetnsTarget): string[] {
  return target.kind === 'path'
    ? ['nsenter', `--net=${target.path}`, '--']
    : ['nsenter', '-t', String(target.pid), '-n', '--'];
}

/**
 * An open descriptor of a network namespace file (`/run/netns/<name>`, `/proc/<pid>/ns/net`), or
 * undefined when it cannot be opened (gone, or this process may not). Only root enters another
 * namespace, so nothing is opened without it.
 */
export function openNamespace(file: string): Promise<number | undefined> {
  if (process.getuid?.() !== 0 || !findExecutable('nsenter')) return Promise.resolve(undefined);
  return new Promise((resolve) => openCb(file, 'r', (err, fd) => resolve(err ? undefined : fd)));
}

/** Creates the named namespace (loopback up) unless it exists; idempotent. */
export async function ensureNamedNetns(name: string): Promise<string> {
  const file = namedNetnsPath(name);
  if (!(await isNetnsFile(file))) {
    await rm(file, { force: true });
    await run(['ip', 'netns', 'add', name]);
  }
  await run(['ip', '-n', name, 'link', 'set', 'lo', 'up']);
  return file;
}

export async function deleteNamedNetns(name: string): Promise<void> {
  if (await isNetnsFile(namedNetnsPath(name))) await run(['ip', 'netns', 'delete', name]);
  await rm(namedNetnsPath(name), { force: true });
}

/**
 * Connects the target's namespace (slirp4netns, unless the one in the pid file still serves it)
 * and installs its egress rules, made from the host's addresses as they are now.
 */
export async function bringUpNetwork(setup: WorkspaceNetworkSetup): Promise<void> {
  const serving = await runningSlirp(setup);
  // Rules first: nothing leaves the namespace before they are in place.
  await installRules(setup);
  if (serving === undefined) {
    await stopSlirp(setup.pidFile);
    await startSlirp(setup);
  }
}

/** Ends the namespace's slirp4netns (from the pid file, only if it is one). */
export async function stopSlirp(pidFile: string): Promise<void> {
  const pid = await readPid(pidFile);
  if (pid !== undefined && (await isSlirp(pid))) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {}
    // A kill is delivered when the process next runs: on a busy host that can be a while, and
    // a start right after would meet the old slirp4netns still holding the namespace.
    const until = Date.now() + SLIRP_EXIT_WAIT_MS;
    while ((await isSlirp(pid)) && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
  }
  await rm(pidFile, { force: true });
}

/** How long a stop waits for a killed slirp4netns to be gone (a zombie counts as gone). */
const SLIRP_EXIT_WAIT_MS = 5_000;

async function installRules(setup: WorkspaceNetworkSetup): Promise<void> {
  const script = egressRules({ hostAddresses: hostIPv4Addresses(), allow: setup.allow });
  await run([...nsenterArgs(setup.target), 'nft', '-f', '-'], script);
}

async function startSlirp(setup: WorkspaceNetworkSetup): Promise<void> {
  await mkdir(path.dirname(setup.pidFile), { recursive: true, mode: 0o700 });
  const logFile = `${setup.pidFile}.log`;
  const log = openSync(logFile, 'w', 0o600);
  const where =
    setup.target.kind === 'path' ? ['--netns-type=path', setup.target.path] : [String(setup.target.pid)];
  let child: ReturnType<typeof spawn>;
  try {
    child = spawn(
      'slirp4netns',
      ['--configure', '--mtu=65520', '--disable-host-loopback', '--ready-fd=3', ...where, 'tap0'],
      // Its own process group, not tied to the runner: a runner restart leaves the network up.
      { detached: true, stdio: ['ignore', log, log, 'pipe'] },
    );
  } finally {
    closeSync(log);
  }
  const ready = child.stdio[3] as NodeJS.ReadableStream;
  const outcome = await new Promise<string | undefined>((resolve) => {
    const timer = setTimeout(() => resolve('it did not become ready in time'), READY_TIMEOUT_MS);
    ready.once('data', () => {
      clearTimeout(timer);
      resolve(undefined);
    });
    child.once('error', (err) => {
      clearTimeout(timer);
      resolve(err.message);
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      resolve(`it exited (${signal ?? code})`);
    });
  });
  (ready as unknown as { destroy(): void }).destroy();
  if (outcome !== undefined || child.pid === undefined) {
    if (child.pid !== undefined) {
      try {
        process.kill(child.pid, 'SIGKILL');
      } catch {}
    }
    const detail = (await readFile(logFile, 'utf8').catch(() => '')).trim().split('\n').slice(-3).join(' ');
    throw new WorkloadError(
      'DRIVER_UNAVAILABLE',
      `slirp4netns could not connect the workspace: ${outcome} ${detail}`,
    );
  }
  child.unref();
  await writeFile(setup.pidFile, `${child.pid}\n`, { mode: 0o600 });
}

/** The pid of the slirp4netns in the pid file when it still serves this very target. */
async function runningSlirp(setup: WorkspaceNetworkSetup): Promise<number | undefined> {
  const pid = await readPid(setup.pidFile);
  if (pid === undefined) return undefined;
  const args = await cmdline(pid);
  if (!args || !isSlirpArgs(args)) return undefined;
  const want = setup.target.kind === 'path' ? setup.target.path : String(setup.target.pid);
  return args.at(-2) === want ? pid : undefined;
}

async function isSlirp(pid: number): Promise<boolean> {
  const args = await cmdline(pid);
  return args !== undefined && isSlirpArgs(args);
}

const isSlirpArgs = (args: string[]) => path.basename(args[0] ?? '') === 'slirp4netns';

async function cmdline(pid: number): Promise<string[] | undefined> {
  try {
    const raw = await readFile(`/proc/${pid}/cmdline`, 'utf8');
    return raw.split('\0').filter((s, i, all) => s !== '' || i < all.length - 1);
  } catch {
    return undefined;
  }
}

async function readPid(pidFile: string): Promise<number | undefined> {
  try {
    const pid = Number((await readFile(pidFile, 'utf8')).trim());
    return Number.isInteger(pid) && pid > 1 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** A namespace file is a bind mount of an nsfs inode; a left-over plain file is not one. */
async function isNetnsFile(file: string): Promise<boolean> {
  try {
    const mounts = await readFile('/proc/self/mountinfo', 'utf8');
    return mounts.split('\n').some((line) => {
      const f = line.split(' ');
      return f[4] === file && line.includes(' - nsfs ');
    });
  } catch {
    return false;
  }
}

function run(argv: string[], input?: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), {
      stdio: [input === undefined ? 'ignore' : 'pipe', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr?.on('data', (c: Buffer) => {
      stderr += c.toString();
    });
    child.once('error', reject);
    child.once('close', (code) => {
      if (code === 0) resolve();
      else
        reject(
          new WorkloadError('DRIVER_UNAVAILABLE', `${argv.slice(0, 3).join(' ')} failed: ${stderr.trim()}`),
        );
    });
    child.stdin?.end(input);
  });
}

/**
 * One network bring-up per workspace, shared by every caller while it runs and after it
 * succeeded; a failed one is forgotten, so the next call tries again.
 */
export class NetworkBringUps<T> {
  private readonly ups = new Map<string, Promise<T>>();

  /** The workspace's bring-up; `refresh` starts a new one even when one succeeded. */
  of(id: string, refresh: boolean, bringUp: () => Promise<T>): Promise<T> {
    let up = this.ups.get(id);
    if (!up || refresh) {
      const started = bringUp();
      this.ups.set(id, started);
      started.catch(() => {
        if (this.ups.get(id) === started) this.ups.delete(id);
      });
      up = started;
    }
    return up;
  }

  forget(id: string): void {
    this.ups.delete(id);
  }
}
