/*
 * The sandbox spawner: a small process of the runner's (see client.ts) that starts the process
 * driver's commands, so that the fork of each sandbox, and the wait until it has exec'd, block
 * this process's event loop rather than the runner's, which relays every terminal and stream.
 *
 * It starts exactly the argv, cwd and environment the runner asks for (checked with zod), in a new
 * session, with pipes for stdio, and hands the runner's ends of those pipes over the IPC channel:
 * it never reads or writes a command's data. It reports each command's exit. It exits when the
 * runner does (the channel closes), killing what it started; bubblewrap's --die-with-parent ends
 * every sandbox with it in any case.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { openSync } from 'node:fs';
import type { Socket } from 'node:net';
import { type SpawnerReply, type SpawnRequest, spawnRequest } from './protocol.ts';

/**
 * The IPC channel is this process's descriptor 3 (client.ts puts it there), and Node leaves it
 * inheritable: every command gets /dev/null on 3 in its place (the fourth stdio entry), so that
 * nothing it runs can talk to the runner through it.
 */
const devNull = openSync('/dev/null', 'r');

const running = new Map<number, ChildProcess>();

function reply(message: SpawnerReply, handle?: Socket): void {
  // A send that fails means the runner is gone; 'disconnect' below ends this process.
  process.send?.(message, handle, {}, () => {});
}

/** The runner reads the command's pipes: stop this side from reading before a byte lands here. */
function stopReading(stream: object): void {
  const handle = (stream as { _handle?: { readStop?(): number; reading?: boolean } })._handle;
  if (handle?.reading) {
    handle.reading = false;
    handle.readStop?.();
  }
}

function start(req: SpawnRequest): void {
  const stdio = [req.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe', devNull] as const;
  let child: ChildProcess;
  try {
    child = spawn(req.argv[0]!, req.argv.slice(1), {
      cwd: req.cwd,
      env: req.env,
      stdio: [...stdio],
      // Own process group: the runner's kill(-pid) reaches bubblewrap before it has set up the sandbox.
      detached: true,
    });
  } catch (err) {
    reply({ type: 'failed', id: req.id, message: String((err as Error).message).slice(0, 4_096) });
    return;
  }
  if (child.pid === undefined) {
    child.once('error', (err: NodeJS.ErrnoException) => {
      reply({
        type: 'failed',
        id: req.id,
        ...(err.code ? { code: err.code.slice(0, 64) } : {}),
        message: err.message.slice(0, 4_096),
      });
    });
    return;
  }
  const pid = child.pid;
  running.set(req.id, child);
  child.on('error', () => {});
  const pipes = [
    ['stdin', child.stdin],
    ['stdout', child.stdout],
    ['stderr', child.stderr],
  ] as const;
  for (const [stream, socket] of pipes) {
    if (!socket) continue;
    stopReading(socket);
    // Sending closes this side's copy once the runner has it.
    reply({ type: 'stdio', id: req.id, stream }, socket as Socket);
  }
  reply({ type: 'spawned', id: req.id, pid });
  child.once('exit', (exitCode, signal) => {
    running.delete(req.id);
    reply({ type: 'exit', id: req.id, exitCode, signal });
  });
}

process.on('message', (message: unknown) => {
  const req = spawnRequest.safeParse(message);
  if (!req.success) {
    // Only the runner holds the other end: a message it did not mean is a bug, reported there,
    // and the command it was waiting on fails rather than waits.
    console.error(`keel-spawner: refused a request: ${req.error.message}`);
    const id = (message as { id?: unknown } | null)?.id;
    if (typeof id === 'number' && Number.isSafeInteger(id) && id >= 0) {
      reply({ type: 'failed', id, message: `refused: ${req.error.message}`.slice(0, 4_096) });
    }
    return;
  }
  start(req.data);
});

process.on('disconnect', () => {
  for (const child of running.values()) {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {}
  }
  process.exit(0);
});

if (!process.send) {
  console.error('keel-spawner: started without an IPC channel; the runner starts this program');
  process.exit(2);
}
