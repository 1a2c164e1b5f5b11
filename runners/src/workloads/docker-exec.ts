import type { Duplex } from 'node:stream';
import type Docker from 'dockerode';
import { takeDirectSink } from './direct-output.ts';
import { demuxDockerStream } from './docker-demux.ts';
import { localEngineSocket, startExecOnSocket } from './docker-exec-socket.ts';
import { type ExecIo, type RunningExec, waitAtMost } from './exec-handle.ts';
import { feedInput } from './taken-input.ts';
import { WorkloadError } from './types.ts';

/** Where the wrapper leaves each exec's session id; /tmp is a per-container tmpfs. */
const MARK_DIR = '/tmp/.keel-exec';

/*
 * Runs as `sh -c WRAPPER keel-exec argv...`. runc makes every exec'd process the leader
 * of a new session, so the wrapper's pid is the session id shared by everything the
 * command starts (unless a descendant calls setsid itself). It is recorded only when
 * that holds, so a foreign session can never be swept by mistake. The wrapper waits
 * instead of exec'ing so that it can drop the record afterwards: records left on the
 * tmpfs would pile up in the workspace's memory for as long as it runs.
 */
export const EXEC_WRAPPER = `read -r _ _ _ _ _ s _ </proc/$$/stat
m=
if [ "$s" = "$$" ] && mkdir -p ${MARK_DIR} 2>/dev/null && echo "$s" >"${MARK_DIR}/$KEEL_EXEC_ID"; then
  m="${MARK_DIR}/$KEEL_EXEC_ID"
fi
"$@"
rc=$?
[ -n "$m" ] && rm -f "$m"
exit $rc`;

/*
 * Kills one exec's processes from inside the container, as the workspace user: every
 * process in the recorded session, and every process that still carries the exec's
 * KEEL_EXEC_ID (which survives setsid and double forks). Each round stops then kills
 * what it found; rounds repeat until one finds nothing, so children forked while a
 * round runs are caught by the next one. Zombies are skipped: they are already dead.
 * Only bash builtins are used: the killer must work in a workspace whose pid limit is
 * nearly exhausted (it needs exactly one process slot).
 */
export const EXEC_KILLER = `id="$1"; sid=""; f="${MARK_DIR}/$id"
[ -f "$f" ] && read -r sid <"$f"
case "$sid" in ''|*[!0-9]*|1) sid="" ;; esac
for ((round = 0; round < 200; round++)); do
  pids=()
  for d in /proc/[0-9]*; do
    p="\${d#/proc/}"
    [[ "$p" == "$$" || "$p" == 1 ]] && continue
    read -r stat 2>/dev/null <"$d/stat" || continue
    # Fields after the command name: state ppid pgrp session ...
    set -- \${stat##*) }
    [[ "$1" == Z ]] && continue
    if [[ -n "$sid" && "$4" == "$sid" ]]; then pids+=("$p"); continue; fi
    while IFS= read -r -d '' kv; do
      if [[ "$kv" == "KEEL_EXEC_ID=$id" ]]; then pids+=("$p"); break; fi
    done 2>/dev/null <"$d/environ"
  done
  ((\${#pids[@]} == 0)) && break
  kill -STOP "\${pids[@]}" 2>/dev/null
  kill -KILL "\${pids[@]}" 2>/dev/null
done
rm -f "$f" 2>/dev/null
exit 0`;

export const EXEC_USER = '1000:1000';

export interface DockerExecRequest {
  execId: string;
  argv: string[];
  workingDir: string;
  env: Record<string, string>;
}

function statusOf(err: unknown): number | undefined {
  return (err as { statusCode?: number }).statusCode;
}

export async function startDockerExec(
  container: Docker.Container,
  req: DockerExecRequest,
  io: ExecIo,
): Promise<RunningExec> {
  const env = Object.entries(req.env).map(([k, v]) => `${k}=${v}`);
  env.push(`KEEL_EXEC_ID=${req.execId}`);
  let exec: Docker.Exec;
  try {
    exec = await container.exec({
      Cmd: ['sh', '-c', EXEC_WRAPPER, 'keel-exec', ...req.argv],
      Env: env,
      WorkingDir: req.workingDir,
      User: EXEC_USER,
      AttachStdin: io.stdin !== undefined,
      AttachStdout: true,
      AttachStderr: true,
      Tty: false,
    });
  } catch (err) {
    const code = statusOf(err);
    if (code === 404) throw new WorkloadError('WORKLOAD_NOT_FOUND', `workspace container is missing`);
    throw await refusalOf(container, err);
  }
  // A reader that takes stdout synchronously gets it straight from the socket's read buffer
  // when the engine is local (see docker-exec-socket.ts: a measured cost); else dockerode's path.
  const sink = io.stdin === undefined ? takeDirectSink(io.stdout) : undefined;
  const socketPath = sink ? await localEngineSocket(exec).catch(() => undefined) : undefined;
  let stream: Duplex;
  try {
    if (sink && socketPath) {
      stream = await startExecOnSocket(exec, socketPath, {
        stdout: sink,
        stderr: (bytes) => io.stderr.write(bytes),
        flow: io.stdout,
      });
    } else {
      stream = await exec.start({ hijack: true, stdin: io.stdin !== undefined });
      demuxDockerStream(stream, io.stdout, io.stderr);
    }
  } catch (err) {
    // A stop between the exec's creation and its start drops the exec with the container.
    if (statusOf(err) === 404) throw notRunning();
    throw await refusalOf(container, err);
  }
  // The hijacked connection carries stdin one way; ending the handle's stdin half-closes it,
  // which the engine passes on as end of file. Fed so that writers learn when their buffers
  // were written (taken-input.ts).
  if (io.stdin) feedInput(io.stdin, stream);

  const streamOver = new Promise<void>((resolve) => {
    let settled = false;
    const finish = () => {
      if (settled) return;
      settled = true;
      io.stdout.end();
      io.stderr.end();
      resolve();
    };
    stream.on('end', finish);
    stream.on('close', finish);
    stream.on('error', finish);
  });

  const exited = streamOver.then(() => waitExitCode(exec));

  const killTree = async () => {
    // The first sweep can run before the wrapper recorded its session; repeat until
    // Docker itself says the command is gone.
    for (let i = 0; i < 20; i++) {
      await runKiller(container, req.execId);
      const info = await exec.inspect().catch(() => undefined);
      if (!info?.Running) break;
    }
    // Background children may hold the output streams open after the main process died.
    await waitAtMost(streamOver, 2000);
  };

  return { exited, killTree };
}

const notRunning = () => new WorkloadError('WORKLOAD_NOT_RUNNING', 'workspace is not running');

/**
 * An engine's refusal to make or start an exec, as the WorkloadError it means when the container
 * is not running (a stop racing the command: 409, or a 500 "container not running" when the stop
 * lands between the engine's own checks); any other error as it came.
 */
async function refusalOf(container: Docker.Container, err: unknown): Promise<unknown> {
  const code = statusOf(err);
  if (code === 409) return notRunning();
  if (code !== 500) return err;
  const info = await container.inspect().catch(() => undefined);
  return info && !info.State.Running ? notRunning() : err;
}

export async function waitExitCode(exec: Docker.Exec): Promise<{ exitCode: number | null; signal?: string }> {
  // The stream can end a moment before the engine records the exit code.
  for (let i = 0; i < 50; i++) {
    let info: Docker.ExecInspectInfo;
    try {
      info = await exec.inspect();
    } catch (err) {
      // The engine forgets a container's execs when it stops: the command died with it.
      if (statusOf(err) === 404) return { exitCode: null, signal: 'SIGKILL' };
      throw err;
    }
    if (!info.Running) return { exitCode: info.ExitCode };
    await delay(20 + i * 10);
  }
  return { exitCode: null };
}

export async function runKiller(container: Docker.Container, execId: string): Promise<void> {
  let exec: Docker.Exec;
  try {
    exec = await container.exec({
      Cmd: ['bash', '-c', EXEC_KILLER, 'keel-kill', execId],
      User: EXEC_USER,
      AttachStdout: true,
      AttachStderr: true,
    });
  } catch (err) {
    // A stopped container has no processes left to kill.
    if (statusOf(err) === 404 || statusOf(err) === 409) return;
    throw err;
  }
  const stream = await exec.start({ hijack: true, stdin: false });
  stream.resume();
  await new Promise<void>((resolve) => {
    stream.on('end', resolve);
    stream.on('close', resolve);
    stream.on('error', () => resolve());
  });
}

function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
