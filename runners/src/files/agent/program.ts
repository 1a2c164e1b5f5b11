/*
 * The file agent: runs inside a workspace as its user (remote drivers, where the runner cannot
 * see the disk) and serves the confined file operations of ../confined-fs.ts under one root,
 * /workspace unless the start frame says otherwise. Bundled for Node 18 (runners/bundle.mjs)
 * and sent over stdin by ./loader.ts; it talks only over stdin and stdout (./framing.ts).
 *
 * It holds no secret and trusts nothing but the runner's frames: whatever the workspace user
 * does to it can only change the answers, which the runner validates (./index.ts).
 */
import * as cfs from '../confined-fs.ts';
import { ConfinedFsError } from '../errors.ts';
import { encodeFrame, type Frame, FrameReader, MAX_FILE_BYTES, START_ID } from './framing.ts';
import { AGENT_PROTOCOL, type AgentError, type AgentRequest, type StartResult } from './protocol.ts';

const stdin = process.stdin;
const stdout = process.stdout;
// Anything printed by accident would corrupt the frames: logs go to stderr.
console.log = console.error;
console.info = console.error;

let root: string | undefined;
const reader = new FrameReader();

// Ends with the runner: a closed or broken stdout means nobody is listening.
stdout.on('error', () => process.exit(0));
stdin.on('data', (chunk: Buffer) => {
  let frames: Frame[];
  try {
    frames = reader.push(chunk);
  } catch (err) {
    console.error(`keel file agent: ${(err as Error).message}`);
    process.exit(2);
  }
  for (const frame of frames) void serve(frame);
});
stdin.on('end', () => {
  // Requests in flight finish and answer; then nothing is left to keep Node running.
  stdin.destroy();
});
// The loader paused stdin to hand it over.
stdin.resume();

function reply(id: number, header: unknown, payload?: Uint8Array): void {
  stdout.write(encodeFrame(id, header, payload));
}

async function serve(frame: Frame): Promise<void> {
  let payload: Uint8Array | undefined;
  let result: unknown;
  try {
    const req: unknown = JSON.parse(frame.header.toString('utf8'));
    if (frame.id === START_ID) {
      result = start(req);
    } else {
      if (root === undefined) throw new Error('no start frame');
      const out = await run(root, req as AgentRequest, frame.payload);
      if (out instanceof Uint8Array) payload = out;
      else result = out;
    }
  } catch (err) {
    reply(frame.id, { ok: false, error: describe(err) });
    return;
  }
  reply(frame.id, { ok: true, result: result ?? null }, payload);
}

function start(req: unknown): StartResult {
  const r = (req as { root?: unknown } | null)?.root;
  if (typeof r !== 'string' || !r.startsWith('/')) throw new Error('start: root must be an absolute path');
  root = r;
  return { protocol: AGENT_PROTOCOL };
}

const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
const bool = (v: unknown) => v === true;
const str = (v: unknown) => {
  if (typeof v !== 'string') throw new Error('expected a string path');
  return v;
};

async function run(root: string, req: AgentRequest, data: Buffer): Promise<unknown> {
  const r = req as Record<string, unknown>;
  switch (req.op) {
    case 'read':
      return cfs.readFile(root, str(r.path), { maxBytes: Math.min(num(r.maxBytes) ?? 0, MAX_FILE_BYTES) });
    case 'write':
      await cfs.writeFile(root, str(r.path), data, {
        maxBytes: Math.min(num(r.maxBytes) ?? 0, MAX_FILE_BYTES),
        mode: num(r.mode),
        createParents: bool(r.createParents),
      });
      return null;
    case 'stat':
      return cfs.stat(root, str(r.path));
    case 'list':
      return cfs.listDirBounded(root, str(r.path), { maxEntries: num(r.maxEntries) });
    case 'tree':
      return cfs.tree(root, str(r.path), {
        maxDepth: num(r.maxDepth),
        maxEntries: num(r.maxEntries),
        skipDirs: Array.isArray(r.skipDirs) ? r.skipDirs.filter((s) => typeof s === 'string') : undefined,
      });
    case 'mkdir':
      await cfs.mkdir(root, str(r.path), { recursive: bool(r.recursive), mode: num(r.mode) });
      return null;
    case 'remove':
      await cfs.remove(root, str(r.path), { recursive: bool(r.recursive) });
      return null;
    case 'rename':
      await cfs.rename(root, str(r.from), str(r.to), { overwrite: bool(r.overwrite) });
      return null;
    default:
      throw new Error(`unknown operation ${JSON.stringify(r.op)}`);
  }
}

function describe(err: unknown): AgentError {
  if (err instanceof ConfinedFsError) {
    const out: AgentError = { code: err.code, path: err.path };
    if (err.code === 'INVALID_PATH') {
      // The reason is the part after the quoted path (see InvalidPath).
      const why = err.message.slice(err.message.lastIndexOf(': ') + 2);
      out.why = why;
    }
    return out;
  }
  const e = err as NodeJS.ErrnoException | null;
  return {
    code: 'ERRNO',
    errno: typeof e?.code === 'string' ? e.code : undefined,
    message: String(e?.message ?? err),
  };
}
