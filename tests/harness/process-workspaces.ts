import { readdirSync, rmSync } from 'node:fs';
import type { RunnerConfig } from '../../runners/src/env.ts';
import { defaultProcessRoot } from '../../runners/src/process-root.ts';
import { ProcessDriver } from '../../runners/src/workloads/process.ts';

/**
 * Removes every workspace a stopped process-driver runner left under `root`, and the root.
 * A runner that stops leaves its workspaces running by design (a restart finds them again), with
 * their sandboxes, network namespaces, slirp4netns and cgroups; and a runner running as root keeps
 * them outside its data folder (/var/lib/keel/workspaces/<tag>, see process-root.ts), so deleting a
 * test's temporary folder did not reach them: each CI run left hundreds of namespaces and cgroups,
 * a few slirp4netns and about a gigabyte of workspace folders behind.
 */
export async function removeProcessWorkspaces(root: string): Promise<void> {
  let ids: string[];
  try {
    ids = readdirSync(root).filter((name) => /^ws_[a-z0-9]+$/.test(name));
  } catch {
    return;
  }
  // The driver's own removal: it knows each workspace's cgroup, namespace and network.
  const driver = new ProcessDriver({ root, allowUnsandboxed: true });
  for (const id of ids) await driver.remove(id, { keepData: false }).catch(() => {});
  rmSync(root, { recursive: true, force: true });
}

/** The process driver's root for a runner with this environment (as the runner works it out). */
export function processRootOf(env: {
  KEEL_RUNNER_DATA_DIR: string;
  KEEL_RUNNER_WORKSPACES_DIR?: string;
}): string {
  return defaultProcessRoot(env as RunnerConfig);
}
