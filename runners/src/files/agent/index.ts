/*
 * The runner's side of the file agent (remote drivers): `WorkspaceFiles` whose operations run in
 * ./program.ts inside the workspace, started through the driver's exec with stdin. Requests are
 * multiplexed by id over the agent's stdin and stdout (./framing.ts), several in flight.
 *
 * The agent runs as the workspace user, who can tamper with it: every answer is untrusted. Each
 * is parsed with a schema and bounded (frame size, file size against the request's cap, entry
 * counts, names that are names), each request has a deadline, answers to ids not asked are
 * dropped, and an agent that breaks the protocol is killed and started afresh at the next call.
 * Refusals come back as the same ConfinedFsError classes ConfinedFs throws, so file jobs answer
 * alike; an agent that died or fell silent is `FilesUnavailable` (the job answers "unavailable").
 */
import { z } from 'zod';
import type { ExecHandle, ExecRequest, ExecResult } from '../../workloads/types.ts';
import { WorkloadError } from '../../workloads/types.ts';
import {
  DEFAULT_MAX_READ_BYTES,
  DEFAULT_MAX_WRITE_BYTES,
  type DirEntry,
  type EntryStat,
  type TreeEntry,
  type TreeOptions,
} from '../confined-fs.ts';
import {
  AlreadyExists,
  type ConfinedFsError,
  DirectoryNotEmpty,
  FilesUnavailable,
  HardLinked,
  InvalidPath,
  IsADirectory,
  IsSymlink,
  NotADirectory,
  NotARegularFile,
  NotFound,
  PathOutsideWorkspace,
  PermissionDenied,
  TooDeep,
  TooLarge,
} from '../errors.ts';
import { splitPath } from '../resolve.ts';
import type { WorkspaceFiles } from '../workspace-files.ts';
import { encodeFrame, type Frame, FrameReader, MAX_FILE_BYTES, START_ID } from './framing.ts';
import { AGENT_LOADER, programFrame } from './loader.ts';
import { agentProgram } from './program-text.ts';
import { AGENT_PROTOCOL, type AgentRequest } from './protocol.ts';

export interface AgentFilesOptions {
  /** The workspace folder as the agent sees it. Default /workspace. */
  root?: string;
  /** Deadline of each request, start included. Default 30 s. */
  requestTimeoutMs?: number;
  /** Requests sent at once; the others wait their turn. Default 32. */
  maxInFlight?: number;
  /** The program sent to the agent; default the runner's own (tests send impostors). */
  program?: () => Promise<string>;
}

export type AgentFiles = WorkspaceFiles & { close(): Promise<void> };

/** The most entries a listing may ask for: what one frame can carry. */
const MAX_ENTRIES = 100_000;
const DEFAULT_LIST_ENTRIES = 10_000;
const DEFAULT_TREE_ENTRIES = 5000;
const STDERR_TAIL = 2048;

// ---- What an answer may hold -------------------------------------------------------------

const REFUSALS = {
  PATH_OUTSIDE_WORKSPACE: PathOutsideWorkspace,
  NOT_FOUND: NotFound,
  IS_SYMLINK: IsSymlink,
  NOT_A_DIRECTORY: NotADirectory,
  IS_A_DIRECTORY: IsADirectory,
  NOT_A_REGULAR_FILE: NotARegularFile,
  HARD_LINKED: HardLinked,
  TOO_DEEP: TooDeep,
  ALREADY_EXISTS: AlreadyExists,
  DIRECTORY_NOT_EMPTY: DirectoryNotEmpty,
  PERMISSION_DENIED: PermissionDenied,
} as const;
type RefusalCode = keyof typeof REFUSALS;
const refusalCodes = Object.keys(REFUSALS) as [RefusalCode, ...RefusalCode[]];

const isName = (n: string) =>
  n !== '.' && n !== '..' && !n.includes('/') && !n.includes('\0') && Buffer.byteLength(n) <= 255;
const Name = z.string().min(1).max(255).refine(isName, 'not a file name');
/** A workspace-relative path as the agent reports it in a tree: names joined by '/'. */
const RelPath = z
  .string()
  .min(1)
  .max(64 * 1024)
  .refine((p) => p.split('/').every((n) => n !== '' && isName(n)), 'not a relative path');
/** Paths in refusals are for messages only; they need only be bounded. */
const ErrorPath = z.string().max(8 * 1024);

const statShape = {
  type: z.enum(['file', 'directory', 'symlink', 'other']),
  size: z.number().int().min(0),
  mtimeMs: z.number().finite(),
  mode: z.number().int().min(0).max(0o7777),
};
const StatResult = z.object(statShape);
const ListResult = z.object({
  entries: z.array(z.object({ name: Name, ...statShape })),
  truncated: z.boolean(),
});
const TreeResult = z.object({
  entries: z.array(z.object({ path: RelPath, ...statShape })),
  truncated: z.boolean(),
});
const StartResult = z.object({ protocol: z.number() });

const Reply = z.discriminatedUnion('ok', [
  z.object({ ok: z.literal(true), result: z.unknown() }),
  z.object({
    ok: z.literal(false),
    error: z.union([
      z.object({ code: z.enum(refusalCodes), path: ErrorPath }),
      z.object({ code: z.literal('INVALID_PATH'), path: ErrorPath, why: z.string().max(200).optional() }),
      z.object({ code: z.literal('TOO_LARGE'), path: ErrorPath }),
      z.object({
        code: z.literal('ERRNO'),
        errno: z
          .string()
          .regex(/^E[A-Z0-9]{1,24}$/)
          .optional(),
        message: z.string().max(1000),
      }),
    ]),
  }),
]);

// ---- One running agent -------------------------------------------------------------------

interface Pending {
  path: string;
  resolve(frame: Frame): void;
  reject(err: unknown): void;
  timer: NodeJS.Timeout;
  /** Frames received when it was sent: none since then at its deadline means the agent is stuck. */
  heardAt: number;
}

class RunningAgent {
  readonly pending = new Map<number, Pending>();
  /** Why it is over; set once. */
  over: unknown;
  private readonly handle: ExecHandle;
  private readonly reader = new FrameReader();
  private heard = 0;
  private nextId = 1;
  private stderrTail = '';
  private exited = false;

  constructor(
    run: (req: ExecRequest) => ExecHandle,
    program: string,
    root: string,
    private readonly timeoutMs: number,
  ) {
    // NODE_OPTIONS cleared: an image's or a user's preload has no place in the agent.
    this.handle = run({ argv: ['node', '-e', AGENT_LOADER], stdin: true, env: { NODE_OPTIONS: '' } });
    const { stdin, stdout, stderr } = this.handle;
    stdout.on('data', (chunk: Buffer) => this.received(chunk));
    stdout.on('end', () => this.end('its output ended'));
    stderr.on('data', (chunk: Buffer) => {
      this.stderrTail = (this.stderrTail + chunk.toString('utf8')).slice(-STDERR_TAIL);
    });
    this.handle.done.then(
      (res) => {
        this.exited = true;
        this.end(exitReason(res));
      },
      (err: unknown) => {
        this.exited = true;
        this.end(err instanceof WorkloadError ? err : `it could not start: ${String(err)}`);
      },
    );
    if (!stdin) {
      this.end('the driver gave it no stdin');
      return;
    }
    // A write after the agent died fails here; the requests learn it from `end`.
    stdin.on('error', () => {});
    stdin.write(programFrame(program));
    this.request('.', START_ID, { root }).then(
      ({ result }) => {
        const r = StartResult.safeParse(result);
        if (!r.success || r.data.protocol !== AGENT_PROTOCOL) this.end('it speaks another protocol');
      },
      () => {},
    );
  }

  /** Sends one request; resolves with its answer's result and payload, or rejects with its refusal. */
  async request(
    path: string,
    id: number | undefined,
    header: unknown,
    payload?: Uint8Array,
  ): Promise<{ result: unknown; payload: Buffer }> {
    if (this.over !== undefined) throw this.failure(path);
    const reqId = id ?? this.allocateId();
    const frame = await new Promise<Frame>((resolve, reject) => {
      const timer = setTimeout(() => this.timedOut(reqId), this.timeoutMs);
      this.pending.set(reqId, { path, resolve, reject, timer, heardAt: this.heard });
      this.handle.stdin?.write(encodeFrame(reqId, header, payload));
    });
    let reply: z.infer<typeof Reply>;
    try {
      reply = Reply.parse(JSON.parse(frame.header.toString('utf8')));
    } catch {
      throw this.violation(path, 'an answer that is not one');
    }
    if (reply.ok) return { result: reply.result, payload: frame.payload };
    throw refusal(reply.error, path, header);
  }

  /** Ends the agent for an answer that breaks the protocol; returns the error for the caller. */
  violation(path: string, what: string): ConfinedFsError {
    this.end(`it sent ${what}`);
    return new FilesUnavailable(path, `the file agent sent ${what}`);
  }

  /** Ends it: every request in flight fails, the process is killed. Idempotent. */
  end(why: unknown): void {
    if (this.over !== undefined) return;
    this.over = why;
    for (const [id, p] of this.pending) {
      clearTimeout(p.timer);
      this.pending.delete(id);
      p.reject(this.failure(p.path));
    }
    this.handle.stdin?.end();
    // A kill that cannot reach the workspace (its host went away) has nothing left to end.
    if (!this.exited) void this.handle.kill().catch(() => {});
  }

  /** Closes stdin (the agent exits once its requests are answered), then kills what is left. */
  async close(graceMs: number): Promise<void> {
    this.handle.stdin?.end();
    const timer = new Promise<void>((r) => setTimeout(r, graceMs).unref());
    await Promise.race([this.handle.done.catch(() => {}), timer]);
    this.end('the files were closed');
    if (!this.exited) await this.handle.kill().catch(() => {});
  }

  private failure(path: string): unknown {
    const why = this.over;
    if (why instanceof WorkloadError) return why;
    const tail = this.stderrTail.trim().split('\n').at(-1)?.slice(0, 300);
    return new FilesUnavailable(path, `file agent: ${String(why)}${tail ? ` (${tail})` : ''}`);
  }

  private allocateId(): number {
    do {
      this.nextId = this.nextId >= 0xffff_ffff ? 1 : this.nextId + 1;
    } while (this.pending.has(this.nextId));
    return this.nextId;
  }

  private received(chunk: Buffer): void {
    let frames: Frame[];
    try {
      frames = this.reader.push(chunk);
    } catch (err) {
      this.end(`it broke the framing: ${(err as Error).message}`);
      return;
    }
    for (const frame of frames) {
      this.heard++;
      const p = this.pending.get(frame.id);
      // An answer to nothing asked (late, after its deadline, or made up) is dropped.
      if (!p) continue;
      this.pending.delete(frame.id);
      clearTimeout(p.timer);
      p.resolve(frame);
    }
  }

  private timedOut(id: number): void {
    const p = this.pending.get(id);
    if (!p) return;
    this.pending.delete(id);
    p.reject(new FilesUnavailable(p.path, `the file agent did not answer within ${this.timeoutMs} ms`));
    // Nothing at all came back since this was asked: the agent is stuck, not merely busy.
    if (this.heard === p.heardAt) this.end('it stopped answering');
  }
}

function exitReason(res: ExecResult): string {
  if (res.killed) return 'it was killed';
  return res.signal ? `it ended by ${res.signal}` : `it exited with ${res.exitCode}`;
}

type ReportedError = Extract<z.infer<typeof Reply>, { ok: false }>['error'];

/** The refusal an agent reported, as the error ConfinedFs would have thrown. */
function refusal(e: ReportedError, path: string, req: unknown): unknown {
  switch (e.code) {
    case 'ERRNO':
      // As ConfinedFs lets an unexpected errno through: an Error with its code.
      return Object.assign(new Error(`file agent: ${e.message}`), e.errno ? { code: e.errno } : {});
    case 'INVALID_PATH':
      return new InvalidPath(e.path, e.why ?? 'refused');
    case 'TOO_LARGE':
      return new TooLarge(e.path, (req as { maxBytes?: number }).maxBytes ?? 0);
    default:
      return new REFUSALS[e.code](e.path || path);
  }
}

// ---- The files ---------------------------------------------------------------------------

/**
 * The workspace's files through an agent that runs inside it (remote drivers): `run` starts a
 * command in the workspace with `stdin: true`; the agent is started on first use and again
 * after it died. `close` ends it.
 */
export function agentFiles(
  run: (req: ExecRequest) => ExecHandle,
  options: AgentFilesOptions = {},
): AgentFiles {
  const root = options.root ?? '/workspace';
  const timeoutMs = options.requestTimeoutMs ?? 30_000;
  const maxInFlight = options.maxInFlight ?? 32;
  const program = options.program ?? agentProgram;

  let current: RunningAgent | undefined;
  let starting: Promise<RunningAgent> | undefined;
  let closed = false;
  let inFlight = 0;
  const waiting: (() => void)[] = [];

  async function agent(path: string): Promise<RunningAgent> {
    if (closed) throw new FilesUnavailable(path, 'the workspace files were closed');
    if (current && current.over === undefined) return current;
    starting ??= (async () => {
      let text: string;
      try {
        text = await program();
      } catch (err) {
        throw new FilesUnavailable(path, `no file agent program: ${(err as Error).message}`);
      }
      try {
        current = new RunningAgent(run, text, root, timeoutMs);
      } catch (err) {
        throw new FilesUnavailable(path, `the file agent could not start: ${(err as Error).message}`);
      }
      return current;
    })().finally(() => {
      starting = undefined;
    });
    return starting;
  }

  async function call(
    path: string,
    header: AgentRequest,
    payload?: Uint8Array,
  ): Promise<{ result: unknown; payload: Buffer; agent: RunningAgent }> {
    if (inFlight >= maxInFlight) await new Promise<void>((r) => waiting.push(r));
    inFlight++;
    try {
      const a = await agent(path);
      return { ...(await a.request(path, undefined, header, payload)), agent: a };
    } finally {
      inFlight--;
      waiting.shift()?.();
    }
  }

  /** The result checked against its schema; anything else ends the agent. */
  function expect<T>(schema: z.ZodType<T>, out: { result: unknown; agent: RunningAgent }, path: string): T {
    const r = schema.safeParse(out.result);
    if (!r.success) throw out.agent.violation(path, 'a malformed result');
    return r.data;
  }

  const clampEntries = (n: number | undefined, fallback: number) =>
    Math.max(0, Math.min(MAX_ENTRIES, Math.floor(n ?? fallback)));

  async function listDirBounded(rel: string, opts: { maxEntries?: number } = {}) {
    splitPath(rel);
    const maxEntries = clampEntries(opts.maxEntries, DEFAULT_LIST_ENTRIES);
    const out = await call(rel, { op: 'list', path: rel, maxEntries });
    const list = expect(ListResult, out, rel);
    if (list.entries.length > maxEntries) throw out.agent.violation(rel, 'more entries than asked for');
    return list as { entries: DirEntry[]; truncated: boolean };
  }

  return {
    async readFile(rel, opts = {}) {
      splitPath(rel);
      const maxBytes = Math.min(opts.maxBytes ?? DEFAULT_MAX_READ_BYTES, MAX_FILE_BYTES);
      const out = await call(rel, { op: 'read', path: rel, maxBytes });
      if (out.payload.length > maxBytes) throw out.agent.violation(rel, 'more bytes than asked for');
      // A copy: the payload is a view of a frame that may be much larger than the file.
      return Buffer.from(out.payload);
    },

    async writeFile(rel, data, opts = {}) {
      const bytes = typeof data === 'string' ? Buffer.from(data) : data;
      const maxBytes = Math.min(opts.maxBytes ?? DEFAULT_MAX_WRITE_BYTES, MAX_FILE_BYTES);
      if (bytes.byteLength > maxBytes) throw new TooLarge(rel, maxBytes);
      splitPath(rel);
      await call(
        rel,
        { op: 'write', path: rel, maxBytes, mode: opts.mode, createParents: opts.createParents },
        bytes,
      );
    },

    async stat(rel): Promise<EntryStat> {
      splitPath(rel);
      return expect(StatResult, await call(rel, { op: 'stat', path: rel }), rel);
    },

    async listDir(rel, opts) {
      return (await listDirBounded(rel, opts)).entries;
    },

    listDirBounded,

    async tree(rel = '', opts: TreeOptions = {}) {
      splitPath(rel);
      const maxEntries = clampEntries(opts.maxEntries, DEFAULT_TREE_ENTRIES);
      const out = await call(rel, {
        op: 'tree',
        path: rel,
        maxDepth: opts.maxDepth,
        maxEntries,
        skipDirs: opts.skipDirs,
      });
      const tree = expect(TreeResult, out, rel);
      if (tree.entries.length > maxEntries) throw out.agent.violation(rel, 'more entries than asked for');
      return tree as { entries: TreeEntry[]; truncated: boolean };
    },

    async mkdir(rel, opts = {}) {
      splitPath(rel);
      await call(rel, { op: 'mkdir', path: rel, recursive: opts.recursive, mode: opts.mode });
    },

    async remove(rel, opts = {}) {
      splitPath(rel);
      await call(rel, { op: 'remove', path: rel, recursive: opts.recursive });
    },

    async rename(from, to, opts = {}) {
      // In ConfinedFs's order: the destination's path is checked first.
      splitPath(to);
      splitPath(from);
      await call(from, { op: 'rename', from, to, overwrite: opts.overwrite });
    },

    async close() {
      closed = true;
      const a = current ?? (await starting?.catch(() => undefined));
      await a?.close(2000);
    },
  };
}

/**
 * Files that always go to `current()`, the workspace's agent of the moment: a runner keeps a
 * workspace's files across stop and start, while an agent lives only as long as one start.
 */
export function filesOfCurrentAgent(current: () => WorkspaceFiles): WorkspaceFiles {
  return {
    readFile: (...a) => current().readFile(...a),
    writeFile: (...a) => current().writeFile(...a),
    stat: (...a) => current().stat(...a),
    listDir: (...a) => current().listDir(...a),
    listDirBounded: (...a) => current().listDirBounded(...a),
    tree: (...a) => current().tree(...a),
    mkdir: (...a) => current().mkdir(...a),
    remove: (...a) => current().remove(...a),
    rename: (...a) => current().rename(...a),
  };
}
