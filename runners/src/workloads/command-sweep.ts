/*
 * Kills what one hosted command started (command-host.ts), from the host side: every process of
 * the workspace's cgroup that is in the command's session, or that carries the command's
 * KEEL_EXEC_ID (which survives setsid and double forks). The same reach as the Docker driver's
 * sweep (docker-exec.ts), run by the runner instead of inside the workspace, so it needs no free
 * process slot there. Each round stops then kills what it found, and rounds repeat until one finds
 * nothing, so children forked during a round are caught by the next. A descendant that both calls
 * setsid and drops the variable escapes it, and still ends with the workspace's stop.
 */
import { readFile } from 'node:fs/promises';
import { readPids } from './cgroups.ts';

/**
 * procsFiles: the workspace cgroup's cgroup.procs files; sessionInSandbox: the command's session
 * id as the sandbox's PID namespace numbers it; execId: its KEEL_EXEC_ID.
 */
export async function sweepCommand(
  procsFiles: string[],
  sessionInSandbox: number,
  execId: string,
): Promise<void> {
  const marker = Buffer.from(`KEEL_EXEC_ID=${execId}\0`);
  for (let round = 0; round < 100; round++) {
    const pids = new Set((await Promise.all(procsFiles.map(readPids))).flat());
    const found: number[] = [];
    await Promise.all(
      [...pids].map(async (pid) => {
        if (await belongs(pid, sessionInSandbox, marker)) found.push(pid);
      }),
    );
    if (found.length === 0) return;
    for (const signal of ['SIGSTOP', 'SIGKILL'] as const) {
      for (const pid of found) {
        try {
          process.kill(pid, signal);
        } catch {}
      }
    }
    await new Promise((r) => setTimeout(r, 10));
  }
}

const NUL = Buffer.from([0]);

async function belongs(pid: number, session: number, marker: Buffer): Promise<boolean> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => undefined);
  if (!status || /^State:\s+Z/m.test(status)) return false;
  // NSsid: the session id in each PID namespace the process is in, the innermost last.
  const nssid = /^NSsid:\s+(.+)$/m.exec(status)?.[1]?.trim().split(/\s+/);
  if (nssid && nssid.length > 1 && Number(nssid[nssid.length - 1]) === session) return true;
  const environ = await readFile(`/proc/${pid}/environ`).catch(() => undefined);
  if (!environ) return false;
  // One NUL-ended entry: at the start, or right after another's NUL.
  const at = environ.indexOf(marker);
  return at === 0 || (at > 0 && environ.includes(Buffer.concat([NUL, marker])));
}
