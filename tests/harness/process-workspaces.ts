import { readdirSync, rmSync } from 'node:fs';
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
