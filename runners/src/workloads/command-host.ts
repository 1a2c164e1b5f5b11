/*
 * A workspace's command host: one long-lived process inside the workspace's sandbox that starts
 * its commands, so that a command costs a fork and an exec instead of a new sandbox.
 *
 * Why: a bubblewrap sandbox costs 11 to 17 ms of CPU to make and tear down when several are made
 * at once (mount, user and PID namespaces; measured on 2 cores), about ten times the command it
 * wraps, and an organization's IDE clients run a command about once a second each. Commands forked
 * from inside an existing sandbox inherit all of it: its namespaces, its cgroup, the unprivileged
 * user, no_new_privs and the seccomp filter. The host is bash, which every host that runs
 * bubblewrap has, so it costs about 4 MiB per running workspace and nothing to install.
 *
 * Channels. The runner writes requests to the host's stdin (NUL-separated fields) and reads its
 * replies from its stdout (one short line each). Each command's stdio are FIFOs the host makes in a
 * folder of the workspace's, bound into the sandbox; the runner opens them from the host side
 * without following links and only when they are FIFOs, because the sandbox user can replace
 * anything in that folder. The commands never hold the request or reply channels.
 *
 * What a command shares with the others of its workspace, as in a Docker workspace: the PID
 * namespace, /tmp and the home folder. When a command's main process ends, what is left of its
 * process group is killed (as a sandbox's end used to kill everything it held); a process that
 * left the group lives on until the workspace stops.
 */
import { close, constants, fstat, open, type Stats, unlink } from 'node:fs';
import { Socket } from 'node:net';
import path from 'node:path';
import { Readable } from 'node:stream';
import type { SpawnedCommand } from './spawner/client.ts';
import { WorkloadError } from './types.ts';

/** Where the FIFO folder is inside the sandbox. */
export const COMMAND_FIFO_DIR = '/run/keel-exec';

/*
 * The host's program. fd 0: requests; fd 9: replies (its stdout, moved so that nothing it starts
 * inherits it by accident); stderr: the runner's log. Each request:
 *   mk NUL id NUL stdin(0|1) NUL                       make the command's FIFOs
 *   run NUL id NUL cwd NUL stdin(0|1) NUL n NUL env×n NUL m NUL argv×m NUL
 *   kill NUL pgid NUL
 * Replies: "m ID" (FIFOs made), "s ID PGID" (started), "x ID STATUS" (its main process ended),
 * "f ID" (its FIFOs could not be made). A malformed request ends the host: only the runner writes
 * requests.
 *
 * Two steps, because a FIFO's reader learns of the end only if it opened before the writer: a
 * writer already waiting in open() when the reader arrives leaves no hang-up for poll to report
 * (Linux counts writers' opens and compares with the count at the reader's open), and the runner
 * would wait for the end of a command that is long gone. So the runner opens its ends between
 * "m" and "run".
 */
export const COMMAND_HOST_SCRIPT = `set -u
exec 9>&1 1>/dev/null
# Nothing else of what it was started with reaches the commands.
fds=(/proc/$$/fd/*)
for f in "\${fds[@]##*/}"; do
  [[ $f != [0129] && -e /proc/$$/fd/$f ]] && exec {f}>&-
done
d=$1
field() { IFS= read -r -d '' "$1"; }
count() { field "$1" && [[ \${!1} =~ ^[0-9]{1,5}$ ]]; }
while field op; do
  case $op in
  mk)
    field id && [[ $id =~ ^[0-9]{1,15}$ ]] && field stdin || exit 2
    fifos=("$d/$id.1" "$d/$id.2")
    [[ $stdin = 1 ]] && fifos+=("$d/$id.0")
    if mkfifo -m 600 -- "\${fifos[@]}" 2>/dev/null; then r=m; else r=f; fi
    printf '%s %s\\n' "$r" "$id" >&9
    ;;
  run)
    field id && [[ $id =~ ^[0-9]{1,15}$ ]] || exit 2
    field cwd && field stdin && count n || exit 2
    env=(); for ((i = 0; i < n; i++)); do field v || exit 2; env+=("$v"); done
    count n || exit 2
    argv=(); for ((i = 0; i < n; i++)); do field v || exit 2; argv+=("$v"); done
    out=$d/$id.1 err=$d/$id.2 in=/dev/null
    [[ $stdin = 1 ]] && in=$d/$id.0
    (
      # The input is open here before the command exists, so it is held by a reader before "s"
      # lets the runner write and close its side (what a FIFO holds is dropped when none has it).
      exec <"$in" 2>/dev/null
      # A session and process group of its own (as bubblewrap's --new-session gave), so that a
      # kill reaches the command's whole tree. Not bash's job control: it leaks a pipe to the command.
      # "<&0": without a redirection of its own, bash gives a background command /dev/null.
      (cd -- "$cwd" && exec setsid -- env -i -- "\${env[@]}" "\${argv[@]}") <&0 >"$out" 2>"$err" 9>&- &
      p=$!
      exec </dev/null
      printf 's %s %s\\n' "$id" "$p" >&9
      wait "$p"
      s=$?
      kill -KILL -- "-$p" 2>/dev/null
      printf 'x %s %s\\n' "$id" "$s" >&9
    ) &
    ;;
  kill)
    field p && [[ $p =~ ^[0-9]{1,10}$ ]] || exit 2
    # The group, and the process itself in case it has not yet made its group.
    kill -KILL -- "-$p" "$p" 2>/dev/null
    ;;
  *) exit 2 ;;
  esac
done`;

/** Requests this large go to a sandbox of their own: the host reads its requests a byte at a time. */
const MAX_REQUEST_BYTES = 64 * 1024;
/** How long a command's output may stay open after its end, held by a process that left its group. */
const OUTPUT_GRACE_MS = 2_000;
/** What bash reports for a process killed by SIGKILL. */
const SIGKILL_STATUS = 128 + 9;
const REPLY = /^(m|s|x|f) (\d{1,15})(?: (\d{1,10}))?$/;

export interface HostedRequest {
  argv: string[];
  cwd: string;
  /** The whole environment the command gets. */
  env: Record<string, string>;
  stdin: boolean;
}

export interface HostedCommand {
  /** Its pid, session and process group, as the sandbox numbers them. */
  pid: number;
  stdin?: Socket;
  stdout: Readable;
  stderr: Readable;
  exited: Promise<{ exitCode: number | null }>;
  kill(): void;
}

/** Whether a request can go through a command host (else: a sandbox of its own). */
export function hostable(req: HostedRequest): boolean {
  // env(1) would read a program name with "=" as a variable.
  if (req.argv[0]!.includes('=')) return false;
  let size = req.cwd.length;
  for (const s of req.argv) size += s.length + 1;
  for (const [k, v] of Object.entries(req.env)) size += k.length + v.length + 2;
  return size <= MAX_REQUEST_BYTES;
}

interface Pending {
  req: HostedRequest;
  started(c: HostedCommand): void;
  failed(err: Error): void;
  /** The runner's ends of its FIFOs, once open. */
  fifos?: { stdout: Socket; stderr: Socket; stdin?: Socket };
  /**
   * Settles when both output FIFOs have closed, watched from the moment each is open: a command
   * that is over before "s" is read (a busy runner) has its empty stderr closed by then.
   */
  outputClosed?: Promise<void>;
  pgid?: number;
  /** The main process's exit status, once the host said it. */
  status?: number;
  onExit?(status: number): void;
  lost?(err: Error): void;
}

/** One workspace's host: its process (through the sandbox spawner) and the commands asked of it. */
export class CommandHost {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private gone: Error | undefined;
  private buffered = '';
  private keepAlive: NodeJS.Timeout | undefined;

  constructor(
    private readonly host: SpawnedCommand,
    /** The host-side path of the folder bound at COMMAND_FIFO_DIR. */
    private readonly fifoDir: string,
    /** The sandbox user's uid, when the runner runs commands as another user than itself. */
    private readonly owner: number | undefined,
    private readonly log: (line: string) => void = () => {},
  ) {
    host.stdout.setEncoding('latin1');
    host.stdout.on('data', (chunk: string) => this.receive(chunk));
    host.stderr.on('data', (chunk: Buffer) => this.log(chunk.toString('utf8').trim().slice(0, 1_000)));
    host.stdin!.on('error', () => {});
    host.exited.then(
      // The host ended, and its sandbox with it: its commands were killed with it.
      (e) =>
        this.lost(
          new Error(`the workspace's command host ended (${e.signal ?? `code ${e.exitCode}`})`),
          true,
        ),
      // The spawner died: what became of the commands is not known.
      (err: Error) => this.lost(err, false),
    );
  }

  get alive(): boolean {
    return this.gone === undefined;
  }

  /** Ends the host and, with its sandbox, every command it started. */
  close(): void {
    try {
      process.kill(-this.host.pid, 'SIGKILL');
    } catch {}
  }

  run(req: HostedRequest): Promise<HostedCommand> {
    return new Promise((resolve, reject) => {
      if (this.gone) {
        reject(unavailable(this.gone));
        return;
      }
      const id = this.nextId++;
      this.pending.set(id, { req, started: resolve, failed: reject });
      this.refs();
      this.host.stdin!.write(`mk\0${id}\0${req.stdin ? '1' : '0'}\0`);
    });
  }

  private receive(chunk: string): void {
    this.buffered += chunk;
    let nl = this.buffered.indexOf('\n');
    while (nl !== -1) {
      this.reply(this.buffered.slice(0, nl));
      this.buffered = this.buffered.slice(nl + 1);
      nl = this.buffered.indexOf('\n');
    }
    // Replies are short: anything longer is not the host's, and is dropped.
    if (this.buffered.length > 256) this.buffered = '';
  }

  private reply(line: string): void {
    const m = REPLY.exec(line);
    if (!m) return;
    const id = Number(m[2]);
    const pending = this.pending.get(id);
    if (!pending) return;
    if (m[1] === 'f' && !pending.fifos) {
      this.forget(id, pending);
      pending.failed(
        new WorkloadError('DRIVER_UNAVAILABLE', "the command host could not make the command's FIFOs"),
      );
    } else if (m[1] === 'm' && !pending.fifos) {
      this.openAndRun(id, pending).catch((err: Error) => {
        for (const s of this.socketsOf(pending)) s.destroy();
        this.forget(id, pending);
        pending.failed(err);
      });
    } else if (m[1] === 's' && m[3] !== undefined && pending.fifos && pending.pgid === undefined) {
      pending.pgid = Number(m[3]);
      this.started(id, pending, pending.fifos);
    } else if (m[1] === 'x' && m[3] !== undefined && pending.status === undefined) {
      pending.status = Number(m[3]);
      pending.onExit?.(pending.status);
    }
  }

  /** Opens this side of the command's FIFOs before the command can open its side, then asks for it. */
  private async openAndRun(id: number, pending: Pending): Promise<void> {
    const name = (n: number) => path.join(this.fifoDir, `${id}.${n}`);
    const opened: Socket[] = [];
    const closes: Promise<void>[] = [];
    // Watched as soon as each exists (no turn of the event loop between): see `outputClosed`.
    const watch = (s: Socket) => {
      closes.push(new Promise<void>((r) => s.once('close', () => r())));
      return s;
    };
    try {
      opened.push(watch(await openFifo(name(1), constants.O_RDONLY, this.owner)));
      opened.push(watch(await openFifo(name(2), constants.O_RDONLY, this.owner)));
      // Read and write: the open never waits, and the command reads the end of its input once
      // this side is closed (the host holds it open for the command first: see the script).
      if (pending.req.stdin) opened.push(await openFifo(name(0), constants.O_RDWR, this.owner));
    } catch (err) {
      for (const s of opened) s.destroy();
      throw err;
    }
    const [stdout, stderr, stdin] = opened as [Socket, Socket, Socket | undefined];
    pending.fifos = { stdout, stderr, ...(stdin ? { stdin } : {}) };
    pending.outputClosed = Promise.all(closes).then(() => {});
    if (this.gone) throw unavailable(this.gone);
    const { req } = pending;
    const env = Object.entries(req.env).map(([k, v]) => `${k}=${v}`);
    const fields = ['run', String(id), req.cwd, req.stdin ? '1' : '0', String(env.length), ...env];
    fields.push(String(req.argv.length), ...req.argv);
    this.host.stdin!.write(`${fields.join('\0')}\0`);
  }

  private socketsOf(pending: Pending): Socket[] {
    const f = pending.fifos;
    return f ? [f.stdout, f.stderr, ...(f.stdin ? [f.stdin] : [])] : [];
  }

  private started(id: number, pending: Pending, fifos: NonNullable<Pending['fifos']>): void {
    const { stdout, stderr, stdin } = fifos;
    const name = (n: number) => path.join(this.fifoDir, `${id}.${n}`);
    const exit = new Promise<number>((resolve, reject) => {
      if (pending.status !== undefined) resolve(pending.status);
      else pending.onExit = resolve;
      pending.lost = reject;
    });
    const exited = exit.then(async (status) => {
      stdin?.destroy();
      // The FIFOs are open on both sides by now (or their command is gone): the names can go.
      for (const n of [0, 1, 2]) unlink(name(n), () => {});
      const grace = setTimeout(() => {
        stdout.destroy();
        stderr.destroy();
      }, OUTPUT_GRACE_MS);
      await pending.outputClosed;
      clearTimeout(grace);
      this.forget(id, pending);
      return { exitCode: status };
    });
    exited.catch(() => {
      for (const s of this.socketsOf(pending)) s.destroy();
      this.forget(id, pending);
    });
    pending.started({
      pid: pending.pgid!,
      ...(stdin ? { stdin } : {}),
      stdout,
      stderr,
      exited,
      kill: () => this.kill(pending),
    });
  }

  private kill(pending: Pending): void {
    if (this.gone || pending.pgid === undefined) return;
    this.host.stdin!.write(`kill\0${pending.pgid}\0`);
  }

  private forget(id: number, pending: Pending): void {
    if (this.pending.get(id) === pending) this.pending.delete(id);
    this.refs();
  }

  /**
   * The runner's process stays alive while a command is asked for or running, as it does for a
   * command of its own sandbox; an idle host keeps nothing alive. A timer rather than the host's
   * pipes: those close with the host, before the news of its end arrives.
   */
  private refs(): void {
    if (this.pending.size > 0 && !this.gone) this.keepAlive ??= setInterval(() => {}, 1 << 30);
    else if (this.keepAlive) {
      clearInterval(this.keepAlive);
      this.keepAlive = undefined;
    }
  }

  /**
   * The host is gone. Commands not yet started fail; started ones end as killed (status 137, as
   * a container runtime reports it) when the host's own end is known, and fail otherwise.
   */
  private lost(cause: Error, killed: boolean): void {
    if (this.gone) return;
    this.gone = cause;
    for (const [id, pending] of [...this.pending]) {
      if (killed && pending.onExit) {
        if (pending.status === undefined) {
          pending.status = SIGKILL_STATUS;
          pending.onExit(SIGKILL_STATUS);
        }
        continue;
      }
      this.forget(id, pending);
      for (const s of this.socketsOf(pending)) s.destroy();
      if (killed) {
        // Killed with the sandbox before it began: it ends as killed, with no output.
        pending.started({
          pid: 0,
          stdout: Readable.from([]),
          stderr: Readable.from([]),
          exited: Promise.resolve({ exitCode: SIGKILL_STATUS }),
          kill: () => {},
        });
        continue;
      }
      if (pending.lost) pending.lost(unavailable(cause));
      else pending.failed(unavailable(cause));
    }
    this.refs();
  }
}

function unavailable(cause: Error): WorkloadError {
  return new WorkloadError('DRIVER_UNAVAILABLE', cause.message);
}

/**
 * Opens one of a command's FIFOs from the host side: never through a link (the sandbox user may
 * put one in its place), without waiting for the other side, and only if it is a FIFO.
 */
export function openFifo(file: string, mode: number, owner?: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    open(file, mode | constants.O_NOFOLLOW | constants.O_NONBLOCK, (err, fd) => {
      if (err) {
        reject(new WorkloadError('DRIVER_UNAVAILABLE', `the command's stdio is missing: ${err.code}`));
        return;
      }
      fstat(fd, (err2, st: Stats) => {
        // One name only (not a hard link to a FIFO of someone else's), made by the sandbox user.
        if (err2 || !st.isFIFO() || st.nlink !== 1 || (owner !== undefined && st.uid !== owner)) {
          closeQuietly(fd);
          reject(
            new WorkloadError('DRIVER_UNAVAILABLE', "the command's stdio is not a FIFO the sandbox made"),
          );
          return;
        }
        const readable = mode === constants.O_RDONLY;
        resolve(new Socket({ fd, readable, writable: !readable }));
      });
    });
  });
}

function closeQuietly(fd: number): void {
  close(fd, () => {});
}
